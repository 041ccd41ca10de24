//! The APNs request built from a message: push type, headers and the JSON body.
//!
//! Mapping (documented for operators in the crate docs):
//! - **push type**: `options.category` `VOIP` or `CALL` (any case) → `voip` (topic
//!   `<bundle>.voip`, 5120-byte limit); else `options.silent`, or a message with nothing to
//!   show (no title, body, badge or sound) → `background` (`content-available: 1`, no alert,
//!   sound or badge, priority 5); else `alert`.
//! - **priority**: `high` → 10, `normal` → 5; `background` is always 5.
//! - **headers**: `apns-id` = the delivery id (lowercase UUID); `apns-collapse-id` =
//!   `options.collapse_key`; `apns-expiration` = `accepted_at + ttl` in Unix seconds, `0`
//!   for ttl 0 (try once, never store), absent without ttl (APNs' default storage).
//! - **body**: `aps.alert {title, body}`, `badge`, `sound`, `mutable-content: 1` when an
//!   image is given, `thread-id` from `data["thread-id"]` / `data["thread_id"]`, else the
//!   collapse key, `category` from `options.category`. Custom keys sit next to `aps`:
//!   `image` and `click` from the notification, then every `data` entry (replacing those
//!   two; a `data` key named `aps` is ignored), then `overrides.apns` is merged over the
//!   whole body — objects merge key by key (so `{"aps":{"interruption-level":"active"}}`
//!   adds one key), other values replace, `null` removes. Overrides win over everything;
//!   they never change headers.
//! - **size**: the serialized body is measured in bytes against the push type's limit
//!   before anything is sent.

use push_core::DeliveryId;
use push_core::notification::{IngestMessage, Priority};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Largest body of every push type but VoIP.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// Largest body of a VoIP push.
pub(crate) const MAX_VOIP_PAYLOAD_BYTES: usize = 5120;
/// Longest `apns-collapse-id`.
const MAX_COLLAPSE_ID_BYTES: usize = 64;

/// The `apns-push-type` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushType {
    /// Something the user sees or hears.
    Alert,
    /// A silent content update.
    Background,
    /// An incoming call (PushKit).
    Voip,
}

impl PushType {
    /// The header value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PushType::Alert => "alert",
            PushType::Background => "background",
            PushType::Voip => "voip",
        }
    }

    /// The `apns-topic` for an app.
    pub(crate) fn topic(self, bundle_id: &str) -> String {
        match self {
            PushType::Voip => format!("{bundle_id}.voip"),
            PushType::Alert | PushType::Background => bundle_id.to_string(),
        }
    }

    /// The body limit in bytes.
    pub(crate) fn max_payload_bytes(self) -> usize {
        match self {
            PushType::Voip => MAX_VOIP_PAYLOAD_BYTES,
            PushType::Alert | PushType::Background => MAX_PAYLOAD_BYTES,
        }
    }
}

/// One message ready to send to any number of devices of one app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedPush {
    /// The push type.
    pub push_type: PushType,
    /// `apns-topic`.
    pub topic: String,
    /// `apns-priority`: 10 or 5.
    pub priority: u8,
    /// `apns-expiration` in Unix seconds (0 = try once), if any.
    pub expiration: Option<i64>,
    /// `apns-collapse-id`, if any.
    pub collapse_id: Option<String>,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl PreparedPush {
    /// Builds the request parts of `message` for the app `bundle_id`; `Err` is the reason of
    /// a `Rejected` outcome (nothing may be sent).
    pub(crate) fn build(
        message: &IngestMessage,
        bundle_id: &str,
        accepted_at: OffsetDateTime,
    ) -> Result<Self, String> {
        let push_type = push_type(message);
        let options = &message.options;
        let priority = match (push_type, options.priority) {
            (PushType::Background, _) | (_, Priority::Normal) => 5,
            (_, Priority::High) => 10,
        };
        let expiration = options.ttl.map(|ttl| match ttl {
            0 => 0,
            ttl => accepted_at
                .unix_timestamp()
                .saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
        });
        if let Some(key) = &options.collapse_key
            && (key.is_empty() || key.len() > MAX_COLLAPSE_ID_BYTES)
        {
            return Err(format!(
                "the collapse key must be 1 to {MAX_COLLAPSE_ID_BYTES} bytes for APNs (apns-collapse-id)"
            ));
        }
        let body = serde_json::to_vec(&body(message, push_type))
            .map_err(|e| format!("the APNs payload could not be encoded: {e}"))?;
        let limit = push_type.max_payload_bytes();
        if body.len() > limit {
            return Err(format!(
                "the APNs payload is {} bytes; APNs accepts at most {limit} for {} pushes",
                body.len(),
                push_type.as_str()
            ));
        }
        Ok(Self {
            push_type,
            topic: push_type.topic(bundle_id),
            priority,
            expiration,
            collapse_id: options.collapse_key.clone(),
            body,
        })
    }

    /// The APNs headers of the request for one delivery (`authorization` aside).
    pub(crate) fn headers(&self, delivery_id: DeliveryId) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("apns-id", apns_id(delivery_id)),
            ("apns-push-type", self.push_type.as_str().to_string()),
            ("apns-topic", self.topic.clone()),
            ("apns-priority", self.priority.to_string()),
            ("content-type", "application/json".to_string()),
        ];
        if let Some(expiration) = self.expiration {
            headers.push(("apns-expiration", expiration.to_string()));
        }
        if let Some(collapse_id) = &self.collapse_id {
            headers.push(("apns-collapse-id", collapse_id.clone()));
        }
        headers
    }
}

