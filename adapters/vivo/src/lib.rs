//! pushgate's vivo adapter: vivo push's server API (vivo and iQOO devices), hand-rolled on
//! reqwest (rustls): a signed auth call returning an `authToken`, JSON sends carrying it in
//! vivo's own `authToken` header, single and list sends (../shared/vendors/vivo.md).
//!
//! Build it from [`VivoConfig`] with [`VivoBuilder`], or add it to the binary's registry with
//! [`register`]. What it does, file by file:
//! - `auth`: the MD5-signed (the `md-5` crate) `/message/auth` exchange (AppID + AppKey + timestamp + AppSecret)
//!   for an auth token, cached per credential in push-core's `TokenCache` and refreshed every
//!   2 hours (the previous token stays in use when a refresh is throttled); its error codes;
//! - `payload`: the vivo message built from an ingest message (title/content truncated by
//!   vivo's double-width rule, click target → `skipType`, `clientCustomMap`, ttl, the app's
//!   category mapping or vivo.md §5's default with its `classification`, `requestId`,
//!   receipt `extra`, `overrides.vivo`) and the checks vivo would refuse it for;
//! - `client`: the one HTTP client and the `/message/…` POSTs with the `authToken` header;
//! - `error`: the result-code table from vivo's answers to per-regId outcomes (`10302`
//!   `invalidUser` statuses, the guard on "every regId invalid", `10070` → quota exhausted);
//! - `callback`: vivo's receipts (keyed by taskId) decoded into receipts per regId;
//! - `adapter`: the `Adapter` implementation (one regId → `/message/send`; 2–1000 →
//!   `saveListPayload` + `pushToList`).

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, VivoBuilder, register};
pub use config::VivoConfig;
