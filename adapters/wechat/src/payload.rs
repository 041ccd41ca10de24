//! The two message bodies (wechat.md §3.2, §4.2), built from an ingest message and the app's
//! WeChat settings, and the value rules of template keys (§4.3) checked before sending.
//!
//! Which template: the notification's `wechat.template_id`; else the app's default for
//! `options.category` (`settings.wechat.templates` for official accounts,
//! `mini_program_templates` for mini programs); without a category, the app's
//! `default_template` / `mini_program_default_template`. A category without a template is
//! refused (never sent with some other template); with no template at all the message is
//! refused too — a WeChat message cannot go out without one.
//!
//! Which values: the notification's `wechat.data`; else the app's `template_fields` mapping
//! for the template fills each key from the notification's `title`, `body`, the acceptance
//! `time` (China time, `2024-01-11 16:58`) or `data.<key>`. `thing` values (message
//! previews), given or mapped alike, are cut to 20 characters ending in `…` (§4.3: truncate
//! before sending); every value is then checked against its key's type rule and a violation
//! is `Rejected` naming the key, since WeChat would answer 47003. Other types are never cut:
//! shortening a number, time or amount would change what it says.
//!
//! Official-account messages carry `client_msg_id` = the delivery id (WeChat sends one
//! message per openid + client_msg_id within about 10 minutes, so a retry after a lost
//! answer does not notify twice), `url` from `notification.click` when it is an http(s)
//! link, and `miniprogram` only when `wechat.page` is set (never an empty object).
//! `overrides.wechat` may set `url` (official account), `miniprogram_state` and `lang`
//! (mini program).

use push_core::app::WechatSettings;
use push_core::{Channel, IngestMessage};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::macros::format_description;

/// pushgate's bound on a request body. WeChat documents no limit beyond each value's rule;
/// a body this large can only come from a broken `wechat.data`.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// What a body is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The notification.
    pub message: &'a IngestMessage,
    /// The app's WeChat settings (default when the app has none).
    pub settings: &'a WechatSettings,
    /// Official account or mini program.
    pub channel: Channel,
    /// When pushgate accepted the message (the `time` source).
    pub accepted_at: OffsetDateTime,
}

/// A body ready for every openid: the JSON object without `touser` / `client_msg_id`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    body: Map<String, Value>,
    channel: Channel,
}

impl Prepared {
    /// The body for one openid (and, for template messages, the delivery's idempotency key).
    pub fn body_for(&self, openid: &str, client_msg_id: &str) -> Vec<u8> {
        let mut body = self.body.clone();
        body.insert("touser".into(), Value::String(openid.to_string()));
        if self.channel == Channel::WechatOa {
            body.insert(
                "client_msg_id".into(),
                Value::String(client_msg_id.to_string()),
            );
        }
        Value::Object(body).to_string().into_bytes()
    }

    /// The template id (for logs).
    pub fn template_id(&self) -> &str {
        self.body
            .get("template_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Builds the body, or the reason it cannot be sent.
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<Prepared, String> {
    let message = inputs.message;
    let settings = inputs.settings;
    let wechat = message.wechat.clone().unwrap_or_default();
    let oa = match inputs.channel {
        Channel::WechatOa => true,
        Channel::WechatMp => false,
        other => return Err(format!("the WeChat adapter does not serve {other}")),
    };
    let template_id = template_id(inputs, wechat.template_id.as_deref())?;
    let data = if wechat.data.is_empty() {
        mapped_data(inputs, &template_id)?
    } else {
        given_data(&wechat.data)?
    };
    let overrides = overrides(message)?;
    let mut body = Map::new();
    body.insert("template_id".into(), Value::String(template_id));
    if oa {
        let url = match overrides.get("url") {
            Some(url) => Some(url.clone()),
            None => message
                .notification
                .as_ref()
                .and_then(|n| n.click.clone())
                .filter(|c| c.starts_with("https://") || c.starts_with("http://")),
        };
        if let Some(url) = url {
            body.insert("url".into(), Value::String(url));
        }
        if let Some(page) = wechat.page.filter(|p| !p.is_empty()) {
            let Some(appid) = settings.mini_program_app_id.clone() else {
                return Err("wechat.page opens a mini program from an official-account message: set settings.wechat.mini_program_app_id (the linked mini program)".to_string());
            };
            body.insert(
                "miniprogram".into(),
                json!({ "appid": appid, "pagepath": page }),
            );
        }
    } else {
        if let Some(page) = wechat.page.filter(|p| !p.is_empty()) {
            body.insert("page".into(), Value::String(page));
        }
        for key in ["miniprogram_state", "lang"] {
            if let Some(v) = overrides.get(key) {
                body.insert(key.into(), Value::String(v.clone()));
            }
        }
    }
    body.insert("data".into(), Value::Object(data));
    let prepared = Prepared {
        body,
        channel: inputs.channel,
    };
    // The largest openid WeChat issues is 28 characters; the delivery id 36.
    let size = prepared.body_for(&"o".repeat(64), &"d".repeat(64)).len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "the WeChat message is {size} bytes, over pushgate's {MAX_PAYLOAD_BYTES}-byte bound"
        ));
    }
    Ok(prepared)
}

