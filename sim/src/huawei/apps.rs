//! Registered Huawei apps (App ID → secret, project, entitlements, flow control) and the
//! access tokens the token endpoint issued.

use std::collections::HashMap;
use std::sync::Mutex;

use super::window::Window;
use crate::control::types::{ControlError, HuaweiAppInfo, HuaweiAppSpec, HuaweiAppUpdate};
use crate::record::lock;

/// Whether `client_id` has the shape Huawei's OAuth service accepts (`^[0-9]{1,64}$`).
pub(crate) fn well_formed_app_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    /// The app it was issued to.
    pub app_id: String,
    /// Expiry on the sim clock, Unix ms.
    pub expires_at_ms: i64,
}

#[derive(Debug)]
struct App {
    spec: HuaweiAppSpec,
    token_window: Window,
    send_window: Window,
}

/// Apps and issued access tokens.
#[derive(Debug, Default)]
pub(crate) struct AppRegistry {
    apps: Mutex<HashMap<String, App>>,
    tokens: Mutex<HashMap<String, AccessToken>>,
}

impl AppRegistry {
    /// Adds or replaces an app.
    pub(crate) fn add(&self, spec: &HuaweiAppSpec) -> Result<HuaweiAppInfo, ControlError> {
        if !well_formed_app_id(&spec.app_id) {
            return Err(ControlError::new("app_id must be 1..=64 digits"));
        }
        if spec.app_secret.is_empty() {
            return Err(ControlError::new("app_secret must not be empty"));
        }
        if spec
            .project_id
            .as_deref()
            .is_some_and(|p| p.is_empty() || p.contains('/'))
        {
            return Err(ControlError::new(
                "project_id must be a non-empty path segment",
            ));
        }
        lock(&self.apps).insert(
            spec.app_id.clone(),
            App {
                spec: spec.clone(),
                token_window: Window::default(),
                send_window: Window::default(),
            },
        );
        Ok(HuaweiAppInfo {
            app_id: spec.app_id.clone(),
            project_id: spec.project_id.clone(),
        })
    }

    /// Changes some settings of an app; `None` if it is unknown.
    pub(crate) fn update(&self, app_id: &str, update: &HuaweiAppUpdate) -> Option<HuaweiAppSpec> {
        let mut apps = lock(&self.apps);
        let app = apps.get_mut(app_id)?;
        let s = &mut app.spec;
        if let Some(v) = update.push_enabled {
            s.push_enabled = v;
        }
        if let Some(v) = update.self_classification {
            s.self_classification = v;
        }
        if let Some(v) = update.news_app {
            s.news_app = v;
        }
        if let Some(v) = update.high_priority_data {
            s.high_priority_data = v;
        }
        if let Some(v) = update.send_throttle {
            s.send_throttle = v;
        }
        if let Some(v) = update.token_throttle {
            s.token_throttle = v;
        }
        Some(s.clone())
    }

    /// The app with this App ID.
    pub(crate) fn app(&self, app_id: &str) -> Option<HuaweiAppSpec> {
        lock(&self.apps).get(app_id).map(|a| a.spec.clone())
    }

    /// Counts a token request against the app's flow control; true if over it.
    pub(crate) fn token_flow_control(&self, app_id: &str, now_ms: i64) -> bool {
        let mut apps = lock(&self.apps);
        let Some(app) = apps.get_mut(app_id) else {
            return false;
        };
        match app.spec.token_throttle {
            Some(t) => app.token_window.over(t, now_ms),
            None => false,
        }
    }

    /// Counts a send against the app's flow control; true if over it.
    pub(crate) fn send_flow_control(&self, app_id: &str, now_ms: i64) -> bool {
        let mut apps = lock(&self.apps);
        let Some(app) = apps.get_mut(app_id) else {
            return false;
        };
        match app.spec.send_throttle {
            Some(t) => app.send_window.over(t, now_ms),
            None => false,
        }
    }

    /// Issues a new access token; returns its value (opaque, with `/`, `+` and `=`).
    pub(crate) fn issue(&self, token: AccessToken) -> String {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let b = uuid::Uuid::new_v4().simple().to_string();
        let value = format!("DAEDA{}/{}+{}/sim==", &a[..16], &a[16..], b);
        lock(&self.tokens).insert(value.clone(), token);
        value
    }

    /// The issued token with this value.
    pub(crate) fn token(&self, value: &str) -> Option<AccessToken> {
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
