//! The OPPO `message` built from an ingest message (oppo.md §4), and the checks OPPO would
//! otherwise fail the request for — text limits, classification, field types — done before
//! any request, so a refused message costs no quota.
//!
//! OPPO's send APIs are form-encoded with JSON *inside* form fields: `message` (unicast) or
//! `messages` (unicast_batch) is the JSON text of one object / an array of objects, each
//! `{"target_type": 2, "target_value": <registration id>, "verify_registration_id": true,
//! "notification": {…}}`; the form encoding (JSON, then URL-encoding) is reqwest's.
//!
//! How the ingest message maps onto `notification`:
//! - `title` (1–50 characters) from `notification.title`, else the app's name; `content`
//!   (≤200 characters for the standard style, 128 for long text) from `notification.body`,
//!   else the title. Characters are Unicode scalar values, as OPPO counts them (a CJK
//!   character or an emoji is 1). Longer text is refused, not cut.
//! - a click target: `click_action_type` 2 with `click_action_url` for an http(s) URL, 5
//!   (intent-scheme URL) for any other deep link, 0 (open the app) without one.
//! - `action_parameters`: the JSON text of `data` plus the click target under `click`
//!   (unless the producer set `click`), at most 4096 characters; left out when empty.
//! - `off_line_ttl`: the seconds of `options.ttl` still left since `accepted_at`, at most 10
//!   days; a ttl of 0 ("now or never") is `off_line: false`; a ttl that ran out is refused.
//! - `notify_id` from `collapse_key` (a later notification with the same key replaces the
//!   earlier one in the tray): the key itself when it is a positive 31-bit number, else a
//!   stable 31-bit FNV-1a hash of it.
//! - classification (`channel_id`, `category`, `notify_level`, always together) from the
//!   app's `settings.oppo.categories`, else OPPO's default table (see [`classification`]).
//! - per target: `app_message_id` = the delivery id (OPPO de-duplicates on it, which makes
//!   retries safe), and — when the app has `settings.oppo.callback_url` — `call_back_url`
//!   and `call_back_parameter` = the delivery id, echoed as `param` in receipts.
//! - `overrides.oppo` (an object of `notification` fields) is deep-merged last and wins
//!   (`null` deletes); it cannot set `app_message_id` or `call_back_parameter`.
//!
//! Badge, sound and image have no place in an OPPO unicast notification and are not sent.
//! OPPO's server API sends notifications only: a silent (data-only) message is refused.

use push_core::app::OppoSettings;
use push_core::{App, DeliveryId, IngestMessage};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// OPPO's limit on `action_parameters`, in characters: the app data's room.
pub(crate) const MAX_PAYLOAD_CHARS: usize = 4096;
/// Most messages one `unicast_batch` may carry.
pub(crate) const MAX_BATCH: usize = 1000;
/// `title`: 1 to 50 characters.
const MAX_TITLE_CHARS: usize = 50;
/// `sub_title`: at most 10 characters.
const MAX_SUB_TITLE_CHARS: usize = 10;
/// `click_action_url` / `click_action_activity`: at most 500 characters.
const MAX_CLICK_CHARS: usize = 500;
/// `call_back_url`: at most 200 characters.
const MAX_CALLBACK_URL_CHARS: usize = 200;
/// `call_back_parameter`: at most 100 characters.
const MAX_CALLBACK_PARAMETER_CHARS: usize = 100;
/// `off_line_ttl`: at most 10 days.
const MAX_OFFLINE_TTL_SECONDS: u64 = 864_000;
/// `show_ttl`: 6 to 48 hours.
const SHOW_TTL_SECONDS: (u64, u64) = (21_600, 172_800);
/// The data key carrying the click target.
pub(crate) const CLICK_DATA_KEY: &str = "click";
/// Notification fields `overrides.oppo` may not set: pushgate's idempotency and receipt keys.
const RESERVED_FIELDS: [&str; 2] = ["app_message_id", "call_back_parameter"];

/// What the message is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (name, classification).
    pub app: &'a App,
    /// When pushgate accepted it; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
}

/// A built `notification`, without the per-target fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    notification: Map<String, Value>,
    callback: bool,
}

impl Prepared {
    /// The `message` object for one registration id and delivery.
    pub fn message_for(&self, token: &str, delivery_id: DeliveryId) -> Value {
        let mut notification = self.notification.clone();
        let id = delivery_id.to_string();
        notification.insert("app_message_id".into(), json!(id));
        if self.callback {
            notification.insert("call_back_parameter".into(), json!(id));
        }
        json!({
            "target_type": 2,
            "target_value": token,
            "verify_registration_id": true,
            "notification": notification,
        })
    }

    /// The `notification` fields shared by every target.
    #[cfg(test)]
    pub fn notification(&self) -> &Map<String, Value> {
        &self.notification
    }
}

