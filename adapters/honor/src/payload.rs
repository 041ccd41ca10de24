//! The Honor message built from an ingest message (honor.md §4, §5), and the checks Honor
//! would otherwise fail the request for, done before any request so a refused message costs
//! nothing.
//!
//! Honor's body is Huawei's v1 message with **camelCase** names and the tokens at the top:
//! `{data?, notification?, android: {ttl, biTag, targetUserType, notification?}, token: […]}`.
//! How the ingest message maps:
//! - a **notification** when the message has a title or body and is not `silent`:
//!   `android.notification` {title, body (both required: a missing title is the app's name, a
//!   missing body repeats the title), image, `clickAction`, `tag` = collapse key,
//!   `importance`}. `clickAction` is required: an `https` click target → type 2 (`url`); any
//!   other click target → type 1 with it as the `intent`; none → type 3 (open the app). The
//!   badge is not sent (Honor's needs the app's entry activity class — set it with
//!   `overrides.honor`). Otherwise a **pass-through message** (`data` only).
//! - `data` is a **string**: the JSON object of `data` plus the click target under `click`
//!   (unless the producer set `click`); left out when empty, `"{}"` for an empty data message.
//! - `android.ttl`: `"<n>s"`, the seconds of `options.ttl` still left since `accepted_at`, at
//!   most 15 days; a ttl that ran out is refused.
//! - `android.biTag`: given by the adapter (the delivery id for one token, the notification
//!   id for a list), echoed in receipts.
//! - `android.notification.importance`: the app's `settings.honor.categories[category]`
//!   (`NORMAL` / `LOW`) when it has the category, else the default of honor.md §5
//!   ([`NORMAL_CATEGORIES`] → `NORMAL`, any other category → `LOW`); absent for a message
//!   without a category (see [`importance`]).
//! - `collapseKey`, `urgency`, `channelId` and the like exist on Huawei but not in Honor's
//!   field list, so they are not sent; `priority` has no Honor field.
//! - `overrides.honor` (an object of message fields) is deep-merged last and wins (`null`
//!   deletes); it cannot set `token`. The merged message is checked again.
//!
//! Size: Honor publishes no limit; the adapter applies Huawei's 4096 bytes for the message
//! without its tokens (UTF-8 bytes of the serialized JSON) — an assumption (honor.md marks the
//! API as Huawei-derived), so a huge message is refused here rather than by Honor.

use push_core::{App, HonorSettings, IngestMessage};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The limit applied to the message without its tokens, in bytes (assumed, see above).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// Most tokens one request may carry.
pub(crate) const MAX_TOKENS: usize = 1000;
/// Honor's longest ttl: 15 days.
const MAX_TTL_SECONDS: u64 = 1_296_000;
/// The data key carrying the click target.
pub(crate) const CLICK_DATA_KEY: &str = "click";

/// What the message is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (the importance mapping).
    pub app: &'a App,
    /// When pushgate accepted it; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
    /// The `biTag` receipts echo.
    pub bi_tag: &'a str,
}

/// A built message, without its token list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    fields: Map<String, Value>,
}

impl Prepared {
    /// The `sendMessage` body for these tokens.
    pub fn body_for(&self, tokens: &[&str]) -> Vec<u8> {
        let mut message = self.fields.clone();
        message.insert("token".into(), json!(tokens));
        serde_json::to_vec(&Value::Object(message)).unwrap_or_default()
    }

    /// The message fields (no token).
    #[cfg(test)]
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// Builds the message, or says why Honor would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let mut fields = message(inputs)?;
    if let Some(patch) = inputs.message.overrides.get("honor") {
        let Value::Object(patch) = patch else {
            return Err("overrides.honor must be a JSON object of Honor message fields".into());
        };
        if patch.contains_key("token") {
            return Err(
                "overrides.honor.token cannot be set: pushgate sends to the devices' tokens".into(),
            );
        }
        merge(&mut fields, patch);
    }
    check(&fields)?;
    let text = Value::Object(fields.clone()).to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "payload is {} bytes ({} characters) without the tokens; pushgate allows {MAX_PAYLOAD_BYTES} bytes for Honor (UTF-8: CJK characters take 3)",
            text.len(),
            text.chars().count()
        ));
    }
    Ok(Prepared { fields })
}

/// The categories whose default importance is `NORMAL` (service & communication) when the
/// app's `settings.honor.categories` has no entry for them; every other category defaults to
/// `LOW` (news & marketing). honor.md §5: "`IM`, `VOIP`, `ACCOUNT`, order/reminder-like
/// categories → `NORMAL`; everything else → `LOW`". The order/reminder-like ones are
/// pushgate's conventional service categories (`push_core::app::CATEGORIES` without
/// `MARKETING`) and the vendor names producers send (`ORDER`, `TODO`). Names match exactly,
/// as the app's map does.
pub(crate) const NORMAL_CATEGORIES: &[&str] = &[
    "IM",
    "VOIP",
    "ACCOUNT",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "EXPRESS",
    "FINANCE",
    "MAIL",
    "DEVICE_REMINDER",
    "SYSTEM_REMINDER",
    "ORDER",
    "TODO",
];

/// The importance honor.md §5 gives a category the app's map leaves out.
pub(crate) fn default_importance(category: &str) -> &'static str {
    if NORMAL_CATEGORIES.contains(&category) {
        "NORMAL"
    } else {
        "LOW"
    }
}

