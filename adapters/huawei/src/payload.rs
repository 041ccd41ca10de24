//! The Push Kit `message` built from an ingest message (huawei.md §4), and the checks Huawei
//! would otherwise fail the request for — size, classification, field types — done before
//! any request, so a refused message costs no quota.
//!
//! How the ingest message maps:
//! - a **notification message** (shown by the system, works when the app is killed) when the
//!   message has a title or body and is not `silent`: `android.notification` {title, body
//!   (both required: a missing title is the app's name, a missing body repeats the title),
//!   image, `click_action`, `tag` = collapse key, `default_sound` / `sound`}. The click target
//!   is `click_action` type 1 with it as the `intent` (Android parses a plain deep link as
//!   a VIEW intent); without one, type 3 (open the app). The badge is not sent: Huawei's
//!   needs the app's entry activity class — set it with `overrides.huawei`.
//!   Otherwise a **pass-through (data) message**, with `android.urgency` HIGH / NORMAL from
//!   `options.priority` (Huawei honours urgency for data messages only; HIGH needs the
//!   high-priority entitlement, else `80300011`).
//! - `data` is a **string**: the JSON object of `data` plus the click target under `click`
//!   (unless the producer set `click`); left out when empty, `"{}"` for an empty data message.
//! - `android.ttl`: `"<n>s"`, the seconds of `options.ttl` still left since `accepted_at`,
//!   at most 15 days (`"0s"` stays "now or never"; a ttl that ran out is refused).
//! - `android.collapse_key` is Huawei's offline-cache group, an integer −1…100: a
//!   `collapse_key` that is such a number is passed as one; any other string (`conv-42`) is
//!   left out of the cache grouping — hashing it into 100 groups would let one conversation's
//!   message replace another's — and only sets the tray `tag`.
//! - `android.bi_tag`: given by the adapter (the delivery id for one token, the
//!   notification id for a batch), echoed in receipts as `biTag`.
//! - `android.category`: the app's mapping `settings.huawei.categories[options.category]`
//!   when it has one; otherwise the category itself when it is one of Huawei's values, else
//!   left out (news & marketing) — see [`category`] and [`default_category`].
//! - `overrides.huawei` (an object of `message` fields) is **deep-merged last and wins**:
//!   objects merge key by key, any other value replaces, `null` deletes. It cannot set a
//!   target (`token`, `topic`, `condition`).
//!
//! Size: Huawei allows 4096 bytes for the message without its token list, counted on the
//! UTF-8 bytes of the serialized JSON (a CJK character takes 3). Huawei publishes no
//! separate limit on the title or body, so none is applied; the error names bytes and
//! characters.

use push_core::app::HUAWEI_CATEGORIES;
use push_core::{App, IngestMessage, Priority};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Huawei's limit on the message without its tokens, in bytes.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// Most tokens one request may carry.
pub(crate) const MAX_TOKENS: usize = 1000;
/// Huawei's longest ttl: 15 days.
const MAX_TTL_SECONDS: u64 = 1_296_000;
/// The data key carrying the click target.
pub(crate) const CLICK_DATA_KEY: &str = "click";
/// Message fields `overrides.huawei` may not set.
const TARGET_FIELDS: [&str; 3] = ["token", "topic", "condition"];

/// What the message is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (the category mapping).
    pub app: &'a App,
    /// When pushgate accepted it; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
    /// The `bi_tag` receipts echo.
    pub bi_tag: &'a str,
}

/// A built `message`, without its token list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    fields: Map<String, Value>,
}

