//! Apps. An app id is global (the ingest contract names apps without a tenant), so a
//! second app with a taken id is a `Conflict` whichever tenant owns the first. Settings are
//! kept as JSON text.

use super::SqlStore;
use super::error::{db_error, missing_parent};
use super::rows::{AppRow, app_columns, millis, to_json};
use push_core::{App, StoreError, StoreResult, TenantId};

const INSERT_APP: &str = "INSERT INTO apps (id, tenant_id, name, settings, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
/// An app by id: asked for by every REST call and ingest batch, so a pipeline statement
/// (kept plan; one primary-key probe).
pub(super) const GET_APP: &str = concat!("SELECT ", app_columns!(), " FROM apps WHERE id = $1");
const LIST_APPS: &str = concat!(
    "SELECT ",
    app_columns!(),
    " FROM apps WHERE tenant_id = $1 ORDER BY id"
);
const UPDATE_APP: &str = "UPDATE apps SET name = $3, settings = $4, updated_at = $5 \
     WHERE id = $1 AND tenant_id = $2";

impl SqlStore {
    pub(super) async fn create_app_impl(&self, app: &App) -> StoreResult<()> {
        let what = format!("app {}", app.id);
        sqlx::query(INSERT_APP)
            .bind(&app.id)
            .bind(app.tenant_id.to_string())
            .bind(&app.name)
            .bind(to_json(&app.settings, &what)?)
            .bind(millis(app.created_at))
            .bind(millis(app.updated_at))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                missing_parent(db_error(e, &what), &format!("tenant {}", app.tenant_id))
            })?;
        Ok(())
    }

    pub(super) async fn get_app_impl(&self, id: &str) -> StoreResult<Option<App>> {
        sqlx::query_as::<_, AppRow>(GET_APP)
            .bind(id)
            .fetch_optional(&self.pipeline)
            .await
            .map_err(|e| db_error(e, &format!("app {id}")))?
            .map(AppRow::into_app)
            .transpose()
    }

    pub(super) async fn list_apps_impl(&self, tenant: TenantId) -> StoreResult<Vec<App>> {
        sqlx::query_as::<_, AppRow>(LIST_APPS)
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("apps of tenant {tenant}")))?
            .into_iter()
            .map(AppRow::into_app)
            .collect()
    }

    /// Saves name, settings and `updated_at`. The app must belong to `app.tenant_id`; an
    /// app of another tenant is `NotFound`, like a missing one.
    pub(super) async fn update_app_impl(&self, app: &App) -> StoreResult<()> {
        let what = format!("app {}", app.id);
        let done = sqlx::query(UPDATE_APP)
            .bind(&app.id)
            .bind(app.tenant_id.to_string())
            .bind(&app.name)
            .bind(to_json(&app.settings, &what)?)
            .bind(millis(app.updated_at))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &what))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(what));
        }
        Ok(())
    }
}
