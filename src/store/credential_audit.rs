//! The credential audit log: who uploaded, activated, rolled back or deleted which version
//! of which app's credential, and when. Append-only; read per app, oldest first.

use super::SqlStore;
use super::error::{corrupt, db_error, missing_parent};
use super::rows::{millis, time_of};
use push_core::store::{CredentialAction, CredentialAuditEntry};
use push_core::{ApiKeyId, Channel, StoreResult, TenantId};
use uuid::Uuid;

const INSERT: &str = "INSERT INTO credential_audit (id, tenant_id, api_key_id, app_id, channel, \
     version, action, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const LIST: &str = "SELECT id, tenant_id, api_key_id, app_id, channel, version, action, at \
     FROM credential_audit WHERE app_id = $1 ORDER BY at, id";

impl SqlStore {
    pub(super) async fn insert_credential_audit_impl(
        &self,
        e: &CredentialAuditEntry,
    ) -> StoreResult<()> {
        sqlx::query(INSERT)
            .bind(e.id.to_string())
            .bind(e.tenant_id.to_string())
            .bind(e.api_key_id.map(|k| k.to_string()))
            .bind(&e.app_id)
            .bind(e.channel.as_str())
            .bind(e.version)
            .bind(e.action.as_str())
            .bind(millis(e.at))
            .execute(&self.pool)
            .await
            .map_err(|err| {
                let what = format!("audit entry of app {}", e.app_id);
                missing_parent(db_error(err, &what), &format!("app {}", e.app_id))
            })?;
        Ok(())
    }

    pub(super) async fn list_credential_audit_impl(
        &self,
        app: &str,
    ) -> StoreResult<Vec<CredentialAuditEntry>> {
        sqlx::query_as::<_, AuditRow>(LIST)
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("credential audit of app {app}")))?
            .into_iter()
            .map(AuditRow::into_entry)
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    tenant_id: String,
    api_key_id: Option<String>,
    app_id: String,
    channel: String,
    version: i64,
    action: String,
    at: i64,
}

impl AuditRow {
    fn into_entry(self) -> StoreResult<CredentialAuditEntry> {
        let what = format!("credential audit entry {}", self.id);
        let bad = |column: &str| corrupt(&what, column, "unparseable value");
        Ok(CredentialAuditEntry {
            id: self.id.parse::<Uuid>().map_err(|_| bad("id"))?,
            tenant_id: self
                .tenant_id
                .parse::<TenantId>()
                .map_err(|_| bad("tenant_id"))?,
            api_key_id: self
                .api_key_id
                .map(|k| k.parse::<ApiKeyId>().map_err(|_| bad("api_key_id")))
                .transpose()?,
            channel: self
                .channel
                .parse::<Channel>()
                .map_err(|_| bad("channel"))?,
            action: CredentialAction::parse(&self.action).ok_or_else(|| bad("action"))?,
            at: time_of(self.at, &what, "at")?,
            app_id: self.app_id,
            version: self.version,
        })
    }
}