fn template_id(inputs: &Inputs<'_>, given: Option<&str>) -> Result<String, String> {
    if let Some(t) = given.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(t.to_string());
    }
    let (map, name, default) = match inputs.channel {
        Channel::WechatMp => (
            &inputs.settings.mini_program_templates,
            "mini_program_templates",
            &inputs.settings.mini_program_default_template,
        ),
        _ => (
            &inputs.settings.templates,
            "templates",
            &inputs.settings.default_template,
        ),
    };
    match inputs.message.options.category.as_deref() {
        Some(category) => map.get(category).cloned().ok_or_else(|| {
            format!(
                "category {category} has no WeChat template: add it to settings.wechat.{name} or give wechat.template_id"
            )
        }),
        None => default.clone().ok_or_else(|| {
            format!(
                "no WeChat template: give wechat.template_id, options.category with a template in settings.wechat.{name}, or a default template in the settings"
            )
        }),
    }
}

fn given_data(data: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (key, entry) in data {
        let value = match entry.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(format!("wechat.data.{key} must be {{\"value\": \"…\"}}")),
        };
        let value = fit(key, value);
        check_value(key, &value)?;
        let mut item = entry.as_object().cloned().unwrap_or_default();
        item.insert("value".into(), Value::String(value));
        out.insert(key.clone(), Value::Object(item));
    }
    Ok(out)
}

fn mapped_data(inputs: &Inputs<'_>, template_id: &str) -> Result<Map<String, Value>, String> {
    let Some(fields) = inputs.settings.template_fields.get(template_id) else {
        return Err(format!(
            "no wechat.data and no settings.wechat.template_fields for template {template_id}: WeChat needs the template's values"
        ));
    };
    let notification = inputs.message.notification.as_ref();
    let mut out = Map::new();
    for (key, source) in fields {
        let value = match source.as_str() {
            "title" => notification.and_then(|n| n.title.clone()),
            "body" => notification.and_then(|n| n.body.clone()),
            "time" => Some(china_time(inputs.accepted_at)),
            other => other
                .strip_prefix("data.")
                .and_then(|k| inputs.message.data.get(k).cloned()),
        };
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            return Err(format!(
                "template field {key} is filled from {source}, which the notification lacks"
            ));
        };
        let value = fit(key, value);
        check_value(key, &value)?;
        out.insert(key.clone(), json!({ "value": value }));
    }
    Ok(out)
}

fn overrides(message: &IngestMessage) -> Result<BTreeMap<String, String>, String> {
    let Some(v) = message.overrides.get("wechat") else {
        return Ok(BTreeMap::new());
    };
    let Some(obj) = v.as_object() else {
        return Err("overrides.wechat must be an object".to_string());
    };
    let mut out = BTreeMap::new();
    for (key, value) in obj {
        let Some(text) = value.as_str() else {
            return Err(format!("overrides.wechat.{key} must be a string"));
        };
        let ok = match key.as_str() {
            "url" => text.starts_with("https://") || text.starts_with("http://"),
            "miniprogram_state" => matches!(text, "developer" | "trial" | "formal"),
            "lang" => matches!(text, "zh_CN" | "en_US" | "zh_HK" | "zh_TW"),
            _ => {
                return Err(format!(
                    "overrides.wechat.{key} is not supported (url, miniprogram_state, lang)"
                ));
            }
        };
        if !ok {
            return Err(format!("overrides.wechat.{key} has an invalid value"));
        }
        out.insert(key.clone(), text.to_string());
    }
    Ok(out)
}