impl Prepared {
    /// The `messages:send` body for these tokens.
    pub fn body_for(&self, tokens: &[&str]) -> Vec<u8> {
        let mut message = self.fields.clone();
        message.insert("token".into(), json!(tokens));
        let body = json!({ "validate_only": false, "message": message });
        // Serialising a Value cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The message fields (no token).
    #[cfg(test)]
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// Builds the message, or says why Huawei would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let mut fields = message(inputs)?;
    if let Some(patch) = inputs.message.overrides.get("huawei") {
        let Value::Object(patch) = patch else {
            return Err("overrides.huawei must be a JSON object of Huawei message fields".into());
        };
        if let Some(field) = TARGET_FIELDS.iter().find(|f| patch.contains_key(**f)) {
            return Err(format!(
                "overrides.huawei.{field} cannot be set: pushgate sends to the devices' tokens"
            ));
        }
        merge(&mut fields, patch);
    }
    check(&fields)?;
    let text = Value::Object(fields.clone()).to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "payload is {} bytes ({} characters) without the tokens; Huawei allows {MAX_PAYLOAD_BYTES} bytes (UTF-8: CJK characters take 3)",
            text.len(),
            text.chars().count()
        ));
    }
    Ok(Prepared { fields })
}

/// The Huawei `android.category` of a message (huawei.md §5): `None` when the message has
/// no category; the app's mapping `settings.huawei.categories[options.category]` when it
/// has one (it wins, and a stale value that is not a Huawei category is refused rather than
/// sent as a parameter error); otherwise [`default_category`]. `visible` says whether the
/// message is a notification (as opposed to a pass-through data message).
pub(crate) fn category(
    message: &IngestMessage,
    app: &App,
    visible: bool,
) -> Result<Option<String>, String> {
    let Some(ours) = message.options.category.as_deref() else {
        return Ok(None);
    };
    let mapped = app
        .settings
        .huawei
        .as_ref()
        .and_then(|h| h.categories.get(ours));
    match mapped {
        Some(theirs) if HUAWEI_CATEGORIES.contains(&theirs.as_str()) => Ok(Some(theirs.clone())),
        Some(theirs) => Err(format!(
            "settings.huawei.categories.{ours} is {theirs:?}, not a Huawei category ({})",
            HUAWEI_CATEGORIES.join(", ")
        )),
        None => Ok(default_category(ours, visible).map(str::to_string)),
    }
}

/// The default `android.category` for a pushgate category the app does not map — the one
/// place this table lives (huawei.md §5, "Mapping from the ingest `options.category`"): a
/// category that is one of Huawei's own values ([`HUAWEI_CATEGORIES`]: `IM`, `VOIP`,
/// `ACCOUNT`, …, `MARKETING`) is passed through, except `PLAY_VOICE` on a notification
/// (Huawei allows it for pass-through messages only); anything else (`ORDER`, `NEWS`, …)
/// is `None`: `android.category` is left out, so Huawei counts the message as news &
/// marketing — inventing a value would fail the request as a parameter error.
pub(crate) fn default_category(ours: &str, visible: bool) -> Option<&'static str> {
    let theirs = HUAWEI_CATEGORIES.iter().copied().find(|c| *c == ours)?;
    (theirs != "PLAY_VOICE" || !visible).then_some(theirs)
}

