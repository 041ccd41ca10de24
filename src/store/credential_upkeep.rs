//! Background upkeep of stored credentials: the vendor's verdicts on each version's auth,
//! the expiry warnings of certificates (raised once per threshold across instances), and
//! the batches of a master-key rewrap (compare-and-set on the key id, so a rewrap can be
//! interrupted and resumed at any row).

use super::SqlStore;
use super::credentials::ActiveRow;
use super::error::db_error;
use super::rows::{CredentialRow, credential_columns, millis};
use push_core::store::AuthReport;
use push_core::{CredentialMeta, SealedCredential, StoreResult, StoredCredential};
use uuid::Uuid;

const RECORD_SUCCESS: &str = "UPDATE credentials SET last_success_at = $2 \
     WHERE id = $1 AND (last_success_at IS NULL OR last_success_at < $2)";
const RECORD_FAILURE: &str = "UPDATE credentials SET last_failure_at = $2, \
     last_failure_reason = $3 \
     WHERE id = $1 AND (last_failure_at IS NULL OR last_failure_at < $2)";
const ACTIVE_EXPIRING: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials WHERE state = 'active' AND not_after IS NOT NULL \
     ORDER BY app_id, channel"
);
const MARK_WARNED: &str = "UPDATE credentials SET expiry_warned_days = $2 \
     WHERE id = $1 AND (expiry_warned_days IS NULL OR expiry_warned_days > $2)";
const SEALED_ELSEWHERE: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", kek_id, wrapped_dek, ciphertext FROM credentials \
     WHERE kek_id <> $1 AND id > $2 ORDER BY id LIMIT $3"
);
const REPLACE_SEALED: &str = "UPDATE credentials SET kek_id = $3, wrapped_dek = $4, \
     ciphertext = $5 WHERE id = $1 AND kek_id = $2";

/// Longest failure reason kept (vendor reasons are short; this bounds a chatty one).
const MAX_REASON_CHARS: usize = 500;

impl SqlStore {
    pub(super) async fn record_credential_auth_impl(
        &self,
        id: Uuid,
        report: &AuthReport,
    ) -> StoreResult<()> {
        let what = format!("health of credential {id}");
        if let Some(at) = report.success_at {
            sqlx::query(RECORD_SUCCESS)
                .bind(id.to_string())
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(|e| db_error(e, &what))?;
        }
        if let Some((at, reason)) = &report.failure {
            let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
            sqlx::query(RECORD_FAILURE)
                .bind(id.to_string())
                .bind(millis(*at))
                .bind(reason)
                .execute(&self.pool)
                .await
                .map_err(|e| db_error(e, &what))?;
        }
        Ok(())
    }

    pub(super) async fn active_expiring_credentials_impl(
        &self,
    ) -> StoreResult<Vec<CredentialMeta>> {
        sqlx::query_as::<_, CredentialRow>(ACTIVE_EXPIRING)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "active certificates"))?
            .into_iter()
            .map(CredentialRow::into_meta)
            .collect()
    }

    pub(super) async fn mark_expiry_warned_impl(&self, id: Uuid, days: i64) -> StoreResult<bool> {
        let done = sqlx::query(MARK_WARNED)
            .bind(id.to_string())
            .bind(days)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("expiry warning of credential {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn credentials_sealed_elsewhere_impl(
        &self,
        kek_id: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<StoredCredential>> {
        // Every id (a UUID as text) sorts after the empty string.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        sqlx::query_as::<_, ActiveRow>(SEALED_ELSEWHERE)
            .bind(kek_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "credentials to rewrap"))?
            .into_iter()
            .map(ActiveRow::into_stored)
            .collect()
    }

    pub(super) async fn replace_sealed_credential_impl(
        &self,
        id: Uuid,
        expected_kek_id: &str,
        sealed: &SealedCredential,
    ) -> StoreResult<bool> {
        let done = sqlx::query(REPLACE_SEALED)
            .bind(id.to_string())
            .bind(expected_kek_id)
            .bind(&sealed.kek_id)
            .bind(sealed.wrapped_dek.as_slice())
            .bind(sealed.ciphertext.as_slice())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("sealed secret of credential {id}")))?;
        Ok(done.rows_affected() > 0)
    }
}
