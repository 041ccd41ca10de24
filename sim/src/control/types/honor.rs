//! Honor Push control types: apps (App ID + OAuth client), device tokens, receipt callbacks,
//! posted receipts.

use serde::{Deserialize, Serialize};

fn hour() -> u64 {
    3600
}

/// Registers (or replaces) a Honor app (`POST /honor/apps`). Access tokens already issued
/// stay valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HonorAppSpec {
    /// The numeric App ID (`{appId}` of the send URL).
    pub app_id: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: String,
    /// `expires_in` of issued access tokens, seconds (default 3600).
    #[serde(default = "hour")]
    pub access_token_ttl_secs: u64,
    /// A news app with a licence: 5 news & marketing messages per device per day, not 2.
    #[serde(default)]
    pub news_app: bool,
}

impl Default for HonorAppSpec {
    fn default() -> Self {
        HonorAppSpec {
            app_id: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            access_token_ttl_secs: hour(),
            news_app: false,
        }
    }
}

/// What the sim does with a registered Honor device token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HonorTokenState {
    /// Accepted; receipt 40000002 (40000001 for pass-through), or `receipt_status`.
    #[default]
    Valid,
    /// No longer valid: listed in `expireTokens` (`80300007` when every token is).
    Expired,
    /// Could not be sent to: listed in `failTokens` (partial code `80100000`).
    Failing,
}

/// Registers or updates a Honor device token (`POST /honor/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HonorTokenSpec {
    /// The app the token belongs to (through another app it is expired).
    pub app_id: String,
    /// The device token.
    pub token: String,
    /// New state (default `valid`).
    #[serde(default)]
    pub state: HonorTokenState,
    /// For a `valid` token: the receipt status to report instead (40000003 uninstalled,
    /// 40000005 switch off, 40000007 clicked…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_status: Option<u32>,
}

/// The receipt URL configured in the Honor console for an app (`POST /honor/callbacks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HonorCallbackSpec {
    /// The app.
    pub app_id: String,
    /// Where receipts are posted (`http` or `https`).
    pub url: String,
    /// Delay before the receipts of a send are posted, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// Fault: post every batch twice.
    #[serde(default)]
    pub duplicate: bool,
}

/// One receipt entry, as posted in `{"statuses": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HonorReceiptStatus {
    /// The device token.
    pub token: String,
    /// `android.biTag` of the message, if any.
    #[serde(rename = "biTag", default, skip_serializing_if = "Option::is_none")]
    pub bi_tag: Option<String>,
    /// Status (40000002 delivered, 40000007 clicked, 40000009 over quota, …).
    pub status: u32,
    /// When, Unix ms (sim clock).
    pub timestamp: i64,
    /// The App ID.
    pub appid: String,
    /// `data.requestId` of the send.
    #[serde(rename = "requestId")]
    pub request_id: String,
}

/// A receipt batch the sim posted (or tried to), `GET /honor/receipts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HonorReceiptBatch {
    /// The app.
    pub app_id: String,
    /// The URL.
    pub url: String,
    /// The entries (at most 100).
    pub statuses: Vec<HonorReceiptStatus>,
    /// POST attempts (up to 4).
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: connection failed).
    pub http_status: Option<u16>,
    /// The callback answered 2xx.
    pub delivered: bool,
}
