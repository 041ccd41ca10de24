//! Xiaomi control operations and their HTTP routes (`/xiaomi/…`, see sim/README.md).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

use super::Control;
use super::types::{
    ControlError, XiaomiAppSpec, XiaomiAppUpdate, XiaomiCallbackSpec, XiaomiReceiptPost,
    XiaomiReceiptSettings, XiaomiTokenSpec,
};
use crate::dev::{
    DEV_XIAOMI_APP_ID, DEV_XIAOMI_APP_SECRET, DEV_XIAOMI_PACKAGE, DEV_XIAOMI_PRIVATE_CHANNEL,
    DEV_XIAOMI_PUBLIC_CHANNEL,
};

impl Control {
    /// Registers (or replaces) a Xiaomi app.
    pub fn add_xiaomi_app(&self, spec: XiaomiAppSpec) -> Result<(), ControlError> {
        self.state.xiaomi.apps.add(&spec)
    }

    /// Changes some settings of a Xiaomi app (templates, quotas, blacklist); returns the
    /// app's settings, or an error if the app is unknown.
    pub fn update_xiaomi_app(
        &self,
        app_id: &str,
        update: XiaomiAppUpdate,
    ) -> Result<XiaomiAppSpec, ControlError> {
        self.state
            .xiaomi
            .apps
            .update(app_id, &update)
            .ok_or_else(|| ControlError::new(format!("unknown app {app_id}")))
    }

    /// Registers or updates a Xiaomi regid (state, receipt type, click).
    pub fn set_xiaomi_token(&self, spec: XiaomiTokenSpec) -> Result<(), ControlError> {
        self.state.xiaomi.devices.set(&spec)
    }

    /// Registers (or replaces) the receipt URL of a Xiaomi app, used for messages without
    /// `extra.callback`.
    pub fn add_xiaomi_callback(&self, spec: XiaomiCallbackSpec) -> Result<(), ControlError> {
        self.state.xiaomi.receipts.add(&spec)
    }

    /// Removes the receipt URL of a Xiaomi app; whether it had one.
    pub fn remove_xiaomi_callback(&self, app_id: &str) -> bool {
        self.state.xiaomi.receipts.remove(app_id)
    }

    /// The Xiaomi receipt POSTs made (or attempted) so far, oldest first.
    pub fn xiaomi_receipts(&self) -> Vec<XiaomiReceiptPost> {
        self.state.xiaomi.receipts.sent()
    }

    /// Xiaomi receipt timing.
    pub fn xiaomi_receipt_settings(&self) -> XiaomiReceiptSettings {
        self.state.xiaomi.receipts.settings()
    }

    /// Registers the dev Xiaomi app (see [`crate::dev`]): package `com.example.chat`, one
    /// private and one public channel.
    pub(crate) fn preload_xiaomi_dev(&self) -> Result<(), ControlError> {
        self.add_xiaomi_app(XiaomiAppSpec {
            app_id: DEV_XIAOMI_APP_ID.into(),
            app_secret: DEV_XIAOMI_APP_SECRET.into(),
            package_names: vec![DEV_XIAOMI_PACKAGE.into()],
            private_channels: vec![DEV_XIAOMI_PRIVATE_CHANNEL.into()],
            public_channels: vec![DEV_XIAOMI_PUBLIC_CHANNEL.into()],
            ..XiaomiAppSpec::default()
        })
    }

    /// Changes Xiaomi receipt timing (until the next reset).
    pub fn set_xiaomi_receipt_settings(&self, settings: XiaomiReceiptSettings) {
        self.state.xiaomi.receipts.set_settings(settings);
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
    answer(parse(&body).and_then(|spec| c.add_xiaomi_app(spec)))
}

async fn update_app(State(c): State<Control>, Path(app_id): Path<String>, body: Bytes) -> Response {
    let update: XiaomiAppUpdate = match parse(&body) {
        Ok(u) => u,
        Err(e) => return (StatusCode::BAD_REQUEST, axum::Json(e)).into_response(),
    };
    match c.update_xiaomi_app(&app_id, update) {
        Ok(spec) => axum::Json(spec).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, axum::Json(e)).into_response(),
    }
}

async fn set_token(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.set_xiaomi_token(spec)))
}

async fn add_callback(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.add_xiaomi_callback(spec)))
}

async fn remove_callback(State(c): State<Control>, Path(app_id): Path<String>) -> Response {
    if c.remove_xiaomi_callback(&app_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let e = ControlError::new(format!("no receipt URL for app {app_id}"));
        (StatusCode::NOT_FOUND, axum::Json(e)).into_response()
    }
}

async fn receipts(State(c): State<Control>) -> Response {
    axum::Json(c.xiaomi_receipts()).into_response()
}

async fn receipt_settings(State(c): State<Control>) -> Response {
    axum::Json(c.xiaomi_receipt_settings()).into_response()
}

async fn set_receipt_settings(State(c): State<Control>, body: Bytes) -> Response {
    match parse::<XiaomiReceiptSettings>(&body) {
        Ok(s) => {
            c.set_xiaomi_receipt_settings(s);
            axum::Json(s).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(e)).into_response(),
    }
}

/// The `/xiaomi/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/xiaomi/apps", post(add_app))
        .route("/xiaomi/apps/{app_id}", put(update_app))
        .route("/xiaomi/tokens", post(set_token))
        .route("/xiaomi/callbacks", post(add_callback))
        .route("/xiaomi/callbacks/{app_id}", delete(remove_callback))
        .route("/xiaomi/receipts", get(receipts))
        .route(
            "/xiaomi/receipts/settings",
            get(receipt_settings).put(set_receipt_settings),
        )
}
