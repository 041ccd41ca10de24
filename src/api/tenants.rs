//! `/v1/tenants`: the operator creates tenants and their API keys (admin token only).

use super::AppState;
use super::auth::{API_KEY_PREFIX, Admin, hash_api_key};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use push_core::{ApiKey, ApiKeyId, NewApiKey, Tenant, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Body of `POST /v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    name: String,
}

/// Body of `POST /v1/tenants/{tenant}/keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[serde(default)]
    label: String,
}

/// Answer to key creation: the only time the key itself is shown.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    id: ApiKeyId,
    tenant_id: TenantId,
    label: String,
    prefix: String,
    /// The key; store it now, it cannot be shown again.
    key: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

fn check_name(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
    Ok(())
}

/// `POST /v1/tenants`.
pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, ApiJson<Tenant>)> {
    check_name("name", &body.name, 200)?;
    let tenant = state.store.create_tenant(body.name.trim()).await?;
    tracing::info!(tenant = %tenant.id, "tenant created");
    Ok((StatusCode::CREATED, ApiJson(tenant)))
}

/// `GET /v1/tenants`.
pub async fn list(_: Admin, State(state): State<AppState>) -> ApiResult<ApiJson<Vec<Tenant>>> {
    Ok(ApiJson(state.store.list_tenants().await?))
}

async fn tenant(state: &AppState, raw: &str) -> ApiResult<Tenant> {
    let id: TenantId = raw.parse().map_err(|_| ApiError::not_found("tenant"))?;
    state
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

/// `GET /v1/tenants/{tenant}`.
pub async fn get(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Tenant>> {
    Ok(ApiJson(tenant(&state, &id).await?))
}

/// `POST /v1/tenants/{tenant}/keys`: a new key, shown once.
pub async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, ApiJson<CreatedKey>)> {
    let tenant = tenant(&state, &id).await?;
    // The body is optional: an empty one means no label.
    let label = if body.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        serde_json::from_slice::<CreateKey>(&body)
            .map_err(|e| {
                // As every JSON body: not JSON → 400, an unknown field or wrong type → 422.
                let status = match e.classify() {
                    serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::BAD_REQUEST,
                };
                ApiError::new(
                    status,
                    "invalid_json",
                    super::error::without_values(&e.to_string()),
                )
            })?
            .label
    };
    if !label.is_empty() {
        check_name("label", &label, 100)?;
    }
    let key = generate_key().map_err(|e| ApiError::internal("random source failed", &e))?;
    let prefix: String = key.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let stored = state
        .store
        .create_api_key(NewApiKey {
            tenant_id: tenant.id,
            label,
            prefix,
            hash: hash_api_key(&key),
        })
        .await?;
    tracing::info!(tenant = %tenant.id, key_id = %stored.id, "api key created");
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedKey {
            id: stored.id,
            tenant_id: stored.tenant_id,
            label: stored.label,
            prefix: stored.prefix,
            key,
            created_at: stored.created_at,
        }),
    ))
}

/// `GET /v1/tenants/{tenant}/keys`: metadata only.
pub async fn list_keys(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<ApiKey>>> {
    let tenant = tenant(&state, &id).await?;
    Ok(ApiJson(state.store.list_api_keys(tenant.id).await?))
}

/// `DELETE /v1/tenants/{tenant}/keys/{key}`.
pub async fn revoke_key(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((id, key)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = tenant(&state, &id).await?;
    let key: ApiKeyId = key.parse().map_err(|_| ApiError::not_found("api key"))?;
    if state.store.revoke_api_key(tenant.id, key).await? {
        tracing::info!(tenant = %tenant.id, key_id = %key, "api key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("api key"))
    }
}

/// `pgk_` + 32 random bytes, base64url.
fn generate_key() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(format!(
        "{API_KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}
