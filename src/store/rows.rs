//! Row decoding: the column lists, one `FromRow` struct per table, and their conversion to
//! push-core's types. Timestamps are BIGINT unix milliseconds, JSON is TEXT.
//!
//! A value the domain cannot take (an unknown channel, a malformed id, JSON that no longer
//! parses) becomes [`StoreError::Corrupt`] naming the table and column, never the value.

use super::error::corrupt;
use push_core::{
    ApiKey, ApnsEnvironment, App, Channel, CredentialKind, CredentialMeta, CredentialState,
    Delivery, DeliveryId, DeliveryState, Device, DeviceStatus, ReceiptEvent, StoreError,
    StoreResult, Tenant,
};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// `t` as unix milliseconds (sub-millisecond precision is dropped, rounding down).
pub(super) fn millis(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() * 1_000 + i64::from(t.millisecond())
}

/// `t` truncated to what the store keeps (milliseconds).
pub(super) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// The current time, truncated to milliseconds.
pub(super) fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// Reads a millisecond timestamp from `column` of `what`.
pub(super) fn time_of(ms: i64, what: &str, column: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(what, column, e))
}

/// Reads an optional millisecond timestamp.
fn opt_time_of(ms: Option<i64>, what: &str, column: &str) -> StoreResult<Option<OffsetDateTime>> {
    ms.map(|ms| time_of(ms, what, column)).transpose()
}

/// Parses `value` of `column` with `FromStr`.
fn parse<T>(value: &str, what: &str, column: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    value.parse().map_err(|e| corrupt(what, column, e))
}

/// Parses a JSON `column`.
fn json<T: serde::de::DeserializeOwned>(value: &str, what: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| corrupt(what, column, e))
}

/// Serialises a value for a JSON TEXT column.
pub(super) fn to_json<T: serde::Serialize>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("{what} cannot be written as JSON: {e}")))
}

/// Columns of `tenants`, in [`TenantRow`] order.
macro_rules! tenant_columns {
    () => {
        "id, name, created_at"
    };
}
pub(super) use tenant_columns;

/// A `tenants` row.
#[derive(sqlx::FromRow)]
pub(super) struct TenantRow {
    id: String,
    name: String,
    created_at: i64,
}

impl TenantRow {
    /// The tenant.
    pub(super) fn into_tenant(self) -> StoreResult<Tenant> {
        let what = format!("tenant {}", self.id);
        Ok(Tenant {
            id: parse(&self.id, &what, "id")?,
            name: self.name,
            created_at: time_of(self.created_at, &what, "created_at")?,
        })
    }
}

/// Columns of `api_keys` (all but the hash), in [`ApiKeyRow`] order.
macro_rules! api_key_columns {
    () => {
        "id, tenant_id, label, prefix, created_at, revoked_at"
    };
}
pub(super) use api_key_columns;

