//! Validation of a `messages:send` body (huawei.md §4, §9.3). Malformed JSON and wrong field
//! types give `80100003`; missing or wrong values `80100001`; the token count `80300010`; the
//! size of the message without its tokens `80300008`; `collapse_key` `80100013`. Unknown
//! fields are ignored (the reference does not say Huawei refuses them).

use serde_json::{Map, Value};

use super::codes::{
    BAD_COLLAPSE_KEY, BAD_PARAMETER, BAD_STRUCTURE, PushResult, TOKEN_COUNT, TOO_BIG,
};

/// Most tokens per request.
pub(crate) const MAX_TOKENS: usize = 1000;
/// Largest message (serialized, without `token`), in bytes.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest `ttl`: 15 days.
pub(crate) const MAX_TTL_SECS: f64 = 1_296_000.0;
/// `android.category` values (huawei.md §5).
pub(crate) const CATEGORIES: &[&str] = &[
    "IM",
    "VOIP",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "SYSTEM_REMINDER",
    "MAIL",
    "PLAY_VOICE",
    "MARKETING",
];

/// A valid send request.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Message {
    /// `validate_only`.
    pub validate_only: bool,
    /// The device tokens (empty for topic and condition sends).
    pub tokens: Vec<String>,
    /// A notification message (else pass-through).
    pub notification: bool,
    /// `android.category`.
    pub category: Option<String>,
    /// `android.notification.importance`.
    pub importance: Option<String>,
    /// `android.urgency` is `HIGH`.
    pub urgency_high: bool,
    /// `android.bi_tag`.
    pub bi_tag: Option<String>,
    /// `android.receipt_id`.
    pub receipt_id: Option<String>,
}

fn structure(msg: impl Into<String>) -> PushResult {
    PushResult::new(BAD_STRUCTURE, msg)
}

fn parameter(msg: impl Into<String>) -> PushResult {
    PushResult::new(BAD_PARAMETER, msg)
}

/// A field of `obj`; `null` counts as absent.
fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, PushResult> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(structure(format!("{path}{name} must be an object"))),
    }
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a str>, PushResult> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(structure(format!("{path}{name} must be a string"))),
    }
}

fn int(obj: &Map<String, Value>, name: &str, path: &str) -> Result<Option<i64>, PushResult> {
    match get(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| structure(format!("{path}{name} must be an integer"))),
    }
}

fn boolean(obj: &Map<String, Value>, name: &str, path: &str) -> Result<Option<bool>, PushResult> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(structure(format!("{path}{name} must be a boolean"))),
    }
}

fn array<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, PushResult> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(structure(format!("{path}{name} must be an array"))),
    }
}

/// Validates a send body.
pub(crate) fn validate(body: &[u8]) -> Result<Message, PushResult> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| structure(format!("message structure error: {e}")))?;
    let Value::Object(root) = root else {
        return Err(structure("the request body must be a JSON object"));
    };
    let validate_only = boolean(&root, "validate_only", "")?.unwrap_or(false);
    if let Some(review) = get(&root, "review")
        && !review.is_array()
    {
        return Err(structure("review must be an array"));
    }
    let message = object(&root, "message", "")?.ok_or_else(|| structure("message is required"))?;
    let mut out = Message {
        validate_only,
        ..Message::default()
    };
    out.tokens = targets(message)?;
    size(message)?;
    string(message, "data", "message.")?;
    let top_notification = notification(message)?;
    if let Some(android) = object(message, "android", "message.")? {
        android_fields(android, top_notification, &mut out)?;
    } else {
        out.notification = top_notification.is_some();
    }
    Ok(out)
}

/// Exactly one of `token`, `topic`, `condition`; 1..=1000 tokens.
fn targets(message: &Map<String, Value>) -> Result<Vec<String>, PushResult> {
    let tokens = array(message, "token", "message.")?;
    let topic = string(message, "topic", "message.")?;
    let condition = string(message, "condition", "message.")?;
    let present = usize::from(tokens.is_some())
        + usize::from(topic.is_some())
        + usize::from(condition.is_some());
    if present != 1 {
        return Err(parameter(
            "exactly one of message.token, message.topic and message.condition must be set",
        ));
    }
    let Some(tokens) = tokens else {
        return Ok(Vec::new());
    };
    if tokens.is_empty() || tokens.len() > MAX_TOKENS {
        return Err(PushResult::new(
            TOKEN_COUNT,
            format!("the number of tokens must be 1 to {MAX_TOKENS}"),
        ));
    }
    tokens
        .iter()
        .map(|t| {
            t.as_str()
                .map(str::to_string)
                .ok_or_else(|| structure("message.token must be an array of strings"))
        })
        .collect()
}

