//! The storage port: everything pushgate keeps, behind one object-safe trait.
//!
//! Two backends implement it (PostgreSQL and SQLite, in the `pushgate` crate) and pass
//! one shared conformance suite. Rules every implementation keeps:
//! - app ids, device ids and user ids are compared exactly (case-sensitive);
//! - a state change of a delivery and its receipt row are written in one transaction, and
//!   only if the state machine of [`crate::DeliveryState`] allows it;
//! - secrets reach the store only sealed ([`crate::SealedCredential`]).

use crate::adapter::CallbackSecrets;
use crate::app::App;
use crate::channel::Channel;
use crate::credential::{CredentialMeta, NewCredentialVersion, SealedCredential};
use crate::delivery::{Delivery, DeliveryState, Transition};
use crate::device::{Device, DeviceRegistration};
use crate::ids::{ApiKeyId, DeliveryId, TenantId};
use crate::notification::IngestMessage;
use crate::receipt::ReceiptEvent;
use crate::tenant::{ApiKey, NewApiKey, Tenant};
use async_trait::async_trait;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

mod lifecycle;

pub use lifecycle::{
    AuthReport, CredentialAction, CredentialAuditEntry, CredentialHealth, CredentialStatus,
};

/// What went wrong in the store, grouped by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing addressed does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// It exists already (a unique id was taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A delivery state change the state machine forbids, or a stale one.
    #[error("delivery {id} is {from}; it cannot become {to}")]
    IllegalTransition {
        /// The delivery.
        id: DeliveryId,
        /// Its current state.
        from: DeliveryState,
        /// The state asked for.
        to: DeliveryState,
    },
    /// The database cannot be reached or failed; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row could not be read back (corruption or a schema mismatch).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database refused a value of the request (PostgreSQL's data exceptions, e.g. a
    /// NUL character in text): the same request fails every time, so retrying cannot help.
    #[error("the database refused a value: {0}")]
    Refused(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A stored notification: the validated ingest message and when it was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNotification {
    /// The message as accepted.
    pub message: IngestMessage,
    /// When it was accepted (ttl counts from here).
    pub accepted_at: OffsetDateTime,
}

/// What a vendor job needs from the store, read together: its app, the notifications its
/// deliveries belong to, and the deliveries, each with its device (`None` when the device
/// was deleted). One job may carry deliveries of many notifications of one app.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The app, as stored now (settings such as rate limits included).
    pub app: App,
    /// The notifications of the job's deliveries, by id.
    pub notifications: HashMap<String, StoredNotification>,
    /// The job's deliveries that exist, in the order asked for, with their devices.
    pub deliveries: Vec<(Delivery, Option<Device>)>,
}

/// The active sealed credential of an app and channel, with its metadata.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    /// Its metadata.
    pub meta: CredentialMeta,
    /// The sealed secret.
    pub sealed: SealedCredential,
}

