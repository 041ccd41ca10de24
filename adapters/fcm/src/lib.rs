//! pushgate's FCM adapter: Firebase Cloud Messaging HTTP v1, hand-rolled on reqwest
//! (rustls, HTTP/2) and jsonwebtoken (RS256), because the `fcm` crate only speaks the
//! legacy API Google shut down in 2024 and the v1 crates hard-code Google's URL
//! (docs/decisions.md §8).
//!
//! Build it from [`FcmConfig`] with [`FcmBuilder`], or add it to the binary's registry with
//! [`register`]. What it does, file by file:
//! - `auth`: the service-account file, the RS256 assertion and its exchange for an OAuth2
//!   access token, cached per credential in push-core's `TokenCache`;
//! - `payload`: the v1 `Message` built from an ingest message (mapping, ttl, overrides,
//!   the 4096-byte limit);
//! - `client`: the one HTTP client and the two requests;
//! - `error`: the classifier table from FCM's answers to outcomes;
//! - `adapter`: the `Adapter` implementation (one request per token, `max_batch` 1).

mod adapter;
mod auth;
mod builder;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, FcmBuilder, register};
pub use config::FcmConfig;
