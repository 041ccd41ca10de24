//! Push Kit result codes (huawei.md §6–§7) and the `{"code", "msg", "requestId"}` answer. The
//! HTTP status per code is not documented precisely (huawei.md §9.2): the sim answers 200 for
//! results and business refusals, 400 for parameter and format errors, 401 for OAuth errors,
//! 500 for internal errors and 503 for flow control. Clients must key on `code`.

use serde_json::{Value, json};

/// All tokens accepted.
pub(crate) const SUCCESS: &str = "80000000";
/// Some tokens accepted, `msg` lists `illegal_tokens`.
pub(crate) const PARTIAL_SUCCESS: &str = "80100000";
/// Some request parameters are wrong.
pub(crate) const BAD_PARAMETER: &str = "80100001";
/// Message structure wrong (malformed JSON, wrong types).
pub(crate) const BAD_STRUCTURE: &str = "80100003";
/// `collapse_key` invalid.
pub(crate) const BAD_COLLAPSE_KEY: &str = "80100013";
/// OAuth authentication error (missing header, token of another app).
pub(crate) const AUTH_ERROR: &str = "80200001";
/// OAuth token expired or malformed.
pub(crate) const TOKEN_EXPIRED: &str = "80200003";
/// The app may not push (Push Kit off, wrong project).
pub(crate) const NO_PERMISSION: &str = "80300002";
/// All tokens invalid.
pub(crate) const ALL_TOKENS_INVALID: &str = "80300007";
/// Message body larger than 4096 bytes.
pub(crate) const TOO_BIG: &str = "80300008";
/// Token count wrong (0 or more than 1000).
pub(crate) const TOKEN_COUNT: &str = "80300010";
/// No permission for high-priority data messages.
pub(crate) const NO_HIGH_PRIORITY: &str = "80300011";
/// Internal system error.
pub(crate) const INTERNAL: &str = "81000001";

/// A Push Kit answer: HTTP status, `code`, `msg` (the `requestId` is added when answering).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PushResult {
    /// HTTP status.
    pub status: u16,
    /// Result code (a string of digits).
    pub code: String,
    /// `msg`: text, or for `80100000` an embedded JSON document.
    pub msg: String,
}

impl PushResult {
    /// An answer with the usual HTTP status of `code`.
    pub(crate) fn new(code: &str, msg: impl Into<String>) -> Self {
        PushResult {
            status: http_status(code),
            code: code.to_string(),
            msg: msg.into(),
        }
    }

    /// The body.
    pub(crate) fn body(&self, request_id: &str) -> Value {
        json!({ "code": self.code, "msg": self.msg, "requestId": request_id })
    }
}

/// The HTTP status the sim uses for a result code.
pub(crate) fn http_status(code: &str) -> u16 {
    match code {
        BAD_PARAMETER | BAD_STRUCTURE | BAD_COLLAPSE_KEY | "80100002" | "80100004" | TOO_BIG
        | TOKEN_COUNT => 400,
        AUTH_ERROR | TOKEN_EXPIRED => 401,
        c if c.starts_with("81") => 500,
        _ => 200,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_code() {
        assert_eq!(http_status(SUCCESS), 200);
        assert_eq!(http_status(ALL_TOKENS_INVALID), 200);
        assert_eq!(http_status(TOO_BIG), 400);
        assert_eq!(http_status(TOKEN_EXPIRED), 401);
        assert_eq!(http_status(INTERNAL), 500);
        let body = PushResult::new(SUCCESS, "Success").body("1");
        assert_eq!(
            body,
            json!({"code": "80000000", "msg": "Success", "requestId": "1"})
        );
    }
}
