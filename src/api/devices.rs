//! `/v1/apps/{app}/devices`: device registration, lookup, removal, and a user's devices.

use super::AppState;
use super::apps::owned_app;
use super::auth::TenantCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use axum::extract::State;
use axum::http::StatusCode;
use push_core::ids::check_external_id;
use push_core::{ApnsEnvironment, App, Channel, Device, DeviceRegistration, Problem};
use serde::Deserialize;
use time::OffsetDateTime;

/// Longest accepted vendor token, in bytes (vendor tokens are far shorter; this bounds abuse).
const MAX_TOKEN_BYTES: usize = 4096;

/// Body of `PUT /v1/apps/{app}/devices/{device}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    user_id: String,
    #[serde(alias = "channel")]
    vendor: String,
    token: String,
    #[serde(default)]
    apns_environment: Option<String>,
}

/// Query of the user's device listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    include_inactive: bool,
}

/// Checks a registration and turns it into the store's form, reporting every problem.
fn registration(app: &App, device_id: &str, body: RegisterDevice) -> ApiResult<DeviceRegistration> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, reason: &str| {
        problems.push(Problem {
            field: field.into(),
            reason: reason.into(),
        })
    };
    if let Err(reason) = check_external_id(device_id) {
        problem("device_id", reason);
    }
    if let Err(reason) = check_external_id(&body.user_id) {
        problem("user_id", reason);
    }
    let channel = body
        .vendor
        .parse::<Channel>()
        .map_err(|e| problem("vendor", &e.to_string()))
        .ok();
    let token = body.token.trim().to_string();
    if token.is_empty()
        || token.len() > MAX_TOKEN_BYTES
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        problem("token", "must be 1 to 4096 bytes without spaces");
    }
    let mut token_out = token.clone();
    let mut environment = None;
    match channel {
        Some(Channel::Apns) => {
            if token.len() < 64
                || token.len() > 200
                || !token.len().is_multiple_of(2)
                || !token.chars().all(|c| c.is_ascii_hexdigit())
            {
                problem(
                    "token",
                    "an APNs device token is an even number (64 to 200) of hex digits",
                );
            }
            token_out = token.to_ascii_lowercase();
            environment = match body.apns_environment.as_deref() {
                None => Some(
                    app.settings
                        .apns
                        .as_ref()
                        .map(|a| a.default_environment)
                        .unwrap_or_default(),
                ),
                Some(raw) => match ApnsEnvironment::parse(raw) {
                    Some(env) => Some(env),
                    None => {
                        problem("apns_environment", "must be production or sandbox");
                        None
                    }
                },
            };
        }
        Some(_) if body.apns_environment.is_some() => {
            problem("apns_environment", "only APNs devices have one")
        }
        _ => {}
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(DeviceRegistration {
        app_id: app.id.clone(),
        device_id: device_id.to_string(),
        user_id: body.user_id,
        channel: channel.unwrap_or(Channel::Fcm),
        token: token_out,
        apns_environment: environment,
    })
}

/// `PUT /v1/apps/{app}/devices/{device}`: register or refresh; revives a deactivated device.
pub async fn register(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, device_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RegisterDevice>,
) -> ApiResult<ApiJson<Device>> {
    let app = owned_app(&state, caller, &app_id).await?;
    let reg = registration(&app, &device_id, body)?;
    let device = state
        .store
        .upsert_device(&reg, OffsetDateTime::now_utc())
        .await?;
    tracing::info!(app = %app.id, device = %device.device_id, vendor = %device.channel, "device registered");
    Ok(ApiJson(device))
}

/// `GET /v1/apps/{app}/devices/{device}`.
pub async fn get(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, device_id)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<Device>> {
    let app = owned_app(&state, caller, &app_id).await?;
    let device = state.store.get_device(&app.id, &device_id).await?;
    device
        .map(ApiJson)
        .ok_or_else(|| ApiError::not_found("device"))
}

/// `DELETE /v1/apps/{app}/devices/{device}`.
pub async fn delete(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, device_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = owned_app(&state, caller, &app_id).await?;
    if state.store.delete_device(&app.id, &device_id).await? {
        tracing::info!(app = %app.id, device = %device_id, "device deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("device"))
    }
}

/// `GET /v1/apps/{app}/users/{user}/devices[?include_inactive=true]`.
pub async fn list_for_user(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath((app_id, user_id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Vec<Device>>> {
    let app = owned_app(&state, caller, &app_id).await?;
    Ok(ApiJson(
        state
            .store
            .list_user_devices(&app.id, &user_id, query.include_inactive)
            .await?,
    ))
}