/// An `api_keys` row, without the hash.
#[derive(sqlx::FromRow)]
pub(super) struct ApiKeyRow {
    id: String,
    tenant_id: String,
    label: String,
    prefix: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl ApiKeyRow {
    /// The key.
    pub(super) fn into_key(self) -> StoreResult<ApiKey> {
        let what = format!("api key {}", self.id);
        Ok(ApiKey {
            id: parse(&self.id, &what, "id")?,
            tenant_id: parse(&self.tenant_id, &what, "tenant_id")?,
            label: self.label,
            prefix: self.prefix,
            created_at: time_of(self.created_at, &what, "created_at")?,
            revoked_at: opt_time_of(self.revoked_at, &what, "revoked_at")?,
        })
    }
}

/// Columns of `apps`, in [`AppRow`] order.
macro_rules! app_columns {
    () => {
        "id, tenant_id, name, settings, created_at, updated_at"
    };
}
pub(super) use app_columns;

/// An `apps` row.
#[derive(sqlx::FromRow)]
pub(super) struct AppRow {
    id: String,
    tenant_id: String,
    name: String,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl AppRow {
    /// The app.
    pub(super) fn into_app(self) -> StoreResult<App> {
        let what = format!("app {}", self.id);
        Ok(App {
            tenant_id: parse(&self.tenant_id, &what, "tenant_id")?,
            name: self.name,
            settings: json(&self.settings, &what, "settings")?,
            created_at: time_of(self.created_at, &what, "created_at")?,
            updated_at: time_of(self.updated_at, &what, "updated_at")?,
            id: self.id,
        })
    }
}

/// Columns of `devices`, in [`DeviceRow`] order.
macro_rules! device_columns {
    () => {
        "app_id, device_id, user_id, channel, token, apns_environment, last_seen_at, \
         created_at, deactivated_at, deactivation_reason"
    };
}
pub(super) use device_columns;

/// A `devices` row. A device is deactivated when `deactivated_at` is set.
#[derive(sqlx::FromRow)]
pub(super) struct DeviceRow {
    app_id: String,
    device_id: String,
    user_id: String,
    channel: String,
    token: Option<String>,
    apns_environment: Option<String>,
    last_seen_at: i64,
    created_at: i64,
    deactivated_at: Option<i64>,
    deactivation_reason: Option<String>,
}

impl DeviceRow {
    /// The device.
    pub(super) fn into_device(self) -> StoreResult<Device> {
        let what = format!("device {}/{}", self.app_id, self.device_id);
        let apns_environment =
            match self.apns_environment.as_deref() {
                None => None,
                Some(s) => Some(ApnsEnvironment::parse(s).ok_or_else(|| {
                    corrupt(&what, "apns_environment", "unknown APNs environment")
                })?),
            };
        let status = match self.deactivated_at {
            None => DeviceStatus::Active,
            Some(at) => DeviceStatus::Deactivated {
                reason: self.deactivation_reason.unwrap_or_default(),
                at: time_of(at, &what, "deactivated_at")?,
            },
        };
        Ok(Device {
            channel: parse::<Channel>(&self.channel, &what, "channel")?,
            last_seen_at: time_of(self.last_seen_at, &what, "last_seen_at")?,
            created_at: time_of(self.created_at, &what, "created_at")?,
            app_id: self.app_id,
            device_id: self.device_id,
            user_id: self.user_id,
            token: self.token,
            apns_environment,
            status,
        })
    }
}

/// A `deliveries` row joined with its device (`LEFT JOIN devices dv`), the device's columns
/// as `dv_<column>`: all NULL when the device is gone.
#[derive(sqlx::FromRow)]
pub(super) struct DeliveryDeviceRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    dv_device_id: Option<String>,
    dv_user_id: Option<String>,
    dv_channel: Option<String>,
    dv_token: Option<String>,
    dv_apns_environment: Option<String>,
    dv_last_seen_at: Option<i64>,
    dv_created_at: Option<i64>,
    dv_deactivated_at: Option<i64>,
    dv_deactivation_reason: Option<String>,
}

impl DeliveryDeviceRow {
    /// The delivery, and its device if it exists.
    pub(super) fn into_pair(self) -> StoreResult<(Delivery, Option<Device>)> {
        let device = match (
            self.dv_device_id,
            self.dv_user_id,
            self.dv_channel,
            self.dv_last_seen_at,
            self.dv_created_at,
        ) {
            (
                Some(device_id),
                Some(user_id),
                Some(channel),
                Some(last_seen_at),
                Some(created_at),
            ) => {
                let row = DeviceRow {
                    app_id: self.delivery.app_id.clone(),
                    device_id,
                    user_id,
                    channel,
                    token: self.dv_token,
                    apns_environment: self.dv_apns_environment,
                    last_seen_at,
                    created_at,
                    deactivated_at: self.dv_deactivated_at,
                    deactivation_reason: self.dv_deactivation_reason,
                };
                Some(row.into_device()?)
            }
            _ => None,
        };
        Ok((self.delivery.into_delivery()?, device))
    }
}

/// A notification (`n_message`, `n_accepted_at`) joined with its app's columns.
#[derive(sqlx::FromRow)]
pub(super) struct NotificationAppRow {
    /// The producer's id.
    pub(super) n_id: String,
    /// The stored message (JSON).
    pub(super) n_message: String,
    /// When it was accepted (unix ms).
    pub(super) n_accepted_at: i64,
    /// Its app.
    #[sqlx(flatten)]
    pub(super) app: AppRow,
}

/// Columns of `deliveries`, in [`DeliveryRow`] order.
macro_rules! delivery_columns {
    () => {
        "id, app_id, notification_id, device_id, channel, state, reason, vendor_message_id, \
         attempts, created_at, updated_at"
    };
}
pub(super) use delivery_columns;

/// A `deliveries` row.
#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: String,
    app_id: String,
    notification_id: String,
    device_id: String,
    channel: String,
    state: String,
    reason: Option<String>,
    vendor_message_id: Option<String>,
    attempts: i64,
    created_at: i64,
    updated_at: i64,
}

