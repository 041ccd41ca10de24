//! Credential versions. Each upload is a new version (1, 2, 3… per app and channel) that
//! becomes the active one; the previous active version stays, inactive, for rollback. The
//! sealed secret (KEK id, wrapped data key, ciphertext) is stored exactly as given and read
//! only by [`SqlStore::active_credential_impl`]; listings never load it.

use super::SqlStore;
use super::error::{db_error, missing_parent, retry_on_conflict};
use super::rows::{CredentialRow, credential_columns, millis, time_of, to_json};
use push_core::{
    Channel, CredentialMeta, CredentialState, NewCredentialVersion, SealedCredential, StoreResult,
    StoredCredential,
};
use time::OffsetDateTime;

const NEXT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) + 1 FROM credentials \
     WHERE app_id = $1 AND channel = $2";
const DEACTIVATE_PREVIOUS: &str = "UPDATE credentials SET state = 'inactive' \
     WHERE app_id = $1 AND channel = $2 AND state = 'active'";
const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, app_id, channel, version, kind, \
     fingerprint, public_fields, state, not_after, created_at, activated_at, kek_id, \
     wrapped_dek, ciphertext) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9, $10, $11, $12)";
const LIST_CREDENTIALS: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials WHERE app_id = $1 ORDER BY channel, version"
);
const ACTIVE_CREDENTIAL: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", kek_id, wrapped_dek, ciphertext FROM credentials \
     WHERE app_id = $1 AND channel = $2 AND state = 'active'"
);

impl SqlStore {
    /// One transaction: number the version, retire the active one, insert the new one as
    /// active. Two concurrent uploads can pick the same number on PostgreSQL; the loser
    /// hits the unique index and is retried with the next number.
    pub(super) async fn insert_credential_impl(
        &self,
        c: &NewCredentialVersion,
        now: OffsetDateTime,
    ) -> StoreResult<CredentialMeta> {
        let what = format!("credential {} of app {}", c.id, c.app_id);
        let fail =
            |e: sqlx::Error| missing_parent(db_error(e, &what), &format!("app {}", c.app_id));
        let public_fields = to_json(&c.public_fields, &what)?;
        let now_ms = millis(now);
        let at = time_of(now_ms, &what, "created_at")?;
        retry_on_conflict(|| async {
            let mut tx = self.begin().await?;
            let version: i64 = sqlx::query_scalar(NEXT_VERSION)
                .bind(&c.app_id)
                .bind(c.channel.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(DEACTIVATE_PREVIOUS)
                .bind(&c.app_id)
                .bind(c.channel.as_str())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(INSERT_CREDENTIAL)
                .bind(c.id.to_string())
                .bind(&c.app_id)
                .bind(c.channel.as_str())
                .bind(version)
                .bind(c.kind.as_str())
                .bind(&c.fingerprint)
                .bind(&public_fields)
                .bind(c.not_after.map(millis))
                .bind(now_ms)
                .bind(&c.sealed.kek_id)
                .bind(c.sealed.wrapped_dek.as_slice())
                .bind(c.sealed.ciphertext.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            Ok(CredentialMeta {
                id: c.id,
                app_id: c.app_id.clone(),
                channel: c.channel,
                version,
                kind: c.kind,
                fingerprint: c.fingerprint.clone(),
                public_fields: c.public_fields.clone(),
                state: CredentialState::Active,
                not_after: c
                    .not_after
                    .map(|t| time_of(millis(t), &what, "not_after"))
                    .transpose()?,
                created_at: at,
                activated_at: Some(at),
            })
        })
        .await
    }

    pub(super) async fn list_credentials_impl(
        &self,
        app: &str,
    ) -> StoreResult<Vec<CredentialMeta>> {
        sqlx::query_as::<_, CredentialRow>(LIST_CREDENTIALS)
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("credentials of app {app}")))?
            .into_iter()
            .map(CredentialRow::into_meta)
            .collect()
    }

    pub(super) async fn active_credential_impl(
        &self,
        app: &str,
        channel: Channel,
    ) -> StoreResult<Option<StoredCredential>> {
        let row = sqlx::query_as::<_, ActiveRow>(ACTIVE_CREDENTIAL)
            .bind(app)
            .bind(channel.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("{channel} credential of app {app}")))?;
        row.map(ActiveRow::into_stored).transpose()
    }
}

/// A `credentials` row with its sealed secret.
#[derive(sqlx::FromRow)]
pub(super) struct ActiveRow {
    #[sqlx(flatten)]
    meta: CredentialRow,
    kek_id: String,
    wrapped_dek: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl ActiveRow {
    /// The metadata and the sealed secret.
    pub(super) fn into_stored(self) -> StoreResult<StoredCredential> {
        Ok(StoredCredential {
            meta: self.meta.into_meta()?,
            sealed: SealedCredential {
                kek_id: self.kek_id,
                wrapped_dek: self.wrapped_dek,
                ciphertext: self.ciphertext,
            },
        })
    }
}
