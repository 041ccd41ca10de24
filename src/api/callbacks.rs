//! Receipt callbacks: `GET|POST /v1/callbacks/{vendor}/{app}[/{token}]`, called by the
//! vendors (no API key: the adapter checks the vendor's signature, or the path token), and
//! `GET /v1/apps/{app}/callbacks` + `POST /v1/apps/{app}/callbacks/rotate`, which show a
//! tenant the URLs and signing secrets to enter in each vendor's console.

use super::AppState;
use super::apps::owned_app;
use super::auth::TenantCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::callbacks::{CallbackFailure, token};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use push_core::adapter::{CallbackError, CallbackSecrets};
use serde::Serialize;
use std::collections::BTreeMap;

/// The vendors that post receipts, as they appear in callback URLs.
const VENDORS: [&str; 6] = ["huawei", "xiaomi", "oppo", "vivo", "honor", "wechat"];

/// `… /v1/callbacks/{vendor}/{app}`.
pub async fn receive(
    State(state): State<AppState>,
    ApiPath((vendor, app)): ApiPath<(String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&state, &vendor, &app, None, method, query, headers, body).await
}

/// `… /v1/callbacks/{vendor}/{app}/{token}`.
pub async fn receive_with_token(
    State(state): State<AppState>,
    ApiPath((vendor, app, path_token)): ApiPath<(String, String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(
        &state,
        &vendor,
        &app,
        Some(&path_token),
        method,
        query,
        headers,
        body,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    state: &AppState,
    vendor: &str,
    app: &str,
    path_token: Option<&str>,
    method: Method,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = push_core::adapter::CallbackRequest {
        method: method.as_str().to_string(),
        query: query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    match state
        .callbacks
        .handle(vendor, app, path_token, request)
        .await
    {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            (
                status,
                [(header::CONTENT_TYPE, reply.content_type)],
                reply.body,
            )
                .into_response()
        }
        Err(CallbackFailure::NotFound) => ApiError::not_found("callback endpoint").into_response(),
        Err(CallbackFailure::Refused(CallbackError::Unsupported)) => {
            ApiError::not_found("callback endpoint").into_response()
        }
        Err(CallbackFailure::Refused(CallbackError::Unauthenticated(reason))) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", reason).into_response()
        }
        Err(CallbackFailure::Refused(CallbackError::Malformed(reason))) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_callback", reason).into_response()
        }
        Err(CallbackFailure::Store(e)) => ApiError::from(e).into_response(),
    }
}

/// Body of `GET /v1/apps/{app}/callbacks`: what to enter in each vendor's console. Shown
/// only to the app's tenant, like an API key at creation; rotate to replace them.
#[derive(Serialize)]
pub struct CallbackUrls {
    /// Per vendor, the path to append to pushgate's public base URL; each carries the
    /// app's secret path token.
    pub paths: BTreeMap<&'static str, String>,
    /// Huawei receipt signing (AppGallery Connect → Push Kit → receipt): user name and key.
    pub huawei: HuaweiSigning,
    /// WeChat official-account server configuration (URL = `paths.wechat`).
    pub wechat: WechatSigning,
}

/// Huawei's receipt signing settings.
#[derive(Serialize)]
pub struct HuaweiSigning {
    /// The receipt user name: the pushgate app id.
    pub username: String,
    /// The signing key.
    pub key: String,
}

/// WeChat's server configuration.
#[derive(Serialize)]
pub struct WechatSigning {
    /// `Token`.
    pub token: String,
    /// `EncodingAESKey` (for the compatible or safe mode).
    pub encoding_aes_key: String,
}

/// `GET /v1/apps/{app}/callbacks`: the callback paths, making the token on first use.
pub async fn urls(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> ApiResult<ApiJson<CallbackUrls>> {
    let app = owned_app(&state, caller, &app_id).await?;
    let candidate = new_secrets()?;
    let secrets = state
        .store
        .ensure_callback_secrets(&app.id, &candidate, push_core::now())
        .await?;
    Ok(ApiJson(urls_of(&app.id, &secrets)))
}

/// `POST /v1/apps/{app}/callbacks/rotate`: a new token; the old URLs stop working.
pub async fn rotate(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> ApiResult<ApiJson<CallbackUrls>> {
    let app = owned_app(&state, caller, &app_id).await?;
    let secrets = new_secrets()?;
    state
        .store
        .replace_callback_secrets(&app.id, &secrets, push_core::now())
        .await?;
    tracing::info!(app = %app.id, "callback secrets rotated");
    Ok(ApiJson(urls_of(&app.id, &secrets)))
}

fn new_secrets() -> ApiResult<CallbackSecrets> {
    token::generate().map_err(|_| ApiError::internal("callback secrets", &"no randomness"))
}

fn urls_of(app: &str, secrets: &CallbackSecrets) -> CallbackUrls {
    let token = secrets.token.expose();
    CallbackUrls {
        paths: VENDORS
            .iter()
            .map(|v| (*v, format!("/v1/callbacks/{v}/{app}/{token}")))
            .collect(),
        huawei: HuaweiSigning {
            username: app.to_string(),
            key: token.to_string(),
        },
        wechat: WechatSigning {
            token: token.to_string(),
            encoding_aes_key: secrets.aes_key.expose().to_string(),
        },
    }
}
