//! Routes a device may call for itself: besides the tenant's API key they take the app's
//! client token — the JWT of `GET /v1/ws` (claims `app`, `sub`, `dev`), verified the same
//! way with the online core's client keys ([`pushgate_online::keys::ClientKeys`]).

use super::AppState;
use super::auth::{API_KEY_PREFIX, TenantCaller, bearer};
use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use pushgate_online::jwt::Claims;
use pushgate_online::keys::{ClientKeys, KeysError, TokenCheck};

/// A tenant by its API key, or a device by a client token of the app. The handler checks
/// that the token's app and device are the ones the request is about.
#[derive(Debug, Clone)]
pub enum TenantOrDevice {
    /// `Authorization: Bearer pgk_…`.
    Tenant(TenantCaller),
    /// `Authorization: Bearer <client JWT>`, verified with the app's client key.
    Device(Claims),
}

impl FromRequestParts<AppState> for TenantOrDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        // API keys carry their prefix; anything else can only be a client token.
        if token.starts_with(API_KEY_PREFIX) {
            return TenantCaller::from_request_parts(parts, state)
                .await
                .map(Self::Tenant);
        }
        verify_client_token(&state.client_keys, token)
            .await
            .map(Self::Device)
    }
}

/// Verifies a client token as `GET /v1/ws` does ([`ClientKeys::verify_token`]).
async fn verify_client_token(keys: &ClientKeys, token: &str) -> Result<Claims, ApiError> {
    match keys.verify_token(token).await {
        Ok(claims) => Ok(claims),
        Err(TokenCheck::Refused(e)) => Err(ApiError::unauthorized(&e.to_string())),
        Err(TokenCheck::Keys(KeysError::Store(e))) => Err(e.into()),
        Err(TokenCheck::Keys(e)) => Err(ApiError::internal("client key unusable", &e)),
    }
}
