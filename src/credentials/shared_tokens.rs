//! [`SharedTokens`] over the SQL store: vendor auth tokens shared by every instance,
//! sealed under the master key (decision 16).

use crate::store::{SealedToken, SqlStore};
use crate::vault::Vault;
use async_trait::async_trait;
use push_core::token_cache::{SharedToken, SharedTokenError, SharedTokens};
use std::sync::Arc;
use time::OffsetDateTime;

/// The store-backed shared token source of one instance.
pub struct StoreSharedTokens {
    store: SqlStore,
    vault: Arc<Vault>,
}

impl StoreSharedTokens {
    /// Tokens in `store`, sealed with `vault`.
    pub fn new(store: SqlStore, vault: Arc<Vault>) -> Self {
        StoreSharedTokens { store, vault }
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn time_of(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn failed(e: impl std::fmt::Display) -> SharedTokenError {
    SharedTokenError(e.to_string())
}

#[async_trait]
impl SharedTokens for StoreSharedTokens {
    async fn load(&self, key: &str) -> Result<Option<SharedToken>, SharedTokenError> {
        let Some(sealed) = self.store.load_auth_token(key).await.map_err(failed)? else {
            return Ok(None);
        };
        // A token sealed under a retired master key, or damaged, is as good as none.
        let Ok(value) =
            self.vault
                .open_token(key, sealed.fetched_at, &sealed.kek_id, &sealed.ciphertext)
        else {
            tracing::warn!(
                key,
                "a shared auth token cannot be opened; it will be fetched again"
            );
            return Ok(None);
        };
        let (Some(expires_at), Some(fetched_at)) =
            (time_of(sealed.expires_at), time_of(sealed.fetched_at))
        else {
            return Ok(None);
        };
        Ok(Some(SharedToken {
            value,
            expires_at,
            fetched_at,
        }))
    }

    async fn try_lease(
        &self,
        key: &str,
        owner: &str,
        until: OffsetDateTime,
    ) -> Result<bool, SharedTokenError> {
        self.store
            .lease_auth_token(key, owner, ms(until), ms(OffsetDateTime::now_utc()))
            .await
            .map_err(failed)
    }

    async fn store(
        &self,
        key: &str,
        owner: &str,
        token: &SharedToken,
    ) -> Result<(), SharedTokenError> {
        let fetched_at = ms(token.fetched_at);
        let (kek_id, ciphertext) = self
            .vault
            .seal_token(key, fetched_at, &token.value)
            .map_err(failed)?;
        let stored = self
            .store
            .store_auth_token(
                key,
                owner,
                &SealedToken {
                    kek_id,
                    ciphertext,
                    expires_at: ms(token.expires_at),
                    fetched_at,
                },
            )
            .await
            .map_err(failed)?;
        if !stored {
            tracing::debug!(key, "the refresh lease ran out before the token was stored");
        }
        Ok(())
    }

    async fn release(&self, key: &str, owner: &str) -> Result<(), SharedTokenError> {
        self.store
            .release_auth_token(key, owner)
            .await
            .map_err(failed)
    }

    async fn invalidate(
        &self,
        key: &str,
        fetched_at: OffsetDateTime,
    ) -> Result<bool, SharedTokenError> {
        self.store
            .invalidate_auth_token(key, ms(fetched_at))
            .await
            .map_err(failed)
    }
}
