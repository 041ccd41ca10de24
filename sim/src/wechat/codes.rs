//! WeChat's `errcode` answers (wechat.md §5): always HTTP 200, `errmsg` with a random
//! ` rid: …` suffix like WeChat's.

use serde_json::{Value, json};

/// An errcode answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WxError {
    /// The errcode.
    pub errcode: i64,
    /// The errmsg, without the rid.
    pub errmsg: String,
}

impl WxError {
    /// An answer.
    pub(crate) fn new(errcode: i64, errmsg: impl Into<String>) -> Self {
        WxError {
            errcode,
            errmsg: errmsg.into(),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        json!({ "errcode": self.errcode, "errmsg": format!("{} rid: {}", self.errmsg, rid()) })
    }
}

/// A request id like `6385c6c1-0fcadca1-22c1fc91`.
pub(crate) fn rid() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", &u[..8], &u[8..16], &u[16..24])
}

pub(crate) fn busy() -> WxError {
    WxError::new(-1, "system error")
}
pub(crate) fn invalid_credential() -> WxError {
    WxError::new(
        40001,
        "invalid credential, access_token is invalid or not latest",
    )
}
pub(crate) fn invalid_grant_type() -> WxError {
    WxError::new(40002, "invalid grant_type")
}
pub(crate) fn invalid_openid() -> WxError {
    WxError::new(40003, "invalid openid")
}
pub(crate) fn invalid_appid() -> WxError {
    WxError::new(40013, "invalid appid")
}
pub(crate) fn invalid_access_token() -> WxError {
    WxError::new(40014, "invalid access_token")
}
pub(crate) fn invalid_template() -> WxError {
    WxError::new(40037, "invalid template_id")
}
pub(crate) fn invalid_appsecret() -> WxError {
    WxError::new(40125, "invalid appsecret")
}
pub(crate) fn token_missing() -> WxError {
    WxError::new(41001, "access_token missing")
}
pub(crate) fn invalid_page() -> WxError {
    WxError::new(41030, "invalid page")
}
pub(crate) fn token_expired() -> WxError {
    WxError::new(42001, "access_token expired")
}
pub(crate) fn require_subscribe() -> WxError {
    WxError::new(43004, "require subscribe")
}
pub(crate) fn user_refuse() -> WxError {
    WxError::new(43101, "user refuse to accept the msg")
}
pub(crate) fn empty_post() -> WxError {
    WxError::new(44002, "empty post data")
}
pub(crate) fn daily_quota() -> WxError {
    WxError::new(45009, "reach max api daily quota limit")
}
pub(crate) fn minute_quota() -> WxError {
    WxError::new(
        45011,
        "api minute-quota reach limit  mustslower  retry next minute",
    )
}
pub(crate) fn data_format() -> WxError {
    WxError::new(47001, "data format error")
}
pub(crate) fn argument_invalid(what: &str) -> WxError {
    WxError::new(47003, format!("argument invalid! {what} invalid"))
}
pub(crate) fn unauthorized() -> WxError {
    WxError::new(48001, "api unauthorized")
}
