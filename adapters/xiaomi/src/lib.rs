//! pushgate's Xiaomi adapter: MiPush server API "send to regid" messages, hand-rolled on
//! reqwest (rustls). The request is one form POST (`application/x-www-form-urlencoded`, not
//! JSON) with `Authorization: key=<AppSecret>`; there is no token exchange
//! (../shared/vendors/xiaomi.md).
//!
//! Build it from [`XiaomiConfig`] with [`XiaomiBuilder`], or add it to the binary's registry
//! with [`register`]. What it does, file by file:
//! - `config`: `[vendors.xiaomi]` (`base_url`, `ca_file`, `request_timeout_seconds`);
//! - `builder`: checks the configuration and builds the one HTTP client;
//! - `auth`: the `xiaomi_app_secret` credential (package name + AppSecret) checked offline
//!   and against the app's package; nothing to cache, since the secret is the auth;
//! - `client`: the form POST with the `key=` header to `/v3/message/regid`;
//! - `payload`: the form built from an ingest message (notification or pass-through, text
//!   limits in characters, `payload` under 4 KB, `notify_id`, ttl per class, the app's
//!   channel and template per category, click action, `jobkey` idempotency, receipt fields,
//!   `overrides.xiaomi`);
//! - `error`: the result-code table from Xiaomi's answers to per-regid outcomes
//!   (`bad_regids`, the guard on "no valid targets", daily quotas);
//! - `callback`: receipt callbacks (form field `data` with a JSON map keyed by message id)
//!   into receipts;
//! - `adapter`: the `Adapter` implementation (one request carries up to 1000 regids).

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, XiaomiBuilder, register};
pub use config::XiaomiConfig;
