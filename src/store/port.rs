//! [`push_core::Store`] for [`SqlStore`]: each method hands over to the file of its area.

use super::SqlStore;
use super::error::db_error;
use async_trait::async_trait;
use push_core::SealedCredential;
use push_core::adapter::CallbackSecrets;
use push_core::store::{AuthReport, CredentialAuditEntry, CredentialStatus, JobContext};
use push_core::{
    ApiKey, ApiKeyId, App, Channel, CredentialMeta, Delivery, DeliveryId, Device,
    DeviceRegistration, IngestMessage, NewApiKey, NewCredentialVersion, ReceiptEvent, Store,
    StoreResult, StoredCredential, StoredNotification, Tenant, TenantId, Transition,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "ping"))?;
        Ok(())
    }

    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        self.create_tenant_impl(name).await
    }

    async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        self.get_tenant_impl(id).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.list_tenants_impl().await
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.create_api_key_impl(key).await
    }

    async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        self.find_api_key_impl(hash).await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKey>> {
        self.list_api_keys_impl(tenant).await
    }

    async fn revoke_api_key(&self, tenant: TenantId, key: ApiKeyId) -> StoreResult<bool> {
        self.revoke_api_key_impl(tenant, key).await
    }

    async fn create_app(&self, app: &App) -> StoreResult<()> {
        self.create_app_impl(app).await
    }

    async fn get_app(&self, id: &str) -> StoreResult<Option<App>> {
        self.get_app_impl(id).await
    }

    async fn list_apps(&self, tenant: TenantId) -> StoreResult<Vec<App>> {
        self.list_apps_impl(tenant).await
    }

    async fn update_app(&self, app: &App) -> StoreResult<()> {
        self.update_app_impl(app).await
    }

    async fn upsert_device(
        &self,
        reg: &DeviceRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<Device> {
        self.upsert_device_impl(reg, now).await
    }

    async fn get_device(&self, app: &str, device_id: &str) -> StoreResult<Option<Device>> {
        self.get_device_impl(app, device_id).await
    }

    async fn get_devices(&self, app: &str, device_ids: &[String]) -> StoreResult<Vec<Device>> {
        self.get_devices_impl(app, device_ids).await
    }

    async fn delete_device(&self, app: &str, device_id: &str) -> StoreResult<bool> {
        self.delete_device_impl(app, device_id).await
    }

    async fn deactivate_device(
        &self,
        app: &str,
        device_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.deactivate_device_impl(app, device_id, reason, now)
            .await
    }

    async fn list_user_devices(
        &self,
        app: &str,
        user_id: &str,
        include_inactive: bool,
    ) -> StoreResult<Vec<Device>> {
        self.list_user_devices_impl(app, user_id, include_inactive)
            .await
    }

    async fn insert_notification(
        &self,
        message: &IngestMessage,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.insert_notification_impl(message, now).await
    }

    async fn insert_notifications(
        &self,
        messages: &[&IngestMessage],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<bool>> {
        self.insert_notifications_impl(messages, now).await
    }

    async fn get_notification(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<Option<StoredNotification>> {
        self.get_notification_impl(app, id).await
    }

    async fn list_users_devices(&self, app: &str, user_ids: &[String]) -> StoreResult<Vec<Device>> {
        self.list_users_devices_impl(app, user_ids).await
    }

    async fn transition_deliveries(
        &self,
        moves: &[(DeliveryId, Transition)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Delivery>> {
        self.transition_deliveries_impl(moves, now).await
    }

    async fn load_job(
        &self,
        app: &str,
        deliveries: &[DeliveryId],
    ) -> StoreResult<Option<JobContext>> {
        self.load_job_impl(app, deliveries).await
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> StoreResult<usize> {
        self.insert_deliveries_impl(deliveries).await
    }

    async fn transition_delivery(
        &self,
        id: DeliveryId,
        t: &Transition,
        now: OffsetDateTime,
    ) -> StoreResult<Delivery> {
        self.transition_delivery_impl(id, t, now).await
    }

    async fn get_delivery(&self, id: DeliveryId) -> StoreResult<Option<Delivery>> {
        self.get_delivery_impl(id).await
    }

    async fn deliveries_of(&self, app: &str, notification_id: &str) -> StoreResult<Vec<Delivery>> {
        self.deliveries_of_impl(app, notification_id).await
    }

    async fn receipts_of(&self, id: DeliveryId) -> StoreResult<Vec<ReceiptEvent>> {
        self.receipts_of_impl(id).await
    }

    async fn deliveries_by_vendor_message(
        &self,
        app: &str,
        vendor_message_id: &str,
    ) -> StoreResult<Vec<Delivery>> {
        self.deliveries_by_vendor_message_impl(app, vendor_message_id)
            .await
    }

    async fn callback_secrets(&self, app: &str) -> StoreResult<Option<CallbackSecrets>> {
        self.callback_secrets_impl(app).await
    }

    async fn ensure_callback_secrets(
        &self,
        app: &str,
        candidate: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<CallbackSecrets> {
        self.ensure_callback_secrets_impl(app, candidate, now).await
    }

    async fn replace_callback_secrets(
        &self,
        app: &str,
        secrets: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.replace_callback_secrets_impl(app, secrets, now).await
    }

    async fn insert_credential(
        &self,
        c: &NewCredentialVersion,
        now: OffsetDateTime,
    ) -> StoreResult<CredentialMeta> {
        self.insert_credential_impl(c, now).await
    }

    async fn list_credentials(&self, app: &str) -> StoreResult<Vec<CredentialMeta>> {
        self.list_credentials_impl(app).await
    }

    async fn active_credential(
        &self,
        app: &str,
        channel: Channel,
    ) -> StoreResult<Option<StoredCredential>> {
        self.active_credential_impl(app, channel).await
    }

    async fn credential_version(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<Option<StoredCredential>> {
        self.credential_version_impl(app, channel, version).await
    }

    async fn list_credential_status(&self, app: &str) -> StoreResult<Vec<CredentialStatus>> {
        self.list_credential_status_impl(app).await
    }

    async fn activate_credential(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
        now: OffsetDateTime,
    ) -> StoreResult<(CredentialMeta, Option<i64>)> {
        self.activate_credential_impl(app, channel, version, now)
            .await
    }

    async fn delete_credential(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<bool> {
        self.delete_credential_impl(app, channel, version).await
    }

    async fn record_credential_auth(&self, id: Uuid, report: &AuthReport) -> StoreResult<()> {
        self.record_credential_auth_impl(id, report).await
    }

    async fn fallback_candidate(
        &self,
        app: &str,
        channel: Channel,
        failing: Uuid,
    ) -> StoreResult<Option<StoredCredential>> {
        self.fallback_candidate_impl(app, channel, failing).await
    }

    async fn fall_back_credential(
        &self,
        from: Uuid,
        to: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.fall_back_credential_impl(from, to, reason, now).await
    }

    async fn active_expiring_credentials(&self) -> StoreResult<Vec<CredentialMeta>> {
        self.active_expiring_credentials_impl().await
    }

    async fn mark_expiry_warned(&self, id: Uuid, days: i64) -> StoreResult<bool> {
        self.mark_expiry_warned_impl(id, days).await
    }

    async fn credentials_sealed_elsewhere(
        &self,
        kek_id: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<StoredCredential>> {
        self.credentials_sealed_elsewhere_impl(kek_id, after, limit)
            .await
    }

    async fn replace_sealed_credential(
        &self,
        id: Uuid,
        expected_kek_id: &str,
        sealed: &SealedCredential,
    ) -> StoreResult<bool> {
        self.replace_sealed_credential_impl(id, expected_kek_id, sealed)
            .await
    }

    async fn insert_credential_audit(&self, entry: &CredentialAuditEntry) -> StoreResult<()> {
        self.insert_credential_audit_impl(entry).await
    }

    async fn list_credential_audit(&self, app: &str) -> StoreResult<Vec<CredentialAuditEntry>> {
        self.list_credential_audit_impl(app).await
    }
}