/// The canonical `apns-id` of a delivery: its UUID, lowercase, 8-4-4-4-12.
pub(crate) fn apns_id(delivery_id: DeliveryId) -> String {
    delivery_id.0.hyphenated().to_string()
}

fn is_voip_category(category: Option<&str>) -> bool {
    category.is_some_and(|c| c.eq_ignore_ascii_case("voip") || c.eq_ignore_ascii_case("call"))
}

fn push_type(message: &IngestMessage) -> PushType {
    if is_voip_category(message.options.category.as_deref()) {
        return PushType::Voip;
    }
    let visible = message.notification.as_ref().is_some_and(|n| {
        n.title.is_some() || n.body.is_some() || n.badge.is_some() || n.sound.is_some()
    });
    if message.options.silent || !visible {
        PushType::Background
    } else {
        PushType::Alert
    }
}

fn body(message: &IngestMessage, push_type: PushType) -> Value {
    let mut aps = Map::new();
    let content = message.notification.clone().unwrap_or_default();
    let mut alert = Map::new();
    if let Some(title) = &content.title {
        alert.insert("title".into(), json!(title));
    }
    if let Some(body) = &content.body {
        alert.insert("body".into(), json!(body));
    }
    match push_type {
        PushType::Background => {
            aps.insert("content-available".into(), json!(1));
        }
        PushType::Voip => {
            if !alert.is_empty() {
                aps.insert("alert".into(), Value::Object(alert));
            }
        }
        PushType::Alert => {
            if !alert.is_empty() {
                aps.insert("alert".into(), Value::Object(alert));
            }
            if let Some(badge) = content.badge {
                aps.insert("badge".into(), json!(badge));
            }
            if let Some(sound) = &content.sound {
                aps.insert("sound".into(), json!(sound));
            }
            if content.image.is_some() {
                aps.insert("mutable-content".into(), json!(1));
            }
            let thread = message
                .data
                .get("thread-id")
                .or_else(|| message.data.get("thread_id"))
                .or(message.options.collapse_key.as_ref());
            if let Some(thread) = thread {
                aps.insert("thread-id".into(), json!(thread));
            }
            if let Some(category) = &message.options.category {
                aps.insert("category".into(), json!(category));
            }
        }
    }
    let mut root = Map::new();
    root.insert("aps".into(), Value::Object(aps));
    if push_type != PushType::Background {
        if let Some(image) = &content.image {
            root.insert("image".into(), json!(image));
        }
        if let Some(click) = &content.click {
            root.insert("click".into(), json!(click));
        }
    }
    for (key, value) in &message.data {
        if key != "aps" {
            root.insert(key.clone(), json!(value));
        }
    }
    let mut root = Value::Object(root);
    if let Some(overrides) = message.overrides.get("apns") {
        merge(&mut root, overrides);
    }
    root
}

/// Merges `patch` into `target`: objects key by key (recursively), `null` removes a key,
/// anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
