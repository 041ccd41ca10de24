//! The vivo message built from an ingest message (vivo.md §3–§5), and the checks vivo would
//! otherwise fail the request for, done before any request so a refused message costs no
//! quota.
//!
//! How the ingest message maps:
//! - vivo push carries **notifications only** (no pass-through messages): a `silent` or
//!   data-only message is refused. `title` is the notification's title (the app's name when
//!   it has none), `content` its body (the title when it has none).
//! - `title` ≤ 40 and `content` ≤ 100 width units, where every non-ASCII character counts 2
//!   (vivo counts CJK characters double: 20 CJK / 40 Latin); longer text is **truncated** by
//!   that rule with `…`, as vivo advises (vivo.md §8).
//! - `notifyType`: 4 (ring + vibrate) when the notification names a sound, else 3 (vibrate);
//!   vivo honours it on Android 8.0 and older only.
//! - the click target: an `http(s)` URL → `skipType` 2; an `intent:` URI → 4 (in-app page);
//!   any other deep link → 3 (custom, the app reads `skipContent`); none → 1 (open the app).
//! - `clientCustomMap`: `data`, at most 10 pairs and 1024 characters of keys and values.
//! - `timeToLive`: the seconds of `options.ttl` left since `accepted_at`, within 900 s to
//!   7 days (a ttl of 0, "now or never", or a short remainder becomes 900 s; see
//!   [`MIN_TTL_SECONDS`] for why not vivo's documented 60 s); absent without a ttl (vivo's
//!   default, 1 day); a ttl that ran out is refused.
//! - `category` from the app's `settings.vivo.categories` when it maps the message's
//!   category, else vivo.md §5's default ([`default_category`]: IM/VOIP → IM, vivo's system
//!   categories as they are, anything else → MARKETING), with the `classification` vivo
//!   derives from it (1 system, 0 operation) so the pair is always consistent (see
//!   [`category`]); neither is sent for a message without a category (vivo then counts it as
//!   an operation message).
//! - `requestId` (vivo's idempotency key, ≤ 64 characters) is given by the adapter: derived
//!   from the delivery ids, so a retry reuses it.
//! - `extra`: `callback.id` (the app's `settings.vivo.receipt_id`, new receipts) or
//!   `callback` (its `callback_url`, old receipts), each with `callback.param` = the tag the
//!   adapter gives (the delivery id, or for a list send the notification id).
//! - `overrides.vivo` (an object of message fields) is deep-merged last and wins (`null`
//!   deletes); it cannot set a target (`regId`, `regIds`, `alias`, `taskId`) or `requestId`.
//!   The merged message is checked again, after an overridden `timeToLive` of 60 to 899 s is
//!   raised to 900 s (see [`MIN_TTL_SECONDS`]).
//! - `collapse_key`, `badge`, `image` and `priority` have no vivo field and are not sent.

use push_core::{App, IngestMessage, VivoSettings};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Width units of `title` (20 CJK / 40 Latin characters).
pub(crate) const TITLE_UNITS: usize = 40;
/// Width units of `content` (50 CJK / 100 Latin characters).
pub(crate) const CONTENT_UNITS: usize = 100;
/// Most pairs in `clientCustomMap`.
pub(crate) const MAX_CUSTOM_PAIRS: usize = 10;
/// Most characters of keys and values in `clientCustomMap`: the payload limit.
pub(crate) const MAX_CUSTOM_CHARS: usize = 1024;
/// The shortest `timeToLive` sent (and accepted from `overrides.vivo`): 900 s.
///
/// vivo.md §3 marks the minimum **unverified**: 60 s in SDK comments, 900 s in some newer
/// docs. Assumed here: the stricter 900 s, which vivo accepts under either reading, so a
/// short ttl is never refused by vivo for being too short. The cost is that a message with
/// less than 15 minutes of ttl left (or "now or never", ttl 0) may be kept by vivo up to
/// 15 minutes instead of expiring sooner.
pub(crate) const MIN_TTL_SECONDS: u64 = 900;
/// The lower of the two documented minimums (60 s, SDK comments). An `overrides.vivo`
/// `timeToLive` from here up to [`MIN_TTL_SECONDS`] is raised to it rather than refused, as
/// vivo may accept it; below this no reading allows it and it is refused.
pub(crate) const SDK_MIN_TTL_SECONDS: u64 = 60;
/// vivo's longest `timeToLive`: 7 days.
pub(crate) const MAX_TTL_SECONDS: u64 = 7 * 86_400;
/// Most regIds per `pushToList`.
pub(crate) const MAX_LIST: usize = 1000;
/// Most characters of `requestId`.
pub(crate) const MAX_REQUEST_ID: usize = 64;
/// Fields `overrides.vivo` may not set.
const FORBIDDEN: [&str; 5] = ["regId", "regIds", "alias", "taskId", "requestId"];

