//! pushgate's WeChat adapter: official-account template messages (`wechat_oa`) and
//! mini-program subscribe messages (`wechat_mp`), the token being the user's openid of that
//! AppID; hand-rolled on reqwest (rustls) from ../shared/vendors/wechat.md.
//!
//! Build it from [`WechatConfig`] with [`WechatBuilder`], or add it to the binary's registry
//! with [`register`]. What it does, file by file:
//! - `auth`: the AppID + AppSecret of a `wechat_app_secret` credential exchanged at
//!   `POST /cgi-bin/stable_token` (normal mode, never `force_refresh`) for an access token,
//!   cached per credential in push-core's `TokenCache` until 5 minutes before expiry;
//! - `payload`: the template / subscribe body from an ingest message — template from
//!   `wechat.template_id` or the app's default per category, values from `wechat.data` or
//!   the app's `template_fields` mapping, `thing` values cut to 20 characters, the value
//!   rules per key type, `client_msg_id` = the delivery id, `url` / `miniprogram` / `page`;
//! - `client`: the one HTTP client, POSTing JSON with `access_token` in the query;
//! - `error`: the errcode table from WeChat's answers to outcomes (40003 / 43004 / 43101 →
//!   `InvalidToken`; §5's "alert" codes → `Rejected` degrading health; 45009 →
//!   `QuotaExhausted`);
//! - `crypt`: the callback signature (SHA-1 of the sorted strings) and the safe-mode
//!   AES-256-CBC envelope with its 32-byte PKCS#7 padding (aws-lc-rs);
//! - `callback`: the official account's server URL — GET verification, the
//!   `TEMPLATESENDJOBFINISH` (`failed:user block` → token invalid) and
//!   `subscribe_msg_sent_event` events in plain or safe mode;
//! - `adapter`: the `Adapter` implementation (one openid per request: WeChat has no batch
//!   API).

mod adapter;
mod auth;
mod builder;
mod callback;
mod client;
mod config;
mod crypt;
mod error;
mod payload;

pub use builder::{BuildError, WechatBuilder, register};
pub use config::WechatConfig;
