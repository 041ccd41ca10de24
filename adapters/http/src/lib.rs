//! The HTTP plumbing shared by the vendor adapters that speak JSON over HTTPS with an OAuth
//! token (FCM, Huawei, and the vendors after them): building the one reqwest client from the
//! `[vendors.<vendor>]` settings, and the two requests they all make — a JSON POST with a
//! bearer token and a form POST to a token endpoint — plus the same two with a vendor's own
//! headers (vivo's `authToken`, Honor's `timestamp`, Xiaomi's `Authorization: key=…`).
//!
//! It answers the raw status, `Retry-After` and body; what they mean is each adapter's
//! classifier's job. It never retries.
//!
//! It also holds the glue every such adapter keeps around its sends: the shared
//! [`AuthError`] of a token exchange, the [`HealthTracker`], the [`ProvenCredentials`] of
//! the all-invalid guard, [`send_in_slices`] and [`per_target`] results.
//!
//! Files: `build` (the client, URL checks and the builders' [`BuildError`]), `client` (the requests), `auth` (why no
//! token could be had), `health` (health, proven credentials, slices and per-target results).

mod auth;
mod build;
mod client;
mod health;

pub use auth::AuthError;
pub use build::{
    BuildError, Checked, ClientSettings, SettingError, build_checked_client, build_client,
    check_url,
};
pub use client::{Answer, FORM_CONTENT_TYPE, HttpClient, TransportError};
pub use health::{HealthTracker, ProvenCredentials, per_target, send_in_slices};
