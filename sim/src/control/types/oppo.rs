//! OPPO push control types: apps (AppKey + MasterSecret, channels, permissions, quotas),
//! registration ids, the sim's OPPO settings (auth-token lifetime, receipt delivery) and
//! posted receipts.

use serde::{Deserialize, Serialize};

use super::Throttle;

fn yes() -> bool {
    true
}

fn default_app_id() -> String {
    "30000001".to_string()
}

/// One console-registered notification channel of an OPPO app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoChannelSpec {
    /// The channel id (`notification.channel_id`).
    pub channel_id: String,
    /// Approved as a communication & service (private) channel: categories `IM`, `ACCOUNT`,
    /// `DEVICE_REMINDER`, `ORDER`, `TODO`, `SUBSCRIPTION` may use it. Default false (content
    /// & marketing).
    #[serde(default)]
    pub private: bool,
}

/// Registers (or replaces) an OPPO app (`POST /oppo/apps`). Auth tokens already issued stay
/// valid; daily counters are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoAppSpec {
    /// The AppKey (`app_key` of the auth request).
    pub app_key: String,
    /// The MasterSecret (input to the auth signature).
    pub master_secret: String,
    /// The numeric AppID, reported as `appId` in receipts. Default `30000001`.
    #[serde(default = "default_app_id")]
    pub app_id: String,
    /// The app may push through the API (false: sends get code 30). Default true.
    #[serde(default = "yes")]
    pub push_permission: bool,
    /// The app is disabled at OPPO (sends get code 28). Default false.
    #[serde(default)]
    pub disabled: bool,
    /// Registered notification channels. A `channel_id` not listed gets code 67.
    #[serde(default)]
    pub channels: Vec<OppoChannelSpec>,
    /// Approved for `notify_level` 16 (category `IM` only). Default false.
    #[serde(default)]
    pub strong_reminder: bool,
    /// A news app: 5 content & marketing messages per device per day instead of 2.
    #[serde(default)]
    pub news_app: bool,
    /// Cumulative users, for the app's daily content & marketing quota: 100,000 below
    /// 50,000 users, else twice the users. Default 0.
    #[serde(default)]
    pub cumulative_users: u64,
    /// Overrides the daily content & marketing quota of the formula (code 33 beyond it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
    /// Send-API rate limit: beyond it, code 13 (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_throttle: Option<Throttle>,
}

impl Default for OppoAppSpec {
    fn default() -> Self {
        OppoAppSpec {
            app_key: String::new(),
            master_secret: String::new(),
            app_id: default_app_id(),
            push_permission: true,
            disabled: false,
            channels: Vec::new(),
            strong_reminder: false,
            news_app: false,
            cumulative_users: 0,
            daily_quota: None,
            send_throttle: None,
        }
    }
}

/// What the sim does with a registered registration id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OppoRegIdState {
    /// Delivered; receipt `push_arrive` (or `receipt_event`).
    #[default]
    Active,
    /// Illegal or invalid (app uninstalled): code 10000 with `verify_registration_id`,
    /// else accepted and receipt `regid_invalid`.
    Invalid,
    /// Not subscribed (push switched off): code 10001 with `verify_registration_id`, else
    /// accepted and never delivered.
    Unsubscribed,
}

/// Registers or updates a registration id (`POST /oppo/registration-ids`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoRegIdSpec {
    /// The app (AppKey) the registration id belongs to; through another app it is invalid.
    pub app_key: String,
    /// The registration id (`CN_…`, `OPPO_CN_…` or no prefix: China host; else overseas).
    pub registration_id: String,
    /// New state (default `active`).
    #[serde(default)]
    pub state: OppoRegIdState,
    /// For an `active` id: the receipt event to report instead of `push_arrive` (e.g.
    /// `message_night_control`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_event: Option<String>,
}

/// How the sim posts receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoReceiptSettings {
    /// Delay before a request's receipts are posted, in milliseconds. Default 0.
    #[serde(default)]
    pub delay_ms: u64,
    /// Events per POST (a JSON array). Default 100.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Fault: post every batch twice.
    #[serde(default)]
    pub duplicate: bool,
    /// Fault: never post (the batch is logged as not delivered, 0 attempts).
    #[serde(default)]
    pub drop: bool,
}

fn default_batch() -> usize {
    100
}

impl Default for OppoReceiptSettings {
    fn default() -> Self {
        OppoReceiptSettings {
            delay_ms: 0,
            batch_size: default_batch(),
            duplicate: false,
            drop: false,
        }
    }
}

/// The sim's OPPO settings (`GET /oppo/settings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OppoSimSettings {
    /// Lifetime of issued auth tokens, seconds (OPPO: 86,400).
    pub auth_token_ttl_secs: u64,
    /// How receipts are posted.
    pub receipts: OppoReceiptSettings,
}

impl Default for OppoSimSettings {
    fn default() -> Self {
        OppoSimSettings {
            auth_token_ttl_secs: 86_400,
            receipts: OppoReceiptSettings::default(),
        }
    }
}

/// A partial update of [`OppoSimSettings`] (`PUT /oppo/settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoSimSettingsUpdate {
    /// See [`OppoSimSettings::auth_token_ttl_secs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token_ttl_secs: Option<u64>,
    /// Replaces [`OppoSimSettings::receipts`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<OppoReceiptSettings>,
}

/// One receipt event, as OPPO posts it (an element of the JSON array).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OppoReceiptEvent {
    /// The message id of the send answer.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// The app's AppID.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// The broadcast task id (empty for unicast sends).
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Comma-separated registration ids the event is about.
    #[serde(rename = "registrationIds")]
    pub registration_ids: String,
    /// When, Unix ms (sim clock).
    #[serde(rename = "eventTime")]
    pub event_time: i64,
    /// `call_back_parameter` of the message (empty when it had none).
    pub param: String,
    /// `push_arrive`, `regid_invalid`, `user_daily_limit`, `message_night_control`.
    #[serde(rename = "eventType")]
    pub event_type: String,
}

/// A receipt POST the sim made (or tried), `GET /oppo/receipts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OppoReceiptPost {
    /// The `call_back_url`.
    pub url: String,
    /// The events of the array.
    pub events: Vec<OppoReceiptEvent>,
    /// POST attempts made (up to 3; 0 when dropped).
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: connection failed or dropped).
    pub http_status: Option<u16>,
    /// The callback answered 2xx.
    pub delivered: bool,
}
