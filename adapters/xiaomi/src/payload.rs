//! The form of `POST /v3/message/regid` built from an ingest message (xiaomi.md §3–§4), and
//! the checks Xiaomi would otherwise fail the request for, done before any request so a
//! refused message costs nothing.
//!
//! How the ingest message maps (form keys; `extra.*` keys carry a literal `extra.` prefix):
//! - a **notification** (`pass_through=0`, shown by the system) when the message has a title
//!   or body and is not `silent`; otherwise **pass-through** (`pass_through=1`, data to the
//!   app). A notification needs both `title` and `description`: a missing title is the app's
//!   name, a missing body repeats the title.
//! - `title` < 50 and `description` < 128 **characters** (a CJK character counts 1, as
//!   Xiaomi counts): longer texts are cut to 49 / 127 characters ending in `…`.
//! - `payload`: the JSON object of `data` plus the click target under `click` (unless the
//!   producer set `click`), under 4 KB counted in UTF-8 bytes (4095 at most); left out for a
//!   notification without data, `{}` for an empty pass-through message.
//! - `notify_type=-1` (sound, vibration, light), `extra.sound_uri` for a custom sound
//!   (`android.resource://<package>/raw/<sound>`).
//! - `notify_id`: the notification to replace — a `collapse_key` that is a number 0…2³¹−1 is
//!   used as is, any other collapse key is hashed into that range (one conversation, one
//!   notification); without a collapse key it is hashed from the notification id, because
//!   Xiaomi otherwise shows only the last message of an app.
//! - `time_to_live`: the milliseconds of `options.ttl` still left since `accepted_at`, capped
//!   at the class maximum (private channels 10 days, public and unclassified 1 day); a ttl of
//!   0 ("now or never") is `extra.only_send_once=1`; a ttl that ran out is refused.
//! - classification (xiaomi.md §4.1): `extra.channel_id` of the app's mapping
//!   `settings.xiaomi.categories[options.category]` when it has one; any other category, and
//!   a message without one, goes on `settings.xiaomi.public_channel_id`, or without
//!   `extra.channel_id` (Xiaomi's default channel) when the app set none. Nothing is refused
//!   for its category: the adapter cannot invent channel ids, so a chat, call, account or
//!   order message ([`PRIVATE_CATEGORIES`]) the app did not map goes out on the public or the
//!   default channel, with a warning ([`Prepared::note`]).
//! - templates (§4.2) belong to private channels and to notifications: only a **notification**
//!   on a **mapped private channel** with a template gets `extra.template_id` +
//!   `extra.template_param` (variables from title / body / data, 1–128 characters each, emoji
//!   and other symbols removed); a pass-through message never does.
//! - click: `extra.notify_effect=3` + `extra.web_uri` for an http(s) link, `2` +
//!   `extra.intent_uri` (`intent:<link>#Intent;action=android.intent.action.VIEW;end`) for
//!   any other deep link, `1` (open the app) without one.
//! - receipts: `extra.callback.type=1267` (delivered, clicked, invalid device, notifications
//!   off, filtered, quota, expired), `extra.callback.param` (given by the adapter: the delivery
//!   id, or the notification id for a batch), `extra.callback` = `settings.xiaomi.callback_url`
//!   when set.
//! - `extra.jobkey`: the device shows only the first message with a given jobkey, so it is the
//!   idempotency key: 12 hex characters hashed from the app and the notification id — equal
//!   for every retry of a delivery (a delivery is one notification on one device, and the key
//!   is evaluated per device), so it also works for batch requests.
//! - `overrides.xiaomi` (an object of form keys → string, number or bool values) is merged
//!   last and wins; `null` deletes a key. It cannot set `registration_id` or
//!   `restricted_package_name`. At most 10 custom `extra.*` pairs, each value at most 1024
//!   characters.

