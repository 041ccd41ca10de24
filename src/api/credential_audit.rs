//! The credential audit log: every upload, activation, rollback and deletion, with the
//! tenant, the API key and the time. `GET /v1/apps/{app}/credentials/audit` reads it.

use super::AppState;
use super::apps::owned_app;
use super::credential_caller::KeyHolder;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use axum::extract::State;
use push_core::store::{CredentialAction, CredentialAuditEntry};
use push_core::{App, Channel};
use time::OffsetDateTime;
use uuid::Uuid;

/// `GET /v1/apps/{app}/credentials/audit`: the app's credential audit log, oldest first.
pub async fn list(
    holder: KeyHolder,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<CredentialAuditEntry>>> {
    let app = owned_app(&state, holder.caller(), &app_id).await?;
    Ok(ApiJson(state.store.list_credential_audit(&app.id).await?))
}

/// Appends one line. The change it records is already made, so a failure to write the line
/// is logged loudly and not turned into a failed request (which would invite a retry of a
/// change that succeeded).
pub async fn record(
    state: &AppState,
    holder: &KeyHolder,
    app: &App,
    channel: Channel,
    version: i64,
    action: CredentialAction,
) {
    let entry = CredentialAuditEntry {
        id: Uuid::now_v7(),
        tenant_id: holder.tenant,
        api_key_id: Some(holder.key_id),
        app_id: app.id.clone(),
        channel,
        version,
        action,
        at: OffsetDateTime::now_utc(),
    };
    if let Err(error) = state.store.insert_credential_audit(&entry).await {
        tracing::error!(%error, app = %app.id, vendor = %channel, version, action = action.as_str(),
            "credential audit entry not written");
    }
}
