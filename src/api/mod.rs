//! The HTTP API (`/v1`, JSON): tenants and keys, apps, devices, credentials, notifications
//! and their receipts (vendor callbacks, client acks), health and metrics. Every failure
//! answers `{ "error": { "code", "message" } }`.

mod acks;
mod apps;
pub mod auth;
mod callbacks;
mod credential_audit;
mod credential_caller;
mod credential_versions;
mod credentials;
mod device_auth;
mod devices;
pub mod error;
mod extract;
mod health;
mod http_metrics;
mod notifications;
mod tenants;

use crate::vault::Vault;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use error::ApiError;
use metrics_exporter_prometheus::PrometheusHandle;
use push_core::{Secret, Store};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Seals and opens credentials.
    pub vault: Arc<Vault>,
    /// The operator token for `/v1/tenants`.
    pub admin_token: Secret,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Validates and enqueues REST notifications.
    pub ingestor: crate::pipeline::ingest::Ingestor,
    /// The enabled vendor adapters (credential verification on upload).
    pub adapters: Arc<push_core::adapter::AdapterRegistry>,
    /// Handles vendors' receipt callbacks and client acks.
    pub callbacks: crate::callbacks::CallbackService,
    /// The apps' client keys, which verify the client tokens a device may ack with.
    pub client_keys: Arc<pushgate_online::keys::ClientKeys>,
}

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The whole API plus `extra` routes (the online core's), all behind the same layers.
pub fn router_with(state: AppState, extra: Router) -> Router {
    let body_limit = state.max_body_bytes;
    let v1 = Router::new()
        .route("/tenants", post(tenants::create).get(tenants::list))
        .route("/tenants/{tenant}", get(tenants::get))
        .route(
            "/tenants/{tenant}/keys",
            post(tenants::create_key).get(tenants::list_keys),
        )
        .route(
            "/tenants/{tenant}/keys/{key}",
            axum::routing::delete(tenants::revoke_key),
        )
        .route("/apps", post(apps::create).get(apps::list))
        .route("/apps/{app}", get(apps::get).patch(apps::update))
        .route(
            "/apps/{app}/devices/{device}",
            put(devices::register)
                .get(devices::get)
                .delete(devices::delete),
        )
        .route(
            "/apps/{app}/users/{user}/devices",
            get(devices::list_for_user),
        )
        .route("/apps/{app}/callbacks", get(callbacks::urls))
        .route("/apps/{app}/callbacks/rotate", post(callbacks::rotate))
        .route(
            "/callbacks/{vendor}/{app}",
            get(callbacks::receive).post(callbacks::receive),
        )
        .route(
            "/callbacks/{vendor}/{app}/{token}",
            get(callbacks::receive_with_token).post(callbacks::receive_with_token),
        )
        .route("/apps/{app}/notifications", post(notifications::create))
        .route("/apps/{app}/notifications/{id}", get(notifications::get))
        .route("/apps/{app}/notifications/{id}/acks", post(acks::create))
        .route("/apps/{app}/credentials", get(credentials::list))
        .route("/apps/{app}/credentials/{vendor}", put(credentials::upload))
        .route("/apps/{app}/credentials/audit", get(credential_audit::list))
        .route(
            "/apps/{app}/credentials/{vendor}/versions/{version}",
            axum::routing::delete(credential_versions::delete),
        )
        .route(
            "/apps/{app}/credentials/{vendor}/versions/{version}/activate",
            post(credential_versions::activate),
        );
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest("/v1", v1)
        .with_state(state)
        .merge(extra)
        // After the merge, so the online core's routes answer JSON errors too.
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(http_metrics::record))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
        ]))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
            .into_response()
        }))
}

/// The tracing span of a request: method and route template only. The URI itself can hold
/// secrets (a callback's path token, a client JWT in `?token=`), so it is never recorded.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", axum::extract::MatchedPath::as_str);
    tracing::debug_span!("request", method = %request.method(), route)
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
    .into_response()
}
