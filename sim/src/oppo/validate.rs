//! Validation of a `notification` (oppo.md §4.4, §5, §9.3): missing required fields give
//! 40; wrong types, lengths and ranges 41; the classification (category, channel,
//! notify_level) 67. Lengths are counted in characters (Unicode scalar values: a CJK
//! character or an emoji counts 1). Unknown fields are ignored.

use serde_json::{Map, Value};

use super::codes::{CLASSIFICATION, INVALID_ARGUMENT, MISSING_ARGUMENT, Refusal};
use crate::control::types::OppoAppSpec;

/// Communication & service categories.
pub(crate) const COMMUNICATION: &[&str] = &[
    "IM",
    "ACCOUNT",
    "DEVICE_REMINDER",
    "ORDER",
    "TODO",
    "SUBSCRIPTION",
];
/// Content & marketing categories.
pub(crate) const MARKETING: &[&str] = &["NEWS", "CONTENT", "MARKETING", "SOCIAL"];
/// Longest `action_parameters`, characters.
pub(crate) const MAX_ACTION_PARAMETERS: usize = 4096;

/// A valid notification: what the send needs to know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Counted as content & marketing (quotas apply).
    pub marketing: bool,
    /// `app_message_id`.
    pub app_message_id: Option<String>,
    /// `call_back_url`.
    pub callback_url: Option<String>,
    /// `call_back_parameter`.
    pub callback_parameter: Option<String>,
}

fn missing(field: &str) -> Refusal {
    Refusal::new(
        MISSING_ARGUMENT,
        format!("Missing Required Arguments: {field}"),
    )
}

fn invalid(detail: impl Into<String>) -> Refusal {
    Refusal::new(
        INVALID_ARGUMENT,
        format!("Invalid Arguments: {}", detail.into()),
    )
}

fn classification(detail: &str) -> Refusal {
    Refusal::new(
        CLASSIFICATION,
        format!("category error / private classify channel notify_level invalid: {detail}"),
    )
}

/// A field; `null` counts as absent.
fn get<'a>(n: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    n.get(field).filter(|v| !v.is_null())
}

fn string<'a>(n: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, Refusal> {
    match get(n, field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{field} must be a string"))),
    }
}

/// An integer, also from a string of digits (form fields of `save_message_content`).
fn integer(n: &Map<String, Value>, field: &str) -> Result<Option<i64>, Refusal> {
    match get(n, field) {
        None => Ok(None),
        Some(Value::Number(x)) => x
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{field} must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(format!("{field} must be an integer"))),
        Some(_) => Err(invalid(format!("{field} must be an integer"))),
    }
}

fn boolean(n: &Map<String, Value>, field: &str) -> Result<Option<bool>, Refusal> {
    match get(n, field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(invalid(format!("{field} must be true or false"))),
    }
}

