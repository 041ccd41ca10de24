//! Honor control operations and their HTTP routes (`/honor/…`, see sim/README.md).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::Control;
use super::types::{
    ControlError, ExpiredTokens, HonorAppSpec, HonorCallbackSpec, HonorReceiptBatch, HonorTokenSpec,
};

impl Control {
    /// Registers (or replaces) a Honor app.
    pub fn add_honor_app(&self, spec: HonorAppSpec) -> Result<(), ControlError> {
        self.state.honor.registry.add(&spec)
    }

    /// Registers or updates a Honor device token (state, receipt status).
    pub fn set_honor_token(&self, spec: HonorTokenSpec) -> Result<(), ControlError> {
        self.state.honor.registry.set_token(&spec)
    }

    /// Expires every Honor access token issued so far (a token revoked mid-run); returns
    /// how many were still live.
    pub fn expire_honor_access_tokens(&self) -> usize {
        self.state
            .honor
            .registry
            .expire_all(self.state.core.clock.now_ms())
    }

    /// Sets (or replaces) the receipt URL of a Honor app.
    pub fn add_honor_callback(&self, spec: HonorCallbackSpec) -> Result<(), ControlError> {
        self.state.honor.receipts.add(&spec)
    }

    /// The Honor receipt batches posted (or attempted) so far, oldest first.
    pub fn honor_receipts(&self) -> Vec<HonorReceiptBatch> {
        self.state.honor.receipts.sent()
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::new(format!("bad JSON body: {e}")))
}

fn answer(result: Result<(), ControlError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(e)).into_response(),
    }
}

async fn add_app(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.add_honor_app(spec)))
}

async fn set_token(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.set_honor_token(spec)))
}

async fn expire(State(c): State<Control>) -> Response {
    axum::Json(ExpiredTokens {
        expired: c.expire_honor_access_tokens(),
    })
    .into_response()
}

async fn add_callback(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.add_honor_callback(spec)))
}

async fn receipts(State(c): State<Control>) -> Response {
    axum::Json(c.honor_receipts()).into_response()
}

/// The `/honor/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/honor/apps", post(add_app))
        .route("/honor/tokens", post(set_token))
        .route("/honor/access-tokens/expire", post(expire))
        .route("/honor/callbacks", post(add_callback))
        .route("/honor/receipts", get(receipts))
}
