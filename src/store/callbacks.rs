//! What receipt callbacks need: an app's callback secrets (path token, signing keys), and the
//! deliveries a vendor message id names.

use super::SqlStore;
use super::error::{db_error, missing_parent};
use super::rows::{DeliveryRow, delivery_columns, millis};
use push_core::adapter::CallbackSecrets;
use push_core::{Delivery, Secret, StoreError, StoreResult};
use time::OffsetDateTime;

const INSERT_SECRETS: &str = "INSERT INTO callback_tokens (app_id, token, aes_key, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (app_id) DO NOTHING";
const GET_SECRETS: &str = "SELECT token, aes_key FROM callback_tokens WHERE app_id = $1";
const REPLACE_SECRETS: &str = "INSERT INTO callback_tokens (app_id, token, aes_key, created_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (app_id) DO UPDATE SET token = $2, aes_key = $3, created_at = $4";
const BY_VENDOR_MESSAGE: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE app_id = $1 AND vendor_message_id = $2 ORDER BY device_id"
);

impl SqlStore {
    pub(super) async fn callback_secrets_impl(
        &self,
        app: &str,
    ) -> StoreResult<Option<CallbackSecrets>> {
        let row = sqlx::query_as::<_, (String, String)>(GET_SECRETS)
            .bind(app)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("callback secrets of app {app}")))?;
        Ok(row.map(|(token, aes_key)| CallbackSecrets {
            token: Secret::new(token),
            aes_key: Secret::new(aes_key),
        }))
    }

    pub(super) async fn ensure_callback_secrets_impl(
        &self,
        app: &str,
        candidate: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<CallbackSecrets> {
        self.write_callback_secrets(INSERT_SECRETS, app, candidate, now)
            .await?;
        // Whoever inserted first wins; every caller answers the stored ones.
        self.callback_secrets_impl(app)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("app {app}")))
    }

    pub(super) async fn replace_callback_secrets_impl(
        &self,
        app: &str,
        secrets: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write_callback_secrets(REPLACE_SECRETS, app, secrets, now)
            .await
    }

    async fn write_callback_secrets(
        &self,
        sql: &'static str,
        app: &str,
        secrets: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let what = format!("callback secrets of app {app}");
        sqlx::query(sql)
            .bind(app)
            .bind(secrets.token.expose())
            .bind(secrets.aes_key.expose())
            .bind(millis(now))
            .execute(&self.pool)
            .await
            .map_err(|e| missing_parent(db_error(e, &what), &format!("app {app}")))?;
        Ok(())
    }

    pub(super) async fn deliveries_by_vendor_message_impl(
        &self,
        app: &str,
        vendor_message_id: &str,
    ) -> StoreResult<Vec<Delivery>> {
        sqlx::query_as::<_, DeliveryRow>(BY_VENDOR_MESSAGE)
            .bind(app)
            .bind(vendor_message_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("deliveries of vendor message of app {app}")))?
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect()
    }
}
