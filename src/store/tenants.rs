//! Tenants and their API keys. Keys are stored by hash only; a revoked key stays listed
//! but is no longer found by its hash.

use super::SqlStore;
use super::error::{db_error, missing_parent};
use super::rows::{ApiKeyRow, TenantRow, api_key_columns, millis, now, tenant_columns};
use push_core::{ApiKey, ApiKeyId, NewApiKey, StoreResult, Tenant, TenantId};

const INSERT_TENANT: &str = "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)";
const GET_TENANT: &str = concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1");
const LIST_TENANTS: &str = concat!(
    "SELECT ",
    tenant_columns!(),
    " FROM tenants ORDER BY created_at, id"
);

const INSERT_API_KEY: &str = "INSERT INTO api_keys \
     (id, tenant_id, label, prefix, hash, created_at, revoked_at) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL)";
/// The live API key with a hash: every REST call of a tenant asks, so a pipeline
/// statement (kept plan; one probe of the unique hash index).
pub(super) const FIND_API_KEY: &str = concat!(
    "SELECT ",
    api_key_columns!(),
    " FROM api_keys WHERE hash = $1 AND revoked_at IS NULL"
);
const LIST_API_KEYS: &str = concat!(
    "SELECT ",
    api_key_columns!(),
    " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"
);
const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = $3 \
     WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL";

impl SqlStore {
    pub(super) async fn create_tenant_impl(&self, name: &str) -> StoreResult<Tenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            name: name.to_string(),
            created_at: now(),
        };
        sqlx::query(INSERT_TENANT)
            .bind(tenant.id.to_string())
            .bind(&tenant.name)
            .bind(millis(tenant.created_at))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("tenant {}", tenant.id)))?;
        Ok(tenant)
    }

    pub(super) async fn get_tenant_impl(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        sqlx::query_as::<_, TenantRow>(GET_TENANT)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("tenant {id}")))?
            .map(TenantRow::into_tenant)
            .transpose()
    }

    pub(super) async fn list_tenants_impl(&self) -> StoreResult<Vec<Tenant>> {
        sqlx::query_as::<_, TenantRow>(LIST_TENANTS)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "tenants"))?
            .into_iter()
            .map(TenantRow::into_tenant)
            .collect()
    }

    pub(super) async fn create_api_key_impl(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        let stored = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: key.tenant_id,
            label: key.label,
            prefix: key.prefix,
            created_at: now(),
            revoked_at: None,
        };
        sqlx::query(INSERT_API_KEY)
            .bind(stored.id.to_string())
            .bind(stored.tenant_id.to_string())
            .bind(&stored.label)
            .bind(&stored.prefix)
            .bind(key.hash)
            .bind(millis(stored.created_at))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                let e = db_error(e, &format!("api key of tenant {}", stored.tenant_id));
                missing_parent(e, &format!("tenant {}", stored.tenant_id))
            })?;
        Ok(stored)
    }

    pub(super) async fn find_api_key_impl(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        sqlx::query_as::<_, ApiKeyRow>(FIND_API_KEY)
            .bind(hash)
            .fetch_optional(&self.pipeline)
            .await
            .map_err(|e| db_error(e, "api key lookup"))?
            .map(ApiKeyRow::into_key)
            .transpose()
    }

    pub(super) async fn list_api_keys_impl(&self, tenant: TenantId) -> StoreResult<Vec<ApiKey>> {
        sqlx::query_as::<_, ApiKeyRow>(LIST_API_KEYS)
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("api keys of tenant {tenant}")))?
            .into_iter()
            .map(ApiKeyRow::into_key)
            .collect()
    }

    pub(super) async fn revoke_api_key_impl(
        &self,
        tenant: TenantId,
        key: ApiKeyId,
    ) -> StoreResult<bool> {
        let done = sqlx::query(REVOKE_API_KEY)
            .bind(key.to_string())
            .bind(tenant.to_string())
            .bind(millis(now()))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("api key {key}")))?;
        Ok(done.rows_affected() == 1)
    }
}