use push_core::{App, IngestMessage};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Most registration ids per request (Xiaomi's SDKs batch 1000).
pub(crate) const MAX_TOKENS: usize = 1000;
/// Largest `payload`, in UTF-8 bytes ("under 4 KB").
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4095;
/// Longest `title`, in characters ("under 50").
pub(crate) const MAX_TITLE_CHARS: usize = 49;
/// Longest `description`, in characters ("under 128").
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 127;
/// Longest `extra.callback.param`.
pub(crate) const MAX_CALLBACK_PARAM_CHARS: usize = 64;
/// The receipt types asked for: 1 + 2 + 16 + 32 + 64 + 128 + 1024.
pub(crate) const CALLBACK_TYPES: &str = "1267";
/// The data key carrying the click target.
pub(crate) const CLICK_DATA_KEY: &str = "click";
/// Most custom `extra.*` pairs.
const MAX_CUSTOM_EXTRAS: usize = 10;
/// Longest custom `extra.*` value, in characters.
const MAX_EXTRA_VALUE_CHARS: usize = 1024;
/// Longest template variable value, in characters.
const MAX_TEMPLATE_VALUE_CHARS: usize = 128;
/// Private messages are kept at most 10 days, in ms.
const PRIVATE_MAX_TTL_MS: u64 = 10 * 86_400_000;
/// Public (and unclassified) messages at most 1 day, in ms.
const PUBLIC_MAX_TTL_MS: u64 = 86_400_000;
/// pushgate categories Xiaomi counts as private messages (xiaomi.md §4.1: `IM`, `VOIP`,
/// `ACCOUNT` and the order / logistics-like `ORDER` and `EXPRESS`). Their channel ids can
/// only come from the app's `settings.xiaomi.categories`; this table decides nothing about
/// the channel, only whether a message of an unmapped category is worth a warning, since it
/// goes out as a public message (quieter display, daily quota) or on the default channel.
pub(crate) const PRIVATE_CATEGORIES: [&str; 5] = ["IM", "VOIP", "ACCOUNT", "ORDER", "EXPRESS"];
/// Form keys `overrides.xiaomi` may not set.
const TARGET_FIELDS: [&str; 2] = ["registration_id", "restricted_package_name"];
/// The `extra.*` keys pushgate or Xiaomi define; others count as custom pairs.
const SYSTEM_EXTRAS: [&str; 20] = [
    "channel_id",
    "template_id",
    "template_param",
    "notify_foreground",
    "notify_effect",
    "intent_uri",
    "web_uri",
    "sound_uri",
    "ticker",
    "jobkey",
    "only_send_once",
    "flow_control",
    "locale",
    "model",
    "model_not_in",
    "app_version",
    "app_version_not_in",
    "callback",
    "callback.param",
    "callback.type",
];

/// What the form is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The ingest message.
    pub message: &'a IngestMessage,
    /// Its app (category mapping, callback URL, name).
    pub app: &'a App,
    /// The credential's package (`restricted_package_name`).
    pub package_name: &'a str,
    /// When pushgate accepted the message; ttl counts from here.
    pub accepted_at: OffsetDateTime,
    /// Now, for the remaining ttl.
    pub now: OffsetDateTime,
    /// The `extra.callback.param` receipts echo (`None`: too long to send).
    pub callback_param: Option<&'a str>,
}

/// The message's Xiaomi class, from its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A private-message channel.
    Private,
    /// A public-message channel (daily quota).
    Public,
    /// No channel: Xiaomi's default channel.
    Unclassified,
}

/// A built form, without its registration ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    fields: Vec<(String, String)>,
    /// The class of the message.
    pub class: Class,
    /// Why a private-like message (chat, call, account, order) is not on a private channel:
    /// its category has no mapping in the app's settings. For the adapter to log; the
    /// message is still sent.
    pub note: Option<String>,
}

impl Prepared {
    /// The encoded form for these registration ids (comma-joined, percent-encoded like every
    /// value: regids hold `+`, `/` and `=`).
    pub fn body_for(&self, tokens: &[&str]) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("registration_id", &tokens.join(","));
        for (key, value) in &self.fields {
            form.append_pair(key, value);
        }
        form.finish()
    }

    /// The value of a form key.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Builds the form, or says why Xiaomi would refuse it (→ `Rejected`, nothing sent).
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let mut prepared = form(inputs)?;
    if let Some(patch) = inputs.message.overrides.get("xiaomi") {
        apply_overrides(&mut prepared.fields, patch)?;
    }
    check(&prepared.fields)?;
    Ok(prepared)
}

