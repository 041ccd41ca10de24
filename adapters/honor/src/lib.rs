//! pushgate's Honor adapter: Honor Push's server API (Magic UI / MagicOS devices with Honor
//! services), hand-rolled on reqwest (rustls): OAuth 2.0 client credentials, then one JSON
//! POST per up to 1000 tokens with `Authorization: Bearer` and a `timestamp` header
//! (../shared/vendors/honor.md). It follows the Huawei adapter's structure; the wire format
//! (camelCase, numeric `code`, `data.sendResult` / `failTokens` / `expireTokens`), the OAuth
//! server and the classification (`importance`) are Honor's own.
//!
//! Build it from [`HonorConfig`] with [`HonorBuilder`], or add it to the binary's registry
//! with [`register`]. What it does, file by file:
//! - `auth`: the Client ID and Client Secret exchanged for an access token at Honor's OAuth
//!   endpoint, cached per credential in push-core's `TokenCache`; its errors;
//! - `payload`: the Honor message built from an ingest message (notification with the
//!   required `clickAction`, `data` as a JSON string, ttl, `biTag`, the importance from the
//!   app's mapping or honor.md §5's default, `overrides.honor`) and the checks Honor would
//!   refuse it for;
//! - `client`: the one HTTP client, the send with its headers and the token request;
//! - `error`: the result-code table from Honor's answers to per-token outcomes
//!   (`expireTokens` / `failTokens`, the guard on "all tokens invalid");
//! - `callback`: Honor's receipts (`{"statuses": […]}`) decoded, per token;
//! - `adapter`: the `Adapter` implementation.

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod error;
mod payload;

pub use builder::{BuildError, HonorBuilder, register};
pub use config::HonorConfig;
