//! Registered Honor apps, issued access tokens, device token states and daily counters.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::control::types::{ControlError, HonorAppSpec, HonorTokenSpec, HonorTokenState};
use crate::record::lock;

#[derive(Debug, Default)]
struct Inner {
    apps: HashMap<String, HonorAppSpec>,
    /// access token → (app id, expiry ms).
    tokens: HashMap<String, (String, i64)>,
    devices: HashMap<(String, String), (HonorTokenState, Option<u32>)>,
    /// (app, token, day) → news & marketing messages received.
    marketing: HashMap<(String, String, i64), u32>,
    /// (app, day) → test messages sent.
    test: HashMap<(String, i64), u64>,
}

/// Apps and their state.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

/// Whether a token has a shape Honor could have issued.
pub(crate) fn well_formed(token: &str) -> bool {
    (1..=512).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_.:-".contains(&b))
}

impl Registry {
    /// Adds or replaces an app.
    pub(crate) fn add(&self, spec: &HonorAppSpec) -> Result<(), ControlError> {
        let digits = !spec.app_id.is_empty() && spec.app_id.bytes().all(|b| b.is_ascii_digit());
        if !digits || spec.app_id.len() > 64 {
            return Err(ControlError::new("app_id must be 1..=64 digits"));
        }
        if spec.client_id.is_empty() || spec.client_secret.is_empty() {
            return Err(ControlError::new(
                "client_id and client_secret must not be empty",
            ));
        }
        lock(&self.inner)
            .apps
            .insert(spec.app_id.clone(), spec.clone());
        Ok(())
    }

    /// The app whose OAuth client is `client_id`.
    pub(crate) fn by_client(&self, client_id: &str) -> Option<HonorAppSpec> {
        lock(&self.inner)
            .apps
            .values()
            .find(|a| a.client_id == client_id)
            .cloned()
    }

    /// Issues an access token (opaque, with `+ / =`).
    pub(crate) fn issue(&self, app_id: &str, expires_ms: i64) -> String {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let value = format!("CF3Xl2XV6{}+/{}Nm3WccUIaDg==", &a[..16], &a[16..]);
        lock(&self.inner)
            .tokens
            .insert(value.clone(), (app_id.to_string(), expires_ms));
        value
    }

    /// The app of a live access token.
    pub(crate) fn token_app(&self, token: &str, now_ms: i64) -> Option<HonorAppSpec> {
        let inner = lock(&self.inner);
        let (app_id, expires) = inner.tokens.get(token)?;
        (*expires > now_ms)
            .then(|| inner.apps.get(app_id).cloned())
            .flatten()
    }

    /// Expires every issued token; returns how many were live.
    pub(crate) fn expire_all(&self, now_ms: i64) -> usize {
        let mut inner = lock(&self.inner);
        let mut live = 0;
        for (_, expires) in inner.tokens.values_mut() {
            if *expires > now_ms {
                live += 1;
                *expires = now_ms;
            }
        }
        live
    }

    /// Registers or updates a device token.
    pub(crate) fn set_token(&self, spec: &HonorTokenSpec) -> Result<(), ControlError> {
        if spec.app_id.is_empty() || !well_formed(&spec.token) {
            return Err(ControlError::new(
                "app_id must not be empty and token must be 1..=512 of [A-Za-z0-9+/=_.:-]",
            ));
        }
        lock(&self.inner).devices.insert(
            (spec.app_id.clone(), spec.token.clone()),
            (spec.state, spec.receipt_status),
        );
        Ok(())
    }

    /// A token's state for `app_id` (unknown: valid when `accept_unknown` and well-formed,
    /// else expired) and its receipt override.
    pub(crate) fn device(
        &self,
        app_id: &str,
        token: &str,
        accept_unknown: bool,
    ) -> (HonorTokenState, Option<u32>) {
        let inner = lock(&self.inner);
        match inner.devices.get(&(app_id.to_string(), token.to_string())) {
            Some(d) => *d,
            None if accept_unknown && well_formed(token) => (HonorTokenState::Valid, None),
            None => (HonorTokenState::Expired, None),
        }
    }

    /// Counts a news & marketing message to a device; the count today including it.
    pub(crate) fn count_marketing(&self, app_id: &str, token: &str, day: i64) -> u32 {
        let mut inner = lock(&self.inner);
        let n = inner
            .marketing
            .entry((app_id.to_string(), token.to_string(), day))
            .or_default();
        *n += 1;
        *n
    }

    /// Counts `n` test messages if they fit in 1000 per day; false (nothing counted) if not.
    pub(crate) fn count_test(&self, app_id: &str, day: i64, n: u64) -> bool {
        let mut inner = lock(&self.inner);
        let used = inner.test.entry((app_id.to_string(), day)).or_default();
        if *used + n > 1000 {
            return false;
        }
        *used += n;
        true
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}
