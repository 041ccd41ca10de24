//! Credential versions after upload: read one, list them with their health, activate one
//! (restore or roll forward), delete an inactive one, and the automatic fallback from a
//! refused version to the one active before it. Activation is one transaction that retires
//! the active version first, so the partial unique index (one active version per app and
//! channel) holds at every moment; a lost race on PostgreSQL is retried.

use super::SqlStore;
use super::credentials::ActiveRow;
use super::error::{db_error, retry_on_conflict};
use super::rows::{CredentialRow, credential_columns, millis, time_of};
use push_core::store::{CredentialHealth, CredentialStatus};
use push_core::{Channel, CredentialMeta, StoreError, StoreResult, StoredCredential};
use time::OffsetDateTime;
use uuid::Uuid;

const VERSION: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", kek_id, wrapped_dek, ciphertext FROM credentials \
     WHERE app_id = $1 AND channel = $2 AND version = $3"
);
const LIST_STATUS: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", last_success_at, last_failure_at, last_failure_reason, unhealthy_at, unhealthy_reason \
     FROM credentials WHERE app_id = $1 ORDER BY channel, version"
);
const ONE_META: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials WHERE app_id = $1 AND channel = $2 AND version = $3"
);
const ACTIVE_VERSION: &str =
    "SELECT version FROM credentials WHERE app_id = $1 AND channel = $2 AND state = 'active'";
const RETIRE_OTHERS: &str = "UPDATE credentials SET state = 'inactive' \
     WHERE app_id = $1 AND channel = $2 AND state = 'active' AND version <> $3";
const ACTIVATE: &str = "UPDATE credentials SET \
     activated_at = CASE WHEN state = 'active' THEN activated_at ELSE $4 END, \
     state = 'active', unhealthy_at = NULL, unhealthy_reason = NULL \
     WHERE app_id = $1 AND channel = $2 AND version = $3";
const DELETE_INACTIVE: &str = "DELETE FROM credentials \
     WHERE app_id = $1 AND channel = $2 AND version = $3 AND state = 'inactive'";
const EXISTS: &str =
    "SELECT COUNT(*) FROM credentials WHERE app_id = $1 AND channel = $2 AND version = $3";
const FALLBACK_CANDIDATE: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", kek_id, wrapped_dek, ciphertext FROM credentials \
     WHERE app_id = $1 AND channel = $2 AND state = 'inactive' AND unhealthy_at IS NULL \
     AND activated_at IS NOT NULL AND id <> $3 ORDER BY activated_at DESC, version DESC LIMIT 1"
);
const RETIRE_FAILING: &str = "UPDATE credentials SET state = 'inactive', unhealthy_at = $2, \
     unhealthy_reason = $3 WHERE id = $1 AND state = 'active'";
const ACTIVATE_FALLBACK: &str = "UPDATE credentials SET state = 'active', activated_at = $3 \
     WHERE id = $2 AND state = 'inactive' \
     AND app_id = (SELECT app_id FROM credentials WHERE id = $1) \
     AND channel = (SELECT channel FROM credentials WHERE id = $1)";

