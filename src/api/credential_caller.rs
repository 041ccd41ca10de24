//! The caller of the credential routes: the tenant *and* the API key it used, so the audit
//! log can say who acted. Authenticates exactly like [`super::auth::TenantCaller`].

use super::AppState;
use super::auth::{API_KEY_PREFIX, TenantCaller, bearer, hash_api_key};
use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use push_core::{ApiKeyId, TenantId};

/// A tenant API key holder.
#[derive(Debug, Clone, Copy)]
pub struct KeyHolder {
    /// The tenant the key acts for.
    pub tenant: TenantId,
    /// The key.
    pub key_id: ApiKeyId,
}

impl KeyHolder {
    /// As a [`TenantCaller`], for the shared ownership checks.
    pub fn caller(&self) -> TenantCaller {
        TenantCaller(self.tenant)
    }
}

impl FromRequestParts<AppState> for KeyHolder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if !token.starts_with(API_KEY_PREFIX) {
            return Err(ApiError::unauthorized("invalid API key"));
        }
        match state.store.find_api_key(&hash_api_key(token)).await? {
            Some(key) => Ok(KeyHolder {
                tenant: key.tenant_id,
                key_id: key.id,
            }),
            None => Err(ApiError::unauthorized("invalid API key")),
        }
    }
}
