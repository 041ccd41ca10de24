//! Google's OAuth2 token endpoint for service accounts (fcm.md §2.2–2.3): the RFC 7523
//! JWT-bearer grant with an RS256 assertion, answered with an access token or Google's OAuth
//! error shapes.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};

use super::accounts::AccessToken;
use crate::state::SimState;

/// The only grant type accepted.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The audience Google's libraries put in the assertion.
pub(crate) const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Older audiences Google still accepts.
const LEGACY_AUDIENCES: &[&str] = &[
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
];
/// Scopes that allow sending FCM messages.
pub(crate) const MESSAGING_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// Longest assertion lifetime (`exp - iat`).
const MAX_LIFETIME_SECS: i64 = 3600;
/// How far `iat` may be from the sim clock, either way (fcm.md §11.1: "`iat` within a small
/// skew of a controllable clock"). Clients sign with `iat` = now (Go's oauth2 backdates it by
/// 10 s), so an older `iat` means a replayed or stale assertion, or a wrong clock.
const MAX_SKEW_SECS: i64 = 300;
const BAD_TIMES: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
const BAD_SIGNATURE: &str = "Invalid JWT Signature.";

/// An OAuth2 error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    /// HTTP status.
    pub status: u16,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    fn grant(description: impl Into<String>) -> Self {
        OAuthError::new(400, "invalid_grant", description)
    }

    /// The `{"error", "error_description"}` body.
    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

/// Reads the form (or JSON) body of a token request into its parameters.
pub(crate) fn parameters(content_type: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    if content_type.is_some_and(|c| c.starts_with("application/json")) {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        return map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Exchanges an assertion for an access token; `host` is the request's authority, so the
/// sim's own token URL is an accepted audience.
pub(crate) fn exchange(
    state: &SimState,
    host: Option<&str>,
    params: &[(String, String)],
) -> Result<Value, OAuthError> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let grant_type = param("grant_type").ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        )
    })?;
    if grant_type != JWT_BEARER {
        return Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            format!("Invalid grant_type: {grant_type}"),
        ));
    }
    let assertion = param("assertion").ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        )
    })?;
    let header =
        jsonwebtoken::decode_header(assertion).map_err(|_| OAuthError::grant(BAD_SIGNATURE))?;
    if header.alg != Algorithm::RS256 {
        return Err(OAuthError::grant(BAD_SIGNATURE));
    }
    let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| OAuthError::grant(BAD_SIGNATURE))?;
    let iss = unverified
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let account = state
        .fcm
        .accounts
        .account(iss)
        .ok_or_else(|| OAuthError::grant("Invalid grant: account not found"))?;
    if let (Some(kid), Some(known)) = (&header.kid, &account.private_key_id)
        && kid != known
    {
        return Err(OAuthError::grant(BAD_SIGNATURE));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(assertion, &account.decoding, &validation)
        .map_err(|_| OAuthError::grant(BAD_SIGNATURE))?
        .claims;
    check_audience(&claims, host)?;
    let now = state.core.clock.now_secs();
    let time = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    };
    let (Some(iat), Some(exp)) = (time("iat"), time("exp")) else {
        return Err(OAuthError::grant(BAD_TIMES));
    };
    if !iat_and_exp_acceptable(iat, exp, now) {
        return Err(OAuthError::grant(BAD_TIMES));
    }
    let scopes = scopes(&claims)?;
    let ttl = state.core.settings().fcm_access_token_ttl_secs;
    let expires_at_ms = state
        .core
        .clock
        .now_ms()
        .saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX));
    let access_token = state.fcm.accounts.issue(AccessToken {
        client_email: account.client_email,
        scopes,
        expires_at_ms,
    });
    Ok(json!({ "access_token": access_token, "expires_in": ttl, "token_type": "Bearer" }))
}

/// The assertion's time checks: a lifetime of at most an hour, `iat` within
/// [`MAX_SKEW_SECS`] of `now` in either direction, and `exp` still ahead of `now`.
fn iat_and_exp_acceptable(iat: i64, exp: i64, now: i64) -> bool {
    exp >= iat
        && exp.saturating_sub(iat) <= MAX_LIFETIME_SECS
        && iat.abs_diff(now) <= MAX_SKEW_SECS.unsigned_abs()
        && exp > now
}

fn check_audience(claims: &Value, host: Option<&str>) -> Result<(), OAuthError> {
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let own = host.map(|h| format!("https://{h}/token"));
    if aud == GOOGLE_TOKEN_URL || LEGACY_AUDIENCES.contains(&aud) || own.as_deref() == Some(aud) {
        return Ok(());
    }
    Err(OAuthError::grant(format!(
        "Invalid JWT: Failed audience check. The right audience is {GOOGLE_TOKEN_URL}"
    )))
}

/// The space-separated `scope` claim: empty → `invalid_scope`; a value that is not a Google
/// API scope URL → `invalid_scope`. Scopes that do not cover messaging are granted (the send
/// endpoint refuses them, as Google does).
fn scopes(claims: &Value) -> Result<Vec<String>, OAuthError> {
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(OAuthError::new(
            400,
            "invalid_scope",
            "Empty or missing scope not allowed.",
        ));
    }
    if scopes
        .iter()
        .any(|s| !s.starts_with("https://www.googleapis.com/auth/"))
    {
        return Err(OAuthError::new(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iat_must_be_near_the_clock_either_way() {
        let now = 1_800_000_000;
        assert!(iat_and_exp_acceptable(now, now + 3600, now));
        assert!(
            iat_and_exp_acceptable(now - 10, now + 3590, now),
            "Go backdates 10 s"
        );
        assert!(iat_and_exp_acceptable(now - 300, now + 3300, now));
        assert!(iat_and_exp_acceptable(now + 300, now + 3900, now));
        assert!(
            !iat_and_exp_acceptable(now - 301, now + 3299, now),
            "too old"
        );
        assert!(
            !iat_and_exp_acceptable(now - 1800, now + 1800, now),
            "too old"
        );
        assert!(
            !iat_and_exp_acceptable(now + 301, now + 3901, now),
            "future"
        );
        assert!(!iat_and_exp_acceptable(now, now + 3601, now), "lifetime");
        assert!(!iat_and_exp_acceptable(now, now - 1, now), "exp before iat");
        assert!(!iat_and_exp_acceptable(now - 100, now, now), "expired");
        assert!(
            !iat_and_exp_acceptable(i64::MIN, i64::MAX, now),
            "no overflow"
        );
    }
}
