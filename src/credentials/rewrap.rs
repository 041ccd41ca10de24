//! Master-key rotation: re-encrypt every stored credential's data key under the current
//! master key (`pushgate credentials rewrap`).
//!
//! Procedure: configure the new key first and the old ones after it (`master_key =
//! "NEW,OLD"`), restart the instances (they seal with NEW and open both), run the rewrap,
//! then drop OLD. The rewrap walks the rows not yet under the current key in batches, by id;
//! each row is replaced with a compare-and-set on its key id, so a concurrent upload or a
//! second rewrap never loses a write. Every row is readable at every moment (under the old
//! key or the new one), so an interrupted run (killed, or stopped by `limit`) leaves nothing
//! broken and a rerun finishes the rest. Only data keys are re-wrapped; ciphertexts stay.
//!
//! The online core's sealed client secrets (HS256 keys that verify WebSocket JWTs) are
//! sealed with the same envelope and go through the same steps ([`rewrap_client_keys`]).

use crate::vault::{Vault, VaultError};
use push_core::{Store, StoreError};
use pushgate_online::store::OnlineStore;
use uuid::Uuid;

/// Counts of one rewrap run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// The master key everything was re-wrapped under.
    pub key_id: String,
    /// Rows re-wrapped by this run.
    pub rewrapped: u64,
    /// Rows changed by someone else while this run looked at them (already current now, or
    /// re-uploaded): left alone.
    pub changed_meanwhile: u64,
    /// Rows whose master key is not in the keyring: they stay as they are and stay
    /// unreadable until that key is configured (as an older key).
    pub unknown_key: u64,
    /// Rows whose data key failed to decrypt (tampered or corrupt).
    pub undecryptable: u64,
    /// True when the run stopped at its limit with rows left to do.
    pub stopped_at_limit: bool,
}

/// Re-wraps up to `limit` (all, when `None`) credentials not yet under the vault's current
/// key, `batch` rows per store read.
pub async fn rewrap_all(
    store: &dyn Store,
    vault: &Vault,
    batch: i64,
    limit: Option<u64>,
) -> Result<RewrapReport, StoreError> {
    let key_id = vault.current_key_id().to_string();
    let mut report = RewrapReport {
        key_id: key_id.clone(),
        ..RewrapReport::default()
    };
    let mut after: Option<Uuid> = None;
    loop {
        let rows = store
            .credentials_sealed_elsewhere(&key_id, after, batch.max(1))
            .await?;
        if rows.is_empty() {
            return Ok(report);
        }
        for row in rows {
            if limit.is_some_and(|limit| report.rewrapped >= limit) {
                report.stopped_at_limit = true;
                return Ok(report);
            }
            let id = row.meta.id;
            after = Some(id);
            match vault.rewrap(id, &row.sealed) {
                Ok(sealed) => {
                    if store
                        .replace_sealed_credential(id, &row.sealed.kek_id, &sealed)
                        .await?
                    {
                        report.rewrapped += 1;
                    } else {
                        report.changed_meanwhile += 1;
                    }
                }
                Err(VaultError::UnknownKey(kek)) => {
                    tracing::warn!(credential_id = %id, app = %row.meta.app_id, key_id = %kek,
                        "credential sealed under a master key that is not configured; left as is");
                    report.unknown_key += 1;
                }
                Err(error) => {
                    tracing::error!(credential_id = %id, app = %row.meta.app_id, %error,
                        "credential data key cannot be decrypted; left as is");
                    report.undecryptable += 1;
                }
            }
        }
    }
}

/// Re-wraps every online client secret not yet under the vault's current key, with the same
/// compare-and-set as credentials (one row per app at most, so no batches or limit).
pub async fn rewrap_client_keys(
    online: &OnlineStore,
    vault: &Vault,
) -> Result<RewrapReport, StoreError> {
    let key_id = vault.current_key_id().to_string();
    let mut report = RewrapReport {
        key_id: key_id.clone(),
        ..RewrapReport::default()
    };
    for row in online.client_keys_sealed_elsewhere(&key_id).await? {
        let rewrapped = Uuid::parse_str(&row.key_id)
            .map_err(|_| VaultError::Malformed)
            .and_then(|id| vault.rewrap(id, &row.sealed));
        match rewrapped {
            Ok(sealed) => {
                if online.replace_sealed_client_key(&row, &sealed).await? {
                    report.rewrapped += 1;
                } else {
                    report.changed_meanwhile += 1;
                }
            }
            Err(VaultError::UnknownKey(kek)) => {
                tracing::warn!(app = %row.app, key_id = %kek,
                    "client key sealed under a master key that is not configured; left as is");
                report.unknown_key += 1;
            }
            Err(error) => {
                tracing::error!(app = %row.app, %error,
                    "client key data key cannot be decrypted; left as is");
                report.undecryptable += 1;
            }
        }
    }
    Ok(report)
}