/// The Honor `importance` of a message: `None` without a category (Honor counts an absent
/// importance as news & marketing, as the producer asked by not classifying), the app's
/// mapping when it has the category, else [`default_importance`]. An app value other than
/// `NORMAL` / `LOW` (settings validation refuses it) is refused rather than sent.
pub(crate) fn importance(message: &IngestMessage, app: &App) -> Result<Option<String>, String> {
    let Some(ours) = message.options.category.as_deref() else {
        return Ok(None);
    };
    let mapped = app
        .settings
        .honor
        .as_ref()
        .and_then(|h| h.categories.get(ours));
    match mapped {
        Some(theirs) if HonorSettings::IMPORTANCE.contains(&theirs.as_str()) => {
            Ok(Some(theirs.clone()))
        }
        Some(theirs) => Err(format!(
            "settings.honor.categories.{ours} is {theirs:?}, not NORMAL or LOW"
        )),
        None => Ok(Some(default_importance(ours).to_string())),
    }
}

/// The message before overrides; see the module documentation.
fn message(inputs: &Inputs<'_>) -> Result<Map<String, Value>, String> {
    let msg = inputs.message;
    let options = &msg.options;
    let content = msg.notification.clone().unwrap_or_default();
    let visible = !options.silent && (content.title.is_some() || content.body.is_some());
    let importance = importance(msg, inputs.app)?;
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
    if let Some(seconds) = ttl {
        android.insert("ttl".into(), json!(format!("{seconds}s")));
    }
    android.insert("biTag".into(), json!(inputs.bi_tag));
    android.insert("targetUserType".into(), json!(0));
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
        let click = match content.click.as_deref() {
            Some(url) if url.starts_with("https://") => json!({ "type": 2, "url": url }),
            Some(target) => json!({ "type": 1, "intent": target }),
            None => json!({ "type": 3 }),
        };
        n.insert("clickAction".into(), click);
        if let Some(importance) = importance {
            n.insert("importance".into(), json!(importance));
        }
        if let Some(tag) = &options.collapse_key {
            n.insert("tag".into(), json!(tag));
        }
        android.insert("notification".into(), Value::Object(n));
    }
    fields.insert("android".into(), Value::Object(android));
    Ok(fields)
}

/// Seconds of `ttl` still left at `now`: `None` without a ttl, `Some(0)` for "now or
/// never", an error when a positive ttl ran out. Capped at 15 days.
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

/// What Honor checks that an override could break (honor.md §4, §8.3).
fn check(fields: &Map<String, Value>) -> Result<(), String> {
    let android = fields.get("android").and_then(Value::as_object);
    for (path, value) in [
        ("data", fields.get("data")),
        ("android.data", android.and_then(|a| a.get("data"))),
    ] {
        if value.is_some_and(|v| !v.is_string()) {
            return Err(format!(
                "{path} must be a string (Honor's data is JSON serialised into a string)"
            ));
        }
    }
    let Some(android) = android else {
        return Ok(());
    };
    if let Some(ttl) = android.get("ttl") {
        let seconds = ttl
            .as_str()
            .and_then(|t| t.strip_suffix('s'))
            .and_then(|t| t.parse::<u64>().ok());
        if seconds.is_none_or(|s| s > MAX_TTL_SECONDS) {
            return Err(
                "android.ttl must be \"<seconds>s\", at most \"1296000s\" (15 days)".into(),
            );
        }
    }
    if let Some(t) = android.get("targetUserType")
        && !matches!(t.as_i64(), Some(0 | 1))
    {
        return Err("android.targetUserType must be 0 (normal) or 1 (test)".into());
    }
    let notification = android.get("notification").and_then(Value::as_object);
    if let Some(n) = notification {
        check_notification(n, fields.get("notification"))?;
    } else if fields.get("data").is_none() && fields.get("notification").is_none() {
        return Err("the message has neither data nor a notification".into());
    }
    Ok(())
}

fn check_notification(n: &Map<String, Value>, top: Option<&Value>) -> Result<(), String> {
    let text = |key: &str| {
        n.get(key)
            .or_else(|| top.and_then(|t| t.get(key)))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !text("title") || !text("body") {
        return Err("a Honor notification needs a title and a body".into());
    }
    let Some(click) = n.get("clickAction").and_then(Value::as_object) else {
        return Err("android.notification.clickAction is required by Honor".into());
    };
    let has = |key: &str| {
        click
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match click.get("type").and_then(Value::as_i64) {
        Some(1) if has("intent") || has("action") => {}
        Some(1) => return Err("clickAction type 1 needs an intent or an action".into()),
        Some(2)
            if click
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("https://")) => {}
        Some(2) => return Err("clickAction type 2 needs an https url".into()),
        Some(3) => {}
        _ => return Err("clickAction.type must be 1, 2 or 3".into()),
    }
    if let Some(i) = n.get("importance")
        && !i
            .as_str()
            .is_some_and(|i| HonorSettings::IMPORTANCE.contains(&i))
    {
        return Err("android.notification.importance must be NORMAL or LOW".into());
    }
    if n.get("style").and_then(Value::as_i64) == Some(1) {
        for key in ["bigTitle", "bigBody"] {
            if n.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(format!("style 1 (big text) needs {key}"));
            }
        }
    }
    if n.get("buttons")
        .and_then(Value::as_array)
        .is_some_and(|b| b.len() > 3)
    {
        return Err("at most 3 buttons".into());
    }
    if let Some(set) = n.get("badge").and_then(|b| b.get("setNum"))
        && !set.as_i64().is_some_and(|s| (0..=99).contains(&s))
    {
        return Err("badge.setNum must be 0 to 99".into());
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
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
