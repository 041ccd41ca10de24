//! pushgate's OPPO adapter: OPPO push (OPUSH / HeyTap, also used by OnePlus and realme
//! phones) server API, hand-rolled on reqwest (rustls). The requests are form-encoded with
//! JSON inside form fields and an auth token in the body (../shared/vendors/oppo.md).
//!
//! Build it from [`OppoConfig`] with [`OppoBuilder`], or add it to the binary's registry
//! with [`register`]. What it does, file by file:
//! - `config`: `[vendors.oppo]` — the China and overseas hosts, `ca_file`, the timeout
//!   (receipt URLs are per app: `settings.oppo.callback_url`);
//! - `client`: the two hosts on one HTTP client, which host a registration id belongs to
//!   (`CN_…`, `OPPO_CN_…` or no prefix: China), the paths;
//! - `auth`: the signed exchange (`sign` = SHA-256 of AppKey + timestamp + MasterSecret)
//!   for a 24-hour auth token, cached per credential and host in push-core's `TokenCache`;
//! - `payload`: the `notification` built from an ingest message (title/content limits in
//!   characters, click action, `action_parameters` JSON string, `off_line_ttl`, `notify_id`,
//!   the app's `settings.oppo` classification, `app_message_id` = delivery id,
//!   `call_back_parameter`, `overrides.oppo`);
//! - `error`: the result-code table from OPPO's answers (and `unicast_batch` entries) to
//!   per-target outcomes, incl. the daily quota (code 33) and the all-invalid guard;
//! - `adapter`: the `Adapter` implementation (`unicast` for one target, `unicast_batch` for
//!   up to 1000, per host);
//! - `callback`: OPPO's receipt callbacks (a JSON array posted to `call_back_url`; unsigned,
//!   so only with the app's secret path token).

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, OppoBuilder, register};
pub use config::OppoConfig;
