//! Huawei Push Kit control types: apps (App ID + secret and entitlements), device tokens,
//! receipt callbacks, sent receipts.

use serde::{Deserialize, Deserializer, Serialize};

use super::Throttle;

fn yes() -> bool {
    true
}

/// Huawei's token endpoint flow control: about 1000 tokens per 5 minutes per app.
pub fn default_huawei_token_throttle() -> Option<Throttle> {
    Some(Throttle {
        max_requests: 1000,
        window_secs: 300,
    })
}

/// Registers (or replaces) a Huawei app (`POST /huawei/apps`). Access tokens already issued
/// to the app stay valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweiAppSpec {
    /// The App ID: `client_id` of the token request and `{appId}` of the send URL
    /// (`^[0-9]{1,64}$`).
    pub app_id: String,
    /// The App Secret (`client_secret`), a plain string.
    pub app_secret: String,
    /// Project ID for the `/v2/{projectId}/messages:send` form (absent: v2 is refused with
    /// `80300002`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Push Kit enabled for the app (false: every send gets `80300002`). Default true.
    #[serde(default = "yes")]
    pub push_enabled: bool,
    /// The self-classification entitlement (自分类权益). Without it every message is news &
    /// marketing. Default true.
    #[serde(default = "yes")]
    pub self_classification: bool,
    /// A news app with a licence: 5 marketing messages per device per day instead of 2.
    #[serde(default)]
    pub news_app: bool,
    /// The entitlement for `urgency: HIGH` data messages (without it: `80300011`).
    #[serde(default)]
    pub high_priority_data: bool,
    /// Send-endpoint flow control: beyond this budget, HTTP 503 (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_throttle: Option<Throttle>,
    /// Token-endpoint flow control (default 1000 per 300 s, Huawei's; `null`: none).
    #[serde(default = "default_huawei_token_throttle")]
    pub token_throttle: Option<Throttle>,
}

impl Default for HuaweiAppSpec {
    fn default() -> Self {
        HuaweiAppSpec {
            app_id: String::new(),
            app_secret: String::new(),
            project_id: None,
            push_enabled: true,
            self_classification: true,
            news_app: false,
            high_priority_data: false,
            send_throttle: None,
            token_throttle: default_huawei_token_throttle(),
        }
    }
}

/// Present-but-`null` → `Some(None)`, absent → `None` (with `#[serde(default)]`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes some settings of a registered app (`PUT /huawei/apps/{app_id}`); absent fields stay
/// as they are. Use it to force `80300002` (`push_enabled: false`) or to set quotas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweiAppUpdate {
    /// See [`HuaweiAppSpec::push_enabled`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_enabled: Option<bool>,
    /// See [`HuaweiAppSpec::self_classification`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_classification: Option<bool>,
    /// See [`HuaweiAppSpec::news_app`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub news_app: Option<bool>,
    /// See [`HuaweiAppSpec::high_priority_data`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_priority_data: Option<bool>,
    /// See [`HuaweiAppSpec::send_throttle`]; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub send_throttle: Option<Option<Throttle>>,
    /// See [`HuaweiAppSpec::token_throttle`]; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_throttle: Option<Option<Throttle>>,
}

/// What the sim does with a registered Huawei device token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HuaweiTokenState {
    /// Accepted; receipt status 0 (or `receipt_status`).
    #[default]
    Active,
    /// Refused at send time: listed in `illegal_tokens` (`80100000`), or `80300007` when every
    /// token of the request is invalid.
    Invalid,
    /// App uninstalled: the send accepts it, the receipt says status 2.
    Uninstalled,
}

/// Registers or updates a Huawei device token (`POST /huawei/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweiTokenSpec {
    /// The app the token belongs to (sending it through another app gives an illegal token).
    pub app_id: String,
    /// The device token.
    pub token: String,
    /// New state (default `active`).
    #[serde(default)]
    pub state: HuaweiTokenState,
    /// For an `active` token: the receipt status to report instead of 0 (e.g. 5, 6, 10, 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_status: Option<u16>,
}

/// A receipt configuration of an app (`POST /huawei/callbacks`): where and how receipts are
/// posted after accepted sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweiCallbackSpec {
    /// The app.
    pub app_id: String,
    /// The callback URL (`http` or `https`; https must be trusted by the dev CA or the
    /// public roots).
    pub url: String,
    /// The receipt ID messages select with `android.receipt_id`; absent: the app's default
    /// configuration (used by messages without `receipt_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// User name that enters the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Secret key: when set, every POST carries `X-HUAWEI-CALLBACK-ID` with
    /// `Base64(HMAC-SHA256(key, timestamp + nonce + username))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Delay before the receipts of a send are posted, in milliseconds (default 0).
    #[serde(default)]
    pub delay_ms: u64,
    /// Fault: post every batch twice.
    #[serde(default)]
    pub duplicate: bool,
    /// Fault: post the batches of a send in reverse order.
    #[serde(default)]
    pub reverse_order: bool,
}

/// One receipt entry, as posted in `{"statuses": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuaweiReceiptStatus {
    /// `android.bi_tag` of the message, if it had one.
    #[serde(rename = "biTag", default, skip_serializing_if = "Option::is_none")]
    pub bi_tag: Option<String>,
    /// The App ID.
    pub appid: String,
    /// The device token.
    pub token: String,
    /// Receipt status (0 delivered, 2 uninstalled, 256 marketing limit, …; huawei.md §8.3).
    pub status: u16,
    /// When, Unix milliseconds (sim clock).
    pub timestamp: i64,
    /// `requestId` of the send.
    #[serde(rename = "requestId")]
    pub request_id: String,
}

/// A receipt batch the sim posted (or tried to), `GET /huawei/receipts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuaweiReceiptBatch {
    /// The app.
    pub app_id: String,
    /// The callback URL.
    pub url: String,
    /// The entries (at most 100).
    pub statuses: Vec<HuaweiReceiptStatus>,
    /// POST attempts made (up to 4: one try and three retries).
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: connection failed).
    pub http_status: Option<u16>,
    /// The callback answered 2xx.
    pub delivered: bool,
}

/// Answer of `POST /huawei/apps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuaweiAppInfo {
    /// The App ID.
    pub app_id: String,
    /// The project ID, if any.
    pub project_id: Option<String>,
}
