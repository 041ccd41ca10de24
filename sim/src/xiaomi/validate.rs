//! Form parsing and the request checks of `POST /v3/message/regid` that need no app
//! (xiaomi.md §3, §9.2–§9.3): form encoding only, required fields, text limits counted in
//! characters, payload size, extras, receipt parameters. The checks that need the app's
//! configuration (channels, templates, ttl per class) are in `send.rs`.

use super::codes::{
    CALLBACK_PARAM, CALLBACK_TYPE, CALLBACK_URL, EXTRA_TOO_LONG, ILLEGAL_VALUE, MISSING_PARAMETER,
    MiError, PARAMETER_ERROR, TOO_LONG, TOO_MANY_EXTRAS,
};

/// Titles must be under 50 characters.
pub(crate) const TITLE_LIMIT: usize = 50;
/// Descriptions must be under 128 characters.
pub(crate) const DESCRIPTION_LIMIT: usize = 128;
/// Payloads must be under 4 KB (bytes).
pub(crate) const PAYLOAD_LIMIT: usize = 4096;
/// Most regids per request.
pub(crate) const MAX_REGIDS: usize = 1000;
/// Most custom `extra.*` pairs.
pub(crate) const MAX_CUSTOM_EXTRAS: usize = 10;
/// Longest `extra.*` value, in characters.
pub(crate) const MAX_EXTRA_CHARS: usize = 1024;
/// Longest `extra.callback`, in characters.
pub(crate) const MAX_CALLBACK_URL: usize = 128;
/// Longest `extra.callback.param`, in characters.
pub(crate) const MAX_CALLBACK_PARAM: usize = 64;
/// `time_to_send` at most this far ahead (7 days, ms).
pub(crate) const MAX_SCHEDULE_MS: i64 = 7 * 86_400_000;

/// `extra.*` keys Xiaomi defines; the others are custom pairs.
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

/// A message's class, from its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A private-message channel.
    Private,
    /// A public-message channel.
    Public,
    /// No `extra.channel_id`: the default channel.
    Unclassified,
}

/// A parsed, checked send request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Message {
    /// The regids, in order.
    pub regids: Vec<String>,
    /// `restricted_package_name` (comma-separated list allowed on v3).
    pub packages: Vec<String>,
    /// `pass_through=1`.
    pub pass_through: bool,
    /// `extra.channel_id`.
    pub channel_id: Option<String>,
    /// `extra.template_id`.
    pub template_id: Option<String>,
    /// `extra.template_param`, parsed.
    pub template_param: Option<serde_json::Map<String, serde_json::Value>>,
    /// `time_to_live` in ms.
    pub ttl_ms: Option<i64>,
    /// `time_to_send`, epoch ms.
    pub time_to_send: Option<i64>,
    /// `extra.callback`.
    pub callback: Option<String>,
    /// `extra.callback.param`.
    pub callback_param: Option<String>,
    /// `extra.callback.type` (default 3).
    pub callback_type: u32,
    /// `extra.jobkey`.
    pub jobkey: Option<String>,
}

/// The regids of a form body, best effort (for the request log).
pub(crate) fn regids_of(body: &[u8]) -> Vec<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "registration_id")
        .map(|(_, v)| split_list(&v))
        .unwrap_or_default()
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn missing(key: &str) -> MiError {
    MiError::new(
        MISSING_PARAMETER,
        format!("Missing required parameter: {key}"),
    )
}

fn illegal(reason: impl Into<String>) -> MiError {
    MiError::new(ILLEGAL_VALUE, reason)
}

