//! Honor's OAuth 2.0 token endpoint (honor.md §2, §8.1), at both documented paths:
//! form-encoded client credentials answered with `{"access_token", "expires_in",
//! "token_type"}` or a standard OAuth error body.

use serde_json::{Value, json};

use crate::state::SimState;

/// The documented token path.
pub(crate) const TOKEN_PATH: &str = "/auth/realms/developer/protocol/openid-connect/token";
/// The path two SDKs use.
pub(crate) const TOKEN_PATH_SHORT: &str = "/auth/token";

/// Answers a token request: (HTTP status, JSON body).
pub(crate) fn exchange(state: &SimState, body: &[u8]) -> (u16, Value) {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let error = |status: u16, error: &str, description: &str| {
        (
            status,
            json!({ "error": error, "error_description": description }),
        )
    };
    match param("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return error(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            );
        }
        None => return error(400, "invalid_request", "missing grant_type"),
    }
    let (Some(client_id), Some(secret)) = (param("client_id"), param("client_secret")) else {
        return error(
            400,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    let Some(app) = state.honor.registry.by_client(client_id) else {
        return error(401, "invalid_client", "Invalid client credentials");
    };
    if app.client_secret != secret {
        return error(401, "invalid_client", "Invalid client credentials");
    }
    let now = state.core.clock.now_ms();
    let ttl_ms = i64::try_from(app.access_token_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let token = state
        .honor
        .registry
        .issue(&app.app_id, now.saturating_add(ttl_ms));
    (
        200,
        json!({ "access_token": token, "expires_in": app.access_token_ttl_secs, "token_type": "Bearer" }),
    )
}
