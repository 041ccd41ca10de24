//! OPPO return codes (oppo.md §6) and the `{"code", "message", "data"}` answer. OPPO answers
//! with HTTP 200 and keys on `code`; the sim does too, except for injected faults, an
//! unknown path (404) and a wrong method (405).

use serde_json::{Value, json};

/// Success.
pub(crate) const SUCCESS: i64 = 0;
/// Service unavailable.
pub(crate) const UNAVAILABLE: i64 = -1;
/// Invalid auth token (expired, revoked, from the other host).
pub(crate) const INVALID_AUTH_TOKEN: i64 = 11;
/// HTTP method not allowed.
pub(crate) const METHOD_NOT_ALLOWED: i64 = 12;
/// App call count or rate exceeded.
pub(crate) const CALL_LIMITED: i64 = 13;
/// Invalid AppKey.
pub(crate) const INVALID_APP_KEY: i64 = 14;
/// AppKey missing.
pub(crate) const MISSING_APP_KEY: i64 = 15;
/// Invalid signature.
pub(crate) const INVALID_SIGN: i64 = 16;
/// Signature missing.
pub(crate) const MISSING_SIGN: i64 = 17;
/// Timestamp missing.
pub(crate) const MISSING_TIMESTAMP: i64 = 18;
/// Timestamp invalid (more than 10 minutes off, or not milliseconds).
pub(crate) const INVALID_TIMESTAMP: i64 = 19;
/// Unknown API method (path).
pub(crate) const INVALID_METHOD: i64 = 20;
/// App disabled.
pub(crate) const APP_DISABLED: i64 = 28;
/// Auth token missing.
pub(crate) const MISSING_AUTH_TOKEN: i64 = 29;
/// No API push permission.
pub(crate) const NO_PUSH_PERMISSION: i64 = 30;
/// Data does not exist.
pub(crate) const NOT_FOUND: i64 = 31;
/// Daily message limit reached.
pub(crate) const DAILY_LIMIT: i64 = 33;
/// Required argument missing.
pub(crate) const MISSING_ARGUMENT: i64 = 40;
/// Invalid argument.
pub(crate) const INVALID_ARGUMENT: i64 = 41;
/// Category / private channel / notify_level invalid.
pub(crate) const CLASSIFICATION: i64 = 67;
/// Registration id illegal or invalid.
pub(crate) const INVALID_REGID: i64 = 10000;
/// Registration id not subscribed.
pub(crate) const UNSUBSCRIBED_REGID: i64 = 10001;
/// Alias not subscribed (the sim knows no aliases).
pub(crate) const UNSUBSCRIBED_ALIAS: i64 = 10003;

/// A refusal: code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The code.
    pub code: i64,
    /// The message.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and message.
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The answer body.
    pub(crate) fn body(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// A success answer with `data`.
pub(crate) fn success(data: Value) -> Value {
    json!({ "code": SUCCESS, "message": "Success", "data": data })
}
