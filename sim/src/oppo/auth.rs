//! OPPO's auth endpoint (oppo.md §3, §9.1): `POST {host}/server/v1/auth` with the form fields
//! `app_key`, `timestamp` (epoch ms) and `sign`, the lowercase hex SHA-256 of the plain
//! concatenation `app_key`, `timestamp`, `master_secret`; answered with an `auth_token` valid
//! for the configured lifetime (24 h) on that host only.

use serde_json::json;

use super::Host;
use super::apps::AuthToken;
use super::codes::{
    INVALID_APP_KEY, INVALID_SIGN, INVALID_TIMESTAMP, MISSING_APP_KEY, MISSING_SIGN,
    MISSING_TIMESTAMP, Refusal, success,
};
use crate::state::SimState;

/// Largest clock difference accepted: 10 minutes.
pub(crate) const MAX_SKEW_MS: i64 = 10 * 60 * 1000;

/// `sign` for a request.
pub(crate) fn sign(app_key: &str, timestamp: &str, master_secret: &str) -> String {
    let text = format!("{app_key}{timestamp}{master_secret}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks an auth request and issues a token: the answer body.
pub(crate) fn exchange(
    state: &SimState,
    host: Host,
    params: &[(String, String)],
) -> Result<serde_json::Value, Refusal> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let app_key =
        param("app_key").ok_or_else(|| Refusal::new(MISSING_APP_KEY, "Missing AppKey"))?;
    let given = param("sign").ok_or_else(|| Refusal::new(MISSING_SIGN, "Missing Signature"))?;
    let timestamp =
        param("timestamp").ok_or_else(|| Refusal::new(MISSING_TIMESTAMP, "Missing Timestamp"))?;
    let now = state.core.clock.now_ms();
    let ms: Option<i64> = timestamp
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| timestamp.parse().ok())
        .flatten();
    match ms {
        // Seconds (10 digits) are not milliseconds; anything off by 10 minutes is refused.
        Some(ms) if timestamp.len() >= 13 && (ms - now).abs() <= MAX_SKEW_MS => {}
        _ => return Err(Refusal::new(INVALID_TIMESTAMP, "Invalid Timestamp")),
    }
    let app = state
        .oppo
        .apps
        .app(app_key)
        .ok_or_else(|| Refusal::new(INVALID_APP_KEY, "Invalid AppKey"))?;
    if given != sign(app_key, timestamp, &app.master_secret) {
        return Err(Refusal::new(INVALID_SIGN, "Invalid Signature"));
    }
    let ttl_ms = i64::try_from(
        state
            .oppo
            .settings()
            .auth_token_ttl_secs
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    let token = state.oppo.apps.issue(AuthToken {
        app_key: app.app_key,
        host,
        expires_at_ms: now.saturating_add(ttl_ms),
    });
    Ok(success(json!({ "auth_token": token, "create_time": now })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_lowercase_hex_sha256() {
        // sha256("appkey1700000000000secret"), computed independently (Python hashlib).
        assert_eq!(
            sign("appkey", "1700000000000", "secret"),
            "2e40dd50a55be3227d415931c7db4aede3b6d25cd61d8761b732d90d2ad0eb4b"
        );
    }
}
