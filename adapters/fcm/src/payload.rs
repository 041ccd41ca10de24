//! The FCM v1 `Message` built from an ingest message, and the checks FCM would otherwise
//! fail the request for (size, reserved data keys, non-string data) — done before any
//! request so a refused message costs no quota.
//!
//! How the ingest message maps:
//! - `notification` {title, body, image} is sent only for a visible notification (a title,
//!   body or image, and not `silent`); otherwise the message is **data-only**.
//! - `data` is passed as is. The click target goes into `data.click` (unless the producer
//!   set `data.click` itself) so the app reads it on every platform; on Android it is also
//!   `android.notification.click_action` when it is an intent action (no `:`) — a deep-link
//!   URL there would match no intent filter and make the tap do nothing; on the web it is
//!   `webpush.fcm_options.link` when it is an `https` URL.
//! - `android`: `priority` HIGH/NORMAL from `options.priority`; `ttl` `"<n>s"` — the
//!   seconds of `options.ttl` still left since `accepted_at` (`"0s"` stays "now or
//!   never"; a ttl that ran out is refused); `collapse_key`; `restricted_package_name` from
//!   the app's Android settings; for visible notifications `notification` {channel_id
//!   (configured), tag = collapse key, click_action, sound, notification_count = badge}.
//! - `apns` (iOS apps reached through FCM; ignored for Android tokens): headers
//!   `apns-priority` (10 for high, 5 for normal and for every background push, as Apple
//!   requires), `apns-push-type` (`alert`, or `background` for silent / data-only),
//!   `apns-collapse-id`, `apns-expiration` (accepted_at + ttl, Unix seconds); `payload.aps`
//!   badge, sound, thread-id = collapse key, `mutable-content` with an image,
//!   `content-available: 1` for background pushes.
//! - `webpush`: `Urgency` and `TTL` headers and the https click link.
//! - `overrides.fcm` (an object of `Message` fields) is **deep-merged last and wins**:
//!   objects merge key by key, any other value replaces, `null` deletes. It cannot set a
//!   target (`token`, `topic`, `condition`, `fid`) or `name`. Write it in snake_case like
//!   pushgate (`collapse_key`, not `collapseKey`): proto3 JSON refuses both spellings at once.
//!
//! Size: FCM allows 4096 bytes of payload, counting keys and values. Counted here: every
//! key and string value of `data`, `notification`, `android.data` and
//! `android.notification` (what the device receives), after the merge. The token, the
//! apns/webpush sections and JSON punctuation do not count.

use push_core::{App, IngestMessage, Priority};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// FCM's payload limit for token messages, in bytes.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// FCM's longest ttl: 4 weeks.
const MAX_TTL_SECONDS: u64 = 2_419_200;
/// The data key carrying the click target.
pub(crate) const CLICK_DATA_KEY: &str = "click";
/// Message fields `overrides.fcm` may not set.
const TARGET_FIELDS: [&str; 5] = ["token", "topic", "condition", "fid", "name"];

/// What the message is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (Android package name).
    pub app: &'a App,
    /// When pushgate accepted it; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
    /// The configured Android channel; empty = none.
    pub channel_id: &'a str,
}

/// A built message, without its target token: the `Message` fields serialised once, so a
/// send only splices its token in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    /// The JSON object of the message fields, `{…}`.
    fields_json: Vec<u8>,
}

impl Prepared {
    fn new(fields: &impl Serialize) -> Result<Self, String> {
        let fields_json = serde_json::to_vec(fields)
            .map_err(|_| "the FCM message could not be serialised".to_string())?;
        if fields_json.first() != Some(&b'{') || fields_json.last() != Some(&b'}') {
            return Err("the FCM message is not a JSON object".to_string());
        }
        Ok(Prepared { fields_json })
    }