/// Parses and checks a send body (`content_type`: the request's header).
pub(crate) fn validate(
    content_type: Option<&str>,
    body: &[u8],
    now_ms: i64,
) -> Result<Message, MiError> {
    let form_type = content_type.is_some_and(|ct| {
        ct.trim()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form_type {
        return Err(MiError::new(
            PARAMETER_ERROR,
            "Parameters must be application/x-www-form-urlencoded",
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if !pairs.iter().any(|(have, _)| *have == k) {
            pairs.push((k.into_owned(), v.into_owned()));
        }
    }
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut m = Message {
        callback_type: 3,
        ..Message::default()
    };
    m.regids = split_list(get("registration_id").ok_or_else(|| missing("registration_id"))?);
    if m.regids.is_empty() {
        return Err(missing("registration_id"));
    }
    m.packages = split_list(
        get("restricted_package_name").ok_or_else(|| missing("restricted_package_name"))?,
    );
    if m.packages.is_empty() {
        return Err(missing("restricted_package_name"));
    }
    m.pass_through = match get("pass_through").ok_or_else(|| missing("pass_through"))? {
        "0" => false,
        "1" => true,
        other => {
            return Err(illegal(format!(
                "pass_through must be 0 or 1, not {other:?}"
            )));
        }
    };
    if m.regids.len() > MAX_REGIDS {
        return Err(illegal(format!("at most {MAX_REGIDS} regids per request")));
    }
    for (key, limit) in [("title", TITLE_LIMIT), ("description", DESCRIPTION_LIMIT)] {
        match get(key) {
            None if !m.pass_through => return Err(missing(key)),
            Some(text) if !m.pass_through && text.trim().is_empty() => {
                return Err(illegal(format!("{key} must not be blank")));
            }
            Some(text) if text.chars().count() >= limit => {
                return Err(MiError::new(
                    TOO_LONG,
                    format!("{key} must be under {limit} characters"),
                ));
            }
            _ => {}
        }
    }
    if get("payload").is_some_and(|p| p.len() >= PAYLOAD_LIMIT) {
        return Err(MiError::new(TOO_LONG, "payload must be under 4 KB"));
    }
    let int = |key: &str| -> Result<Option<i64>, MiError> {
        get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| illegal(format!("{key} must be an integer")))
            })
            .transpose()
    };
    if int("notify_type")?.is_some_and(|t| !(-1..=7).contains(&t)) {
        return Err(illegal(
            "notify_type must be -1 or a combination of 1, 2, 4",
        ));
    }
    if int("notify_id")?.is_some_and(|n| n < 0 || n > i64::from(i32::MAX)) {
        return Err(illegal("notify_id must be a non-negative int"));
    }
    m.ttl_ms = int("time_to_live")?;
    if m.ttl_ms.is_some_and(|t| t <= 0) {
        return Err(illegal("time_to_live must be positive"));
    }
    m.time_to_send = int("time_to_send")?;
    if m.time_to_send
        .is_some_and(|t| t > now_ms.saturating_add(MAX_SCHEDULE_MS))
    {
        return Err(illegal("time_to_send must be at most 7 days ahead"));
    }
    let extras: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("extra."))
        .collect();
    let custom = extras
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix("extra.")
                .is_some_and(|name| !SYSTEM_EXTRAS.contains(&name))
        })
        .count();
    if custom > MAX_CUSTOM_EXTRAS {
        return Err(MiError::new(
            TOO_MANY_EXTRAS,
            format!("at most {MAX_CUSTOM_EXTRAS} extra key/value pairs"),
        ));
    }
    if let Some((k, _)) = extras
        .iter()
        .find(|(_, v)| v.chars().count() > MAX_EXTRA_CHARS)
    {
        return Err(MiError::new(
            EXTRA_TOO_LONG,
            format!("{k} is longer than {MAX_EXTRA_CHARS} characters"),
        ));
    }
    if let Some(url) = get("extra.callback") {
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && url.chars().count() <= MAX_CALLBACK_URL;
        if !ok {
            return Err(MiError::new(
                CALLBACK_URL,
                format!(
                    "extra.callback must be an http(s) URL of at most {MAX_CALLBACK_URL} characters"
                ),
            ));
        }
        m.callback = Some(url.to_string());
    }
    if let Some(param) = get("extra.callback.param") {
        if param.chars().count() > MAX_CALLBACK_PARAM {
            return Err(MiError::new(
                CALLBACK_PARAM,
                format!("extra.callback.param must be at most {MAX_CALLBACK_PARAM} characters"),
            ));
        }
        m.callback_param = Some(param.to_string());
    }
    if let Some(t) = get("extra.callback.type") {
        m.callback_type = t
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|t| (1..2048).contains(t))
            .ok_or_else(|| MiError::new(CALLBACK_TYPE, "extra.callback.type must be a bit mask"))?;
    }
    if let Some(jobkey) = get("extra.jobkey") {
        let ok = !jobkey.is_empty()
            && jobkey.len() <= 20
            && !jobkey.starts_with('_')
            && jobkey
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(illegal(
                "extra.jobkey: up to 20 digits, letters, _ or -, not starting with _",
            ));
        }
        m.jobkey = Some(jobkey.to_string());
    }
    m.channel_id = get("extra.channel_id")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string);
    m.template_id = get("extra.template_id")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string);
    if let Some(params) = get("extra.template_param") {
        match serde_json::from_str::<serde_json::Value>(params) {
            Ok(serde_json::Value::Object(map)) => m.template_param = Some(map),
            _ => {
                return Err(illegal(
                    "extra.template_param must be a JSON object of variable values",
                ));
            }
        }
    }
    Ok(m)
}

/// Whether Xiaomi refuses `c` in a template value: emoji and other "symbol, other"
/// characters, their joiners and selectors, private-use and unassigned planes.
pub(crate) fn refused_in_template(c: char) -> bool {
    matches!(u32::from(c),
        0x00A9 | 0x00AE | 0x2122 | 0x200D | 0x20E3 | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x2500..=0x27BF
        | 0x2B00..=0x2BFF
        | 0xE000..=0xF8FF
        | 0xFE00..=0xFE0F
        | 0x1F000..=0x1FAFF
        | 0x30000..=0x10FFFF)
        || c.is_control()
}

/// Checks `extra.template_param` against a template of `count` variables.
pub(crate) fn check_template_params(
    params: &serde_json::Map<String, serde_json::Value>,
    count: usize,
) -> Result<(), MiError> {
    if params.len() != count {
        return Err(illegal(format!(
            "extra.template_param has {} variables; the template has {count}",
            params.len()
        )));
    }
    for (name, value) in params {
        let Some(text) = value.as_str() else {
            return Err(illegal(format!(
                "template variable {name} must be a string"
            )));
        };
        let chars = text.chars().count();
        if !(1..=128).contains(&chars) || text.trim().is_empty() {
            return Err(illegal(format!(
                "template variable {name} must be 1-128 characters, not blank"
            )));
        }
        if text.chars().any(refused_in_template) {
            return Err(illegal(format!(
                "template variable {name} must not contain emoji or symbols"
            )));
        }
    }
    Ok(())
}
