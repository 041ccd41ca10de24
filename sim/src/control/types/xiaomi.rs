//! Control API types of the Xiaomi MiPush simulator: apps (AppSecret, packages, channels,
//! templates, quotas), registration ids, receipt URLs and posted receipts.

use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn default_public_quota() -> u64 {
    10_000
}

fn default_public_per_device() -> u64 {
    5
}

/// A private-message template of an app: its id and how many variables it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiTemplateSpec {
    /// The template id (`extra.template_id`).
    pub id: String,
    /// Number of variables `extra.template_param` must carry (1–9).
    pub params: usize,
}

/// Registers (or replaces) a Xiaomi app (`POST /xiaomi/apps`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiAppSpec {
    /// The numeric AppID (appears in errors only).
    pub app_id: String,
    /// The AppSecret: `Authorization: key=<app_secret>`.
    pub app_secret: String,
    /// Android packages of the app (`restricted_package_name`); another package → `22022`.
    pub package_names: Vec<String>,
    /// Approved private-message channel ids (私信).
    #[serde(default)]
    pub private_channels: Vec<String>,
    /// Public-message channel ids (公信).
    #[serde(default)]
    pub public_channels: Vec<String>,
    /// The app switched to the "new full classification": a `channel_id` that is none of its
    /// channels gets `27001`. Default true.
    #[serde(default = "yes")]
    pub full_classification: bool,
    /// Private messages must carry `extra.template_id` of one of `templates`.
    #[serde(default)]
    pub templates_required: bool,
    /// The app's approved templates.
    #[serde(default)]
    pub templates: Vec<XiaomiTemplateSpec>,
    /// Public messages per day for the app (per China day); beyond it they are discarded
    /// with receipt type 128. Default 10,000.
    #[serde(default = "default_public_quota")]
    pub public_daily_quota: u64,
    /// Public messages per device per day (Xiaomi: 5, news apps 8). Default 5.
    #[serde(default = "default_public_per_device")]
    pub public_per_device: u64,
    /// Send requests per China day before `10034` (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_request_limit: Option<u64>,
    /// On the blacklist: every send gets `10031`.
    #[serde(default)]
    pub blacklisted: bool,
    /// Sending forbidden: every send gets `10036`.
    #[serde(default)]
    pub forbidden: bool,
}

impl Default for XiaomiAppSpec {
    fn default() -> Self {
        XiaomiAppSpec {
            app_id: String::new(),
            app_secret: String::new(),
            package_names: Vec::new(),
            private_channels: Vec::new(),
            public_channels: Vec::new(),
            full_classification: true,
            templates_required: false,
            templates: Vec::new(),
            public_daily_quota: default_public_quota(),
            public_per_device: default_public_per_device(),
            daily_request_limit: None,
            blacklisted: false,
            forbidden: false,
        }
    }
}

/// Changes some settings of a registered app (`PUT /xiaomi/apps/{app_id}`); absent fields
/// stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiAppUpdate {
    /// See [`XiaomiAppSpec::templates_required`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates_required: Option<bool>,
    /// See [`XiaomiAppSpec::public_daily_quota`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_daily_quota: Option<u64>,
    /// See [`XiaomiAppSpec::daily_request_limit`]; `0` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_request_limit: Option<u64>,
    /// See [`XiaomiAppSpec::blacklisted`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blacklisted: Option<bool>,
    /// See [`XiaomiAppSpec::forbidden`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden: Option<bool>,
}

/// What the sim does with a registered regid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XiaomiTokenState {
    /// Accepted; receipt type 1 (or `receipt_type`).
    #[default]
    Active,
    /// App uninstalled / regid stale: refused at send time (`data.bad_regids`, or `20301`
    /// "No valid targets!" when every regid of the request is bad).
    Uninstalled,
    /// Accepted, but the device has notifications off: receipt type 32.
    NotificationsOff,
}

/// Registers or updates a Xiaomi regid (`POST /xiaomi/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiTokenSpec {
    /// The package the regid belongs to (sent with another package it is a bad regid).
    pub package_name: String,
    /// The registration id (Base64-like, may hold `+ / =`).
    pub regid: String,
    /// New state (default `active`).
    #[serde(default)]
    pub state: XiaomiTokenState,
    /// For an `active` regid: the receipt type to report instead of 1 (16, 32, 64, 128, 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_type: Option<u32>,
    /// The user opens the notification: a type-2 receipt follows the delivery.
    #[serde(default)]
    pub clicked: bool,
}

/// The receipt URL registered for an app in the console (`POST /xiaomi/callbacks`), used
/// for messages without `extra.callback`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiCallbackSpec {
    /// The app.
    pub app_id: String,
    /// The callback URL (`http` or `https`; https must be trusted by the dev CA or the
    /// public roots).
    pub url: String,
}

/// One receipt POST the sim made (or tried to), `GET /xiaomi/receipts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XiaomiReceiptPost {
    /// The callback URL.
    pub url: String,
    /// The decoded `data` field: message id → receipt (`param`, `type`, `targets`, `jobkey`,
    /// `barStatus`, `timestamp`).
    pub data: serde_json::Value,
    /// POST attempts made (up to 3).
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: connection failed).
    pub http_status: Option<u16>,
    /// The callback answered 2xx.
    pub delivered: bool,
}

/// Receipt timing (`PUT /xiaomi/receipts/settings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiReceiptSettings {
    /// Receipts are collected this long and posted together (Xiaomi: about a second).
    pub batch_ms: u64,
}

impl Default for XiaomiReceiptSettings {
    fn default() -> Self {
        XiaomiReceiptSettings { batch_ms: 1000 }
    }
}
