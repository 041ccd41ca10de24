//! Devices: one installation of an app on one phone (or one WeChat openid), with its token.

use crate::app::ApnsEnvironment;
use crate::channel::Channel;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The app it belongs to.
    pub app_id: String,
    /// Caller-chosen device id, unique within the app.
    pub device_id: String,
    /// The user signed in on the device.
    pub user_id: String,
    /// The channel that wakes it. Named `vendor` in JSON, as in the API and receipts.
    #[serde(rename = "vendor", alias = "channel")]
    pub channel: Channel,
    /// The vendor token (an openid for WeChat). `None` once the token moved to another device.
    pub token: Option<String>,
    /// For APNs tokens: which environment issued the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns_environment: Option<ApnsEnvironment>,
    /// Whether pushes go to it.
    pub status: DeviceStatus,
    /// When it last registered or refreshed its token.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// When it first registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Device {
    /// Whether deliveries should be sent to it.
    pub fn is_active(&self) -> bool {
        matches!(self.status, DeviceStatus::Active) && self.token.is_some()
    }
}

/// Whether a device receives pushes. A deactivated device keeps its row and the reason, so
/// an operator can see why, and registering again revives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Pushes go to it.
    Active,
    /// Pushes no longer go to it.
    Deactivated {
        /// Why: a vendor's answer (`Unregistered`), `token moved to device …`, an operator.
        reason: String,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// A device registration (`PUT /v1/apps/{app}/devices/{device_id}`), as the store takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRegistration {
    /// The app.
    pub app_id: String,
    /// The device id.
    pub device_id: String,
    /// The signed-in user.
    pub user_id: String,
    /// The channel.
    pub channel: Channel,
    /// The vendor token.
    pub token: String,
    /// For APNs: the token's environment.
    pub apns_environment: Option<ApnsEnvironment>,
}
