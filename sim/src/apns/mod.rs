//! The APNs simulator (apns.md §10): `POST /3/device/<token>` over HTTP/2 + TLS, token and
//! certificate authentication, device-token states, payload limits, the last stored
//! notification per (token, topic). Two personalities (production, sandbox) share the keys
//! and teams but not the device tokens.

mod auth;
mod cert;
mod keys;
mod reason;
mod server;
mod tokens;
mod validate;

use std::collections::HashMap;
use std::sync::Mutex;

pub(crate) use server::ApnsEndpoint;

use crate::control::types::{ApnsEnvironment, ApnsStoredFilter, RequestRecord, StoredNotification};
use crate::record::lock;

/// Everything the APNs personalities know.
#[derive(Debug, Default)]
pub(crate) struct ApnsState {
    /// Signing keys and team topics.
    pub keys: keys::KeyRegistry,
    /// Device tokens of both environments.
    pub devices: tokens::DeviceRegistry,
    stored: Mutex<HashMap<(ApnsEnvironment, String, String), RequestRecord>>,
}

impl ApnsState {
    /// Keeps `record` as the pending notification of (env, token, topic).
    pub(crate) fn store(
        &self,
        env: ApnsEnvironment,
        token: &str,
        topic: &str,
        record: RequestRecord,
    ) {
        lock(&self.stored).insert((env, token.to_ascii_lowercase(), topic.to_string()), record);
    }

    /// Stored notifications matching `filter`, oldest first.
    pub(crate) fn stored(&self, filter: &ApnsStoredFilter) -> Vec<StoredNotification> {
        let token = filter.token.as_deref().map(str::to_ascii_lowercase);
        let mut out: Vec<StoredNotification> = lock(&self.stored)
            .iter()
            .filter(|((env, tok, topic), _)| {
                filter.environment.is_none_or(|e| e == *env)
                    && token.as_ref().is_none_or(|t| t == tok)
                    && filter.topic.as_ref().is_none_or(|t| t == topic)
            })
            .map(|((env, tok, topic), r)| StoredNotification {
                environment: *env,
                token: tok.clone(),
                topic: topic.clone(),
                request: r.clone(),
            })
            .collect();
        out.sort_by_key(|s| s.request.seq);
        out
    }

    /// Forgets keys, teams, tokens and stored notifications.
    pub(crate) fn reset(&self) {
        self.keys.clear();
        self.devices.clear();
        lock(&self.stored).clear();
    }
}
