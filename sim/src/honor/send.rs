//! `POST /api/v1/{appId}/sendMessage` (honor.md §3–§6, §8.2–§8.6): Bearer token and
//! `timestamp` header, camelCase validation, token states, classification limits, the
//! numeric-code answer and the receipts to post (or to hold until 06:00 Beijing time).

use serde_json::{Map, Value, json};

use super::{china_day, china_hour, release_ms};
use crate::control::types::{HonorAppSpec, HonorReceiptStatus, HonorTokenState};
use crate::state::SimState;

/// A send's answer and what follows from it.
#[derive(Debug, Default)]
pub(crate) struct SendResult {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// The tokens addressed.
    pub tokens: Vec<String>,
    /// Receipts to post now (those of a message sent at night are held in the receipt hub).
    pub receipts: Vec<HonorReceiptStatus>,
}

fn fail(status: u16, code: i64, message: &str) -> SendResult {
    SendResult {
        status,
        body: json!({ "code": code, "message": message }),
        ..SendResult::default()
    }
}

fn bad(message: impl Into<String>) -> (i64, String) {
    (80100001, message.into())
}

/// Handles a send to `app_id` of the URL.
pub(crate) fn send(
    state: &SimState,
    app_id: &str,
    authorization: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    request_id: &str,
) -> SendResult {
    let now = state.core.clock.now_ms();
    let bearer = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(app) = bearer.and_then(|t| state.honor.registry.token_app(t, now)) else {
        return fail(401, 80200003, "access token missing, invalid or expired");
    };
    if app.app_id != app_id {
        return fail(401, 80200001, "the access token was issued for another app");
    }
    if timestamp.is_none_or(|t| t.trim().parse::<i64>().is_err()) {
        return fail(
            400,
            80100001,
            "the timestamp header is required (epoch milliseconds)",
        );
    }
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(body) else {
        return fail(400, 80100003, "the body is not a JSON object");
    };
    let tokens: Vec<String> = message
        .get("token")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let checked = validate(&message, tokens.len());
    let mut out = match checked {
        Err((code, text)) => {
            let status = if code == 80300008 || code == 80300010 {
                200
            } else {
                400
            };
            fail(status, code, &text)
        }
        Ok(info) => deliver(state, &app, &tokens, &info, request_id, now),
    };
    out.tokens = tokens;
    out
}

/// What validation learnt.
struct Info {
    notification: bool,
    marketing: bool,
    test: bool,
    bi_tag: Option<String>,
}

/// Honor's rules (honor.md §4, §8.3).
fn validate(m: &Map<String, Value>, token_count: usize) -> Result<Info, (i64, String)> {
    snake_free(m, "")?;
    if !(1..=1000).contains(&token_count)
        || m.get("token").and_then(Value::as_array).map(Vec::len) != Some(token_count)
    {
        return Err((80300010, "token must hold 1 to 1000 tokens".into()));
    }
    let mut without = m.clone();
    without.remove("token");
    if Value::Object(without).to_string().len() > 4096 {
        return Err((80300008, "the message is larger than 4096 bytes".into()));
    }
    if m.get("data").is_some_and(|d| !d.is_string()) {
        return Err(bad("data must be a string"));
    }
    let android = match m.get("android") {
        None => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(bad("android must be an object")),
    };
    if let Some(ttl) = android.get("ttl") {
        let secs = ttl
            .as_str()
            .and_then(|t| t.strip_suffix('s'))
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<u64>().ok());
        if secs.is_none_or(|s| s > 1_296_000) {
            return Err(bad("android.ttl must be \"<seconds>s\", at most 1296000s"));
        }
    }
    let test = match android.get("targetUserType").map(Value::as_i64) {
        None | Some(Some(0)) => false,
        Some(Some(1)) => true,
        _ => return Err(bad("android.targetUserType must be 0 or 1")),
    };
    let notification = match android.get("notification") {
        None => None,
        Some(Value::Object(n)) => Some(n),
        Some(_) => return Err(bad("android.notification must be an object")),
    };
    let mut marketing = false;
    if let Some(n) = notification {
        check_notification(n, m.get("notification"))?;
        marketing = n.get("importance").and_then(Value::as_str) != Some("NORMAL");
    } else if m.get("data").is_none() {
        return Err(bad("a message needs data or android.notification"));
    }
    Ok(Info {
        notification: notification.is_some(),
        marketing,
        test,
        bi_tag: android
            .get("biTag")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Huawei's snake_case names are refused (the sim's choice; Honor is camelCase) at every
/// depth: `android`, `android.notification` and the objects inside it (`clickAction`,
/// `badge`, each of `buttons`). Every Honor field with free-form content (`data`,
/// `android.data`, a button's `data`) is a string, so no key of the message is the producer's.
/// `path` is the object's field path, empty for the message itself.
fn snake_free(m: &Map<String, Value>, path: &str) -> Result<(), (i64, String)> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(k) = m.keys().find(|k| k.contains('_')) {
        return Err(bad(format!(
            "{}: unknown field (Honor names are camelCase)",
            at(k)
        )));
    }
    m.iter()
        .try_for_each(|(key, value)| snake_free_in(value, &at(key)))
}

