//! Huawei's OAuth 2.0 client-credentials endpoint (huawei.md §2, §9.1):
//! `POST /oauth2/v3/token` with `grant_type=client_credentials&client_id=…&client_secret=…`,
//! answered with an access token or `{"error", "sub_error", "error_description"}`.

use serde_json::{Value, json};

use super::apps::{AccessToken, well_formed_app_id};
use crate::state::SimState;

/// The token path.
pub(crate) const TOKEN_PATH: &str = "/oauth2/v3/token";

/// A token endpoint error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    /// HTTP status.
    pub status: u16,
    /// `error` (a number).
    pub error: u32,
    /// `sub_error` (a number).
    pub sub_error: u32,
    /// `error_description`.
    pub description: &'static str,
}

impl OAuthError {
    const fn bad(sub_error: u32, description: &'static str) -> Self {
        OAuthError {
            status: 400,
            error: 1101,
            sub_error,
            description,
        }
    }

    /// The JSON body (flow control has no documented codes: only a description).
    pub(crate) fn body(&self) -> Value {
        if self.error == 0 {
            return json!({ "error_description": self.description });
        }
        json!({ "error": self.error, "sub_error": self.sub_error, "error_description": self.description })
    }
}

/// Wrong secret (huawei.md §2).
pub(crate) const INVALID_SECRET: OAuthError = OAuthError::bad(12304, "invalid client_secret");
/// Unknown client id.
pub(crate) const UNKNOWN_CLIENT: OAuthError = OAuthError::bad(20003, "invalid client_id");
/// Malformed client id.
pub(crate) const MALFORMED_CLIENT: OAuthError = OAuthError::bad(20002, "client_id is invalid");
/// Missing or unsupported `grant_type` (sub_error is the sim's choice: not in the reference).
pub(crate) const BAD_GRANT: OAuthError = OAuthError::bad(20001, "invalid grant_type");
/// Token endpoint flow control: HTTP 503 (the reference gives no codes for it).
pub(crate) const FLOW_CONTROL: OAuthError = OAuthError {
    status: 503,
    error: 0,
    sub_error: 0,
    description: "flow control, try again later",
};

/// Reads the form body of a token request.
pub(crate) fn parameters(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Checks the client credentials and issues an access token. The answer is JSON text with
/// `/` escaped as `\/`, as Huawei's answers may have it.
pub(crate) fn exchange(
    state: &SimState,
    params: &[(String, String)],
) -> Result<String, OAuthError> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("grant_type") != Some("client_credentials") {
        return Err(BAD_GRANT);
    }
    let client_id = param("client_id").unwrap_or_default();
    if !well_formed_app_id(client_id) {
        return Err(MALFORMED_CLIENT);
    }
    let app = state.huawei.apps.app(client_id).ok_or(UNKNOWN_CLIENT)?;
    if param("client_secret") != Some(app.app_secret.as_str()) {
        return Err(INVALID_SECRET);
    }
    let now = state.core.clock.now_ms();
    if state.huawei.apps.token_flow_control(client_id, now) {
        return Err(FLOW_CONTROL);
    }
    let ttl = state.core.settings().huawei_access_token_ttl_secs;
    let expires_at_ms =
        now.saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX));
    let access_token = state.huawei.apps.issue(AccessToken {
        app_id: app.app_id,
        expires_at_ms,
    });
    let body = json!({ "access_token": access_token, "expires_in": ttl, "token_type": "Bearer" });
    Ok(body.to_string().replace('/', "\\/"))
}