/// The message before overrides; see the module documentation.
fn message(inputs: &Inputs<'_>) -> Result<Map<String, Value>, String> {
    let msg = inputs.message;
    let options = &msg.options;
    let content = msg.notification.clone().unwrap_or_default();
    let visible = !options.silent && (content.title.is_some() || content.body.is_some());
    let category = category(msg, inputs.app, visible)?;
    if visible && category.as_deref() == Some("PLAY_VOICE") {
        return Err(format!(
            "Huawei category PLAY_VOICE (mapped from {}) is for data messages only; send it silent",
            options.category.as_deref().unwrap_or_default()
        ));
    }
    let ttl = remaining_ttl(options.ttl, inputs.accepted_at, inputs.now)?;

    let mut data = msg.data.clone();
    if let Some(click) = &content.click {
        data.entry(CLICK_DATA_KEY.to_string())
            .or_insert_with(|| click.clone());
    }
    let mut fields = Map::new();
    if !data.is_empty() || !visible {
        let text = serde_json::to_string(&data).map_err(|e| format!("data: {e}"))?;
        fields.insert("data".into(), Value::String(text));
    }

    let mut android = Map::new();
    if let Some(category) = category {
        android.insert("category".into(), json!(category));
    }
    if let Some(seconds) = ttl {
        android.insert("ttl".into(), json!(format!("{seconds}s")));
    }
    android.insert("bi_tag".into(), json!(inputs.bi_tag));
    let collapse = options.collapse_key.as_deref();
    if let Some(group) = collapse.and_then(cache_group) {
        android.insert("collapse_key".into(), json!(group));
    }
    if visible {
        let mut n = Map::new();
        // A notification is shown only with both a title and a body: a missing title is the
        // app's name, a missing body repeats the title (as for vivo, Xiaomi and OPPO).
        if let Some((title, body)) = content.title_and_body(&inputs.app.name) {
            n.insert("title".into(), json!(title));
            n.insert("body".into(), json!(body));
        }
        if let Some(image) = &content.image {
            n.insert("image".into(), json!(image));
        }
        let click = match &content.click {
            Some(target) => json!({ "type": 1, "intent": target }),
            None => json!({ "type": 3 }),
        };
        n.insert("click_action".into(), click);
        if let Some(tag) = collapse {
            n.insert("tag".into(), json!(tag));
        }
        match content.sound.as_deref() {
            Some("default") => {
                n.insert("default_sound".into(), json!(true));
            }
            Some(sound) => {
                n.insert("sound".into(), json!(sound));
                n.insert("default_sound".into(), json!(false));
            }
            None => {}
        }
        android.insert("notification".into(), Value::Object(n));
    } else {
        let urgency = match options.priority {
            Priority::High => "HIGH",
            Priority::Normal => "NORMAL",
        };
        android.insert("urgency".into(), json!(urgency));
    }
    fields.insert("android".into(), Value::Object(android));
    Ok(fields)
}

/// A collapse key that is Huawei's own cache group number (−1 to 100).
fn cache_group(key: &str) -> Option<i64> {
    key.trim()
        .parse::<i64>()
        .ok()
        .filter(|g| (-1..=100).contains(g))
}

/// Seconds of `ttl` still left at `now`: `None` without a ttl, `Some(0)` for "now or
/// never", an error when a positive ttl ran out. Capped at Huawei's 15 days.
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

/// What Huawei checks that an override could break.
fn check(fields: &Map<String, Value>) -> Result<(), String> {
    let android = fields.get("android").and_then(Value::as_object);
    for (path, value) in [
        ("data", fields.get("data")),
        ("android.data", android.and_then(|a| a.get("data"))),
    ] {
        if value.is_some_and(|v| !v.is_string()) {
            return Err(format!(
                "{path} must be a string (Huawei's data is JSON serialised into a string)"
            ));
        }
    }
    let Some(android) = android else {
        return Ok(());
    };
    if let Some(group) = android.get("collapse_key")
        && !group.as_i64().is_some_and(|g| (-1..=100).contains(&g))
    {
        return Err("android.collapse_key must be an integer from -1 to 100".into());
    }
    if let Some(category) = android.get("category")
        && !category
            .as_str()
            .is_some_and(|c| HUAWEI_CATEGORIES.contains(&c))
    {
        return Err(format!(
            "android.category must be one of {}",
            HUAWEI_CATEGORIES.join(", ")
        ));
    }
    if let Some(notification) = android.get("notification")
        && notification.get("click_action").is_none()
    {
        return Err("android.notification.click_action is required by Huawei".into());
    }
    if fields.get("data").is_none()
        && android.get("notification").is_none()
        && fields.get("notification").is_none()
    {
        return Err("the message has neither data nor a notification".into());
    }
    Ok(())
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

#[cfg(test)]
pub(crate) mod tests;
