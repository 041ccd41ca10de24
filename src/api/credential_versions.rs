//! Credential versions: restore (or roll forward to) any kept version with one call, and
//! delete versions that are not active.
//!
//! - `POST /v1/apps/{app}/credentials/{vendor}/versions/{version}/activate` → 200 metadata
//! - `DELETE /v1/apps/{app}/credentials/{vendor}/versions/{version}` → 204; 409 if active
//!
//! Activation re-runs the offline verification (a certificate may have expired, or the app's
//! bundle id changed, since it was uploaded). Every instance's credential cache re-reads the
//! active version within its refresh interval, so the switch needs no restart.

use super::AppState;
use super::apps::owned_app;
use super::credential_audit;
use super::credential_caller::KeyHolder;
use super::credentials::{channel_of, verify_error};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::credentials::{Verification, verify_upload};
use axum::extract::State;
use axum::http::StatusCode;
use push_core::CredentialMeta;
use push_core::store::CredentialAction;
use time::OffsetDateTime;

/// `POST …/credentials/{vendor}/versions/{version}/activate`.
pub async fn activate(
    holder: KeyHolder,
    State(state): State<AppState>,
    ApiPath((app_id, vendor, version)): ApiPath<(String, String, i64)>,
) -> ApiResult<ApiJson<CredentialMeta>> {
    let app = owned_app(&state, holder.caller(), &app_id).await?;
    let channel = channel_of(&vendor)?;
    let stored = state
        .store
        .credential_version(&app.id, channel, version)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("{channel} credential version {version}")))?;
    let secret = state
        .vault
        .open(stored.meta.id, &app.id, channel, &stored.sealed)
        .map_err(|e| ApiError::internal("opening a stored credential failed", &e))?;
    verify_upload(
        &state.adapters,
        &app,
        channel,
        stored.meta.id,
        &secret,
        Verification::Offline,
    )
    .await
    .map_err(verify_error)?;
    let (meta, previous) = state
        .store
        .activate_credential(&app.id, channel, version, OffsetDateTime::now_utc())
        .await?;
    let action = match previous {
        Some(p) if p > version => CredentialAction::Rollback,
        _ => CredentialAction::Activate,
    };
    tracing::info!(app = %app.id, vendor = %channel, version, previous, action = action.as_str(),
        "credential version activated");
    credential_audit::record(&state, &holder, &app, channel, version, action).await;
    Ok(ApiJson(meta))
}

/// `DELETE …/credentials/{vendor}/versions/{version}`: an inactive version only.
pub async fn delete(
    holder: KeyHolder,
    State(state): State<AppState>,
    ApiPath((app_id, vendor, version)): ApiPath<(String, String, i64)>,
) -> ApiResult<StatusCode> {
    let app = owned_app(&state, holder.caller(), &app_id).await?;
    let channel = channel_of(&vendor)?;
    if !state
        .store
        .delete_credential(&app.id, channel, version)
        .await?
    {
        return Err(ApiError::not_found(&format!(
            "{channel} credential version {version}"
        )));
    }
    tracing::info!(app = %app.id, vendor = %channel, version, "credential version deleted");
    credential_audit::record(
        &state,
        &holder,
        &app,
        channel,
        version,
        CredentialAction::Delete,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
