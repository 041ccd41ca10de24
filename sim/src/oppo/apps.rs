//! Registered OPPO apps (AppKey → MasterSecret, channels, permissions, quotas) and the auth
//! tokens issued per host.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Host;
use crate::control::types::{ControlError, OppoAppSpec};
use crate::record::lock;

/// An issued auth token.
#[derive(Clone, Debug)]
pub(crate) struct AuthToken {
    /// The app it was issued to.
    pub app_key: String,
    /// The host it was issued on (tokens are not valid on the other).
    pub host: Host,
    /// Expiry on the sim clock, Unix ms.
    pub expires_at_ms: i64,
}

#[derive(Debug)]
struct App {
    spec: OppoAppSpec,
    window_start_ms: i64,
    window_count: u64,
}

/// Apps and issued tokens.
#[derive(Debug, Default)]
pub(crate) struct AppRegistry {
    apps: Mutex<HashMap<String, App>>,
    tokens: Mutex<HashMap<String, AuthToken>>,
}

impl AppRegistry {
    /// Adds or replaces an app.
    pub(crate) fn add(&self, spec: &OppoAppSpec) -> Result<(), ControlError> {
        let key_ok = !spec.app_key.is_empty()
            && spec.app_key.len() <= 128
            && spec
                .app_key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !key_ok {
            return Err(ControlError::new(
                "app_key must be 1..=128 letters, digits, - or _",
            ));
        }
        if spec.master_secret.is_empty() {
            return Err(ControlError::new("master_secret must not be empty"));
        }
        if spec.app_id.is_empty() || !spec.app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ControlError::new("app_id must be digits"));
        }
        if spec.channels.iter().any(|c| c.channel_id.is_empty()) {
            return Err(ControlError::new("channel_id must not be empty"));
        }
        lock(&self.apps).insert(
            spec.app_key.clone(),
            App {
                spec: spec.clone(),
                window_start_ms: 0,
                window_count: 0,
            },
        );
        Ok(())
    }

    /// The app with this AppKey.
    pub(crate) fn app(&self, app_key: &str) -> Option<OppoAppSpec> {
        lock(&self.apps).get(app_key).map(|a| a.spec.clone())
    }

    /// Counts a send against the app's rate limit; true if over it.
    pub(crate) fn throttled(&self, app_key: &str, now_ms: i64) -> bool {
        let mut apps = lock(&self.apps);
        let Some(app) = apps.get_mut(app_key) else {
            return false;
        };
        let Some(t) = app.spec.send_throttle else {
            return false;
        };
        let window_ms = i64::try_from(t.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        if now_ms.saturating_sub(app.window_start_ms) >= window_ms {
            app.window_start_ms = now_ms;
            app.window_count = 0;
        }
        app.window_count += 1;
        app.window_count > u64::from(t.max_requests)
    }

    /// Issues a new auth token; returns its value.
    pub(crate) fn issue(&self, token: AuthToken) -> String {
        let value = uuid::Uuid::new_v4().hyphenated().to_string();
        lock(&self.tokens).insert(value.clone(), token);
        value
    }

    /// The issued token with this value.
    pub(crate) fn token(&self, value: &str) -> Option<AuthToken> {
        lock(&self.tokens).get(value).cloned()
    }

    /// Expires every issued token now; returns how many were live.
    pub(crate) fn expire_all(&self, now_ms: i64) -> usize {
        let mut tokens = lock(&self.tokens);
        let mut live = 0;
        for t in tokens.values_mut() {
            if t.expires_at_ms > now_ms {
                live += 1;
                t.expires_at_ms = now_ms;
            }
        }
        live
    }

    /// Forgets every app and token.
    pub(crate) fn clear(&self) {
        lock(&self.apps).clear();
        lock(&self.tokens).clear();
    }
}
