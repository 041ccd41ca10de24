//! Who may manage an app's online settings: the tenant that owns it, by its API key —
//! the same rule as every other `/v1/apps/{app}` route. The binary supplies how keys are
//! hashed, so the rule lives in one place.

use super::error::RestError;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use std::sync::Arc;

/// Decides whether a request may manage `app`.
#[async_trait::async_trait]
pub trait TenantAccess: Send + Sync {
    /// Ok when the request's `Authorization: Bearer <api key>` belongs to the tenant owning
    /// `app`; 401 for a missing or bad key, 404 for an app that does not exist or belongs
    /// to another tenant.
    async fn authorize(&self, headers: &HeaderMap, app: &str) -> Result<(), RestError>;
}

/// [`TenantAccess`] over pushgate's store: API keys are looked up by their hash.
pub struct StoreTenantAccess {
    store: Arc<dyn push_core::Store>,
    hash: fn(&str) -> String,
    key_prefix: &'static str,
}

impl StoreTenantAccess {
    /// Keys start with `key_prefix` and are stored as `hash(key)`.
    pub fn new(
        store: Arc<dyn push_core::Store>,
        hash: fn(&str) -> String,
        key_prefix: &'static str,
    ) -> Self {
        Self {
            store,
            hash,
            key_prefix,
        }
    }
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    push_core::bearer::bearer_token(headers.get(AUTHORIZATION)?.to_str().ok()?)
}

#[async_trait::async_trait]
impl TenantAccess for StoreTenantAccess {
    async fn authorize(&self, headers: &HeaderMap, app: &str) -> Result<(), RestError> {
        let token = bearer(headers)
            .ok_or_else(|| RestError::unauthorized("missing Authorization: Bearer <API key>"))?;
        if !token.starts_with(self.key_prefix) {
            return Err(RestError::unauthorized("invalid API key"));
        }
        let key = self
            .store
            .find_api_key(&(self.hash)(token))
            .await
            .map_err(RestError::store)?
            .ok_or_else(|| RestError::unauthorized("invalid API key"))?;
        match self.store.get_app(app).await.map_err(RestError::store)? {
            Some(found) if found.tenant_id == key.tenant_id => Ok(()),
            _ => Err(RestError::not_found("app")),
        }
    }
}
