//! The `auth_tokens` table: vendor auth tokens shared by every instance and the refresh
//! lease (see push-core's `token_cache::shared`). Rows hold sealed tokens; sealing is the
//! caller's ([`crate::credentials::shared_tokens`]).

use super::SqlStore;
use super::error::db_error;
use push_core::StoreResult;

const LOAD: &str = "SELECT kek_id, ciphertext, expires_at, fetched_at FROM auth_tokens \
     WHERE token_key = $1";
// The upsert's WHERE makes it a no-op while another owner's lease runs.
const TRY_LEASE: &str = "INSERT INTO auth_tokens (token_key, lease_owner, lease_until) \
     VALUES ($1, $2, $3) ON CONFLICT (token_key) DO UPDATE \
     SET lease_owner = $2, lease_until = $3 \
     WHERE auth_tokens.lease_owner IS NULL OR auth_tokens.lease_until IS NULL \
        OR auth_tokens.lease_until < $4 OR auth_tokens.lease_owner = $2";
const STORE: &str = "UPDATE auth_tokens SET kek_id = $3, ciphertext = $4, expires_at = $5, \
     fetched_at = $6, lease_owner = NULL, lease_until = NULL \
     WHERE token_key = $1 AND lease_owner = $2";
const RELEASE: &str = "UPDATE auth_tokens SET lease_owner = NULL, lease_until = NULL \
     WHERE token_key = $1 AND lease_owner = $2";
const INVALIDATE: &str = "UPDATE auth_tokens SET kek_id = NULL, ciphertext = NULL, \
     expires_at = NULL WHERE token_key = $1 AND fetched_at = $2";

/// A stored sealed token: master key id, blob, expiry and fetch time (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedToken {
    /// The master key that sealed it.
    pub kek_id: String,
    /// The sealed token.
    pub ciphertext: Vec<u8>,
    /// When it expires, unix ms.
    pub expires_at: i64,
    /// When it was fetched, unix ms.
    pub fetched_at: i64,
}

type Row = (Option<String>, Option<Vec<u8>>, Option<i64>, Option<i64>);

impl SqlStore {
    /// The sealed token of `key`, if one is stored.
    pub async fn load_auth_token(&self, key: &str) -> StoreResult<Option<SealedToken>> {
        let row = sqlx::query_as::<_, Row>(LOAD)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "loading a shared auth token"))?;
        Ok(match row {
            Some((Some(kek_id), Some(ciphertext), Some(expires_at), Some(fetched_at))) => {
                Some(SealedToken {
                    kek_id,
                    ciphertext,
                    expires_at,
                    fetched_at,
                })
            }
            _ => None,
        })
    }

    /// Takes the refresh lease of `key` until `until_ms` unless another owner holds one
    /// that has not run out at `now_ms`; true when taken.
    pub async fn lease_auth_token(
        &self,
        key: &str,
        owner: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(TRY_LEASE)
            .bind(key)
            .bind(owner)
            .bind(until_ms)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "leasing a shared auth token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a sealed token if `owner` still holds the lease, releasing it; true if stored.
    pub async fn store_auth_token(
        &self,
        key: &str,
        owner: &str,
        token: &SealedToken,
    ) -> StoreResult<bool> {
        let done = sqlx::query(STORE)
            .bind(key)
            .bind(owner)
            .bind(&token.kek_id)
            .bind(&token.ciphertext)
            .bind(token.expires_at)
            .bind(token.fetched_at)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "storing a shared auth token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases `owner`'s lease of `key`.
    pub async fn release_auth_token(&self, key: &str, owner: &str) -> StoreResult<()> {
        sqlx::query(RELEASE)
            .bind(key)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "releasing a shared auth token"))?;
        Ok(())
    }

    /// Drops the token of `key` if it is the one fetched at `fetched_at_ms`; true if dropped.
    pub async fn invalidate_auth_token(&self, key: &str, fetched_at_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(INVALIDATE)
            .bind(key)
            .bind(fetched_at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "invalidating a shared auth token"))?;
        Ok(done.rows_affected() == 1)
    }
}
