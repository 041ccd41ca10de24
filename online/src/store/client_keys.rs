//! Each app's client key (what verifies its WebSocket JWTs). HS256 secrets are stored
//! sealed; public keys as PEM.

use super::{OnlineStore, db_error};
use push_core::{SealedCredential, StoreError};
use sqlx::Row;

/// A stored client key.
#[derive(Debug, Clone)]
pub struct StoredClientKey {
    /// Id of this key version (bound into the seal).
    pub key_id: String,
    /// `HS256`, `RS256` or `ES256`.
    pub alg: String,
    /// The public key (RS256 / ES256).
    pub public_key_pem: Option<String>,
    /// The sealed secret (HS256).
    pub sealed: Option<SealedCredential>,
    /// `sha256:…` of the key material.
    pub fingerprint: String,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

const PUT: &str = "INSERT INTO online_client_keys \
    (app_id, key_id, alg, public_key_pem, kek_id, wrapped_dek, ciphertext, fingerprint, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (app_id) DO UPDATE SET \
    key_id = excluded.key_id, alg = excluded.alg, public_key_pem = excluded.public_key_pem, \
    kek_id = excluded.kek_id, wrapped_dek = excluded.wrapped_dek, ciphertext = excluded.ciphertext, \
    fingerprint = excluded.fingerprint, updated_at = excluded.updated_at";
const GET: &str = "SELECT key_id, alg, public_key_pem, kek_id, wrapped_dek, ciphertext, fingerprint, updated_at \
    FROM online_client_keys WHERE app_id = $1";
const DELETE: &str = "DELETE FROM online_client_keys WHERE app_id = $1";
const SEALED_ELSEWHERE: &str = "SELECT app_id, key_id, kek_id, wrapped_dek, ciphertext \
    FROM online_client_keys WHERE kek_id IS NOT NULL AND kek_id <> $1 ORDER BY app_id";
const REPLACE_SEALED: &str = "UPDATE online_client_keys SET kek_id = $4, wrapped_dek = $5 \
    WHERE app_id = $1 AND key_id = $2 AND kek_id = $3";

/// A sealed client secret to re-wrap under another master key.
#[derive(Debug, Clone)]
pub struct SealedClientKey {
    /// The app.
    pub app: String,
    /// The key version (bound into the seal).
    pub key_id: String,
    /// The secret as stored.
    pub sealed: SealedCredential,
}

impl OnlineStore {
    /// Sets (replaces) the app's client key.
    pub async fn put_client_key(&self, app: &str, key: &StoredClientKey) -> Result<(), StoreError> {
        let sealed = key.sealed.as_ref();
        sqlx::query(PUT)
            .bind(app)
            .bind(&key.key_id)
            .bind(&key.alg)
            .bind(key.public_key_pem.as_deref())
            .bind(sealed.map(|s| s.kek_id.clone()))
            .bind(sealed.map(|s| s.wrapped_dek.clone()))
            .bind(sealed.map(|s| s.ciphertext.clone()))
            .bind(&key.fingerprint)
            .bind(key.updated_at)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "client key"))?;
        Ok(())
    }

    /// The app's client key, if set.
    pub async fn client_key(&self, app: &str) -> Result<Option<StoredClientKey>, StoreError> {
        let Some(row) = sqlx::query(GET)
            .bind(app)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading a client key"))?
        else {
            return Ok(None);
        };
        let get = |e| db_error(e, "reading a client key");
        let kek_id: Option<String> = row.try_get(3).map_err(get)?;
        let wrapped_dek: Option<Vec<u8>> = row.try_get(4).map_err(get)?;
        let ciphertext: Option<Vec<u8>> = row.try_get(5).map_err(get)?;
        let sealed = match (kek_id, wrapped_dek, ciphertext) {
            (Some(kek_id), Some(wrapped_dek), Some(ciphertext)) => Some(SealedCredential {
                kek_id,
                wrapped_dek,
                ciphertext,
            }),
            _ => None,
        };
        Ok(Some(StoredClientKey {
            key_id: row.try_get(0).map_err(get)?,
            alg: row.try_get(1).map_err(get)?,
            public_key_pem: row.try_get(2).map_err(get)?,
            sealed,
            fingerprint: row.try_get(6).map_err(get)?,
            updated_at: row.try_get(7).map_err(get)?,
        }))
    }

    /// The sealed client secrets whose data key is wrapped by a master key other than
    /// `kek_id` (one per app at most, so no paging).
    pub async fn client_keys_sealed_elsewhere(
        &self,
        kek_id: &str,
    ) -> Result<Vec<SealedClientKey>, StoreError> {
        let get = |e| db_error(e, "reading sealed client keys");
        let rows = sqlx::query(SEALED_ELSEWHERE)
            .bind(kek_id)
            .fetch_all(&self.pool)
            .await
            .map_err(get)?;
        rows.iter()
            .map(|row| {
                Ok(SealedClientKey {
                    app: row.try_get(0).map_err(get)?,
                    key_id: row.try_get(1).map_err(get)?,
                    sealed: SealedCredential {
                        kek_id: row.try_get(2).map_err(get)?,
                        wrapped_dek: row.try_get(3).map_err(get)?,
                        ciphertext: row.try_get(4).map_err(get)?,
                    },
                })
            })
            .collect()
    }

    /// Replaces the wrapped data key of `key`'s client secret with `rewrapped`, only if the
    /// row is still that key version under the master key it was read with (a concurrent
    /// change wins); true when replaced. The ciphertext stays.
    pub async fn replace_sealed_client_key(
        &self,
        key: &SealedClientKey,
        rewrapped: &SealedCredential,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(REPLACE_SEALED)
            .bind(&key.app)
            .bind(&key.key_id)
            .bind(&key.sealed.kek_id)
            .bind(&rewrapped.kek_id)
            .bind(rewrapped.wrapped_dek.clone())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "re-wrapping a client key"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the app's client key; true if there was one.
    pub async fn delete_client_key(&self, app: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE)
            .bind(app)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "deleting a client key"))?;
        Ok(done.rows_affected() > 0)
    }
}