    /// The `messages:send` body for one registration token:
    /// `{"message":{"token":"…",<fields>}}`.
    pub fn body_for(&self, token: &str) -> Vec<u8> {
        let inner = &self.fields_json[1..self.fields_json.len() - 1];
        let mut body = Vec::with_capacity(self.fields_json.len() + token.len() + 24);
        body.extend_from_slice(br#"{"message":{"token":"#);
        // A string always serialises.
        body.extend_from_slice(&serde_json::to_vec(token).unwrap_or_default());
        if !inner.is_empty() {
            body.push(b',');
            body.extend_from_slice(inner);
        }
        body.extend_from_slice(b"}}");
        body
    }

    /// The message fields (for tests; no token).
    #[cfg(test)]
    pub fn fields(&self) -> Map<String, Value> {
        serde_json::from_slice(&self.fields_json).unwrap_or_default()
    }
}

/// The body of a `validate_only` send to a topic, proving a credential without delivering.
pub(crate) fn dry_run_body(topic: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": { "topic": topic }, "validate_only": true });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Builds the message, or says why FCM would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let typed = model::message(inputs)?;
    let Some(patch) = inputs.message.overrides.get("fcm") else {
        // The common case: no overrides, so the typed message is what is sent and its checks
        // need no JSON tree (building one per send cost a quarter of the client's CPU).
        check_data_keys(typed.data().keys(), "data")?;
        let size = typed.device_bytes();
        if size > MAX_PAYLOAD_BYTES {
            return Err(too_large(size));
        }
        return Prepared::new(&typed);
    };
    let mut fields = match serde_json::to_value(typed) {
        Ok(Value::Object(fields)) => fields,
        _ => return Err("the FCM message could not be built".to_string()),
    };
    let Value::Object(patch) = patch else {
        return Err("overrides.fcm must be a JSON object of FCM Message fields".to_string());
    };
    if let Some(field) = TARGET_FIELDS.iter().find(|f| patch.contains_key(**f)) {
        return Err(format!(
            "overrides.fcm.{field} cannot be set: pushgate sends to each device's token"
        ));
    }
    merge(&mut fields, patch);
    check_data(&fields, "data")?;
    if let Some(Value::Object(android)) = fields.get("android") {
        check_data(android, "android.data")?;
    }
    let size = payload_bytes(&fields);
    if size > MAX_PAYLOAD_BYTES {
        return Err(too_large(size));
    }
    Prepared::new(&fields)
}

fn too_large(size: usize) -> String {
    format!(
        "payload is {size} bytes (keys and values of data and notification); FCM allows {MAX_PAYLOAD_BYTES}"
    )
}

/// Seconds of `ttl` still left at `now`: `None` without a ttl, `Some(0)` for "now or
/// never", an error when a positive ttl ran out.
pub(crate) fn remaining_ttl(
    ttl: Option<u64>,
    accepted_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<u64>, String> {
    let Some(ttl) = ttl else { return Ok(None) };
    if ttl == 0 {
        return Ok(Some(0));
    }
    let elapsed = u64::try_from((now - accepted_at).whole_seconds()).unwrap_or(0);
    if elapsed >= ttl {
        return Err(format!(
            "the ttl of {ttl} s ran out {} s before this send",
            elapsed - ttl
        ));
    }
    Ok(Some((ttl - elapsed).min(MAX_TTL_SECONDS)))
}

/// Deep merge: objects key by key, `null` deletes, anything else replaces.
pub(crate) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (value, target.get_mut(key)) {
            (Value::Null, _) => {
                target.remove(key);
            }
            (Value::Object(p), Some(Value::Object(t))) => merge(t, p),
            (value, _) => {
                target.insert(key.clone(), without_nulls(value));
            }
        }
    }
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `data` maps: string values only, no key FCM reserves.
fn check_data(section: &Map<String, Value>, path: &str) -> Result<(), String> {
    let Some(data) = section.get("data") else {
        return Ok(());
    };
    let Value::Object(data) = data else {
        return Err(format!("{path} must be an object of strings"));
    };
    if let Some((key, _)) = data.iter().find(|(_, value)| !value.is_string()) {
        return Err(format!(
            "{path}.{key} must be a string (FCM refuses other types)"
        ));
    }
    check_data_keys(data.keys(), path)
}

/// No key FCM reserves.
fn check_data_keys<'a>(
    mut keys: impl Iterator<Item = &'a String>,
    path: &str,
) -> Result<(), String> {
    match keys.find(|key| reserved_data_key(key)) {
        Some(key) => Err(format!(
            "{path}.{key} is a key FCM reserves (from, message_type, gcm, google.*, gcm.notification.*)"
        )),
        None => Ok(()),
    }
}

fn reserved_data_key(key: &str) -> bool {
    matches!(key, "from" | "message_type" | "gcm")
        || key.starts_with("google.")
        || key.starts_with("gcm.notification.")
}

/// Bytes of keys and string values that reach the device.
pub(crate) fn payload_bytes(fields: &Map<String, Value>) -> usize {
    let android = fields.get("android").and_then(Value::as_object);
    [
        fields.get("data"),
        fields.get("notification"),
        android.and_then(|a| a.get("data")),
        android.and_then(|a| a.get("notification")),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_object)
    .flat_map(|m| m.iter())
    .map(|(k, v)| k.len() + leaf_bytes(v))
    .sum()
}

pub(crate) fn leaf_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Null => 0,
        other => other.to_string().len(),
    }
}

/// The typed v1 `Message` model (only what pushgate fills; overrides reach the rest).
mod model;

/// The priority name FCM's AndroidConfig uses.
fn android_priority(priority: Priority) -> &'static str {
    match priority {
        Priority::High => "HIGH",
        Priority::Normal => "NORMAL",
    }
}

/// `data` plus the click target.
fn data_with_click(message: &IngestMessage) -> BTreeMap<String, String> {
    let mut data = message.data.clone();
    if let Some(click) = message.notification.as_ref().and_then(|n| n.click.as_ref()) {
        data.entry(CLICK_DATA_KEY.to_string())
            .or_insert_with(|| click.clone());
    }
    data
}

#[cfg(test)]
pub(crate) mod tests;
