//! pushgate's Huawei adapter: Push Kit (HMS Core) HTTP v1 downlink messages, hand-rolled on
//! reqwest (rustls). Huawei's server SDKs are Java, Python and Go demos; the request is one
//! JSON POST with an OAuth2 bearer token (../shared/vendors/huawei.md).
//!
//! Build it from [`HuaweiConfig`] with [`HuaweiBuilder`], or add it to the binary's registry
//! with [`register`]. What it does, file by file:
//! - `auth`: OAuth2 client credentials (App ID + App Secret) exchanged for an access token,
//!   cached per credential in push-core's `TokenCache`; the token endpoint's error codes;
//! - `payload`: the `message` built from an ingest message (notification, click action,
//!   `data` as a JSON string, ttl, collapse, `bi_tag`, the category (the app's mapping, else
//!   huawei.md §5's default), `overrides.huawei`, the 4096-byte limit);
//! - `client`: the one HTTP client (answers kept up to 1 MiB) and the send URL;
//! - `error`: the result-code table from Huawei's answers to per-token outcomes (partial
//!   success, the guard on "all tokens invalid");
//! - `callback`: delivery receipts posted back by Huawei (signature, status table);
//! - `adapter`: the `Adapter` implementation (one request carries up to 1000 tokens).

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, HuaweiBuilder, register};
pub use config::HuaweiConfig;