/// Builds the notification, or says why OPPO would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let mut notification = notification(inputs)?;
    let mut callback = false;
    let settings = inputs.app.settings.oppo.as_ref();
    if let Some(url) = settings.and_then(|o| o.callback_url.as_deref()) {
        if url.chars().count() <= MAX_CALLBACK_URL_CHARS {
            notification.insert("call_back_url".into(), json!(url));
            callback = true;
        } else {
            tracing::warn!(
                vendor = "oppo",
                app = %inputs.app.id,
                "settings.oppo.callback_url is longer than OPPO's 200 characters; sending without receipts"
            );
        }
    }
    if let Some(patch) = inputs.message.overrides.get("oppo") {
        let Value::Object(patch) = patch else {
            return Err("overrides.oppo must be a JSON object of OPPO notification fields".into());
        };
        if let Some(field) = RESERVED_FIELDS.iter().find(|f| patch.contains_key(**f)) {
            return Err(format!(
                "overrides.oppo.{field} cannot be set: pushgate uses it for de-duplication and receipts"
            ));
        }
        merge(&mut notification, patch);
        callback = callback && notification.contains_key("call_back_url");
    }
    check(&notification)?;
    Ok(Prepared {
        notification,
        callback,
    })
}

/// OPPO's default classification (oppo.md §5) of a pushgate category the app's
/// `settings.oppo.categories` does not map: the OPPO `category` it is sent as. Categories not
/// listed here are content & marketing: OPPO's own marketing names (`NEWS`, `CONTENT`,
/// `MARKETING`, `SOCIAL`) keep their name, anything else becomes [`DEFAULT_MARKETING`].
/// The levels are [`default_level`]'s; the channels `communication_channel_id` /
/// `default_channel_id` of the settings.
pub(crate) const DEFAULT_CATEGORIES: &[(&str, &str)] = &[
    ("IM", "IM"),
    ("VOIP", "IM"),
    ("ACCOUNT", "ACCOUNT"),
    ("ORDER", "ORDER"),
    ("TODO", "TODO"),
    ("SUBSCRIPTION", "SUBSCRIPTION"),
    ("DEVICE_REMINDER", "DEVICE_REMINDER"),
];
/// The OPPO category of an unmapped pushgate category outside [`DEFAULT_CATEGORIES`] and
/// OPPO's marketing names (oppo.md §5: "everything else → MARKETING").
pub(crate) const DEFAULT_MARKETING: &str = "MARKETING";

/// The default `notify_level` of an OPPO category (oppo.md §5): `IM` 16 when the app holds
/// the strong-reminder permission, else 2; the other communication & service categories 2
/// (bar + lock screen); content & marketing 1 (bar only).
pub(crate) fn default_level(category: &str, strong_reminder: bool) -> u8 {
    match category {
        "IM" if strong_reminder => 16,
        c if OppoSettings::COMMUNICATION_CATEGORIES.contains(&c) => 2,
        _ => 1,
    }
}

/// How a message is classified for OPPO: the three fields sent together (oppo.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Class {
    /// `channel_id`; `None` only for content & marketing without a configured channel.
    pub channel_id: Option<String>,
    /// `category`, one of [`OppoSettings::CATEGORIES`].
    pub category: String,
    /// `notify_level`, always sent (and only sent) with the category: OPPO refuses a level
    /// without one (code 67).
    pub notify_level: u8,
}

/// OPPO's classification of a message: `None` when it has no category (sent unclassified,
/// OPPO's default class content & marketing); the app's mapping when it has one for the
/// category (a missing level filled from [`default_level`]); otherwise the default table
/// ([`DEFAULT_CATEGORIES`]). Refused: a broken app mapping, and a communication & service
/// default without `settings.oppo.communication_channel_id` (OPPO would answer 67).
pub(crate) fn classification(message: &IngestMessage, app: &App) -> Result<Option<Class>, String> {
    let Some(ours) = message.options.category.as_deref() else {
        return Ok(None);
    };
    let settings = app.settings.oppo.as_ref();
    let strong_reminder = settings.is_some_and(|o| o.strong_reminder);
    let Some(class) = settings.and_then(|o| o.categories.get(ours)) else {
        return default_classification(ours, app);
    };
    if !OppoSettings::CATEGORIES.contains(&class.category.as_str()) {
        return Err(format!(
            "settings.oppo.categories.{ours}.category is {:?}, not an OPPO category ({})",
            class.category,
            OppoSettings::CATEGORIES.join(", ")
        ));
    }
    if let Some(level) = class.notify_level
        && (!OppoSettings::NOTIFY_LEVELS.contains(&level)
            || (level == 16 && class.category != "IM"))
    {
        return Err(format!(
            "settings.oppo.categories.{ours}.notify_level {level} is not allowed (1, 2, or 16 for IM only)"
        ));
    }
    Ok(Some(Class {
        channel_id: Some(class.channel_id.clone()),
        category: class.category.clone(),
        notify_level: class
            .notify_level
            .unwrap_or_else(|| default_level(&class.category, strong_reminder)),
    }))
}

