//! The online core's REST routes (tenant API key, like every `/v1/apps/{app}` route):
//! the app's client key, and groups with their members. Documented in docs/rest.md.

pub mod access;
mod client_key;
pub mod error;
mod groups;

use crate::core::Shared;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::routing::{delete, get, put};
use error::RestError;
use push_core::ids::check_external_id;
use std::sync::Arc;

/// The routes, under `/v1`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/v1/apps/{app}/client-key",
            put(client_key::put)
                .get(client_key::get)
                .delete(client_key::delete),
        )
        .route(
            "/v1/apps/{app}/groups",
            axum::routing::post(groups::create).get(groups::list),
        )
        .route(
            "/v1/apps/{app}/groups/{group}",
            get(groups::get).delete(groups::delete),
        )
        .route("/v1/apps/{app}/groups/{group}/members", put(groups::add))
        .route(
            "/v1/apps/{app}/groups/{group}/members/{user}",
            delete(groups::remove),
        )
}

/// A JSON body, or the API's usual answer for a bad one: 400 / 422 `invalid_json`, 415.
pub(crate) fn body<T>(json: Result<axum::Json<T>, JsonRejection>) -> Result<T, RestError> {
    use axum::http::StatusCode;
    json.map(|j| j.0).map_err(|e| match e {
        JsonRejection::JsonDataError(e) => RestError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            e.body_text(),
        ),
        JsonRejection::MissingJsonContentType(_) => RestError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send content-type: application/json",
        ),
        other => RestError::new(StatusCode::BAD_REQUEST, "invalid_json", other.body_text()),
    })
}

/// Checks an id field.
pub(crate) fn check_id(field: &str, value: &str) -> Result<(), RestError> {
    check_external_id(value).map_err(|reason| RestError::invalid(format!("{field}: {reason}")))
}