/// [`snake_free`] for any value: objects and the objects in arrays.
fn snake_free_in(value: &Value, path: &str) -> Result<(), (i64, String)> {
    match value {
        Value::Object(m) => snake_free(m, path),
        // Only containers are visited: a 1000-token list costs no path strings.
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.is_object() || item.is_array())
            .try_for_each(|(i, item)| snake_free_in(item, &format!("{path}[{i}]"))),
        _ => Ok(()),
    }
}

fn check_notification(n: &Map<String, Value>, top: Option<&Value>) -> Result<(), (i64, String)> {
    for key in ["title", "body"] {
        let present = n
            .get(key)
            .or_else(|| top.and_then(|t| t.get(key)))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !present {
            return Err(bad(format!("notification {key} is required")));
        }
    }
    let click = n
        .get("clickAction")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("android.notification.clickAction is required"))?;
    let has = |k: &str| {
        click
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match click.get("type").and_then(Value::as_i64) {
        Some(1) if has("intent") || has("action") => {}
        Some(2)
            if click
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("https://")) => {}
        Some(3) => {}
        _ => {
            return Err(bad(
                "clickAction: type 1 needs intent or action, 2 an https url, or 3",
            ));
        }
    }
    if let Some(i) = n.get("importance")
        && !matches!(i.as_str(), Some("NORMAL" | "LOW"))
    {
        return Err(bad("importance must be NORMAL or LOW"));
    }
    if n.get("style").and_then(Value::as_i64) == Some(1) {
        for key in ["bigTitle", "bigBody"] {
            if n.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(bad(format!("style 1 needs {key}")));
            }
        }
    }
    if n.get("buttons")
        .and_then(Value::as_array)
        .is_some_and(|b| b.len() > 3)
    {
        return Err(bad("at most 3 buttons"));
    }
    if let Some(set) = n.get("badge").and_then(|b| b.get("setNum"))
        && !set.as_i64().is_some_and(|s| (0..=99).contains(&s))
    {
        return Err(bad("badge.setNum must be 0 to 99"));
    }
    Ok(())
}

fn deliver(
    state: &SimState,
    app: &HonorAppSpec,
    tokens: &[String],
    info: &Info,
    request_id: &str,
    now: i64,
) -> SendResult {
    let day = china_day(now);
    let reg = &state.honor.registry;
    if info.test && !reg.count_test(&app.app_id, day, tokens.len() as u64) {
        return fail(
            200,
            80100017,
            "the daily test-message quota (1000) is used up",
        );
    }
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let (mut expired, mut failed, mut accepted) = (Vec::new(), Vec::new(), Vec::new());
    for t in tokens {
        match reg.device(&app.app_id, t, accept_unknown) {
            (HonorTokenState::Expired, _) => expired.push(t.clone()),
            (HonorTokenState::Failing, _) => failed.push(t.clone()),
            (HonorTokenState::Valid, status) => accepted.push((t.clone(), status)),
        }
    }
    let data = |send_result: bool| {
        json!({ "sendResult": send_result, "requestId": request_id,
                "failTokens": failed, "expireTokens": expired })
    };
    if accepted.is_empty() && failed.is_empty() {
        return SendResult {
            status: 200,
            body: json!({ "code": 80300007, "message": "all tokens are invalid", "data": data(false) }),
            ..SendResult::default()
        };
    }
    let (code, message) = if failed.is_empty() {
        (200, "success")
    } else {
        (80100000, "partial success")
    };
    let limit = if app.news_app { 5 } else { 2 };
    // Between 00:00 and 06:00 Beijing time Honor holds every message type (honor.md §5): the
    // receipt a message gets by day is posted once the sim clock passes 06:00. Held messages
    // still count against the per-device quota of the day they are sent, which is the day
    // they are shown.
    let hold = state.core.settings().honor_night_hold;
    let release = (hold && china_hour(now) < 6).then(|| release_ms(now));
    let receipts: Vec<HonorReceiptStatus> = accepted
        .into_iter()
        .map(|(token, forced)| {
            // Test messages are exempt from per-device limits (honor.md §4): they neither
            // count against nor are stopped by the news & marketing quota.
            let over = info.notification
                && info.marketing
                && !info.test
                && reg.count_marketing(&app.app_id, &token, day) > limit;
            let status = match forced {
                Some(s) => s,
                None if over => 40000009,
                None if info.notification => 40000002,
                None => 40000001,
            };
            HonorReceiptStatus {
                token,
                bi_tag: info.bi_tag.clone(),
                status,
                // A held message is delivered, clicked or discarded at its release.
                timestamp: release.unwrap_or(now),
                appid: app.app_id.clone(),
                request_id: request_id.to_string(),
            }
        })
        .collect();
    let receipts = match release {
        Some(at) => {
            state
                .honor
                .receipts
                .hold(&state.core.clock, at, &app.app_id, receipts);
            Vec::new()
        }
        None => receipts,
    };
    SendResult {
        status: 200,
        body: json!({ "code": code, "message": message, "data": data(true) }),
        tokens: Vec::new(),
        receipts,
    }
}