/// The form before overrides, with the class; see the module documentation.
fn form(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let msg = inputs.message;
    let options = &msg.options;
    let content = msg.notification.clone().unwrap_or_default();
    let title = content.title.as_deref().filter(|t| !t.trim().is_empty());
    let body = content.body.as_deref().filter(|b| !b.trim().is_empty());
    let visible = !options.silent && (title.is_some() || body.is_some());

    let channel = channel(msg, inputs.app);
    let note = unmapped_private_note(msg, inputs.app, channel.as_ref());
    let class = match &channel {
        Some(c) if c.private => Class::Private,
        Some(_) => Class::Public,
        None => Class::Unclassified,
    };
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |key: &str, value: String| f.push((key.to_string(), value));
    put("restricted_package_name", inputs.package_name.to_string());
    put("pass_through", if visible { "0" } else { "1" }.to_string());

    let mut data = msg.data.clone();
    if let Some(click) = &content.click {
        data.entry(CLICK_DATA_KEY.to_string())
            .or_insert_with(|| click.clone());
    }
    if !data.is_empty() || !visible {
        let text = serde_json::to_string(&data).map_err(|e| format!("data: {e}"))?;
        put("payload", text);
    }
    if visible {
        let title_text = title.or(body).unwrap_or(inputs.app.name.as_str());
        let description = body.or(title).unwrap_or_default();
        put("title", cut(title_text, MAX_TITLE_CHARS));
        put("description", cut(description, MAX_DESCRIPTION_CHARS));
        put("notify_type", "-1".to_string());
        match content.sound.as_deref() {
            Some("default") | None => {}
            Some(sound) => put(
                "extra.sound_uri",
                format!("android.resource://{}/raw/{sound}", inputs.package_name),
            ),
        }
        match content.click.as_deref() {
            Some(link) if link.starts_with("http://") || link.starts_with("https://") => {
                put("extra.notify_effect", "3".to_string());
                put("extra.web_uri", link.to_string());
            }
            Some(link) if link.starts_with("intent:") => {
                put("extra.notify_effect", "2".to_string());
                put("extra.intent_uri", link.to_string());
            }
            Some(link) => {
                put("extra.notify_effect", "2".to_string());
                put(
                    "extra.intent_uri",
                    format!("intent:{link}#Intent;action=android.intent.action.VIEW;end"),
                );
            }
            None => put("extra.notify_effect", "1".to_string()),
        }
        let notify_id = match options.collapse_key.as_deref() {
            Some(key) => notify_id(key),
            None => hash31(&msg.id),
        };
        put("notify_id", notify_id.to_string());
    }
    let max_ttl = if class == Class::Private {
        PRIVATE_MAX_TTL_MS
    } else {
        PUBLIC_MAX_TTL_MS
    };
    match remaining_ttl_ms(options.ttl, inputs.accepted_at, inputs.now)? {
        None => {}
        Some(0) => put("extra.only_send_once", "1".to_string()),
        Some(ms) => put("time_to_live", ms.min(max_ttl).to_string()),
    }
    if let Some(channel) = channel {
        put("extra.channel_id", channel.channel_id);
        // A template shapes what the system shows on a private channel (§4.2): a
        // pass-through message shows nothing, and a public channel takes none.
        let template = channel.template.filter(|_| channel.private && visible);
        if let Some((template_id, sources)) = template {
            let mut params = Map::new();
            for (name, source) in &sources {
                let value = template_value(name, source, title, body, &msg.data)?;
                params.insert(name.clone(), Value::String(value));
            }
            put("extra.template_id", template_id);
            put("extra.template_param", Value::Object(params).to_string());
        }
    }
    put("extra.jobkey", jobkey(&inputs.app.id, &msg.id));
    if let Some(url) = inputs
        .app
        .settings
        .xiaomi
        .as_ref()
        .and_then(|x| x.callback_url.as_ref())
    {
        put("extra.callback", url.clone());
    }
    if let Some(param) = inputs.callback_param {
        put("extra.callback.param", param.to_string());
    }
    put("extra.callback.type", CALLBACK_TYPES.to_string());
    Ok(Prepared {
        fields: f,
        class,
        note,
    })
}

/// The channel a message goes on, copied out of the app's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Channel {
    channel_id: String,
    private: bool,
    /// Template id and (variable, source) pairs.
    template: Option<(String, Vec<(String, String)>)>,
}

