//! Validation of a `messages:send` body as FCM does it (fcm.md §3, §4, §8). Two kinds of
//! error, as Google gives them: proto3-JSON parse errors (unknown field, wrong type, two
//! targets) get 400 with only a `BadRequest` detail; semantic errors (no target, bad token,
//! reserved data key, TTL out of range, message too big) also carry FcmError
//! `INVALID_ARGUMENT`.
//!
//! Field names may be snake_case or lowerCamelCase; `null` counts as absent.

use serde_json::{Map, Value};

use super::error::{FcmFailure, INVALID_TOKEN_MESSAGE};
use super::proto::{
    bad_value, field, field_of, known_fields, object, parse_duration, string, string_map, strings,
};

/// Payload limit (keys and values of data and notification) for token messages, in bytes.
pub(crate) const MAX_PAYLOAD: usize = 4096;
/// Payload limit for topic and condition messages, in bytes.
pub(crate) const MAX_TOPIC_PAYLOAD: usize = 2048;
/// Longest Android TTL: four weeks.
pub(crate) const MAX_TTL_SECS: u64 = 2_419_200;

const BODY: &[&str] = &["message", "validate_only"];
const MESSAGE: &[&str] = &[
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "topic",
    "condition",
    "fid",
];
const NOTIFICATION: &[&str] = &["title", "body", "image"];
const ANDROID: &[&str] = &[
    "collapse_key",
    "priority",
    "ttl",
    "restricted_package_name",
    "data",
    "notification",
    "fcm_options",
    "direct_boot_ok",
    "bandwidth_constrained_ok",
    "restricted_satellite_ok",
];
const ANDROID_NOTIFICATION_STRINGS: &[&str] = &[
    "title",
    "body",
    "icon",
    "color",
    "sound",
    "tag",
    "click_action",
    "body_loc_key",
    "title_loc_key",
    "channel_id",
    "ticker",
    "image",
    "event_time",
];
const ANDROID_NOTIFICATION_OTHERS: &[&str] = &[
    "body_loc_args",
    "title_loc_args",
    "sticky",
    "local_only",
    "notification_priority",
    "default_sound",
    "default_vibrate_timings",
    "default_light_settings",
    "vibrate_timings",
    "visibility",
    "notification_count",
    "light_settings",
    "proxy",
    "bypass_proxy_notification",
];
const APNS: &[&str] = &["headers", "payload", "fcm_options", "live_activity_token"];
const WEBPUSH: &[&str] = &["headers", "data", "notification", "fcm_options"];
const TARGETS: &[&str] = &["token", "topic", "condition", "fid"];
const RESERVED_KEYS: &[&str] = &["from", "message_type", "gcm"];
const RESERVED_PREFIXES: &[&str] = &["google.", "gcm.notification."];

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A registration token.
    Token(String),
    /// A topic name.
    Topic(String),
    /// A topic condition.
    Condition(String),
    /// A Firebase installation id.
    Fid(String),
}

/// A valid send request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validated {
    /// `validate_only`.
    pub validate_only: bool,
    /// The target.
    pub target: Target,
}

/// Whether a registration token is well-formed: 1..=4096 characters of `[A-Za-z0-9_:.-]`.
pub(crate) fn well_formed_token(t: &str) -> bool {
    (1..=4096).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.'))
}

/// Validates a send body.
pub(crate) fn validate(body: &[u8]) -> Result<Validated, FcmFailure> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| FcmFailure::parse("", format!("Invalid JSON payload received. {e}")))?;
    let root = object(&root, "", "SendMessageRequest")?;
    known_fields(root, "", BODY)?;
    let validate_only = match field(root, "validate_only") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(bad_value("validate_only", "TYPE_BOOL", v)),
    };
    let Some(message) = field(root, "message") else {
        return Err(no_recipient());
    };
    let message = object(
        message,
        "message",
        "type.googleapis.com/google.firebase.fcm.v1.Message",
    )?;
    parse_message(message)?;
    let target = target(message)?;
    check_semantics(message)?;
    let limit = match target {
        Target::Topic(_) | Target::Condition(_) => MAX_TOPIC_PAYLOAD,
        _ => MAX_PAYLOAD,
    };
    if payload_size(message) > limit {
        return Err(FcmFailure::invalid("message", "Message is too big"));
    }
    Ok(Validated {
        validate_only,
        target,
    })
}

/// The proto3-JSON shape of a message: known fields, types, enums, durations.
fn parse_message(m: &Map<String, Value>) -> Result<(), FcmFailure> {
    known_fields(m, "message", MESSAGE)?;
    for t in TARGETS.iter().chain(&["name"]) {
        if let Some(v) = field(m, t) {
            string(v, &format!("message.{t}"))?;
        }
    }
    if let Some(d) = field(m, "data") {
        string_map(d, "message.data")?;
    }
    if let Some(n) = field(m, "notification") {
        let n = object(
            n,
            "message.notification",
            "type.googleapis.com/google.firebase.fcm.v1.Notification",
        )?;
        known_fields(n, "message.notification", NOTIFICATION)?;
        strings(n, "message.notification", NOTIFICATION)?;
    }
    if let Some(a) = field(m, "android") {
        parse_android(a)?;
    }
    if let Some(a) = field(m, "apns") {
        let a = object(
            a,
            "message.apns",
            "type.googleapis.com/google.firebase.fcm.v1.ApnsConfig",
        )?;
        known_fields(a, "message.apns", APNS)?;
        if let Some(h) = field(a, "headers") {
            string_map(h, "message.apns.headers")?;
        }
        if let Some(p) = field(a, "payload") {
            object(
                p,
                "message.apns.payload",
                "type.googleapis.com/google.protobuf.Struct",
            )?;
        }
    }
    if let Some(w) = field(m, "webpush") {
        let w = object(
            w,
            "message.webpush",
            "type.googleapis.com/google.firebase.fcm.v1.WebpushConfig",
        )?;
        known_fields(w, "message.webpush", WEBPUSH)?;
        for map in ["headers", "data"] {
            if let Some(h) = field(w, map) {
                string_map(h, &format!("message.webpush.{map}"))?;
            }
        }
    }
    let count = TARGETS.iter().filter(|t| field(m, t).is_some()).count();
    if count > 1 {
        let second = TARGETS
            .iter()
            .filter(|t| field(m, t).is_some())
            .nth(1)
            .unwrap_or(&"token");
        return Err(FcmFailure::parse(
            "message",
            format!(
                "Invalid value at 'message' (oneof field 'target' is already set. Cannot set '{second}')"
            ),
        ));
    }
    Ok(())
}

