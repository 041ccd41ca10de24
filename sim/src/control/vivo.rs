//! vivo control operations and their HTTP routes (`/vivo/…`, see sim/README.md).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::Control;
use super::types::{
    ControlError, ExpiredTokens, VivoAppSpec, VivoReceiptConfig, VivoReceiptPost, VivoTokenSpec,
};

impl Control {
    /// Registers (or replaces) a vivo app.
    pub fn add_vivo_app(&self, spec: VivoAppSpec) -> Result<(), ControlError> {
        self.state.vivo.apps.add(&spec)
    }

    /// Registers or updates a vivo regId (state, receipt override).
    pub fn set_vivo_token(&self, spec: VivoTokenSpec) -> Result<(), ControlError> {
        self.state.vivo.apps.set_token(&spec)
    }

    /// Expires every vivo auth token issued so far (a token revoked mid-run); returns how
    /// many were still live.
    pub fn expire_vivo_auth_tokens(&self) -> usize {
        self.state
            .vivo
            .apps
            .expire_all(self.state.core.clock.now_ms())
    }

    /// Adds or replaces a receipt configured in the vivo console (`callback.id` → URL).
    pub fn add_vivo_receipt_config(&self, spec: VivoReceiptConfig) -> Result<(), ControlError> {
        self.state.vivo.receipts.add(&spec)
    }

    /// The vivo receipts posted (or attempted) so far, oldest first.
    pub fn vivo_receipts(&self) -> Vec<VivoReceiptPost> {
        self.state.vivo.receipts.sent()
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
    answer(parse(&body).and_then(|spec| c.add_vivo_app(spec)))
}

async fn set_token(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.set_vivo_token(spec)))
}

async fn expire(State(c): State<Control>) -> Response {
    axum::Json(ExpiredTokens {
        expired: c.expire_vivo_auth_tokens(),
    })
    .into_response()
}

async fn add_receipt_config(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.add_vivo_receipt_config(spec)))
}

async fn receipts(State(c): State<Control>) -> Response {
    axum::Json(c.vivo_receipts()).into_response()
}

/// The `/vivo/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/vivo/apps", post(add_app))
        .route("/vivo/tokens", post(set_token))
        .route("/vivo/auth-tokens/expire", post(expire))
        .route("/vivo/receipts/config", post(add_receipt_config))
        .route("/vivo/receipts", get(receipts))
}