/// The default table's classification of `ours`, which the app does not map.
fn default_classification(ours: &str, app: &App) -> Result<Option<Class>, String> {
    let settings = app.settings.oppo.as_ref();
    let strong_reminder = settings.is_some_and(|o| o.strong_reminder);
    let communication = DEFAULT_CATEGORIES
        .iter()
        .find(|(pushgate, _)| *pushgate == ours)
        .map(|(_, oppo)| *oppo);
    let (category, channel_id) = match communication {
        Some(category) => {
            let Some(channel) = settings.and_then(|o| o.communication_channel_id.clone()) else {
                return Err(format!(
                    "OPPO sends {ours} as communication & service category {category}, which needs the app's approved channel — set settings.oppo.communication_channel_id of app {} (or map it in settings.oppo.categories.{ours})",
                    app.id
                ));
            };
            (category, Some(channel))
        }
        None => {
            let category = OppoSettings::MARKETING_CATEGORIES
                .iter()
                .find(|c| **c == ours)
                .copied()
                .unwrap_or(DEFAULT_MARKETING);
            (
                category,
                settings.and_then(|o| o.default_channel_id.clone()),
            )
        }
    };
    Ok(Some(Class {
        channel_id,
        category: category.to_string(),
        notify_level: default_level(category, strong_reminder),
    }))
}

/// The notification before overrides; see the module documentation.
fn notification(inputs: &Inputs<'_>) -> Result<Map<String, Value>, String> {
    let msg = inputs.message;
    let options = &msg.options;
    if options.silent {
        return Err("OPPO push sends notifications only: a silent (data-only) message cannot be delivered through OPPO".into());
    }
    let content = msg.notification.clone().unwrap_or_default();
    let title = content.title.clone().filter(|t| !t.trim().is_empty());
    let body = content.body.clone().filter(|b| !b.trim().is_empty());
    if title.is_none() && body.is_none() {
        return Err("OPPO needs a notification title or body to show".into());
    }
    let title = title.unwrap_or_else(|| inputs.app.name.clone());
    let body = body.unwrap_or_else(|| title.clone());
    let class = classification(msg, inputs.app)?;
    let ttl = remaining_ttl(options.ttl, inputs.accepted_at, inputs.now)?;

    let mut n = Map::new();
    n.insert("title".into(), json!(title));
    n.insert("content".into(), json!(body));
    match content.click.as_deref() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            n.insert("click_action_type".into(), json!(2));
            n.insert("click_action_url".into(), json!(url));
        }
        Some(link) => {
            n.insert("click_action_type".into(), json!(5));
            n.insert("click_action_url".into(), json!(link));
        }
        None => {
            n.insert("click_action_type".into(), json!(0));
        }
    }
    let mut data = msg.data.clone();
    if let Some(click) = &content.click {
        data.entry(CLICK_DATA_KEY.to_string())
            .or_insert_with(|| click.clone());
    }
    if !data.is_empty() {
        let text = serde_json::to_string(&data).map_err(|e| format!("data: {e}"))?;
        n.insert("action_parameters".into(), json!(text));
    }
    match class {
        Some(class) => {
            if let Some(channel) = class.channel_id {
                n.insert("channel_id".into(), json!(channel));
            }
            n.insert("category".into(), json!(class.category));
            n.insert("notify_level".into(), json!(class.notify_level));
        }
        None => {
            let default = inputs
                .app
                .settings
                .oppo
                .as_ref()
                .and_then(|o| o.default_channel_id.as_ref());
            if let Some(channel) = default {
                n.insert("channel_id".into(), json!(channel));
            }
        }
    }
    match ttl {
        Some(0) => {
            n.insert("off_line".into(), json!(false));
        }
        Some(seconds) => {
            n.insert("off_line".into(), json!(true));
            n.insert("off_line_ttl".into(), json!(seconds));
        }
        None => {}
    }
    if let Some(key) = options.collapse_key.as_deref() {
        n.insert("notify_id".into(), json!(notify_id(key)));
    }
    Ok(n)
}

/// `notify_id` for a collapse key: the key when it is a number from 1 to 2³¹−1, else a
/// stable FNV-1a hash folded into that range.
pub(crate) fn notify_id(key: &str) -> i64 {
    if let Ok(n) = key.trim().parse::<i64>()
        && (1..=i64::from(i32::MAX)).contains(&n)
    {
        return n;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i64::from(hash & 0x7fff_ffff).max(1)
}

/// Seconds of `ttl` still left at `now`: `None` without a ttl, `Some(0)` for "now or
/// never", an error when a positive ttl ran out. Capped at OPPO's 10 days.
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
    Ok(Some((ttl - elapsed).min(MAX_OFFLINE_TTL_SECONDS)))
}