fn parse_android(a: &Value) -> Result<(), FcmFailure> {
    let a = object(
        a,
        "message.android",
        "type.googleapis.com/google.firebase.fcm.v1.AndroidConfig",
    )?;
    known_fields(a, "message.android", ANDROID)?;
    strings(
        a,
        "message.android",
        &["collapse_key", "restricted_package_name"],
    )?;
    if let Some(d) = field(a, "data") {
        string_map(d, "message.android.data")?;
    }
    if let Some(p) = field(a, "priority") {
        let ok = match p {
            // fcm.md §3: the reference's `HIGH`/`NORMAL`, and the lowercase the Go Admin SDK
            // sends; no other spelling. Numbers are the proto3 JSON form of the enum.
            Value::String(s) => matches!(s.as_str(), "HIGH" | "NORMAL" | "high" | "normal"),
            Value::Number(n) => matches!(n.as_u64(), Some(0 | 1)),
            _ => false,
        };
        if !ok {
            return Err(bad_value(
                "message.android.priority",
                "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority",
                p,
            ));
        }
    }
    if let Some(t) = field(a, "ttl")
        && parse_duration(t).is_none()
    {
        return Err(bad_value(
            "message.android.ttl",
            "type.googleapis.com/google.protobuf.Duration",
            t,
        ));
    }
    if let Some(n) = field(a, "notification") {
        let path = "message.android.notification";
        let n = object(
            n,
            path,
            "type.googleapis.com/google.firebase.fcm.v1.AndroidNotification",
        )?;
        let known: Vec<&str> = ANDROID_NOTIFICATION_STRINGS
            .iter()
            .chain(ANDROID_NOTIFICATION_OTHERS)
            .copied()
            .collect();
        known_fields(n, path, &known)?;
        strings(n, path, ANDROID_NOTIFICATION_STRINGS)?;
    }
    Ok(())
}

fn target(m: &Map<String, Value>) -> Result<Target, FcmFailure> {
    let text = |k: &str| field(m, k).and_then(Value::as_str).map(str::to_string);
    if let Some(t) = text("token") {
        if !well_formed_token(&t) {
            return Err(FcmFailure::invalid("message.token", INVALID_TOKEN_MESSAGE));
        }
        return Ok(Target::Token(t));
    }
    if let Some(t) = text("topic") {
        let name = t.strip_prefix("/topics/").unwrap_or(&t);
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b));
        if !ok {
            return Err(FcmFailure::invalid("message.topic", "Invalid topic name"));
        }
        return Ok(Target::Topic(name.to_string()));
    }
    if let Some(c) = text("condition") {
        if c.trim().is_empty() {
            return Err(FcmFailure::invalid(
                "message.condition",
                "Invalid condition expression",
            ));
        }
        return Ok(Target::Condition(c));
    }
    match text("fid") {
        Some(f) if !f.is_empty() => Ok(Target::Fid(f)),
        Some(_) => Err(FcmFailure::invalid(
            "message.fid",
            "Invalid Firebase installation ID",
        )),
        None => Err(no_recipient()),
    }
}

fn check_semantics(m: &Map<String, Value>) -> Result<(), FcmFailure> {
    let android = field(m, "android");
    for (path, data) in [
        ("message.data", field(m, "data")),
        (
            "message.android.data",
            android.and_then(|a| field_of(a, "data")),
        ),
    ] {
        let Some(Value::Object(data)) = data else {
            continue;
        };
        if let Some(k) = data.keys().find(|k| reserved(k)) {
            return Err(FcmFailure::invalid(
                path,
                format!("Invalid data payload key: {k}"),
            ));
        }
    }
    if let Some(secs) = android
        .and_then(|a| field_of(a, "ttl"))
        .and_then(parse_duration)
        && !(0..=MAX_TTL_SECS as i64).contains(&secs)
    {
        return Err(FcmFailure::invalid(
            "message.android.ttl",
            format!("TTL must be between 0s and {MAX_TTL_SECS}s"),
        ));
    }
    Ok(())
}

fn reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key) || RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Bytes of keys and values of `data`, `notification`, `android.data` and
/// `android.notification` — what counts against the payload limit.
pub(crate) fn payload_size(m: &Map<String, Value>) -> usize {
    let size = |v: Option<&Value>| match v {
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or_else(|| v.to_string().len(), str::len))
            .sum(),
        _ => 0,
    };
    let android = field(m, "android");
    size(field(m, "data"))
        + size(field(m, "notification"))
        + size(android.and_then(|a| field_of(a, "data")))
        + size(android.and_then(|a| field_of(a, "notification")))
}

fn no_recipient() -> FcmFailure {
    FcmFailure::invalid("message", "Recipient of the message is not set.")
}
