//! OPPO control operations and their HTTP routes (`/oppo/…`, see sim/README.md).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::Control;
use super::types::{
    ControlError, ExpiredTokens, OppoAppSpec, OppoChannelSpec, OppoReceiptPost, OppoRegIdSpec,
    OppoSimSettings, OppoSimSettingsUpdate,
};

impl Control {
    /// Registers (or replaces) an OPPO app.
    pub fn add_oppo_app(&self, spec: OppoAppSpec) -> Result<(), ControlError> {
        self.state.oppo.apps.add(&spec)
    }

    /// Registers or updates an OPPO registration id (state, receipt event).
    pub fn set_oppo_registration_id(&self, spec: OppoRegIdSpec) -> Result<(), ControlError> {
        self.state.oppo.devices.set(&spec)
    }

    /// Expires every OPPO auth token issued so far (both hosts); returns how many were live.
    pub fn expire_oppo_auth_tokens(&self) -> usize {
        self.state
            .oppo
            .apps
            .expire_all(self.state.core.clock.now_ms())
    }

    /// The sim's OPPO settings (auth-token lifetime, receipt delivery).
    pub fn oppo_settings(&self) -> OppoSimSettings {
        self.state.oppo.settings()
    }

    /// Changes some OPPO settings; returns all of them.
    pub fn update_oppo_settings(&self, update: OppoSimSettingsUpdate) -> OppoSimSettings {
        self.state.oppo.update_settings(update)
    }

    /// Registers the dev OPPO app: AppKey [`DEV_OPPO_APP_KEY`](crate::dev::DEV_OPPO_APP_KEY),
    /// MasterSecret `pushgate-test-oppo-master-secret`, AppID `30012345`, the private channel
    /// `pushgate_im` (strong reminder approved) and the marketing channel
    /// `pushgate_marketing`.
    pub fn preload_oppo_dev(&self) -> Result<(), ControlError> {
        use crate::dev::*;
        self.add_oppo_app(OppoAppSpec {
            app_key: DEV_OPPO_APP_KEY.into(),
            master_secret: DEV_OPPO_MASTER_SECRET.into(),
            app_id: DEV_OPPO_APP_ID.into(),
            channels: vec![
                OppoChannelSpec {
                    channel_id: DEV_OPPO_IM_CHANNEL.into(),
                    private: true,
                },
                OppoChannelSpec {
                    channel_id: DEV_OPPO_MARKETING_CHANNEL.into(),
                    private: false,
                },
            ],
            strong_reminder: true,
            ..OppoAppSpec::default()
        })
    }

    /// The receipt POSTs made (or attempted) so far, oldest first.
    pub fn oppo_receipts(&self) -> Vec<OppoReceiptPost> {
        self.state.oppo.receipts.sent()
    }
}

/// The `/oppo/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/oppo/apps", post(add_app))
        .route("/oppo/registration-ids", post(set_registration_id))
        .route("/oppo/auth-tokens/expire", post(expire_auth_tokens))
        .route("/oppo/settings", get(settings).put(update_settings))
        .route("/oppo/receipts", get(receipts))
}

fn bad(e: ControlError) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(e)).into_response()
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::new(format!("bad JSON body: {e}")))
}

fn no_content(r: Result<(), ControlError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad(e),
    }
}

async fn add_app(State(c): State<Control>, body: Bytes) -> Response {
    no_content(parse(&body).and_then(|spec| c.add_oppo_app(spec)))
}

async fn set_registration_id(State(c): State<Control>, body: Bytes) -> Response {
    no_content(parse(&body).and_then(|spec| c.set_oppo_registration_id(spec)))
}

async fn expire_auth_tokens(State(c): State<Control>) -> Response {
    axum::Json(ExpiredTokens {
        expired: c.expire_oppo_auth_tokens(),
    })
    .into_response()
}

async fn settings(State(c): State<Control>) -> Response {
    axum::Json(c.oppo_settings()).into_response()
}

async fn update_settings(State(c): State<Control>, body: Bytes) -> Response {
    match parse(&body) {
        Ok(update) => axum::Json(c.update_oppo_settings(update)).into_response(),
        Err(e) => bad(e),
    }
}

async fn receipts(State(c): State<Control>) -> Response {
    axum::Json(c.oppo_receipts()).into_response()
}