/// The app's Xiaomi channel for a message (xiaomi.md §4.1): the app's mapping of its
/// category wins; an unmapped category and a message without one take the app's public
/// channel; `None` (Xiaomi's default channel) when the app has none.
fn channel(message: &IngestMessage, app: &App) -> Option<Channel> {
    let settings = app.settings.xiaomi.as_ref()?;
    let mapped = message
        .options
        .category
        .as_deref()
        .and_then(|ours| settings.categories.get(ours));
    match mapped {
        Some(c) => Some(Channel {
            channel_id: c.channel_id.clone(),
            private: c.is_private(),
            template: c.template.as_ref().map(|t| {
                let params = t
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (t.id.clone(), params)
            }),
        }),
        None => settings.public_channel_id.as_ref().map(|id| Channel {
            channel_id: id.clone(),
            private: false,
            template: None,
        }),
    }
}

/// The warning for a message of a private-like category ([`PRIVATE_CATEGORIES`]) the app did
/// not map, which therefore goes out on the public or the default channel.
fn unmapped_private_note(
    message: &IngestMessage,
    app: &App,
    channel: Option<&Channel>,
) -> Option<String> {
    let ours = message.options.category.as_deref()?;
    let mapped = app
        .settings
        .xiaomi
        .as_ref()
        .is_some_and(|x| x.categories.contains_key(ours));
    if mapped || !PRIVATE_CATEGORIES.contains(&ours) {
        return None;
    }
    let on = match channel {
        Some(c) => format!("the public channel {}", c.channel_id),
        None => "Xiaomi's default channel (1 message per device per day)".to_string(),
    };
    Some(format!(
        "category {ours} has no Xiaomi channel, so it goes out on {on}: set settings.xiaomi.categories.{ours} of app {} to the private-message channel id the MiPush console assigned",
        app.id
    ))
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The `notify_id` of a collapse key: the number itself when it is one (0…2³¹−1), else a
/// hash into that range.
pub(crate) fn notify_id(collapse_key: &str) -> u32 {
    match collapse_key.trim().parse::<u32>() {
        Ok(n) if n <= i32::MAX as u32 => n,
        _ => hash31(collapse_key),
    }
}

/// FNV-1a (64 bit), stable across releases and platforms.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0x1f;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in part.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A stable hash into 0…2³¹−1.
fn hash31(text: &str) -> u32 {
    (fnv1a(&[text]) & 0x7fff_ffff) as u32
}

/// The `extra.jobkey` of a notification: 12 lower-case hex characters (digits and letters,
/// never starting with `_`, within the SDK's 12-character limit).
pub(crate) fn jobkey(app_id: &str, notification_id: &str) -> String {
    format!("{:012x}", fnv1a(&[app_id, notification_id]) >> 16)
}

/// Milliseconds of `ttl` (seconds) still left at `now`: `None` without a ttl, `Some(0)` for
/// "now or never", an error when a positive ttl ran out.
pub(crate) fn remaining_ttl_ms(
    ttl: Option<u64>,
    accepted_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<u64>, String> {
    let Some(ttl) = ttl else { return Ok(None) };
    if ttl == 0 {
        return Ok(Some(0));
    }
    let elapsed = u64::try_from((now - accepted_at).whole_milliseconds()).unwrap_or(0);
    let ttl_ms = ttl.saturating_mul(1000);
    if elapsed >= ttl_ms {
        return Err(format!(
            "the ttl of {ttl} s ran out {} s before this send",
            (elapsed - ttl_ms) / 1000
        ));
    }
    Ok(Some(ttl_ms - elapsed))
}

/// Whether Xiaomi refuses `c` in a template value: emoji and other pictographic symbols
/// ("symbol, other"), their joiners and variation selectors, and private-use characters.
fn refused_in_template(c: char) -> bool {
    matches!(u32::from(c),
        0x00A9 | 0x00AE | 0x2122 | 0x2139 | 0x200D | 0x20E3 | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x2460..=0x24FF
        | 0x2500..=0x27BF
        | 0x2900..=0x297F
        | 0x2B00..=0x2BFF
        | 0xE000..=0xF8FF
        | 0xFE00..=0xFE0F
        | 0x1F000..=0x1FAFF
        | 0xE0000..=0xE007F
        | 0xF0000..=0x10FFFF)
        || c.is_control()
}

/// The value of one template variable: its source's text without refused symbols, trimmed,
/// cut to 128 characters; an error when nothing is left.
fn template_value(
    name: &str,
    source: &str,
    title: Option<&str>,
    body: Option<&str>,
    data: &std::collections::BTreeMap<String, String>,
) -> Result<String, String> {
    let raw = match source {
        "title" => title,
        "body" => body,
        other => other
            .strip_prefix("data.")
            .and_then(|key| data.get(key))
            .map(String::as_str),
    };
    let cleaned: String = raw
        .unwrap_or_default()
        .chars()
        .filter(|c| !refused_in_template(*c))
        .collect();
    let value = cut(&cleaned, MAX_TEMPLATE_VALUE_CHARS);
    if value.is_empty() {
        return Err(format!(
            "the Xiaomi template variable {name} takes its value from {source}, which is missing or empty (without emoji): Xiaomi refuses empty template values"
        ));
    }
    Ok(value)
}

/// Merges `overrides.xiaomi` into the form: a key's value replaces (or adds), `null` deletes.
fn apply_overrides(fields: &mut Vec<(String, String)>, patch: &Value) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        return Err("overrides.xiaomi must be a JSON object of Xiaomi form keys".into());
    };
    for (key, value) in patch {
        if TARGET_FIELDS.contains(&key.as_str()) {
            return Err(format!(
                "overrides.xiaomi.{key} cannot be set: pushgate sends to the devices' registration ids with the credential's package"
            ));
        }
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "overrides.xiaomi.{key} must be a string, number or bool: Xiaomi's form values are text"
                ));
            }
        };
        fields.retain(|(k, _)| k != key);
        if let Some(text) = text {
            fields.push((key.clone(), text));
        }
    }
    Ok(())
}

