//! The OPPO push simulator (oppo.md §9): the signed auth endpoint and the send APIs
//! (`unicast`, `unicast_batch`, `save_message_content`, `broadcast`) of both hosts on one
//! HTTPS port — the mainland China host at the root, the overseas host under `/intl` — with
//! form-encoded bodies carrying JSON strings, validation with OPPO's codes, registration-id
//! states, classification quotas, `app_message_id` de-duplication and receipts posted as
//! JSON arrays to each message's `call_back_url`.

mod apps;
mod auth;
mod codes;
mod devices;
mod receipts;
mod send;
mod server;
mod validate;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::control::types::{OppoSimSettings, OppoSimSettingsUpdate};
use crate::record::lock;

pub(crate) use server::OppoEndpoint;

/// The path prefix of the overseas host on the sim's one port.
pub(crate) const INTL_PREFIX: &str = "/intl";

/// OPPO's two push hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    /// `api.push.oppomobile.com` (the sim's root).
    China,
    /// `api-intl.push.oppomobile.com` (the sim's `/intl`).
    Overseas,
}

/// A notification saved with `save_message_content`.
#[derive(Clone, Debug)]
pub(crate) struct SavedMessage {
    /// The app.
    pub app_key: String,
    /// The host it was saved on.
    pub host: Host,
    /// The notification fields.
    pub notification: Map<String, Value>,
}

/// Everything the OPPO endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct OppoState {
    /// Apps and issued auth tokens.
    pub apps: apps::AppRegistry,
    /// Registration ids and daily counters.
    pub devices: devices::DeviceRegistry,
    /// Posted receipts.
    pub receipts: receipts::ReceiptLog,
    settings: Mutex<OppoSimSettings>,
    /// (app, registration id, app_message_id) → message id.
    seen: Mutex<HashMap<(String, String, String), String>>,
    /// Saved broadcast contents by message id.
    saved: Mutex<HashMap<String, SavedMessage>>,
    next_id: AtomicU64,
}

impl OppoState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {
        self.apps.clear();
        self.devices.clear();
        self.receipts.clear();
        *lock(&self.settings) = OppoSimSettings::default();
        lock(&self.seen).clear();
        lock(&self.saved).clear();
    }

    /// The OPPO settings.
    pub(crate) fn settings(&self) -> OppoSimSettings {
        lock(&self.settings).clone()
    }

    /// Applies a partial update; returns the result.
    pub(crate) fn update_settings(&self, update: OppoSimSettingsUpdate) -> OppoSimSettings {
        let mut s = lock(&self.settings);
        if let Some(v) = update.auth_token_ttl_secs {
            s.auth_token_ttl_secs = v;
        }
        if let Some(v) = update.receipts {
            s.receipts = v;
        }
        s.clone()
    }

    /// A fresh 24-hex-digit id (like OPPO's message ids): seconds and a sequence number.
    pub(crate) fn new_id(&self, now_ms: i64) -> String {
        let seq = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}{seq:016x}", (now_ms / 1000).max(0) & 0xffff_ffff)
    }

    /// The message id an earlier send with this `app_message_id` got.
    pub(crate) fn seen(&self, key: &(String, String, String)) -> Option<String> {
        lock(&self.seen).get(key).cloned()
    }

    /// Remembers a send's `app_message_id`.
    pub(crate) fn remember(&self, key: (String, String, String), message_id: String) {
        lock(&self.seen).insert(key, message_id);
    }

    /// Saves a broadcast content.
    pub(crate) fn save(&self, message_id: String, message: SavedMessage) {
        lock(&self.saved).insert(message_id, message);
    }

    /// A saved broadcast content.
    pub(crate) fn saved(&self, message_id: &str) -> Option<SavedMessage> {
        lock(&self.saved).get(message_id).cloned()
    }
}
