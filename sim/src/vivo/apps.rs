//! Registered vivo apps and what the endpoint remembers about them: issued auth tokens, regId
//! states, per-device and per-app daily counters, stored list payloads and the answers given
//! to each `requestId` (vivo de-duplicates on it).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::control::types::{ControlError, VivoAck, VivoAppSpec, VivoTokenSpec, VivoTokenState};
use crate::record::lock;

/// Most test devices per app.
pub(crate) const MAX_TEST_DEVICES: usize = 20;

#[derive(Debug)]
struct App {
    spec: VivoAppSpec,
    /// Auth-call window start (ms) and count.
    auth_window: (i64, u64),
}

#[derive(Debug, Default, Clone, Copy)]
struct Device {
    state: VivoTokenState,
    receipt: Option<VivoAck>,
}

/// Daily totals of an app (system, operation; formal and test mode).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub system: u64,
    pub operation: u64,
    pub test_system: u64,
    pub test_operation: u64,
}

/// A message stored by `saveListPayload`.
#[derive(Debug, Clone)]
pub(crate) struct StoredPayload {
    /// The app that stored it.
    pub app_id: String,
    /// The message fields.
    pub message: Value,
}

#[derive(Debug, Default)]
struct Inner {
    apps: HashMap<String, App>,
    /// authToken → (app id, expiry ms).
    tokens: HashMap<String, (String, i64)>,
    devices: HashMap<(String, String), Device>,
    /// (app, regId, China day) → operation messages received.
    per_device: HashMap<(String, String, i64), u32>,
    totals: HashMap<(String, i64), Totals>,
    payloads: HashMap<String, StoredPayload>,
    /// (app, api, requestId) → the answer given.
    answers: HashMap<(String, &'static str, String), Value>,
}

/// Apps and their state.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// Adds or replaces an app.
    pub(crate) fn add(&self, spec: &VivoAppSpec) -> Result<(), ControlError> {
        let digits = !spec.app_id.is_empty() && spec.app_id.bytes().all(|b| b.is_ascii_digit());
        if !digits || spec.app_id.len() > 20 {
            return Err(ControlError::new("app_id must be 1..=20 digits"));
        }
        if spec.app_key.trim().is_empty() || spec.app_secret.trim().is_empty() {
            return Err(ControlError::new(
                "app_key and app_secret must not be empty",
            ));
        }
        if spec.test_devices.len() > MAX_TEST_DEVICES {
            return Err(ControlError::new("at most 20 test devices"));
        }
        lock(&self.inner).apps.insert(
            spec.app_id.clone(),
            App {
                spec: spec.clone(),
                auth_window: (0, 0),
            },
        );
        Ok(())
    }

    /// The app with this AppID.
    pub(crate) fn app(&self, app_id: &str) -> Option<VivoAppSpec> {
        lock(&self.inner).apps.get(app_id).map(|a| a.spec.clone())
    }

