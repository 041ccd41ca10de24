//! Oppo control operations and their HTTP routes.

use axum::Router;

use super::Control;

impl Control {}

/// The `/oppo/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
}
