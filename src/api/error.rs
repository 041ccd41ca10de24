//! The one error shape of the API: `{ "error": { "code", "message", "details"? } }`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use push_core::{Problem, StoreError};
use serde::Serialize;

/// An API failure: an HTTP status, a stable machine-readable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<Problem>,
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// 400 with one problem per field.
    pub fn invalid(problems: Vec<Problem>) -> Self {
        let message = match problems.as_slice() {
            [one] if one.field.is_empty() => one.reason.clone(),
            [one] => format!("{}: {}", one.field, one.reason),
            many => format!("{} problems; see details", many.len()),
        };
        Self {
            details: problems,
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    /// 400 for one field.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(vec![Problem {
            field: field.to_string(),
            reason: reason.into(),
        }])
    }

    /// 404 for a thing that does not exist or belongs to someone else (the two are not
    /// told apart, so ids of other tenants cannot be probed).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 401.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 500/503 without internals: the details go to the log only.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    details: &'a [Problem],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                details: &self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            StoreError::Conflict(what) => Self::conflict(what),
            StoreError::IllegalTransition { .. } => Self::conflict(e.to_string()),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable; retry later",
                )
            }
            StoreError::Corrupt(_) => Self::internal("store returned unreadable data", &e),
            StoreError::Refused(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the database cannot store a value of this request (e.g. a NUL character)",
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_json",
        };
        Self::new(status, code, without_values(&r.body_text()))
    }
}

/// A serde error text without the values it quotes: `invalid type: integer `1234`, expected
/// a string` → `invalid type: integer, expected a string`. A field sent with the wrong type
/// may be a secret (a key, a password), and errors never echo secrets.
pub(crate) fn without_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["invalid type: ", "invalid value: "]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
        .min()
    {
        let (start, marker) = at;
        out.push_str(&rest[..start + marker]);
        rest = &rest[start + marker..];
        let end = rest.find(", expected").unwrap_or(rest.len());
        let kind = rest[..end]
            .split(['`', '"'])
            .next()
            .unwrap_or_default()
            .trim_end();
        out.push_str(kind);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn serde_errors_lose_the_values_they_quote() {
        let cases = [
            (
                "secret: invalid type: integer `1234567`, expected a string at line 1 column 20",
                "secret: invalid type: integer, expected a string at line 1 column 20",
            ),
            (
                "invalid type: string \"hunter2\", expected u64",
                "invalid type: string, expected u64",
            ),
            (
                "invalid value: floating point `1.5`, expected an integer; invalid type: map, expected a string",
                "invalid value: floating point, expected an integer; invalid type: map, expected a string",
            ),
            (
                "unknown field `labl`, expected `label`",
                "unknown field `labl`, expected `label`",
            ),
        ];
        for (given, wanted) in cases {
            assert_eq!(without_values(given), wanted);
        }
    }
}