impl DeliveryRow {
    /// The delivery.
    pub(super) fn into_delivery(self) -> StoreResult<Delivery> {
        let what = format!("delivery {}", self.id);
        Ok(Delivery {
            id: parse::<DeliveryId>(&self.id, &what, "id")?,
            channel: parse::<Channel>(&self.channel, &what, "channel")?,
            state: parse::<DeliveryState>(&self.state, &what, "state")?,
            attempts: u32::try_from(self.attempts).map_err(|e| corrupt(&what, "attempts", e))?,
            created_at: time_of(self.created_at, &what, "created_at")?,
            updated_at: time_of(self.updated_at, &what, "updated_at")?,
            app_id: self.app_id,
            notification_id: self.notification_id,
            device_id: self.device_id,
            reason: self.reason,
            vendor_message_id: self.vendor_message_id,
        })
    }
}

/// Columns of `receipts` (all but the sequence number), in [`ReceiptRow`] order.
macro_rules! receipt_columns {
    () => {
        "delivery_id, app_id, notification_id, device_id, channel, state, reason, \
         vendor_message_id, recorded_at"
    };
}
pub(super) use receipt_columns;

/// A `receipts` row.
#[derive(sqlx::FromRow)]
pub(super) struct ReceiptRow {
    delivery_id: String,
    app_id: String,
    notification_id: String,
    device_id: String,
    channel: String,
    state: String,
    reason: Option<String>,
    vendor_message_id: Option<String>,
    recorded_at: i64,
}

impl ReceiptRow {
    /// The receipt event.
    pub(super) fn into_event(self) -> StoreResult<ReceiptEvent> {
        let what = format!("receipt of delivery {}", self.delivery_id);
        Ok(ReceiptEvent {
            delivery_id: parse::<DeliveryId>(&self.delivery_id, &what, "delivery_id")?,
            vendor: parse::<Channel>(&self.channel, &what, "channel")?,
            state: parse::<DeliveryState>(&self.state, &what, "state")?,
            at: time_of(self.recorded_at, &what, "recorded_at")?,
            app: self.app_id,
            notification_id: self.notification_id,
            device_id: self.device_id,
            reason: self.reason,
            vendor_message_id: self.vendor_message_id,
        })
    }
}

/// Columns of `credentials` without the sealed secret, in [`CredentialRow`] order.
macro_rules! credential_columns {
    () => {
        "id, app_id, channel, version, kind, fingerprint, public_fields, state, not_after, \
         created_at, activated_at"
    };
}
pub(super) use credential_columns;

/// A `credentials` row without the sealed secret.
#[derive(sqlx::FromRow)]
pub(super) struct CredentialRow {
    id: String,
    app_id: String,
    channel: String,
    version: i64,
    kind: String,
    fingerprint: String,
    public_fields: String,
    state: String,
    not_after: Option<i64>,
    created_at: i64,
    activated_at: Option<i64>,
}

impl CredentialRow {
    /// The credential's metadata.
    pub(super) fn into_meta(self) -> StoreResult<CredentialMeta> {
        let what = format!("credential {}", self.id);
        let public_fields: BTreeMap<String, String> =
            json(&self.public_fields, &what, "public_fields")?;
        let state = match self.state.as_str() {
            "active" => CredentialState::Active,
            "inactive" => CredentialState::Inactive,
            _ => return Err(corrupt(&what, "state", "unknown credential state")),
        };
        Ok(CredentialMeta {
            id: parse::<Uuid>(&self.id, &what, "id")?,
            channel: parse::<Channel>(&self.channel, &what, "channel")?,
            kind: CredentialKind::parse(&self.kind)
                .ok_or_else(|| corrupt(&what, "kind", "unknown credential kind"))?,
            not_after: opt_time_of(self.not_after, &what, "not_after")?,
            created_at: time_of(self.created_at, &what, "created_at")?,
            activated_at: opt_time_of(self.activated_at, &what, "activated_at")?,
            app_id: self.app_id,
            version: self.version,
            fingerprint: self.fingerprint,
            public_fields,
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_and_truncate() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(millis(t), 1_700_000_000_123);
        assert_eq!(time_of(millis(t), "x", "y").unwrap(), truncate(t));
        let before_epoch = OffsetDateTime::from_unix_timestamp_nanos(-1_500_000).unwrap();
        assert_eq!(millis(before_epoch), -2);
        assert_eq!(
            time_of(millis(before_epoch), "x", "y").unwrap(),
            truncate(before_epoch)
        );
    }
}
