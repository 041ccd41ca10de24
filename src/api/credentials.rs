//! `/v1/apps/{app}/credentials`: upload a vendor credential (sealed at once, never shown
//! again) and list versions as metadata.

use super::AppState;
use super::apps::owned_app;
use super::auth::TenantCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::credentials::{UploadFields, fields_from_json, parse_upload};
use crate::vault::fingerprint;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use push_core::{Channel, CredentialMeta, NewCredentialVersion};
use time::OffsetDateTime;
use uuid::Uuid;

/// `PUT /v1/apps/{app}/credentials/{vendor}`: JSON fields, or multipart with file parts.
pub async fn upload(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, vendor)): ApiPath<(String, String)>,
    request: Request,
) -> ApiResult<(StatusCode, ApiJson<CredentialMeta>)> {
    let app = owned_app(&state, caller, &app_id).await?;
    let channel: Channel = vendor
        .parse()
        .map_err(|e: push_core::channel::UnknownChannel| {
            ApiError::invalid_field("vendor", e.to_string())
        })?;
    let fields = read_fields(request, &state).await?;
    let secret = parse_upload(channel, &fields)
        .map_err(|e| ApiError::invalid_field(e.field().unwrap_or_default(), e.to_string()))?;
    let id = Uuid::now_v7();
    let sealed = state
        .vault
        .seal(id, &app.id, channel, &secret)
        .map_err(|e| ApiError::internal("sealing a credential failed", &e))?;
    let new = NewCredentialVersion {
        id,
        app_id: app.id.clone(),
        channel,
        kind: secret.kind(),
        fingerprint: fingerprint(&secret),
        public_fields: secret.public_fields(),
        not_after: None,
        sealed,
    };
    let meta = state
        .store
        .insert_credential(&new, OffsetDateTime::now_utc())
        .await?;
    tracing::info!(app = %app.id, vendor = %channel, version = meta.version, kind = meta.kind.as_str(), "credential stored");
    Ok((StatusCode::CREATED, ApiJson(meta)))
}

/// `GET /v1/apps/{app}/credentials`: every version, metadata only.
pub async fn list(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<CredentialMeta>>> {
    let app = owned_app(&state, caller, &app_id).await?;
    Ok(ApiJson(state.store.list_credentials(&app.id).await?))
}

async fn read_fields(request: Request, state: &AppState) -> ApiResult<UploadFields> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|r| ApiError::new(r.status(), "invalid_multipart", r.body_text()))?;
        let mut fields = UploadFields::new();
        loop {
            let field = multipart
                .next_field()
                .await
                .map_err(|e| ApiError::new(e.status(), "invalid_multipart", e.body_text()))?;
            let Some(field) = field else { break };
            let name = field
                .name()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError::invalid_field("", "every multipart part needs a name"))?
                .to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::new(e.status(), "invalid_multipart", e.body_text()))?;
            if fields.insert(name.clone(), bytes.to_vec()).is_some() {
                return Err(ApiError::invalid_field(&name, "given more than once"));
            }
        }
        Ok(fields)
    } else {
        let ApiJson(body) = ApiJson::<serde_json::Value>::from_request(request, state).await?;
        fields_from_json(&body)
            .map_err(|e| ApiError::invalid_field(e.field().unwrap_or_default(), e.to_string()))
    }
}
