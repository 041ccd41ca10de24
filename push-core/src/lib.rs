//! pushgate's domain model and ports.
//!
//! Everything the rest of pushgate agrees on lives here: tenants, apps, devices, the ingest
//! message (contract 1 of DESIGN.md) and its validation, deliveries with their state machine,
//! receipt events, credential metadata and secrets, and the [`Store`] port that the SQL
//! backends implement. This crate depends on no backend, adapter or broker.

pub mod adapter;
pub mod app;
pub mod bearer;
pub mod channel;
pub mod credential;
pub mod delivery;
pub mod device;
pub mod ids;
pub mod notification;
pub mod queue;
pub mod receipt;
pub mod store;
pub mod tenant;
pub mod token_cache;
pub mod validation;

pub use app::{
    AndroidSettings, ApnsEnvironment, ApnsSettings, App, AppSettings, HonorSettings,
    HuaweiSettings, OppoSettings, RateLimit, VivoSettings, WechatSettings, XiaomiSettings,
};
pub use channel::Channel;
pub use credential::{
    CredentialKind, CredentialMeta, CredentialSecret, CredentialState, NewCredentialVersion,
    SealedCredential, Secret,
};
pub use delivery::{Delivery, DeliveryState, IllegalTransition, Transition};
pub use device::{Device, DeviceRegistration, DeviceStatus};
pub use ids::{ApiKeyId, DeliveryId, TenantId};
pub use notification::{IngestMessage, NotificationContent, Options, Priority, Target};
pub use receipt::ReceiptEvent;
pub use store::{Store, StoreError, StoreResult, StoredCredential, StoredNotification};
pub use tenant::{ApiKey, NewApiKey, Tenant};
pub use validation::{AppSource, Problem, validate_ingest};

/// The current time at millisecond precision, the precision every store keeps, so a value
/// answered right after a write equals the value read back later.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}