/// Everything pushgate persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database is reachable (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Creates a tenant.
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant>;
    /// One tenant.
    async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    /// All tenants, oldest first.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// Stores a new API key (hash only). `NotFound` for an unknown tenant.
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// The unrevoked key with this hash.
    async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
    /// A tenant's keys, revoked ones included.
    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key of the tenant; false when it has no such unrevoked key.
    async fn revoke_api_key(&self, tenant: TenantId, key: ApiKeyId) -> StoreResult<bool>;

    /// Creates an app; `Conflict` when the id is taken (by any tenant).
    async fn create_app(&self, app: &App) -> StoreResult<()>;
    /// One app by id, whoever owns it.
    async fn get_app(&self, id: &str) -> StoreResult<Option<App>>;
    /// A tenant's apps, by id.
    async fn list_apps(&self, tenant: TenantId) -> StoreResult<Vec<App>>;
    /// Saves the name and settings of an existing app; `NotFound` otherwise.
    async fn update_app(&self, app: &App) -> StoreResult<()>;

    /// Registers or refreshes a device by (app, device id), reviving it if it was
    /// deactivated. A token held by another device of the app (same channel) moves to this
    /// one: the other device loses its token and is deactivated with the reason.
    async fn upsert_device(
        &self,
        reg: &DeviceRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<Device>;
    /// One device.
    async fn get_device(&self, app: &str, device_id: &str) -> StoreResult<Option<Device>>;
    /// The devices with these ids (unknown ids are left out).
    async fn get_devices(&self, app: &str, device_ids: &[String]) -> StoreResult<Vec<Device>>;
    /// Deletes a device; false when there was none.
    async fn delete_device(&self, app: &str, device_id: &str) -> StoreResult<bool>;
    /// Stops pushes to a device, keeping its row and the reason; false when there was none.
    async fn deactivate_device(
        &self,
        app: &str,
        device_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// A user's devices, by device id; only active ones unless `include_inactive`.
    async fn list_user_devices(
        &self,
        app: &str,
        user_id: &str,
        include_inactive: bool,
    ) -> StoreResult<Vec<Device>>;

    /// The active devices of several users of an app (unknown users have none), by device
    /// id; one query instead of one per user.
    async fn list_users_devices(&self, app: &str, user_ids: &[String]) -> StoreResult<Vec<Device>>;

    /// Stores a notification unless (app, id) exists; true when it was new.
    async fn insert_notification(
        &self,
        message: &IngestMessage,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Stores several notifications (of any apps), each unless its (app, id) exists, all
    /// or none; answers, in order, whether each was new. Of messages repeating an (app, id)
    /// within the call only the first can be new.
    async fn insert_notifications(
        &self,
        messages: &[&IngestMessage],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<bool>>;
    /// One notification.
    async fn get_notification(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<Option<StoredNotification>>;

    /// Stores queued deliveries with their `queued` receipts, all or none. A delivery for a
    /// (notification, device) that already has one is skipped, so a replayed ingest adds
    /// nothing; answers how many were new.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> StoreResult<usize>;
    /// Applies a state change and records its receipt atomically; `IllegalTransition` when
    /// the delivery's current state does not allow it.
    async fn transition_delivery(
        &self,
        id: DeliveryId,
        t: &Transition,
        now: OffsetDateTime,
    ) -> StoreResult<Delivery>;
    /// Applies several state changes, each with its receipt, under the same rules as
    /// [`Store::transition_delivery`]: a change is applied only when the delivery's current
    /// state allows it. A change the state machine refuses, or for an unknown delivery, is
    /// skipped, not an error. All changes of one call are written atomically. Answers the
    /// deliveries that moved, in their new state. Several changes of one delivery in one
    /// call are not supported (make one call per step).
    async fn transition_deliveries(
        &self,
        moves: &[(DeliveryId, Transition)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Delivery>>;
    /// A vendor job's app, deliveries (with their devices) and their notifications in one
    /// go; deliveries of other apps are left out. `None` when the app does not exist or
    /// none of the deliveries does.
    async fn load_job(
        &self,
        app: &str,
        deliveries: &[DeliveryId],
    ) -> StoreResult<Option<JobContext>>;
    /// One delivery.
    async fn get_delivery(&self, id: DeliveryId) -> StoreResult<Option<Delivery>>;
    /// The deliveries of a notification, by device id.
    async fn deliveries_of(&self, app: &str, notification_id: &str) -> StoreResult<Vec<Delivery>>;
    /// The receipts of a delivery, oldest first.
    async fn receipts_of(&self, id: DeliveryId) -> StoreResult<Vec<ReceiptEvent>>;
    /// The deliveries of an app the vendor accepted under `vendor_message_id` (one for a
    /// single send, many for a batch send), by device id.
    async fn deliveries_by_vendor_message(
        &self,
        app: &str,
        vendor_message_id: &str,
    ) -> StoreResult<Vec<Delivery>>;

    /// The app's callback secrets, if they were made.
    async fn callback_secrets(&self, app: &str) -> StoreResult<Option<CallbackSecrets>>;
    /// The app's callback secrets, storing `candidate` if it has none yet (the first caller
    /// wins a race; every caller gets the stored ones). `NotFound` for an unknown app.
    async fn ensure_callback_secrets(
        &self,
        app: &str,
        candidate: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<CallbackSecrets>;
    /// Replaces the app's callback secrets (rotation); the old ones stop working at once.
    async fn replace_callback_secrets(
        &self,
        app: &str,
        secrets: &CallbackSecrets,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Stores a new credential version (number = previous highest + 1) and makes it the
    /// active one; the previous active version becomes inactive.
    async fn insert_credential(
        &self,
        c: &NewCredentialVersion,
        now: OffsetDateTime,
    ) -> StoreResult<CredentialMeta>;
    /// Every version of every channel of an app, by channel then version.
    async fn list_credentials(&self, app: &str) -> StoreResult<Vec<CredentialMeta>>;
    /// The active version for an app and channel.
    async fn active_credential(
        &self,
        app: &str,
        channel: Channel,
    ) -> StoreResult<Option<StoredCredential>>;

    /// One version of an app's channel credential, with its sealed secret.
    async fn credential_version(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<Option<StoredCredential>>;
    /// Every version of every channel of an app with its health, by channel then version.
    async fn list_credential_status(&self, app: &str) -> StoreResult<Vec<CredentialStatus>>;
    /// Makes `version` the active one (the active one becomes inactive) and clears its
    /// unhealthy mark; `NotFound` when there is no such version. Activating the active
    /// version changes nothing but the mark. Answers the version and the number of the
    /// version that was active before, if any.
    async fn activate_credential(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
        now: OffsetDateTime,
    ) -> StoreResult<(CredentialMeta, Option<i64>)>;
    /// Deletes an inactive version; false when there is none, `Conflict` when it is active.
    async fn delete_credential(
        &self,
        app: &str,
        channel: Channel,
        version: i64,
    ) -> StoreResult<bool>;
    /// Records vendor verdicts on a version's auth (each only if newer than the stored one).
    async fn record_credential_auth(&self, id: Uuid, report: &AuthReport) -> StoreResult<()>;
    /// The version to fall back to when `failing` is refused: the inactive, healthy version
    /// of the same app and channel that was active most recently.
    async fn fallback_candidate(
        &self,
        app: &str,
        channel: Channel,
        failing: Uuid,
    ) -> StoreResult<Option<StoredCredential>>;
    /// Atomically, and only while `from` is the active version: marks `from` unhealthy with
    /// `reason` and activates `to`. True when this call made the switch.
    async fn fall_back_credential(
        &self,
        from: Uuid,
        to: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Every active version that has an expiry (certificates), of every app.
    async fn active_expiring_credentials(&self) -> StoreResult<Vec<CredentialMeta>>;
    /// Notes that the expiry warning for `days` (30, 7, 1, 0) was raised for a version;
    /// true only for the first caller per threshold (across instances).
    async fn mark_expiry_warned(&self, id: Uuid, days: i64) -> StoreResult<bool>;
    /// Up to `limit` sealed versions whose data key is not wrapped by `kek_id`, with ids
    /// after `after`, by id: the batches of a master-key rewrap.
    async fn credentials_sealed_elsewhere(
        &self,
        kek_id: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<StoredCredential>>;
    /// Replaces the sealed secret of a version if it is still wrapped by `expected_kek_id`;
    /// true when it was replaced.
    async fn replace_sealed_credential(
        &self,
        id: Uuid,
        expected_kek_id: &str,
        sealed: &SealedCredential,
    ) -> StoreResult<bool>;
    /// Appends to the credential audit log.
    async fn insert_credential_audit(&self, entry: &CredentialAuditEntry) -> StoreResult<()>;
    /// An app's credential audit log, oldest first.
    async fn list_credential_audit(&self, app: &str) -> StoreResult<Vec<CredentialAuditEntry>>;
}