/// The message without `token`, serialized, must fit in 4096 bytes.
fn size(message: &Map<String, Value>) -> Result<(), PushResult> {
    let mut without = message.clone();
    without.remove("token");
    let bytes = Value::Object(without).to_string().len();
    if bytes > MAX_MESSAGE_BYTES {
        return Err(PushResult::new(
            TOO_BIG,
            format!("message body size {bytes} exceeds the limit of {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The (title, body) of `message.notification`.
type TitleBody<'a> = (Option<&'a str>, Option<&'a str>);

/// `message.notification`: `title`, `body`, `image` strings. Returns (title, body).
fn notification(message: &Map<String, Value>) -> Result<Option<TitleBody<'_>>, PushResult> {
    let Some(n) = object(message, "notification", "message.")? else {
        return Ok(None);
    };
    let path = "message.notification.";
    let image = string(n, "image", path)?;
    if image.is_some_and(|i| !i.starts_with("https://")) {
        return Err(parameter("message.notification.image must be an HTTPS URL"));
    }
    Ok(Some((string(n, "title", path)?, string(n, "body", path)?)))
}

fn android_fields(
    android: &Map<String, Value>,
    top: Option<TitleBody<'_>>,
    out: &mut Message,
) -> Result<(), PushResult> {
    let path = "message.android.";
    match get(android, "collapse_key") {
        None => {}
        Some(v) => match v.as_i64() {
            Some(k) if (-1..=100).contains(&k) => {}
            _ => return Err(PushResult::new(BAD_COLLAPSE_KEY, "collapse_key is invalid")),
        },
    }
    match string(android, "urgency", path)? {
        None | Some("NORMAL") => {}
        Some("HIGH") => out.urgency_high = true,
        Some(u) => return Err(parameter(format!("urgency {u} is invalid"))),
    }
    if let Some(c) = string(android, "category", path)? {
        if !CATEGORIES.contains(&c) {
            return Err(parameter(format!("category {c} is invalid")));
        }
        out.category = Some(c.to_string());
    }
    if let Some(ttl) = string(android, "ttl", path)? {
        let secs = parse_ttl(ttl).ok_or_else(|| structure(format!("ttl {ttl} is invalid")))?;
        if secs > MAX_TTL_SECS {
            return Err(parameter("ttl must not exceed 15 days (1296000s)"));
        }
    }
    out.bi_tag = string(android, "bi_tag", path)?.map(str::to_string);
    out.receipt_id = string(android, "receipt_id", path)?.map(str::to_string);
    if let Some(f) = int(android, "fast_app_target", path)?
        && !(1..=2).contains(&f)
    {
        return Err(parameter("fast_app_target must be 1 or 2"));
    }
    if let Some(t) = int(android, "target_user_type", path)?
        && !(0..=1).contains(&t)
    {
        return Err(parameter("target_user_type must be 0 or 1"));
    }
    string(android, "data", path)?;
    let android_notification = object(android, "notification", path)?;
    if let Some(n) = android_notification {
        let importance = android_notification_fields(n, top)?;
        out.importance = importance.map(str::to_string);
    }
    out.notification = android_notification.is_some() || top.is_some();
    if out.notification && out.category.as_deref() == Some("PLAY_VOICE") {
        return Err(parameter(
            "category PLAY_VOICE is only for pass-through messages",
        ));
    }
    Ok(())
}

/// A duration with an `s` suffix: `"86400s"`, `"3.5s"`.
fn parse_ttl(ttl: &str) -> Option<f64> {
    let digits = ttl.strip_suffix('s')?;
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let ok_int = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
    let ok_frac =
        frac.is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    (ok_int && ok_frac).then(|| digits.parse().ok()).flatten()
}

const STRINGS: &[&str] = &[
    "title",
    "body",
    "icon",
    "color",
    "image",
    "sound",
    "tag",
    "group",
    "channel_id",
    "notify_summary",
    "body_loc_key",
    "title_loc_key",
    "multi_lang_key",
    "ticker",
    "when",
    "importance",
    "visibility",
    "big_title",
    "big_body",
];
const INTS: &[&str] = &["notify_id", "style", "auto_clear"];
const BOOLS: &[&str] = &[
    "default_sound",
    "use_default_vibrate",
    "use_default_light",
    "foreground_show",
];
const ARRAYS: &[&str] = &[
    "body_loc_args",
    "title_loc_args",
    "vibrate_config",
    "inbox_content",
    "buttons",
];
const VISIBILITIES: &[&str] = &["VISIBILITY_UNSPECIFIED", "PRIVATE", "PUBLIC", "SECRET"];

/// `android.notification` (huawei.md §4.4); returns `importance`.
fn android_notification_fields<'a>(
    n: &'a Map<String, Value>,
    top: Option<TitleBody<'_>>,
) -> Result<Option<&'a str>, PushResult> {
    let path = "message.android.notification.";
    for name in STRINGS {
        string(n, name, path)?;
    }
    for name in INTS {
        int(n, name, path)?;
    }
    for name in BOOLS {
        boolean(n, name, path)?;
    }
    for name in ARRAYS {
        array(n, name, path)?;
    }
    let s = |name| {
        n.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (top_title, top_body) = top.unwrap_or_default();
    let has_title = s("title").or(top_title).or(s("title_loc_key")).is_some();
    let has_body = s("body").or(top_body).or(s("body_loc_key")).is_some();
    if !has_title || !has_body {
        return Err(parameter(
            "a notification needs title and body (or title_loc_key and body_loc_key)",
        ));
    }
    click_action(n)?;
    if let Some(c) = s("color")
        && !(c.len() == 7 && c.starts_with('#') && c.bytes().skip(1).all(|b| b.is_ascii_hexdigit()))
    {
        return Err(parameter("color must be #RRGGBB"));
    }
    if s("image").is_some_and(|i| !i.starts_with("https://")) {
        return Err(parameter("image must be an HTTPS URL"));
    }
    match int(n, "style", path)? {
        None | Some(0) => {}
        Some(1) if s("big_title").is_some() && s("big_body").is_some() => {}
        Some(3) if array(n, "inbox_content", path)?.is_some_and(|a| a.len() <= 5) => {}
        Some(st) => return Err(parameter(format!("style {st} is invalid or incomplete"))),
    }
    if array(n, "vibrate_config", path)?.is_some_and(|a| a.len() > 10) {
        return Err(parameter("vibrate_config takes at most 10 durations"));
    }
    if array(n, "buttons", path)?.is_some_and(|a| a.len() > 3) {
        return Err(parameter("at most 3 buttons"));
    }
    if let Some(v) = s("visibility")
        && !VISIBILITIES.contains(&v)
    {
        return Err(parameter(format!("visibility {v} is invalid")));
    }
    if let Some(b) = object(n, "badge", path)? {
        let add = int(b, "add_num", "badge.")?;
        let set = int(b, "set_num", "badge.")?;
        string(b, "class", "badge.")?;
        if add.is_some_and(|a| !(1..=99).contains(&a))
            || set.is_some_and(|v| !(0..=99).contains(&v))
        {
            return Err(parameter("badge add_num must be 1-99 and set_num 0-99"));
        }
    }
    let importance = s("importance");
    if let Some(i) = importance
        && i != "LOW"
        && i != "NORMAL"
    {
        return Err(parameter(format!("importance {i} is invalid")));
    }
    Ok(importance)
}

/// `click_action` is required: type 1 needs `intent` or `action`, type 2 an HTTPS `url`,
/// type 3 nothing.
fn click_action(n: &Map<String, Value>) -> Result<(), PushResult> {
    let path = "message.android.notification.";
    let action = object(n, "click_action", path)?
        .ok_or_else(|| parameter("click_action is required for a notification"))?;
    let has = |name| {
        action
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    match int(action, "type", "click_action.")? {
        Some(1) if has("intent") || has("action") => Ok(()),
        Some(2)
            if action
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("https://")) =>
        {
            Ok(())
        }
        Some(3) => Ok(()),
        _ => Err(parameter(
            "click_action.type must be 1 (with intent or action), 2 (with an https url) or 3",
        )),
    }
}
