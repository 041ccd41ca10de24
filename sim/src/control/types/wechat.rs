//! Control API types of the WeChat simulator: accounts (official accounts and mini
//! programs), templates, users (follow / block state), subscription consents, event URLs
//! and the events posted to them.

use serde::{Deserialize, Serialize};

/// Which kind of WeChat account an AppID is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatAccountKind {
    /// A (verified service) official account: template messages.
    #[default]
    OfficialAccount,
    /// A mini program: subscribe messages.
    MiniProgram,
}

fn default_token_ttl() -> u64 {
    7200
}

fn default_classic_token_quota() -> u64 {
    2000
}

/// Registers (or replaces) an account (`POST /wechat/apps`). Tokens already issued stay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatAppSpec {
    /// The AppID (`wx…`).
    pub app_id: String,
    /// The AppSecret.
    pub app_secret: String,
    /// Official account (default) or mini program.
    #[serde(default)]
    pub kind: WechatAccountKind,
    /// The account's original id (`gh_…`), the `ToUserName` of events (default
    /// `gh_` + the AppID's last 12 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_id: Option<String>,
    /// Mini-program AppIDs linked to this official account (`miniprogram.appid` of template
    /// messages must be one, else 40013).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_mini_programs: Vec<String>,
    /// The released mini program's pages (`page` of subscribe messages, query ignored, must
    /// be one, else 41030); absent: any page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<String>>,
    /// Sends per day (China time) before 45009; absent: WeChat's (100,000 template messages,
    /// 10,000,000 subscribe messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
    /// Sends per minute before 45011; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute_quota: Option<u64>,
    /// Classic `GET /cgi-bin/token` calls per day before 45009 (default 2000).
    #[serde(default = "default_classic_token_quota")]
    pub classic_token_daily_quota: u64,
    /// Lifetime of issued access tokens in seconds (default 7200).
    #[serde(default = "default_token_ttl")]
    pub access_token_ttl_secs: u64,
}

impl Default for WechatAppSpec {
    fn default() -> Self {
        WechatAppSpec {
            app_id: String::new(),
            app_secret: String::new(),
            kind: WechatAccountKind::OfficialAccount,
            original_id: None,
            linked_mini_programs: Vec::new(),
            pages: None,
            daily_quota: None,
            minute_quota: None,
            classic_token_daily_quota: default_classic_token_quota(),
            access_token_ttl_secs: default_token_ttl(),
        }
    }
}

/// Registers (or replaces) a template of an account (`POST /wechat/templates`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatTemplateSpec {
    /// The account.
    pub app_id: String,
    /// The template id.
    pub template_id: String,
    /// The template's keys (`thing1`, `time2`, `keyword1`…); each must get a valid value.
    pub keys: Vec<String>,
}

/// A user's relation to an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatUserState {
    /// Follows the official account (or uses the mini program).
    #[default]
    Following,
    /// Does not follow the official account: template messages get 43004.
    Unfollowed,
    /// Refuses the account's messages: template messages get 43101.
    Blocked,
}

/// Registers or updates a user (openid) of an account (`POST /wechat/users`). An openid
/// belongs to one AppID: using it with another gives 40003.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatUserSpec {
    /// The account.
    pub app_id: String,
    /// The openid.
    pub openid: String,
    /// The state (default `following`).
    #[serde(default)]
    pub state: WechatUserState,
    /// `Status` of this user's `TEMPLATESENDJOBFINISH` events instead of `success`, e.g.
    /// `failed:user block` or `failed: system failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_status: Option<String>,
}

/// Adds one-time subscription consents of a user for a mini-program template
/// (`POST /wechat/consents`): each accepted subscribe message uses one; none left → 43101.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConsentSpec {
    /// The mini program.
    pub app_id: String,
    /// The openid.
    pub openid: String,
    /// The subscribe template.
    pub template_id: String,
    /// Consents to add (0 reads the count; use `reset` to withdraw).
    #[serde(default)]
    pub add: u32,
    /// Withdraw every consent first (the user turned the template off).
    #[serde(default)]
    pub reset: bool,
}

/// Answer of `POST /wechat/consents`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatConsentInfo {
    /// Unused consents now.
    pub remaining: u32,
}

/// How events are posted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatEventMode {
    /// Plain XML, `signature` / `timestamp` / `nonce` in the URL.
    #[default]
    Plain,
    /// Safe mode: `<Encrypt>` only, `encrypt_type=aes` and `msg_signature`.
    Safe,
    /// Compatible mode: plaintext fields and `<Encrypt>`, `encrypt_type=aes`.
    Compatible,
}

fn default_reply_timeout() -> u64 {
    5000
}

/// An official account's server configuration (`POST /wechat/event-urls`): where
/// `TEMPLATESENDJOBFINISH` events go after accepted template messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatEventSpec {
    /// The official account.
    pub app_id: String,
    /// The server URL (http or https; https must be trusted by the dev CA or public roots).
    pub url: String,
    /// The server `Token` (3–32 letters and digits) that signs every POST.
    pub token: String,
    /// The 43-character `EncodingAESKey`, required for `safe` and `compatible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_aes_key: Option<String>,
    /// Plain (default), safe or compatible.
    #[serde(default)]
    pub mode: WechatEventMode,
    /// Delay before an event is posted, in milliseconds (default 0).
    #[serde(default)]
    pub delay_ms: u64,
    /// How long WeChat waits for the reply before retrying (default 5000 ms, WeChat's 5 s;
    /// three attempts in all).
    #[serde(default = "default_reply_timeout")]
    pub reply_timeout_ms: u64,
    /// Fault: post every event twice (as after a lost reply).
    #[serde(default)]
    pub duplicate: bool,
}

/// An event the sim posted (or tried to), `GET /wechat/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatEventPost {
    /// The official account.
    pub app_id: String,
    /// The server URL.
    pub url: String,
    /// `MsgID` (the `msgid` of the send).
    pub msg_id: u64,
    /// `FromUserName`.
    pub openid: String,
    /// `Status`.
    pub status: String,
    /// How it was posted.
    pub mode: WechatEventMode,
    /// The XML event (before encryption).
    pub xml: String,
    /// POST attempts (up to 3).
    pub attempts: u32,
    /// HTTP status of the last attempt (absent: no answer in time or connection failed).
    pub http_status: Option<u16>,
    /// The last reply body.
    pub reply: Option<String>,
    /// The server answered 2xx with an empty body or `success`.
    pub delivered: bool,
}

/// Answer of `POST /wechat/apps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatAppInfo {
    /// The AppID.
    pub app_id: String,
    /// The original id (`gh_…`).
    pub original_id: String,
}
