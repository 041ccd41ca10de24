//! The pushgate service: configuration, storage backends, the credential vault, the
//! HTTP API and the wiring that runs them. The domain model and ports live in `push-core`.

pub mod adapters;
pub mod api;
pub mod callbacks;
pub mod config;
pub mod credentials;
pub mod pipeline;
pub mod queue;
pub mod service;
pub mod store;
pub mod telemetry;
mod url_secrets;
pub mod vault;
