//! FCM's error answers (fcm.md §6): `google.rpc.Status` with `FcmError`, `BadRequest`,
//! `QuotaFailure` and `ErrorInfo` details, plus `Retry-After` and `WWW-Authenticate` headers.

use serde_json::{Value, json};

const FCM_ERROR: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";
const QUOTA_FAILURE: &str = "type.googleapis.com/google.rpc.QuotaFailure";
const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";

/// The message for a token FCM never issued (or a malformed one).
pub(crate) const INVALID_TOKEN_MESSAGE: &str =
    "The registration token is not a valid FCM registration token";

/// An FCM error answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FcmFailure {
    /// HTTP status (also `error.code`).
    pub status: u16,
    /// `error.message`.
    pub message: String,
    /// Details and extra headers (boxed: errors travel in `Result`s).
    pub details: Box<Details>,
}

/// The optional parts of an [`FcmFailure`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Details {
    /// `FcmError.errorCode`, if the answer has that detail.
    pub error_code: Option<String>,
    /// `BadRequest.fieldViolations` as (field, description).
    pub violations: Vec<(String, String)>,
    /// A `QuotaFailure` detail as (subject, description).
    pub quota: Option<(String, String)>,
    /// An `ErrorInfo` detail's `reason`.
    pub error_info: Option<String>,
    /// `Retry-After` header value.
    pub retry_after: Option<String>,
    /// `WWW-Authenticate` header value.
    pub www_authenticate: Option<String>,
}

impl FcmFailure {
    /// An error with this status and message and no details.
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        FcmFailure {
            status,
            message: message.into(),
            ..Default::default()
        }
    }

    /// Adds an `FcmError` detail.
    pub(crate) fn code(mut self, error_code: &str) -> Self {
        self.details.error_code = Some(error_code.to_string());
        self
    }

    /// Adds a `BadRequest` field violation.
    pub(crate) fn violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.details
            .violations
            .push((field.into(), description.into()));
        self
    }

    /// A proto3-JSON parse error: 400 `INVALID_ARGUMENT` with only a `BadRequest` detail.
    pub(crate) fn parse(field: &str, description: String) -> Self {
        FcmFailure::new(400, description.clone()).violation(field, description)
    }

    /// A semantic validation error: 400 with `FcmError` `INVALID_ARGUMENT` and a `BadRequest`.
    pub(crate) fn invalid(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        FcmFailure::new(400, description.clone())
            .code("INVALID_ARGUMENT")
            .violation(field, description)
    }

    /// The response headers.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![(
            "content-type".to_string(),
            "application/json; charset=UTF-8".to_string(),
        )];
        if let Some(r) = &self.details.retry_after {
            h.push(("retry-after".into(), r.clone()));
        }
        if let Some(w) = &self.details.www_authenticate {
            h.push(("www-authenticate".into(), w.clone()));
        }
        h
    }

    /// The `{"error": {...}}` body.
    pub(crate) fn body(&self) -> Value {
        let mut details = Vec::new();
        if let Some(code) = &self.details.error_code {
            details.push(json!({ "@type": FCM_ERROR, "errorCode": code }));
        }
        if !self.details.violations.is_empty() {
            let v: Vec<Value> = self
                .details
                .violations
                .iter()
                .map(|(f, d)| json!({ "field": f, "description": d }))
                .collect();
            details.push(json!({ "@type": BAD_REQUEST, "fieldViolations": v }));
        }
        if let Some((subject, description)) = &self.details.quota {
            details.push(json!({
                "@type": QUOTA_FAILURE,
                "violations": [{ "subject": subject, "description": description }]
            }));
        }
        if let Some(reason) = &self.details.error_info {
            details
                .push(json!({ "@type": ERROR_INFO, "reason": reason, "domain": "googleapis.com" }));
        }
        let mut error = json!({
            "code": self.status,
            "message": self.message,
            "status": status_name(self.status),
        });
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        json!({ "error": error })
    }
}

/// The canonical `google.rpc.Code` name of an HTTP status.
pub(crate) fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unregistered_shape() {
        let f = FcmFailure::new(404, "Requested entity was not found.").code("UNREGISTERED");
        assert_eq!(
            f.body(),
            json!({"error": {"code": 404, "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [{"@type": FCM_ERROR, "errorCode": "UNREGISTERED"}]}})
        );
    }

    #[test]
    fn unauthenticated_has_no_details() {
        let f = FcmFailure::new(401, "x");
        assert!(f.body()["error"].get("details").is_none());
        assert_eq!(f.body()["error"]["status"], "UNAUTHENTICATED");
    }
}