/// What the message is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (the category mapping, receipts, the fallback title).
    pub app: &'a App,
    /// When pushgate accepted it; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
    /// `callback.param`, echoed in receipts.
    pub tag: &'a str,
}

/// A built message, without its target and `requestId`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    fields: Map<String, Value>,
}

impl Prepared {
    /// The `/message/send` body for one regId.
    pub fn single(&self, reg_id: &str, request_id: &str) -> Vec<u8> {
        let mut fields = self.fields.clone();
        fields.insert("regId".into(), json!(reg_id));
        fields.insert("requestId".into(), json!(request_id));
        to_vec(&Value::Object(fields))
    }

    /// The `/message/saveListPayload` body.
    pub fn list_payload(&self, request_id: &str) -> Vec<u8> {
        let mut fields = self.fields.clone();
        fields.insert("requestId".into(), json!(request_id));
        to_vec(&Value::Object(fields))
    }

    /// The message fields (no target, no requestId).
    #[cfg(test)]
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// The `/message/pushToList` body.
pub(crate) fn push_to_list(reg_ids: &[&str], task_id: &str, request_id: &str) -> Vec<u8> {
    to_vec(&json!({ "regIds": reg_ids, "taskId": task_id, "requestId": request_id }))
}

fn to_vec(value: &Value) -> Vec<u8> {
    // Serialising a Value cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// vivo's width of a text: ASCII counts 1, anything else 2.
pub(crate) fn width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// `text` cut to `units` by [`width`], ending in `…` when cut.
pub(crate) fn truncate(text: &str, units: usize) -> String {
    if width(text) <= units {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if used + w > units.saturating_sub(2) {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Builds the message, or says why vivo would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let mut fields = message(inputs)?;
    if let Some(patch) = inputs.message.overrides.get("vivo") {
        let Value::Object(patch) = patch else {
            return Err("overrides.vivo must be a JSON object of vivo message fields".into());
        };
        if let Some(field) = FORBIDDEN.iter().find(|f| patch.contains_key(**f)) {
            return Err(format!(
                "overrides.vivo.{field} cannot be set: pushgate sets the target and requestId"
            ));
        }
        merge(&mut fields, patch);
        raise_ttl(&mut fields);
    }
    check(&fields)?;
    Ok(Prepared { fields })
}

/// The vivo `category` of a message: `None` without a category (unclassified, which vivo
/// counts as an operation message); the app's `settings.vivo.categories` entry when there is
/// one (refused if it is not a vivo category); otherwise [`default_category`].
pub(crate) fn category(message: &IngestMessage, app: &App) -> Result<Option<String>, String> {
    let Some(ours) = message.options.category.as_deref() else {
        return Ok(None);
    };
    let mapped = app
        .settings
        .vivo
        .as_ref()
        .and_then(|v| v.categories.get(ours));
    match mapped {
        Some(theirs) if VivoSettings::classification(theirs).is_some() => Ok(Some(theirs.clone())),
        Some(theirs) => Err(format!(
            "settings.vivo.categories.{ours} is {theirs:?}, not a vivo category ({}, {})",
            VivoSettings::SYSTEM_CATEGORIES.join(", "),
            VivoSettings::OPERATION_CATEGORIES.join(", ")
        )),
        None => Ok(Some(default_category(ours).to_string())),
    }
}

/// The vivo `category` for a pushgate category the app does not map (vivo.md §5, "Mapping
/// from the ingest options.category"): `IM` and `VOIP` → `IM`; vivo's system categories
/// `ACCOUNT`, `TODO`, `ORDER`, `SUBSCRIPTION`, `DEVICE_REMINDER` → themselves; anything else
/// → `MARKETING`, an operation message. `NEWS`/`CONTENT`/`SOCIAL` are only sent when the app
/// maps a category to them: the reference leaves that choice to the app, and defaulting
/// unknown categories to operation never sends operation content as a system message, which
/// vivo penalises.
pub(crate) fn default_category(ours: &str) -> &'static str {
    match ours {
        "IM" | "VOIP" => "IM",
        "ACCOUNT" => "ACCOUNT",
        "TODO" => "TODO",
        "ORDER" => "ORDER",
        "SUBSCRIPTION" => "SUBSCRIPTION",
        "DEVICE_REMINDER" => "DEVICE_REMINDER",
        _ => "MARKETING",
    }
}

/// The message before overrides; see the module documentation.
fn message(inputs: &Inputs<'_>) -> Result<Map<String, Value>, String> {
    let msg = inputs.message;
    let options = &msg.options;
    let content = msg.notification.clone().unwrap_or_default();
    let has_text = content
        .title
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
        || content
            .body
            .as_deref()
            .is_some_and(|b| !b.trim().is_empty());
    if options.silent || !has_text {
        return Err("vivo push carries notifications only (it has no pass-through messages): a silent or data-only message cannot be sent through vivo".into());
    }
    let category = category(msg, inputs.app)?;
    let ttl = remaining_ttl(options.ttl, inputs.accepted_at, inputs.now)?;
    let title = content
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| Some(inputs.app.name.clone()).filter(|n| !n.trim().is_empty()))
        .or_else(|| content.body.clone())
        .unwrap_or_default();
    let body = content
        .body
        .clone()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| title.clone());

    let mut fields = Map::new();
    let notify_type = if content.sound.is_some() { 4 } else { 3 };
    fields.insert("notifyType".into(), json!(notify_type));
    fields.insert("title".into(), json!(truncate(&title, TITLE_UNITS)));
    fields.insert("content".into(), json!(truncate(&body, CONTENT_UNITS)));
    if let Some(seconds) = ttl {
        fields.insert("timeToLive".into(), json!(seconds));
    }
    let (skip_type, skip_content) = match content.click.as_deref() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => (2, Some(url)),
        Some(intent) if intent.starts_with("intent:") => (4, Some(intent)),
        Some(custom) => (3, Some(custom)),
        None => (1, None),
    };
    fields.insert("skipType".into(), json!(skip_type));
    if let Some(target) = skip_content {
        fields.insert("skipContent".into(), json!(target));
    }
    if let Some(category) = category {
        let class = VivoSettings::classification(&category).unwrap_or(0);
        fields.insert("classification".into(), json!(class));
        fields.insert("category".into(), json!(category));
    }
    if !msg.data.is_empty() {
        fields.insert("clientCustomMap".into(), json!(msg.data));
    }
    fields.insert("pushMode".into(), json!(0));
    if let Some(extra) = receipt_extra(inputs.app, inputs.tag) {
        fields.insert("extra".into(), extra);
    }
    Ok(fields)
}

