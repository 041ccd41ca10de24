//! `/v1/apps/{app}/credentials`: upload a vendor credential (verified, then sealed at once,
//! never shown again) and list versions as metadata with their health.

use super::AppState;
use super::apps::owned_app;
use super::credential_audit;
use super::credential_caller::KeyHolder;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::credentials::{
    UploadFields, Verification, VerifyError, fields_from_json, parse_upload, verify_upload,
};
use crate::vault::fingerprint;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use push_core::store::{CredentialAction, CredentialStatus};
use push_core::{Channel, CredentialMeta, NewCredentialVersion};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The query of an upload.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `live`: also ask the vendor (obtain an auth token) before accepting.
    check: Option<CheckMode>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CheckMode {
    Offline,
    Live,
}

/// The channel named by the `{vendor}` path segment.
pub(super) fn channel_of(vendor: &str) -> ApiResult<Channel> {
    vendor
        .parse()
        .map_err(|e: push_core::channel::UnknownChannel| {
            ApiError::invalid_field("vendor", e.to_string())
        })
}

/// `PUT /v1/apps/{app}/credentials/{vendor}[?check=live]`: JSON fields, or multipart with
/// file parts. Verified before anything is stored; see `docs/rest.md`.
pub async fn upload(
    holder: KeyHolder,
    State(state): State<AppState>,
    ApiPath((app_id, vendor)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    request: Request,
) -> ApiResult<(StatusCode, ApiJson<CredentialMeta>)> {
    let app = owned_app(&state, holder.caller(), &app_id).await?;
    let channel = channel_of(&vendor)?;
    let fields = read_fields(request, &state).await?;
    let secret = parse_upload(channel, &fields)
        .map_err(|e| ApiError::invalid_field(e.field().unwrap_or_default(), e.to_string()))?;
    let id = Uuid::now_v7();
    let how = match query.check {
        Some(CheckMode::Live) => Verification::Live,
        Some(CheckMode::Offline) | None => Verification::Offline,
    };
    let facts = verify_upload(&state.adapters, &app, channel, id, &secret, how)
        .await
        .map_err(verify_error)?;
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
        not_after: facts.not_after,
        sealed,
    };
    let meta = state
        .store
        .insert_credential(&new, OffsetDateTime::now_utc())
        .await?;
    tracing::info!(app = %app.id, vendor = %channel, version = meta.version, kind = meta.kind.as_str(),
        live = how == Verification::Live, "credential verified and stored");
    credential_audit::record(
        &state,
        &holder,
        &app,
        channel,
        meta.version,
        CredentialAction::Upload,
    )
    .await;
    Ok((StatusCode::CREATED, ApiJson(meta)))
}

/// A refused credential as an API error: 400 when it is wrong, 422 when the vendor refused
/// it, 424 when the vendor could not be asked (nothing is stored in any case).
pub(super) fn verify_error(e: VerifyError) -> ApiError {
    let message = e.to_string();
    match e {
        VerifyError::Invalid { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_credential", message)
        }
        VerifyError::NoLiveCheck { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
        }
        VerifyError::Refused { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "credential_refused",
            message,
        ),
        VerifyError::Unreachable { .. } => {
            ApiError::new(StatusCode::FAILED_DEPENDENCY, "vendor_unreachable", message)
        }
    }
}

/// `GET /v1/apps/{app}/credentials`: every version with its health, metadata only.
pub async fn list(
    holder: KeyHolder,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<CredentialStatus>>> {
    let app = owned_app(&state, holder.caller(), &app_id).await?;
    Ok(ApiJson(state.store.list_credential_status(&app.id).await?))
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
