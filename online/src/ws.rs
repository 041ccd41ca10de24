//! `GET /v1/ws`: authenticates the client token before the upgrade, then hands the socket
//! to [`crate::connection`]. Small socket buffers keep idle connections cheap.

use crate::connection::{self, Session};
use crate::core::Shared;
use crate::jwt::TokenError;
use crate::keys::{KeysError, TokenCheck};
use crate::rest::access::bearer;
use crate::rest::error::RestError;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// Read buffer per connection. tungstenite's default (128 KiB) would cost more than
/// everything else of an idle connection together; frames larger than this still work
/// (the buffer grows for them and shrinks back).
pub const READ_BUFFER_BYTES: usize = 1024;
/// Bytes written before a flush; 0 writes each frame at once (no idle buffer).
pub const WRITE_BUFFER_BYTES: usize = 0;

/// Query of `GET /v1/ws`.
#[derive(Deserialize)]
pub(crate) struct WsQuery {
    #[serde(default)]
    token: Option<String>,
}

fn refuse(e: TokenError) -> Response {
    RestError::unauthorized(e.to_string()).into_response()
}

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<WsQuery>, QueryRejection>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let token = match query.as_ref().ok().and_then(|q| q.token.as_deref()) {
        Some(t) => t.to_string(),
        None => match bearer(&headers) {
            Some(t) => t.to_string(),
            None => {
                return RestError::unauthorized(
                    "a client token is required: ?token=<JWT> or Authorization: Bearer <JWT>",
                )
                .into_response();
            }
        },
    };
    let claims = match shared.keys.verify_token(&token).await {
        Ok(claims) => claims,
        Err(TokenCheck::Refused(e)) => return refuse(e),
        Err(TokenCheck::Keys(KeysError::Store(e))) => return RestError::store(e).into_response(),
        Err(TokenCheck::Keys(e)) => {
            tracing::error!(error = %e, "client key unusable");
            return RestError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
            .into_response();
        }
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return RestError::new(
                StatusCode::BAD_REQUEST,
                "not_a_websocket",
                format!("a WebSocket upgrade is required: {}", rejection.body_text()),
            )
            .into_response();
        }
    };
    let session = Session {
        app: claims.app,
        user: claims.sub,
        device: claims.dev,
    };
    let max = shared.config.max_frame_bytes.saturating_mul(2);
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(max.max(64 * 1024))
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::serve(shared, socket, session))
}