/// What Xiaomi checks that an override could break.
fn check(fields: &[(String, String)]) -> Result<(), String> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let notification = get("pass_through") == Some("0");
    for (key, max) in [
        ("title", MAX_TITLE_CHARS),
        ("description", MAX_DESCRIPTION_CHARS),
    ] {
        match get(key) {
            Some(text) if text.chars().count() > max => {
                return Err(format!(
                    "{key} is {} characters; Xiaomi allows {max}",
                    text.chars().count()
                ));
            }
            Some(text) if notification && text.trim().is_empty() => {
                return Err(format!("{key} must not be blank for a Xiaomi notification"));
            }
            None if notification => {
                return Err(format!("{key} is required for a Xiaomi notification"));
            }
            _ => {}
        }
    }
    if let Some(payload) = get("payload")
        && payload.len() > MAX_PAYLOAD_BYTES
    {
        return Err(format!(
            "payload is {} bytes ({} characters); Xiaomi allows under 4 KB ({MAX_PAYLOAD_BYTES} bytes, UTF-8: CJK characters take 3)",
            payload.len(),
            payload.chars().count()
        ));
    }
    let custom: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix("extra.")
                .is_some_and(|name| !SYSTEM_EXTRAS.contains(&name))
        })
        .collect();
    if custom.len() > MAX_CUSTOM_EXTRAS {
        return Err(format!(
            "{} custom extra.* pairs; Xiaomi allows {MAX_CUSTOM_EXTRAS}",
            custom.len()
        ));
    }
    for (key, value) in fields.iter().filter(|(k, _)| k.starts_with("extra.")) {
        if value.chars().count() > MAX_EXTRA_VALUE_CHARS {
            return Err(format!(
                "{key} is {} characters; Xiaomi allows {MAX_EXTRA_VALUE_CHARS}",
                value.chars().count()
            ));
        }
    }
    if let Some(param) = get("extra.callback.param")
        && param.chars().count() > MAX_CALLBACK_PARAM_CHARS
    {
        return Err(format!(
            "extra.callback.param is longer than {MAX_CALLBACK_PARAM_CHARS} characters"
        ));
    }
    if let Some(url) = get("extra.callback")
        && url.chars().count() > push_core::XiaomiSettings::MAX_CALLBACK_URL_CHARS
    {
        return Err(format!(
            "extra.callback is longer than {} characters",
            push_core::XiaomiSettings::MAX_CALLBACK_URL_CHARS
        ));
    }
    if get("pass_through").is_none_or(|v| v != "0" && v != "1") {
        return Err("pass_through must be 0 (notification) or 1 (pass-through)".into());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