/// `extra` for the app's receipt configuration, carrying `tag` as `callback.param`.
fn receipt_extra(app: &App, tag: &str) -> Option<Value> {
    let settings = app.settings.vivo.as_ref()?;
    if let Some(id) = &settings.receipt_id {
        return Some(json!({ "callback.id": id, "callback.param": tag }));
    }
    let url = settings.callback_url.as_ref()?;
    Some(json!({ "callback": url, "callback.param": tag }))
}

/// Raises a `timeToLive` (set by `overrides.vivo`) between [`SDK_MIN_TTL_SECONDS`] and
/// [`MIN_TTL_SECONDS`] to the latter, which is valid whichever documented minimum vivo
/// enforces; other values are left for [`check`].
fn raise_ttl(fields: &mut Map<String, Value>) {
    let floor = SDK_MIN_TTL_SECONDS as i64..MIN_TTL_SECONDS as i64;
    if fields
        .get("timeToLive")
        .and_then(Value::as_i64)
        .is_some_and(|t| floor.contains(&t))
    {
        fields.insert("timeToLive".into(), json!(MIN_TTL_SECONDS));
    }
}

/// Seconds of `ttl` left at `now`, within [`MIN_TTL_SECONDS`] to [`MAX_TTL_SECONDS`]: `None`
/// without a ttl, an error when a positive ttl ran out.
pub(crate) fn remaining_ttl(
    ttl: Option<u64>,
    accepted_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<u64>, String> {
    let Some(ttl) = ttl else { return Ok(None) };
    // A ttl of 0 ("now or never") has no vivo equivalent: the shortest allowed is sent.
    if ttl == 0 {
        return Ok(Some(MIN_TTL_SECONDS));
    }
    let elapsed = u64::try_from((now - accepted_at).whole_seconds()).unwrap_or(0);
    if elapsed >= ttl {
        return Err(format!(
            "the ttl of {ttl} s ran out {} s before this send",
            elapsed - ttl
        ));
    }
    Ok(Some(
        (ttl - elapsed).clamp(MIN_TTL_SECONDS, MAX_TTL_SECONDS),
    ))
}

/// What vivo checks that the message or an override could break.
fn check(fields: &Map<String, Value>) -> Result<(), String> {
    for (key, units) in [("title", TITLE_UNITS), ("content", CONTENT_UNITS)] {
        match fields.get(key).and_then(Value::as_str) {
            Some(text) if !text.trim().is_empty() && width(text) <= units => {}
            Some(text) if !text.trim().is_empty() => {
                return Err(format!(
                    "{key} is {} width units; vivo allows {units} (CJK characters count 2)",
                    width(text)
                ));
            }
            _ => return Err(format!("{key} is required by vivo and must be a string")),
        }
    }
    let int = |key: &'static str| fields.get(key).map(|v| v.as_i64().ok_or(key));
    if let Some(n) = int("notifyType").transpose().map_err(not_int)?
        && !(1..=4).contains(&n)
    {
        return Err("notifyType must be 1 to 4".into());
    }
    if let Some(t) = int("timeToLive").transpose().map_err(not_int)? {
        let range = MIN_TTL_SECONDS as i64..=MAX_TTL_SECONDS as i64;
        if !range.contains(&t) {
            return Err(format!(
                "timeToLive must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds (vivo documents a minimum of {SDK_MIN_TTL_SECONDS} s or {MIN_TTL_SECONDS} s; pushgate sends at least {MIN_TTL_SECONDS} s)"
            ));
        }
    }
    let skip = int("skipType").transpose().map_err(not_int)?.unwrap_or(1);
    let skip_content = fields.get("skipContent").map(|v| v.as_str().unwrap_or(""));
    let limit = match skip {
        1 => None,
        2 => Some(1000),
        3 | 4 => Some(1024),
        _ => return Err("skipType must be 1 to 4".into()),
    };
    if let Some(limit) = limit {
        match skip_content {
            Some(c) if !c.is_empty() && c.chars().count() <= limit => {}
            _ => {
                return Err(format!(
                    "skipType {skip} needs skipContent of 1 to {limit} characters"
                ));
            }
        }
    }
    if let Some(n) = int("networkType").transpose().map_err(not_int)?
        && n != -1
        && n != 1
    {
        return Err("networkType must be -1 (any) or 1 (Wi-Fi)".into());
    }
    if let Some(n) = int("pushMode").transpose().map_err(not_int)?
        && n != 0
        && n != 1
    {
        return Err("pushMode must be 0 (formal) or 1 (test)".into());
    }
    if let Some(map) = fields.get("clientCustomMap") {
        let Some(map) = map.as_object() else {
            return Err("clientCustomMap must be an object of strings".into());
        };
        if map.len() > MAX_CUSTOM_PAIRS {
            return Err(format!(
                "data has {} pairs; vivo's clientCustomMap allows {MAX_CUSTOM_PAIRS}",
                map.len()
            ));
        }
        let mut chars = 0;
        for (k, v) in map {
            let Some(v) = v.as_str() else {
                return Err(format!("clientCustomMap.{k} must be a string"));
            };
            chars += k.chars().count() + v.chars().count();
        }
        if chars > MAX_CUSTOM_CHARS {
            return Err(format!(
                "data is {chars} characters of keys and values; vivo's clientCustomMap allows {MAX_CUSTOM_CHARS}"
            ));
        }
    }
    let category = fields.get("category").map(|c| c.as_str().unwrap_or(""));
    let class = int("classification").transpose().map_err(not_int)?;
    if let Some(class) = class
        && class != 0
        && class != 1
    {
        return Err("classification must be 0 (operation) or 1 (system)".into());
    }
    if let Some(category) = category {
        let Some(derived) = VivoSettings::classification(category) else {
            return Err(format!("category {category:?} is not a vivo category"));
        };
        if class.is_some_and(|c| c != i64::from(derived)) {
            return Err(format!(
                "classification {} contradicts category {category} (vivo derives {derived}); a mismatching pair fails",
                class.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

fn not_int(key: &str) -> String {
    format!("{key} must be an integer")
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

/// The `requestId` of a list send: a digest of the targets' delivery ids (sorted), so a retry
/// of the same targets reuses it; `prefix` tells the two calls apart.
pub(crate) fn list_request_id(prefix: &str, delivery_ids: &[String]) -> String {
    let mut ids: Vec<&str> = delivery_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    let digest = hex::encode(<md5::Md5 as md5::Digest>::digest(ids.join(",").as_bytes()));
    let id = format!("{prefix}-{digest}");
    id.chars().take(MAX_REQUEST_ID).collect()
}

#[cfg(test)]
pub(crate) mod tests;
