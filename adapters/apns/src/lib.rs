//! pushgate's APNs adapter: Apple's HTTP/2 provider API on reqwest, with token (`.p8`,
//! ES256 provider JWT) and certificate (`.p12` TLS client identity) authentication.
//!
//! Public surface: [`ApnsConfig`] (the `[vendors.apns]` section), [`ApnsBuilder`] (checks
//! it and builds an `Arc<dyn Adapter>`), [`BuildError`] and [`register`] (for the binary's
//! explicit registration list). Everything else is private; behaviour:
//!
//! - **Routing**: each device's `apns_environment` (else the app's
//!   `settings.apns.default_environment`) picks `base_url` or `sandbox_url`.
//! - **Connections**: a small pool (`connections_per_credential`, default 2) of HTTP/2
//!   connections per (environment, team, key) for token auth and per (environment,
//!   credential version) for certificates, reused across sends, dropped on `forget_auth`
//!   and after `IdleTimeout`, `UnrelatedKeyIdInToken`, `TooManyProviderTokenUpdates`,
//!   `BadCertificate…`, `InvalidProviderToken`, `ServiceUnavailable`, `Shutdown` and
//!   network errors.
//! - **Provider tokens** are signed once per key, reused by every request, renewed after
//!   50 minutes and never replaced within 20 minutes (the shared `TokenCache`).
//! - **Push types**: `options.category` `VOIP` or `CALL` (any case) → `voip` (topic
//!   `<bundle>.voip`, 5120 bytes); `options.silent`, or nothing visible → `background`
//!   (`content-available: 1`, priority 5); else `alert`. Priority `high` → 10, `normal` → 5.
//! - **Payload precedence** (lowest to highest): what the adapter derives from the
//!   notification (`aps` plus the custom keys `image` and `click`), then `data` entries as
//!   top-level keys (never `aps`), then `overrides.apns` merged over the whole body (objects
//!   key by key, `null` removes a key). Overrides never change headers.
//! - **Outcomes**: one table maps every APNs reason (see `error.rs`): dead tokens →
//!   `InvalidToken` (410 with `invalid_since`), credential problems → `AuthFailed`,
//!   throttling, 5xx and network errors → `Retry` (with `Retry-After`), request bugs and
//!   oversized payloads → `Rejected` (oversized ones before anything is sent).
//! - **Live check**: `check_credential` posts a silent push to the all-zero device token in
//!   the app's default environment; `BadDeviceToken` (or any token verdict) proves the
//!   credential, a 403 refuses it. Nothing reaches a device.

mod adapter;
mod auth;
mod builder;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{ApnsBuilder, BuildError, register};
pub use config::ApnsConfig;