fn chars(v: &str) -> usize {
    v.chars().count()
}

/// A string field, if present; an error if it is not a string.
fn string<'a>(n: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match n.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("notification.{field} must be a string")),
    }
}

/// An integer field, if present; an error if it is not one.
fn integer(n: &Map<String, Value>, field: &str) -> Result<Option<i64>, String> {
    match n.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("notification.{field} must be an integer")),
    }
}

fn limit(n: &Map<String, Value>, field: &str, max: usize) -> Result<(), String> {
    if let Some(v) = string(n, field)?
        && chars(v) > max
    {
        return Err(format!(
            "notification.{field} is {} characters; OPPO allows {max}",
            chars(v)
        ));
    }
    Ok(())
}

/// What OPPO checks (oppo.md §4.4), on the merged notification.
fn check(n: &Map<String, Value>) -> Result<(), String> {
    let title = string(n, "title")?.unwrap_or_default();
    if title.is_empty() || chars(title) > MAX_TITLE_CHARS {
        return Err(format!(
            "the title is {} characters; OPPO allows 1 to {MAX_TITLE_CHARS} (a CJK character or emoji counts 1)",
            chars(title)
        ));
    }
    limit(n, "sub_title", MAX_SUB_TITLE_CHARS)?;
    let style = integer(n, "style")?.unwrap_or(1);
    let max_content = match style {
        1 => 200,
        2 => 128,
        3 => return Err("notification.style 3 (big picture) only works for broadcasts".into()),
        _ => return Err("notification.style must be 1 (standard) or 2 (long text)".into()),
    };
    let content = string(n, "content")?.unwrap_or_default();
    if content.is_empty() || chars(content) > max_content {
        return Err(format!(
            "the body is {} characters; OPPO allows 1 to {max_content} for style {style} (a CJK character or emoji counts 1)",
            chars(content)
        ));
    }
    match integer(n, "click_action_type")?.unwrap_or(0) {
        0 => {}
        1 | 4 => {
            if string(n, "click_action_activity")?.is_none_or(str::is_empty) {
                return Err("click_action_type 1 and 4 need click_action_activity".into());
            }
        }
        2 | 5 => {
            if string(n, "click_action_url")?.is_none_or(str::is_empty) {
                return Err("click_action_type 2 and 5 need click_action_url".into());
            }
        }
        other => {
            return Err(format!(
                "click_action_type {other} is not one of 0, 1, 2, 4, 5"
            ));
        }
    }
    limit(n, "click_action_url", MAX_CLICK_CHARS)?;
    limit(n, "click_action_activity", MAX_CLICK_CHARS)?;
    if let Some(params) = string(n, "action_parameters")? {
        if chars(params) > MAX_PAYLOAD_CHARS {
            return Err(format!(
                "the data (action_parameters) is {} characters; OPPO allows {MAX_PAYLOAD_CHARS}",
                chars(params)
            ));
        }
        if !serde_json::from_str::<Value>(params).is_ok_and(|v| v.is_object()) {
            return Err(
                "notification.action_parameters must be a JSON object serialised into a string"
                    .into(),
            );
        }
    }
    limit(n, "call_back_url", MAX_CALLBACK_URL_CHARS)?;
    limit(n, "call_back_parameter", MAX_CALLBACK_PARAMETER_CHARS)?;
    if let Some(ttl) = integer(n, "off_line_ttl")?
        && !(0..=MAX_OFFLINE_TTL_SECONDS as i64).contains(&ttl)
    {
        return Err("notification.off_line_ttl must be 0 to 864000 seconds (10 days)".into());
    }
    if let Some(ttl) = integer(n, "show_ttl")?
        && !(SHOW_TTL_SECONDS.0 as i64..=SHOW_TTL_SECONDS.1 as i64).contains(&ttl)
    {
        return Err("notification.show_ttl must be 21600 to 172800 seconds (6 to 48 hours)".into());
    }
    string(n, "channel_id")?;
    let category = string(n, "category")?;
    if let Some(c) = category
        && !OppoSettings::CATEGORIES.contains(&c)
    {
        return Err(format!(
            "notification.category must be one of {}",
            OppoSettings::CATEGORIES.join(", ")
        ));
    }
    if let Some(level) = integer(n, "notify_level")? {
        if category.is_none() {
            return Err("notification.notify_level needs a category".into());
        }
        if !matches!(level, 1 | 2 | 16) {
            return Err("notification.notify_level must be 1, 2 or 16".into());
        }
    }
    if n.get("off_line").is_some_and(|v| !v.is_boolean()) {
        return Err("notification.off_line must be true or false".into());
    }
    integer(n, "notify_id")?;
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
pub(crate) mod tests;
