//! `POST /v1/apps/{app}/notifications/{id}/acks`: client acks (contract 2). The app on a
//! device — or the tenant's backend for it — reports that a notification reached the device
//! or was opened there; the delivery moves as a vendor receipt would move it
//! ([`crate::callbacks::client_ack`]). Callers: the tenant's API key, or the device itself with
//! its client token (the `GET /v1/ws` JWT), which may ack only its own deliveries.

use super::AppState;
use super::apps::owned_app;
use super::device_auth::TenantOrDevice;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::callbacks::client_ack::{AckOutcome, ClientAck};
use axum::extract::State;
use axum::http::StatusCode;
use push_core::Problem;
use push_core::ids::check_external_id;
use serde::Deserialize;

/// Body of `POST /v1/apps/{app}/notifications/{id}/acks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    device_id: String,
    state: String,
}

/// Checks the body, naming every wrong field.
fn parse(body: &AckBody) -> ApiResult<ClientAck> {
    let mut problems = Vec::new();
    if let Err(reason) = check_external_id(&body.device_id) {
        problems.push(Problem {
            field: "device_id".into(),
            reason: reason.into(),
        });
    }
    let ack = body
        .state
        .parse::<ClientAck>()
        .map_err(|reason| {
            problems.push(Problem {
                field: "state".into(),
                reason: reason.into(),
            })
        })
        .ok();
    match ack {
        Some(ack) if problems.is_empty() => Ok(ack),
        _ => Err(ApiError::invalid(problems)),
    }
}

/// `POST /v1/apps/{app}/notifications/{id}/acks`: 204 once the delivery is at or past the
/// acked state (a repeated ack is a no-op), and also when it can no longer move (failed,
/// expired); 404 when the app has no delivery of `id` to the device.
pub async fn create(
    caller: TenantOrDevice,
    State(state): State<AppState>,
    ApiPath((app_id, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AckBody>,
) -> ApiResult<StatusCode> {
    let app = match caller {
        TenantOrDevice::Tenant(tenant) => owned_app(&state, tenant, &app_id).await?.id,
        TenantOrDevice::Device(claims) => {
            // A device token speaks for one device of one app, nothing else.
            if claims.app != app_id {
                return Err(forbidden("the client token is for another app"));
            }
            if claims.dev != body.device_id {
                return Err(forbidden("the client token is for another device"));
            }
            claims.app
        }
    };
    let ack = parse(&body)?;
    match state
        .callbacks
        .acknowledge(&app, &id, &body.device_id, ack)
        .await?
    {
        AckOutcome::Moved { .. } | AckOutcome::Unchanged { .. } => Ok(StatusCode::NO_CONTENT),
        AckOutcome::UnknownDelivery => Err(ApiError::not_found("delivery")),
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}