    /// Counts an auth call against the app's limit; true if over it.
    pub(crate) fn auth_limited(&self, app_id: &str, now_ms: i64) -> bool {
        let mut inner = lock(&self.inner);
        let Some(app) = inner.apps.get_mut(app_id) else {
            return false;
        };
        let Some(t) = app.spec.auth_throttle else {
            return false;
        };
        let window_ms = i64::try_from(t.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let (start, count) = &mut app.auth_window;
        if now_ms.saturating_sub(*start) >= window_ms {
            *start = now_ms;
            *count = 0;
        }
        *count += 1;
        *count > u64::from(t.max_requests)
    }

    /// Issues an auth token for `app_id` living until `expires_ms`.
    pub(crate) fn issue(&self, app_id: &str, expires_ms: i64) -> String {
        let value = uuid::Uuid::new_v4().simple().to_string();
        lock(&self.inner)
            .tokens
            .insert(value.clone(), (app_id.to_string(), expires_ms));
        value
    }

    /// The app of a live auth token.
    pub(crate) fn token_app(&self, token: &str, now_ms: i64) -> Option<VivoAppSpec> {
        let inner = lock(&self.inner);
        let (app_id, expires) = inner.tokens.get(token)?;
        if *expires <= now_ms {
            return None;
        }
        inner.apps.get(app_id).map(|a| a.spec.clone())
    }

    /// Expires every issued token now; returns how many were live.
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

    /// Registers or updates a regId.
    pub(crate) fn set_token(&self, spec: &VivoTokenSpec) -> Result<(), ControlError> {
        if spec.app_id.is_empty() || spec.reg_id.is_empty() {
            return Err(ControlError::new("app_id and reg_id must not be empty"));
        }
        lock(&self.inner).devices.insert(
            (spec.app_id.clone(), spec.reg_id.clone()),
            Device {
                state: spec.state,
                receipt: spec.receipt,
            },
        );
        Ok(())
    }

    /// The state of a regId of `app_id` (unknown ones: valid when `accept_unknown` and
    /// well-formed, i.e. 23 letters or digits), with its receipt override.
    pub(crate) fn device(
        &self,
        app_id: &str,
        reg_id: &str,
        accept_unknown: bool,
    ) -> (VivoTokenState, Option<VivoAck>) {
        let inner = lock(&self.inner);
        match inner.devices.get(&(app_id.to_string(), reg_id.to_string())) {
            Some(d) => (d.state, d.receipt),
            None if accept_unknown
                && reg_id.len() == 23
                && reg_id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                (VivoTokenState::Valid, None)
            }
            None => (VivoTokenState::NotExist, None),
        }
    }

    /// Adds `n` arrivals to the app's daily totals if they stay within `limit`; false (and
    /// nothing counted) if they would not.
    pub(crate) fn count_total(
        &self,
        app_id: &str,
        day: i64,
        bucket: fn(&mut Totals) -> &mut u64,
        n: u64,
        limit: u64,
    ) -> bool {
        let mut inner = lock(&self.inner);
        let totals = inner.totals.entry((app_id.to_string(), day)).or_default();
        let counter = bucket(totals);
        if counter.saturating_add(n) > limit {
            return false;
        }
        *counter += n;
        true
    }

    /// Counts the arrival of one operation message at a device if the device has received
    /// fewer than `limit` today; false (and nothing counted) if it has had its quota, so
    /// the message is controlled rather than delivered.
    pub(crate) fn count_device_arrival(
        &self,
        app_id: &str,
        reg_id: &str,
        day: i64,
        limit: u32,
    ) -> bool {
        let mut inner = lock(&self.inner);
        let n = inner
            .per_device
            .entry((app_id.to_string(), reg_id.to_string(), day))
            .or_default();
        if *n >= limit {
            return false;
        }
        *n += 1;
        true
    }

    /// Stores a list payload under its taskId.
    pub(crate) fn store_payload(&self, task_id: &str, payload: StoredPayload) {
        lock(&self.inner)
            .payloads
            .insert(task_id.to_string(), payload);
    }

    /// A stored list payload.
    pub(crate) fn payload(&self, task_id: &str) -> Option<StoredPayload> {
        lock(&self.inner).payloads.get(task_id).cloned()
    }

    /// The answer already given to `request_id` on `api` of the app.
    pub(crate) fn answered(
        &self,
        app_id: &str,
        api: &'static str,
        request_id: &str,
    ) -> Option<Value> {
        lock(&self.inner)
            .answers
            .get(&(app_id.to_string(), api, request_id.to_string()))
            .cloned()
    }

    /// Remembers the answer to `request_id`.
    pub(crate) fn remember(
        &self,
        app_id: &str,
        api: &'static str,
        request_id: &str,
        answer: &Value,
    ) {
        lock(&self.inner).answers.insert(
            (app_id.to_string(), api, request_id.to_string()),
            answer.clone(),
        );
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}
