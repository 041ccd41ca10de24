//! Bearer authentication: the operator admin token, and tenant API keys (stored hashed).

use super::AppState;
use super::error::ApiError;
use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use push_core::TenantId;

/// The prefix of every tenant API key, so leaked keys are recognisable by scanners.
pub const API_KEY_PREFIX: &str = "pgk_";

/// Proof that the caller holds the operator admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

/// The tenant whose API key the caller presented.
#[derive(Debug, Clone, Copy)]
pub struct TenantCaller(pub TenantId);

/// Hex SHA-256 of an API key: what the store keeps and looks keys up by. A plain hash is
/// enough because keys are 256-bit random values, not passwords.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(digest(&SHA256, key.as_bytes()).as_ref())
}

/// The request's bearer token, or the 401 that says what is missing.
pub(crate) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token>"))?;
    value
        .to_str()
        .ok()
        .and_then(push_core::bearer::bearer_token)
        .ok_or_else(|| ApiError::unauthorized("Authorization must be Bearer <token>"))
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        // Compare digests so the comparison takes the same time whatever the input.
        let given = digest(&SHA256, token.as_bytes());
        let expected = digest(&SHA256, state.admin_token.expose().as_bytes());
        if aws_lc_rs::constant_time::verify_slices_are_equal(given.as_ref(), expected.as_ref())
            .is_ok()
        {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized("invalid admin token"))
        }
    }
}

impl FromRequestParts<AppState> for TenantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if !token.starts_with(API_KEY_PREFIX) {
            return Err(ApiError::unauthorized("invalid API key"));
        }
        match state.store.find_api_key(&hash_api_key(token)).await? {
            Some(key) => Ok(TenantCaller(key.tenant_id)),
            None => Err(ApiError::unauthorized("invalid API key")),
        }
    }
}