impl SqlStore {
    pub(super) async fn credential_version_impl(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<Option<StoredCredential>> {
        sqlx::query_as::<_, ActiveRow>(VERSION)
            .bind(app)
            .bind(channel.as_str())
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("{channel} credential v{version} of app {app}")))?
            .map(ActiveRow::into_stored)
            .transpose()
    }

    pub(super) async fn list_credential_status_impl(
        &self,
        app: &str,
    ) -> StoreResult<Vec<CredentialStatus>> {
        sqlx::query_as::<_, StatusRow>(LIST_STATUS)
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("credentials of app {app}")))?
            .into_iter()
            .map(StatusRow::into_status)
            .collect()
    }

    pub(super) async fn activate_credential_impl(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
        now: OffsetDateTime,
    ) -> StoreResult<(CredentialMeta, Option<i64>)> {
        let what = format!("{channel} credential v{version} of app {app}");
        let fail = |e: sqlx::Error| db_error(e, &what);
        retry_on_conflict(|| async {
            let mut tx = self.begin().await?;
            let previous: Option<i64> = sqlx::query_scalar(ACTIVE_VERSION)
                .bind(app)
                .bind(channel.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(RETIRE_OTHERS)
                .bind(app)
                .bind(channel.as_str())
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            let done = sqlx::query(ACTIVATE)
                .bind(app)
                .bind(channel.as_str())
                .bind(version)
                .bind(millis(now))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(what.clone()));
            }
            let meta = sqlx::query_as::<_, CredentialRow>(ONE_META)
                .bind(app)
                .bind(channel.as_str())
                .bind(version)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .into_meta()?;
            tx.commit().await.map_err(fail)?;
            Ok((meta, previous))
        })
        .await
    }

    pub(super) async fn delete_credential_impl(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<bool> {
        let what = format!("{channel} credential v{version} of app {app}");
        let deleted = sqlx::query(DELETE_INACTIVE)
            .bind(app)
            .bind(channel.as_str())
            .bind(version)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &what))?;
        if deleted.rows_affected() > 0 {
            return Ok(true);
        }
        let left: i64 = sqlx::query_scalar(EXISTS)
            .bind(app)
            .bind(channel.as_str())
            .bind(version)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, &what))?;
        if left > 0 {
            return Err(StoreError::Conflict(format!(
                "{what} is the active version; activate another version before deleting it"
            )));
        }
        Ok(false)
    }

    pub(super) async fn fallback_candidate_impl(
        &self,
        app: &str,
        channel: Channel,
        failing: Uuid,
    ) -> StoreResult<Option<StoredCredential>> {
        sqlx::query_as::<_, ActiveRow>(FALLBACK_CANDIDATE)
            .bind(app)
            .bind(channel.as_str())
            .bind(failing.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("fallback {channel} credential of app {app}")))?
            .map(ActiveRow::into_stored)
            .transpose()
    }

    pub(super) async fn fall_back_credential_impl(
        &self,
        from: Uuid,
        to: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let what = format!("fallback from credential {from} to {to}");
        let fail = |e: sqlx::Error| db_error(e, &what);
        retry_on_conflict(|| async {
            let mut tx = self.begin().await?;
            let retired = sqlx::query(RETIRE_FAILING)
                .bind(from.to_string())
                .bind(millis(now))
                .bind(reason)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if retired.rows_affected() == 0 {
                return Ok(false);
            }
            let activated = sqlx::query(ACTIVATE_FALLBACK)
                .bind(from.to_string())
                .bind(to.to_string())
                .bind(millis(now))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if activated.rows_affected() == 0 {
                return Ok(false);
            }
            tx.commit().await.map_err(fail)?;
            Ok(true)
        })
        .await
    }
}

/// A `credentials` row with its health columns.
#[derive(sqlx::FromRow)]
struct StatusRow {
    #[sqlx(flatten)]
    meta: CredentialRow,
    last_success_at: Option<i64>,
    last_failure_at: Option<i64>,
    last_failure_reason: Option<String>,
    unhealthy_at: Option<i64>,
    unhealthy_reason: Option<String>,
}

impl StatusRow {
    fn into_status(self) -> StoreResult<CredentialStatus> {
        let meta = self.meta.into_meta()?;
        let what = format!("credential {}", meta.id);
        let at =
            |ms: Option<i64>, column: &str| ms.map(|ms| time_of(ms, &what, column)).transpose();
        let health = CredentialHealth {
            last_success_at: at(self.last_success_at, "last_success_at")?,
            last_failure_at: at(self.last_failure_at, "last_failure_at")?,
            last_failure_reason: self.last_failure_reason,
            unhealthy_at: at(self.unhealthy_at, "unhealthy_at")?,
            unhealthy_reason: self.unhealthy_reason,
        };
        Ok(CredentialStatus { meta, health })
    }
}
