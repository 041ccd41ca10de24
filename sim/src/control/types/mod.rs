//! The plain serde types of the control API: the JSON bodies of the HTTP control API and the
//! arguments and results of the in-process [`Control`](crate::Control) handle are the same types.

mod apns;
mod faults;
mod fcm;
mod honor;
mod huawei;
mod log;
mod oppo;
mod vivo;
mod wechat;
mod xiaomi;

pub use apns::*;
pub use faults::*;
pub use fcm::*;
#[allow(unused_imports)] // the module fills in with its vendor
pub use honor::*;
pub use huawei::*;
pub use log::*;
#[allow(unused_imports)] // the module fills in with its vendor
pub use oppo::*;
#[allow(unused_imports)] // the module fills in with its vendor
pub use vivo::*;
#[allow(unused_imports)] // the module fills in with its vendor
pub use wechat::*;
#[allow(unused_imports)] // the module fills in with its vendor
pub use xiaomi::*;

use serde::{Deserialize, Serialize};

/// A simulated vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Apple Push Notification service (both personalities).
    Apns,
    /// Firebase Cloud Messaging HTTP v1 (send endpoint and OAuth2 token endpoint).
    Fcm,
    /// Huawei Push Kit (v1/v2 send endpoint and the OAuth 2.0 client-credentials endpoint).
    Huawei,
    /// Xiaomi MiPush.
    Xiaomi,
    /// OPPO push.
    Oppo,
    /// vivo push.
    Vivo,
    /// Honor Push.
    Honor,
    /// WeChat (official account + mini program).
    Wechat,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 8] = [
        Vendor::Apns,
        Vendor::Fcm,
        Vendor::Huawei,
        Vendor::Xiaomi,
        Vendor::Oppo,
        Vendor::Vivo,
        Vendor::Honor,
        Vendor::Wechat,
    ];
}

impl Vendor {
    /// The vendor's name as used in URLs and JSON (`apns`, `fcm`, `huawei`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Apns => "apns",
            Vendor::Fcm => "fcm",
            Vendor::Huawei => "huawei",
            Vendor::Xiaomi => "xiaomi",
            Vendor::Oppo => "oppo",
            Vendor::Vivo => "vivo",
            Vendor::Honor => "honor",
            Vendor::Wechat => "wechat",
        }
    }
}

/// A request budget per time window; the request after `max_requests` in a window gets 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// Window length in seconds (fixed windows on the sim clock).
    pub window_secs: u64,
}

/// Runtime settings (`GET /settings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Accept well-formed tokens nobody registered (APNs: for any topic the credential may
    /// push to; FCM: for the caller's project). `false`: APNs `BadDeviceToken`, FCM
    /// `INVALID_ARGUMENT` ("not a valid FCM registration token").
    pub accept_unknown_tokens: bool,
    /// `expires_in` of issued FCM access tokens (Google: 3599).
    pub fcm_access_token_ttl_secs: u64,
    /// FCM messages per project per minute before 429 `QUOTA_EXCEEDED` (`None`: unlimited;
    /// Google's default is 600,000).
    pub fcm_project_quota_per_minute: Option<u64>,
    /// FCM messages per device (registration token) per minute before 429 `QUOTA_EXCEEDED`,
    /// for every token without an explicit `throttle` (`None`: unlimited; Google's limit,
    /// and the default, is 240).
    pub fcm_device_per_minute: Option<u32>,
    /// `expires_in` of issued Huawei access tokens (Huawei: 3600).
    pub huawei_access_token_ttl_secs: u64,
    /// Whether Honor holds messages sent 00:00–06:00 Beijing time on the sim clock and posts
    /// their receipts at 06:00 (honor.md §5; default true). Tests that need receipts at once
    /// whatever the hour turn it off.
    #[serde(default = "default_true")]
    pub honor_night_hold: bool,
}

fn default_true() -> bool {
    true
}

/// A partial update of [`Settings`] (`PUT /settings`); absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// See [`Settings::accept_unknown_tokens`].
    #[serde(default)]
    pub accept_unknown_tokens: Option<bool>,
    /// See [`Settings::fcm_access_token_ttl_secs`].
    #[serde(default)]
    pub fcm_access_token_ttl_secs: Option<u64>,
    /// See [`Settings::fcm_project_quota_per_minute`]; `0` removes the quota.
    #[serde(default)]
    pub fcm_project_quota_per_minute: Option<u64>,
    /// See [`Settings::fcm_device_per_minute`]; `0` removes the limit.
    #[serde(default)]
    pub fcm_device_per_minute: Option<u32>,
    /// See [`Settings::huawei_access_token_ttl_secs`].
    #[serde(default)]
    pub huawei_access_token_ttl_secs: Option<u64>,
    /// See [`Settings::honor_night_hold`].
    #[serde(default)]
    pub honor_night_hold: Option<bool>,
}

/// Moves the sim clock (`POST /clock/shift`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockShift {
    /// Seconds to add to the clock (negative moves it back).
    pub seconds: i64,
}

/// The sim clock (`GET /clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The sim's now, Unix milliseconds.
    pub now_ms: i64,
    /// How far the sim clock is ahead of the host clock, in milliseconds.
    pub offset_ms: i64,
}

/// A rejected control operation; the HTTP control API answers it as 400 `{"error": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ControlError {
    /// What was wrong.
    pub error: String,
}

impl ControlError {
    /// A control error with this message.
    pub fn new(error: impl Into<String>) -> Self {
        ControlError {
            error: error.into(),
        }
    }
}
