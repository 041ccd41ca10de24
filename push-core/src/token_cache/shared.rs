//! Vendor auth tokens shared by every pushgate instance (decision 16).
//!
//! Some vendors punish fetching tokens often: a new WeChat access_token invalidates the old
//! one, APNs refuses a new provider token more than once per 20 minutes, Huawei and OPPO
//! limit token calls. With a [`SharedTokens`] source a [`TokenCache`](super::TokenCache)
//! reads the current token from a store all instances share; when it is due, one instance
//! takes a short lease, fetches, and writes the new token back, while the others keep using
//! the current one (or wait for the new one) instead of fetching their own.

use crate::credential::Secret;
use async_trait::async_trait;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a refresh lease lasts: one token fetch, with room for a slow vendor.
pub const LEASE: Duration = Duration::from_secs(30);

/// A token as the shared store keeps it.
#[derive(Debug, Clone)]
pub struct SharedToken {
    /// The token.
    pub value: Secret,
    /// When the vendor says it expires.
    pub expires_at: OffsetDateTime,
    /// When it was fetched: its identity for compare-and-set invalidation.
    pub fetched_at: OffsetDateTime,
}

/// The shared store is unavailable; callers fall back to fetching for themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shared token store: {0}")]
pub struct SharedTokenError(pub String);

/// Where instances share auth tokens. Keys are namespaced by the adapter
/// (`huawei/<credential id>`). Implemented by the binary over its database; the token is
/// sealed there, never stored in clear.
#[async_trait]
pub trait SharedTokens: Send + Sync + 'static {
    /// The stored token of `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<SharedToken>, SharedTokenError>;
    /// Takes the refresh lease of `key` for `owner` until `until`, unless another owner holds
    /// an unexpired one; true when taken.
    async fn try_lease(
        &self,
        key: &str,
        owner: &str,
        until: OffsetDateTime,
    ) -> Result<bool, SharedTokenError>;
    /// Stores a fresh token and releases `owner`'s lease.
    async fn store(
        &self,
        key: &str,
        owner: &str,
        token: &SharedToken,
    ) -> Result<(), SharedTokenError>;
    /// Releases `owner`'s lease without a new token (the fetch failed).
    async fn release(&self, key: &str, owner: &str) -> Result<(), SharedTokenError>;
    /// Drops the stored token if it is still the one fetched at `fetched_at`, so one
    /// instance's refusal cannot make every instance refresh; true if dropped.
    async fn invalidate(
        &self,
        key: &str,
        fetched_at: OffsetDateTime,
    ) -> Result<bool, SharedTokenError>;
}
