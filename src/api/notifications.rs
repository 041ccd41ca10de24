//! `/v1/apps/{app}/notifications`: the REST form of ingest (contract 1) and the delivery
//! history of a notification (contract 2).

use super::AppState;
use super::apps::owned_app;
use super::auth::TenantCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::pipeline::ingest::IngestError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use push_core::{Delivery, IngestMessage, ReceiptEvent};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// `POST /v1/apps/{app}/notifications`: 202 `{"id"}` once durably enqueued.
pub async fn create(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, ApiJson<Value>)> {
    let app = owned_app(&state, caller, &app_id).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Expected request with `Content-Type: application/json`",
        ));
    }
    match state.ingestor.enqueue(&app.id, &body).await {
        Ok(message) => Ok((StatusCode::ACCEPTED, ApiJson(json!({ "id": message.id })))),
        Err(IngestError::Invalid(problems)) => Err(ApiError::invalid(problems)),
        Err(IngestError::UnknownApp(_)) => Err(ApiError::not_found("app")),
        Err(e) => {
            tracing::error!(error = %e, app = %app.id, "notification not enqueued");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the queue is unavailable; retry later",
            ))
        }
    }
}

/// A notification with every delivery and its history.
#[derive(Debug, Serialize)]
pub struct NotificationView {
    id: String,
    app: String,
    #[serde(with = "time::serde::rfc3339")]
    accepted_at: OffsetDateTime,
    message: IngestMessage,
    deliveries: Vec<DeliveryView>,
}

/// One delivery and its receipts, oldest first.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    #[serde(flatten)]
    delivery: Delivery,
    history: Vec<ReceiptEvent>,
}

/// `GET /v1/apps/{app}/notifications/{id}`.
pub async fn get(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, id)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<NotificationView>> {
    let app = owned_app(&state, caller, &app_id).await?;
    let stored = state
        .store
        .get_notification(&app.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("notification"))?;
    let mut deliveries = Vec::new();
    for delivery in state.store.deliveries_of(&app.id, &id).await? {
        let history = state.store.receipts_of(delivery.id).await?;
        deliveries.push(DeliveryView { delivery, history });
    }
    Ok(ApiJson(NotificationView {
        id,
        app: app.id,
        accepted_at: stored.accepted_at,
        message: stored.message,
        deliveries,
    }))
}