/// `2024-01-11 16:58` in China time (UTC+8).
pub(crate) fn china_time(at: OffsetDateTime) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    at.to_offset(offset)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default()
}

/// Longest `thing` value.
pub(crate) const THING_MAX: usize = 20;

/// The value as sent: `thing` values cut to [`THING_MAX`] characters (wechat.md §4.3),
/// whether given in `wechat.data` or mapped; any other type unchanged.
fn fit(key: &str, value: String) -> String {
    if field_type(key) == "thing" {
        preview(&value, THING_MAX)
    } else {
        value
    }
}

/// Cuts `text` to `max` characters, ending with `…` when cut.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The type of a template key: its name without the trailing digits (`thing3` → `thing`).
pub(crate) fn field_type(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

/// `digits[.digits]`, optionally signed: at most `max_digits` digits.
fn decimal(text: &str, max_digits: usize) -> bool {
    let text = text.strip_prefix('-').unwrap_or(text);
    let mut parts = text.splitn(2, '.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(int)
        && frac.is_none_or(digits)
        && text.chars().filter(char::is_ascii_digit).count() <= max_digits
}

/// Checks one value against its key's type rule (wechat.md §4.3). Keys of untyped
/// templates (`keyword1`, `first`, `remark`) only must not be empty.
pub(crate) fn check_value(key: &str, value: &str) -> Result<(), String> {
    let n = value.chars().count();
    let fail = |rule: &str| Err(format!("wechat value {key}: {rule} (got {value:?})"));
    if value.trim().is_empty() {
        return fail("must not be empty");
    }
    match field_type(key) {
        "thing" if n > THING_MAX => fail("thing values are at most 20 characters"),
        "number" if !decimal(value, 32) => {
            fail("number values are up to 32 digits, decimals allowed")
        }
        "letter" if n > 32 || !value.chars().all(|c| c.is_ascii_alphabetic()) => {
            fail("letter values are up to 32 letters")
        }
        "symbol" if n > 5 || !value.chars().all(is_symbol) => {
            fail("symbol values are up to 5 symbols")
        }
        "character_string" if n > 32 || !value.chars().all(|c| c.is_ascii_graphic()) => {
            fail("character_string values are up to 32 digits, letters or symbols")
        }
        "phone_number" if n > 17 || !value.chars().all(|c| c.is_ascii_digit() || is_symbol(c)) => {
            fail("phone_number values are up to 17 digits and symbols")
        }
        "car_number" if n > 8 => fail("car_number values are up to 8 characters"),
        "name" if !value.is_ascii() && n > 10 => {
            fail("name values are up to 10 Chinese characters")
        }
        "name" if n > 20 => fail("name values are up to 20 letters or symbols"),
        "phrase" if n > 5 || !value.chars().all(is_cjk) => {
            fail("phrase values are up to 5 Chinese characters")
        }
        "time" | "date" if !date_like(value) => {
            fail("time / date values are a date or a 24-hour time (ranges with ~)")
        }
        "amount" if !amount(value) => fail(
            "amount values are one currency symbol and up to 10 digits, optionally ending in 元",
        ),
        _ => Ok(()),
    }
}

fn date_like(value: &str) -> bool {
    value.chars().any(|c| c.is_ascii_digit())
        && value.chars().count() <= 64
        && value.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    ':' | '-' | '/' | '.' | ' ' | '~' | '年' | '月' | '日' | 'T'
                )
        })
}

fn amount(value: &str) -> bool {
    let value = value.strip_suffix('元').unwrap_or(value);
    let mut chars = value.chars();
    let rest = match chars.next() {
        Some(c) if !c.is_ascii_digit() && c != '.' && c != '-' => chars.as_str(),
        _ => value,
    };
    decimal(rest, 10)
}

#[cfg(test)]
mod tests;
