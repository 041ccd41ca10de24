//! `POST /message/auth` (vivo.md §2, §9.1): checks the MD5 sign of `appId + appKey +
//! timestamp + appSecret` (lowercase hex), the ±10-minute timestamp window and the auth-call
//! limit, and issues an `authToken`.

use serde_json::{Value, json};

use crate::state::SimState;
use md5::{Digest, Md5};

/// A required field is missing, the appId is unknown or the appKey illegal.
pub(crate) const BAD_AUTH_PARAMETER: i64 = 10200;
/// The sign is wrong.
pub(crate) const BAD_SIGN: i64 = 10206;
/// The timestamp is illegal (not a number, or more than 10 minutes off).
pub(crate) const BAD_TIMESTAMP: i64 = 10207;
/// The auth-call limit is exceeded.
pub(crate) const AUTH_LIMIT: i64 = 10250;
/// Allowed clock skew.
const SKEW_MS: i64 = 10 * 60 * 1000;

/// A `{"result", "desc"}` answer.
pub(crate) fn result(code: i64, desc: &str) -> Value {
    json!({ "result": code, "desc": desc })
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Answers an auth request.
pub(crate) fn auth(state: &SimState, body: &[u8]) -> Value {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return result(
            BAD_AUTH_PARAMETER,
            "参数不合法: the body is not a JSON object",
        );
    };
    let (Some(app_id), Some(app_key), Some(sign)) = (
        text(req.get("appId")),
        text(req.get("appKey")),
        text(req.get("sign")),
    ) else {
        return result(
            BAD_AUTH_PARAMETER,
            "参数不合法: appId, appKey and sign are required",
        );
    };
    let Some(app) = state.vivo.apps.app(&app_id) else {
        return result(BAD_AUTH_PARAMETER, "appId不合法: unknown appId");
    };
    if app.app_key != app_key {
        return result(BAD_AUTH_PARAMETER, "appKey不合法: illegal appKey");
    }
    let now = state.core.clock.now_ms();
    let timestamp = match req.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let Some(timestamp) = timestamp.filter(|t| (now - t).abs() <= SKEW_MS) else {
        return result(
            BAD_TIMESTAMP,
            "timestamp不合法: missing or more than 10 minutes off",
        );
    };
    let text = format!("{app_id}{app_key}{timestamp}{}", app.app_secret);
    if sign != hex::encode(Md5::digest(text.as_bytes())) {
        return result(BAD_SIGN, "sign不正确: wrong signature");
    }
    if state.vivo.apps.auth_limited(&app_id, now) {
        return result(AUTH_LIMIT, "超过调用次数限制: auth call limit exceeded");
    }
    let ttl_ms = i64::try_from(app.auth_token_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let token = state.vivo.apps.issue(&app_id, now.saturating_add(ttl_ms));
    json!({ "result": 0, "desc": "请求成功", "authToken": token })
}