fn max_chars(n: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>, Refusal> {
    let value = string(n, field)?;
    if let Some(v) = value
        && v.chars().count() > max
    {
        return Err(invalid(format!("{field} longer than {max} characters")));
    }
    Ok(value.map(str::to_string))
}

fn http_url(v: &str) -> bool {
    url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Checks a notification of `app` (`broadcast`: saved for a broadcast, where style 3 works).
pub(crate) fn notification(
    n: &Map<String, Value>,
    app: &OppoAppSpec,
    broadcast: bool,
) -> Result<Checked, Refusal> {
    let title = string(n, "title")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("title"))?;
    if title.chars().count() > 50 {
        return Err(invalid("title longer than 50 characters"));
    }
    max_chars(n, "sub_title", 10)?;
    let content = string(n, "content")?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| missing("content"))?;
    let style = integer(n, "style")?.unwrap_or(1);
    let max_content = match style {
        1 => 200,
        2 => 128,
        3 if !broadcast => return Err(invalid("style 3 (big picture) is for broadcasts only")),
        3 => {
            string(n, "big_picture_id")?
                .filter(|p| !p.is_empty())
                .ok_or_else(|| missing("big_picture_id"))?;
            50
        }
        _ => return Err(invalid("style must be 1, 2 or 3")),
    };
    if content.chars().count() > max_content {
        return Err(invalid(format!(
            "content longer than {max_content} characters for style {style}"
        )));
    }
    match integer(n, "click_action_type")?.unwrap_or(0) {
        0 => {}
        1 | 4 => {
            string(n, "click_action_activity")?
                .filter(|a| !a.is_empty())
                .ok_or_else(|| missing("click_action_activity"))?;
        }
        2 | 5 => {
            string(n, "click_action_url")?
                .filter(|a| !a.is_empty())
                .ok_or_else(|| missing("click_action_url"))?;
        }
        _ => return Err(invalid("click_action_type must be 0, 1, 2, 4 or 5")),
    }
    max_chars(n, "click_action_activity", 500)?;
    max_chars(n, "click_action_url", 500)?;
    if let Some(params) = max_chars(n, "action_parameters", MAX_ACTION_PARAMETERS)?
        && !serde_json::from_str::<Value>(&params).is_ok_and(|v| v.is_object())
    {
        return Err(invalid("action_parameters must be a JSON object string"));
    }
    boolean(n, "off_line")?;
    if let Some(ttl) = integer(n, "off_line_ttl")?
        && !(0..=864_000).contains(&ttl)
    {
        return Err(invalid("off_line_ttl must be 0 to 864000 seconds"));
    }
    if let Some(ttl) = integer(n, "show_ttl")?
        && !(21_600..=172_800).contains(&ttl)
    {
        return Err(invalid("show_ttl must be 21600 to 172800 seconds"));
    }
    if let Some(t) = integer(n, "network_type")?
        && !(0..=1).contains(&t)
    {
        return Err(invalid("network_type must be 0 or 1"));
    }
    integer(n, "notify_id")?;
    let callback_url = max_chars(n, "call_back_url", 200)?;
    if let Some(url) = &callback_url
        && !http_url(url)
    {
        return Err(invalid("call_back_url must be an http(s) URL"));
    }
    let callback_parameter = max_chars(n, "call_back_parameter", 100)?;
    let app_message_id = match get(n, "app_message_id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(x)) => Some(x.to_string()),
        Some(_) => return Err(invalid("app_message_id must be a string")),
    };
    let marketing = classify(n, app)?;
    Ok(Checked {
        marketing,
        app_message_id,
        callback_url,
        callback_parameter,
    })
}

/// The classification rules (oppo.md §5): returns whether the message is content &
/// marketing.
fn classify(n: &Map<String, Value>, app: &OppoAppSpec) -> Result<bool, Refusal> {
    let channel = string(n, "channel_id")?;
    let category = match get(n, "category") {
        None => None,
        Some(Value::String(c)) => Some(c.as_str()),
        Some(_) => return Err(classification("category must be a string")),
    };
    let level = match get(n, "notify_level") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| classification("notify_level must be 1, 2 or 16"))?,
        ),
    };
    let registered = channel.map(|c| app.channels.iter().find(|ch| ch.channel_id == c));
    if let Some(None) = registered {
        return Err(classification("channel_id is not registered for the app"));
    }
    let private = registered.flatten().is_some_and(|c| c.private);
    if let Some(level) = level {
        let Some(category) = category else {
            return Err(classification("notify_level needs a category"));
        };
        if !matches!(level, 1 | 2 | 16) {
            return Err(classification("notify_level must be 1, 2 or 16"));
        }
        if level == 16 && (category != "IM" || !app.strong_reminder) {
            return Err(classification(
                "notify_level 16 needs category IM and the strong-reminder approval",
            ));
        }
    }
    match category {
        None => Ok(true),
        Some(c) if MARKETING.contains(&c) => Ok(true),
        Some(c) if COMMUNICATION.contains(&c) => {
            if private {
                Ok(false)
            } else {
                Err(classification(
                    "a communication & service category needs an approved private channel",
                ))
            }
        }
        Some(_) => Err(classification("unknown category")),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
