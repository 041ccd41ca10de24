//! vivo push control types: apps (AppID / AppKey / AppSecret, valid users, test devices),
//! regIds and their states, receipt configurations, posted receipts.

use serde::{Deserialize, Serialize};

use super::Throttle;

/// vivo's auth-call limit: about 10 calls per second per app.
pub fn default_vivo_auth_throttle() -> Option<Throttle> {
    Some(Throttle {
        max_requests: 10,
        window_secs: 1,
    })
}

fn day() -> u64 {
    86_400
}

fn ten_thousand() -> u64 {
    10_000
}

/// Default for [`VivoReceiptConfig::batch_size`]: most regIds one receipt POST carries.
pub fn default_vivo_receipt_batch_size() -> usize {
    100
}

/// Default for [`VivoReceiptConfig::collect_ms`]: how long receipts falling due wait for
/// others to share their POST.
pub fn default_vivo_receipt_collect_ms() -> u64 {
    50
}

/// Registers (or replaces) a vivo app (`POST /vivo/apps`). Auth tokens already issued stay
/// valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoAppSpec {
    /// The numeric AppID (`appId` of the auth request).
    pub app_id: String,
    /// The AppKey (`appKey` of the auth request).
    pub app_key: String,
    /// The AppSecret (only enters the sign).
    pub app_secret: String,
    /// "Notification-enabled valid users": the base of the daily totals (system messages
    /// 3 × max(this, 10,000), operation messages max(this, 10,000)). Default 10,000.
    #[serde(default = "ten_thousand")]
    pub valid_users: u64,
    /// A news app: 5 operation messages per device per day instead of 2.
    #[serde(default)]
    pub news_app: bool,
    /// Lifetime of issued auth tokens, seconds (vivo: 24 h).
    #[serde(default = "day")]
    pub auth_token_ttl_secs: u64,
    /// Auth-call limit (default 10 per second; `null`: none). Beyond it: `10250`.
    #[serde(default = "default_vivo_auth_throttle")]
    pub auth_throttle: Option<Throttle>,
    /// regIds registered as test devices (at most 20) for `pushMode: 1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_devices: Vec<String>,
}

impl Default for VivoAppSpec {
    fn default() -> Self {
        VivoAppSpec {
            app_id: String::new(),
            app_key: String::new(),
            app_secret: String::new(),
            valid_users: ten_thousand(),
            news_app: false,
            auth_token_ttl_secs: day(),
            auth_throttle: default_vivo_auth_throttle(),
            test_devices: Vec::new(),
        }
    }
}

/// What the sim does with a registered regId.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VivoTokenState {
    /// Accepted; receipt ackType 0 (or `receipt`).
    #[default]
    Valid,
    /// `10302`, `invalidUser.status` 1: the regId does not exist.
    NotExist,
    /// `10302`, status 2: app uninstalled or notifications turned off.
    Uninstalled,
    /// `10302`, status 3: the device has not been online for 90 days.
    Offline,
}

/// A receipt outcome to report (ackType / subAckType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoAck {
    /// `ackType` (0 delivered, 100 controlled, 101 content, 102 target mismatch, 103
    /// overwritten, 104 not displayed).
    pub ack_type: u32,
    /// `subAckType`, if any (e.g. 12000, 20002, 2183).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_ack_type: Option<u32>,
}

/// Registers or updates a regId (`POST /vivo/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoTokenSpec {
    /// The app the regId belongs to (through another app it does not exist).
    pub app_id: String,
    /// The regId.
    pub reg_id: String,
    /// New state (default `valid`).
    #[serde(default)]
    pub state: VivoTokenState,
    /// For a `valid` regId: the receipt to report instead of the computed one (an injected
    /// failure: content rejected, uninstalled after the send, click-target bug…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<VivoAck>,
}

/// A receipt configured in the vivo console (`POST /vivo/receipts/config`): messages naming
/// `extra["callback.id"] = receipt_id` get receipts posted to `url`. Old-style messages
/// (`extra["callback"]`) whose callback URL is exactly this `url` (same app) follow the same
/// delay, batching and duplicate settings; other old-style URLs get the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoReceiptConfig {
    /// The app.
    pub app_id: String,
    /// The numeric receipt id.
    pub receipt_id: String,
    /// Where receipts are posted (`http` or `https`).
    pub url: String,
    /// Delay before the receipts of a send are posted, in milliseconds (default 0).
    #[serde(default)]
    pub delay_ms: u64,
    /// Fault: post every receipt POST twice.
    #[serde(default)]
    pub duplicate: bool,
    /// Most regIds one POST carries, over all its taskIds (default 100, at least 1). A larger
    /// group is split over several POSTs.
    #[serde(default = "default_vivo_receipt_batch_size")]
    pub batch_size: usize,
    /// Collect window, ms (default 50): receipts to the same URL falling due within this
    /// window of the first go out in one POST keyed by their taskIds (vivo.md §7), as long
    /// as `batch_size` allows and each taskId appears once. 0: only receipts due at the
    /// same instant share a POST.
    #[serde(default = "default_vivo_receipt_collect_ms")]
    pub collect_ms: u64,
}

impl Default for VivoReceiptConfig {
    fn default() -> Self {
        VivoReceiptConfig {
            app_id: String::new(),
            receipt_id: String::new(),
            url: String::new(),
            delay_ms: 0,
            duplicate: false,
            batch_size: default_vivo_receipt_batch_size(),
            collect_ms: default_vivo_receipt_collect_ms(),
        }
    }
}

/// One receipt entry as posted: `{taskId: entry}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VivoReceiptEntry {
    /// Comma-separated regIds.
    pub targets: String,
    /// When, Unix ms (sim clock).
    #[serde(rename = "ackTime")]
    pub ack_time: i64,
    /// `extra["callback.param"]` of the message, if any.
    pub param: Option<String>,
    /// `ackType`, as a string like vivo's.
    #[serde(rename = "ackType")]
    pub ack_type: String,
    /// `subAckType`, as a string, or null.
    #[serde(rename = "subAckType")]
    pub sub_ack_type: Option<String>,
}

/// One entry of a receipt POST the sim made (or tried), `GET /vivo/receipts`. A POST
/// carrying several taskIds is listed once per taskId, the records sharing `post_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VivoReceiptPost {
    /// Sequence number of the POST: records sharing it went out in one POST (the second
    /// POST of a `duplicate` has its own number).
    #[serde(default)]
    pub post_id: u64,
    /// The app.
    pub app_id: String,
    /// The URL posted to.
    pub url: String,
    /// The taskId the entry is keyed by.
    pub task_id: String,
    /// The entry.
    pub entry: VivoReceiptEntry,
    /// POST attempts made (up to 4), for the whole POST.
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: connection failed).
    pub http_status: Option<u16>,
    /// The callback answered 2xx.
    pub delivered: bool,
}
