//! The HTTP control API (plain HTTP, JSON): the operations of [`Control`] as routes. Errors are
//! `{"error": "…"}` with 400 (bad input) or 404 (unknown key). See sim/README.md.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;

use super::Control;
use super::types::*;

/// A control API error answer.
struct ApiError(StatusCode, ControlError);

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn parse<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::from(ControlError::new(format!("bad JSON body: {e}"))))
}

fn json<T: serde::Serialize>(v: T) -> Response {
    axum::Json(v).into_response()
}

/// The router of the control API.
pub(crate) fn router(control: Control) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/reset", post(reset))
        .route("/preload-dev", post(preload_dev))
        .route("/settings", get(settings).put(update_settings))
        .route("/apns/keys", post(add_apns_key))
        .route("/apns/keys/{key_id}", delete(remove_apns_key))
        .route("/apns/topics", post(add_apns_topics))
        .route("/apns/tokens", post(set_apns_token))
        .route("/apns/stored", get(apns_stored))
        .route("/fcm/accounts", post(add_fcm_account))
        .route("/fcm/tokens", post(set_fcm_token))
        .route("/fcm/access-tokens/expire", post(expire_fcm_access_tokens))
        .route("/huawei/apps", post(add_huawei_app))
        .route("/huawei/apps/{app_id}", put(update_huawei_app))
        .route("/huawei/tokens", post(set_huawei_token))
        .route(
            "/huawei/access-tokens/expire",
            post(expire_huawei_access_tokens),
        )
        .route("/huawei/callbacks", post(add_huawei_callback))
        .route(
            "/huawei/callbacks/{app_id}",
            delete(remove_huawei_callbacks),
        )
        .route("/huawei/receipts", get(huawei_receipts))
        .route(
            "/faults/{vendor}",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/clock", get(clock))
        .route("/clock/shift", post(shift_clock))
        .route("/requests", get(requests))
        .route("/counters", get(counters))
        .merge(super::xiaomi::routes())
        .merge(super::oppo::routes())
        .merge(super::vivo::routes())
        .merge(super::honor::routes())
        .merge(super::wechat::routes())
        .with_state(control)
}

async fn reset(State(c): State<Control>) -> StatusCode {
    c.reset();
    StatusCode::NO_CONTENT
}

async fn preload_dev(State(c): State<Control>) -> ApiResult<StatusCode> {
    c.preload_dev()?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settings(State(c): State<Control>) -> Response {
    json(c.settings())
}

async fn update_settings(State(c): State<Control>, body: Bytes) -> ApiResult<Response> {
    Ok(json(c.update_settings(parse(&body)?)))
}

async fn add_apns_key(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.add_apns_key(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_apns_key(
    State(c): State<Control>,
    Path(key_id): Path<String>,
) -> ApiResult<StatusCode> {
    if c.remove_apns_key(&key_id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            ControlError::new(format!("unknown key {key_id}")),
        ))
    }
}

async fn add_apns_topics(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.add_apns_topics(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_apns_token(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.set_apns_token(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn apns_stored(State(c): State<Control>, Query(f): Query<ApnsStoredFilter>) -> Response {
    json(c.apns_stored(f))
}

async fn add_fcm_account(State(c): State<Control>, body: Bytes) -> ApiResult<Response> {
    Ok(json(c.add_fcm_account(parse(&body)?)?))
}

async fn set_fcm_token(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.set_fcm_token(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn expire_fcm_access_tokens(State(c): State<Control>) -> Response {
    json(ExpiredTokens {
        expired: c.expire_fcm_access_tokens(),
    })
}

async fn add_huawei_app(State(c): State<Control>, body: Bytes) -> ApiResult<Response> {
    Ok(json(c.add_huawei_app(parse(&body)?)?))
}

async fn update_huawei_app(
    State(c): State<Control>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let update = parse(&body)?;
    c.update_huawei_app(&app_id, update)
        .map(json)
        .map_err(|e| ApiError(StatusCode::NOT_FOUND, e))
}

async fn set_huawei_token(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.set_huawei_token(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn expire_huawei_access_tokens(State(c): State<Control>) -> Response {
    json(ExpiredTokens {
        expired: c.expire_huawei_access_tokens(),
    })
}

async fn add_huawei_callback(State(c): State<Control>, body: Bytes) -> ApiResult<StatusCode> {
    c.add_huawei_callback(parse(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_huawei_callbacks(
    State(c): State<Control>,
    Path(app_id): Path<String>,
) -> ApiResult<StatusCode> {
    if c.remove_huawei_callbacks(&app_id) > 0 {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            ControlError::new(format!("no receipt configuration for app {app_id}")),
        ))
    }
}

async fn huawei_receipts(State(c): State<Control>) -> Response {
    json(c.huawei_receipts())
}

async fn faults(State(c): State<Control>, Path(v): Path<Vendor>) -> Response {
    json(c.faults(v))
}

async fn set_faults(
    State(c): State<Control>,
    Path(v): Path<Vendor>,
    body: Bytes,
) -> ApiResult<Response> {
    c.set_faults(v, parse(&body)?)?;
    Ok(json(c.faults(v)))
}

async fn clear_faults(State(c): State<Control>, Path(v): Path<Vendor>) -> StatusCode {
    c.clear_faults(v);
    StatusCode::NO_CONTENT
}

async fn clock(State(c): State<Control>) -> Response {
    json(c.clock())
}

async fn shift_clock(State(c): State<Control>, body: Bytes) -> ApiResult<Response> {
    Ok(json(c.shift_clock(parse(&body)?)))
}

async fn requests(State(c): State<Control>, Query(f): Query<RequestFilter>) -> Response {
    json(c.requests(f))
}

async fn counters(State(c): State<Control>) -> Response {
    json(c.counters())
}
