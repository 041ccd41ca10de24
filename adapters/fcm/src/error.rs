//! The classifier: every FCM answer to a send becomes exactly one [`Outcome`].
//!
//! FCM answers errors as `google.rpc.Status` (fcm.md §6): `{"error": {"code", "message",
//! "status", "details": [FcmError {errorCode} | BadRequest {fieldViolations} | …]}}`.
//! Several situations share an HTTP status, so the [`RULES`] table is searched by the
//! `FcmError.errorCode` first, then by `status`, and only then by the HTTP status (a garbage
//! or non-JSON body is classified by its HTTP status alone). An unknown errorCode or status
//! falls through to the next level and stays in the reason.
//!
//! Decisions (fcm.md §6.2–6.4):
//! - `INVALID_ARGUMENT` is `Rejected` (a payload problem must not wipe good tokens), except
//!   when it is about the token itself — FCM's message "The registration token is not a
//!   valid FCM registration token" or a `BadRequest` violation on `message.token` — which
//!   is `InvalidToken`.
//! - `THIRD_PARTY_AUTH_ERROR` / `APNS_AUTH_ERROR` (the APNs or Web Push credential uploaded
//!   to the Firebase console is wrong) are `Rejected` with a configuration alert and mark
//!   the adapter degraded: the device token is fine, and the service account is fine too,
//!   so neither `InvalidToken` nor `AuthFailed` (which would refresh a good OAuth token and
//!   then mark the credential — and its Android sends — unhealthy) fits.
//! - `UNAUTHENTICATED` without an FcmError is a bad or expired access token: `AuthFailed`
//!   (the dispatcher forgets it and retries once). `PERMISSION_DENIED` and `NOT_FOUND`
//!   without an FcmError are configuration (missing permission, API disabled, wrong
//!   project id): `AuthFailed`, so the credential is flagged.
//! - `QUOTA_EXCEEDED`, `RESOURCE_EXHAUSTED` and any 429 retry after `Retry-After` but never
//!   sooner than 60 s (Google's guidance); 5xx, `UNAVAILABLE`, `INTERNAL`, timeouts and
//!   network errors retry after `Retry-After` when given (seconds or an HTTP date).
//!
//! Reasons carry the errorCode / status / HTTP status, what to do, and FCM's message (cut
//! to 200 characters, the device token replaced by `[token]`); never a key or access token.

use crate::client::Answer;
use push_core::adapter::Outcome;
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// The least wait after a quota error.
pub(crate) const QUOTA_MIN_WAIT: Duration = Duration::from_secs(60);
const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";

/// What an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The outcome of the target.
    pub outcome: Outcome,
    /// Whether it is not the message's fault (auth, configuration, outage): the adapter
    /// reports itself degraded with this reason.
    pub degrades: bool,
}

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Not decided at this level: look at the next one.
    FallThrough,
    /// Deactivate the token.
    InvalidToken,
    /// `Rejected`, or `InvalidToken` when the error is about the token.
    InvalidArgument,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: a console configuration problem, the token is fine.
    RejectedConfig,
    /// Refresh the access token and retry once.
    AuthFailed,
    /// A service-account or project configuration problem.
    AuthFailedConfig,
    /// Retry, honouring Retry-After.
    Retry,
    /// Retry, honouring Retry-After but never before [`QUOTA_MIN_WAIT`].
    RetryQuota,
}

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// `details[FcmError].errorCode`.
    FcmError(&'static str),
    /// `error.status`.
    Status(&'static str),
    /// An HTTP status range, inclusive.
    Http(u16, u16),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    /// What it matches.
    pub on: On,
    /// What to do.
    pub action: Action,
    /// What it means / what to do, for the reason.
    pub advice: &'static str,
}

const fn rule(on: On, action: Action, advice: &'static str) -> Rule {
    Rule { on, action, advice }
}

/// The one table, searched in order within each level.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // FcmError.errorCode (fcm.md §6.2)
    rule(On::FcmError("UNSPECIFIED_ERROR"), Action::FallThrough, "no further information"),
    rule(On::FcmError("INVALID_ARGUMENT"), Action::InvalidArgument, "FCM refused the message; fix the payload or overrides"),
    rule(On::FcmError("UNREGISTERED"), Action::InvalidToken, "the app was uninstalled or the token expired or rotated"),
    rule(On::FcmError("SENDER_ID_MISMATCH"), Action::InvalidToken, "the token belongs to another Firebase project; if frequent, check the credential's project"),
    rule(On::FcmError("QUOTA_EXCEEDED"), Action::RetryQuota, "project or device message rate exceeded"),
    rule(On::FcmError("UNAVAILABLE"), Action::Retry, "FCM is overloaded"),
    rule(On::FcmError("INTERNAL"), Action::Retry, "FCM had an internal error"),
    rule(On::FcmError("THIRD_PARTY_AUTH_ERROR"), Action::RejectedConfig, "the APNs key/certificate (or Web Push key) in the Firebase console is invalid or missing; fix it there — the device token is kept"),
    rule(On::FcmError("APNS_AUTH_ERROR"), Action::RejectedConfig, "the APNs key/certificate in the Firebase console is invalid or missing; fix it there — the device token is kept"),
    // google.rpc.Status without an FcmError (fcm.md §6.3)
    rule(On::Status("INVALID_ARGUMENT"), Action::InvalidArgument, "FCM refused the message; fix the payload or overrides"),
    rule(On::Status("UNAUTHENTICATED"), Action::AuthFailed, "the access token was refused; a new one is fetched"),
    rule(On::Status("PERMISSION_DENIED"), Action::AuthFailedConfig, "give the service account the Firebase Cloud Messaging permission and enable the FCM API in its Cloud project"),
    rule(On::Status("NOT_FOUND"), Action::AuthFailedConfig, "no such project: check the service account's project_id and base_url"),
    rule(On::Status("RESOURCE_EXHAUSTED"), Action::RetryQuota, "quota exceeded"),
    rule(On::Status("UNAVAILABLE"), Action::Retry, "FCM is unavailable"),
    rule(On::Status("INTERNAL"), Action::Retry, "FCM had an internal error"),
    rule(On::Status("DEADLINE_EXCEEDED"), Action::Retry, "FCM could not answer in time"),
    // HTTP status alone
    rule(On::Http(400, 400), Action::InvalidArgument, "FCM refused the request; fix the payload or overrides"),
    rule(On::Http(401, 401), Action::AuthFailed, "the access token was refused; a new one is fetched"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check the service account's permissions and that the FCM API is enabled"),
    rule(On::Http(404, 404), Action::AuthFailedConfig, "not found: check the service account's project_id and base_url"),
    rule(On::Http(408, 408), Action::Retry, "request timeout"),
    rule(On::Http(429, 429), Action::RetryQuota, "too many requests"),
    rule(On::Http(400, 499), Action::Rejected, "FCM refused the request"),
    rule(On::Http(500, 599), Action::Retry, "FCM server error"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status; check base_url"),
];

#[derive(Deserialize, Default)]
struct Envelope {
    error: Option<Status>,
}

#[derive(Deserialize, Default)]
struct Status {
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

/// What the error body says, as far as it parses.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    /// `details[FcmError].errorCode`.
    pub error_code: Option<String>,
    /// `error.status`.
    pub status: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// `details[BadRequest].fieldViolations[].field`.
    pub bad_fields: Vec<String>,
}

impl ErrorBody {
    /// Parses a `google.rpc.Status` body; anything else yields an empty one.
    pub fn parse(body: &[u8]) -> Self {
        let status = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.error)
            .unwrap_or_default();
        let of_type = |t: &'static str| {
            status
                .details
                .iter()
                .filter(move |d| d.get("@type").and_then(|v| v.as_str()) == Some(t))
        };
        let error_code = of_type(FCM_ERROR_TYPE)
            .find_map(|d| d.get("errorCode").or_else(|| d.get("error_code")))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let bad_fields = of_type(BAD_REQUEST_TYPE)
            .flat_map(|d| {
                d.get("fieldViolations")
                    .or_else(|| d.get("field_violations"))
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
            })
            .filter_map(|v| v.get("field").and_then(|f| f.as_str()))
            .map(str::to_string)
            .collect();
        Self {
            error_code,
            status: status.status.filter(|s| !s.is_empty()),
            message: status.message,
            bad_fields,
        }
    }

    /// Whether an INVALID_ARGUMENT is about the registration token itself.
    pub fn about_the_token(&self) -> bool {
        let message = self.message.as_deref().unwrap_or_default().to_lowercase();
        message.contains("not a valid fcm registration token")
            || self.bad_fields.iter().any(|f| f == "message.token")
    }
}

/// Classifies FCM's answer to a send to `token` (which is scrubbed from the reason).
pub(crate) fn classify(answer: &Answer, token: &str, now: OffsetDateTime) -> Verdict {
    if (200..300).contains(&answer.status) {
        #[derive(Deserialize)]
        struct Sent {
            name: Option<String>,
        }
        // FCM took the message even if the body is odd: retrying would duplicate it.
        let name = serde_json::from_slice::<Sent>(&answer.body)
            .ok()
            .and_then(|s| s.name);
        return Verdict {
            outcome: Outcome::Accepted {
                vendor_message_id: name,
            },
            degrades: false,
        };
    }
    let body = ErrorBody::parse(&answer.body);
    let (rule, label) = find_rule(answer.status, &body);
    let mut reason = format!("{label}: {}", rule.advice);
    if let Some(message) = body.message.as_deref().filter(|m| !m.is_empty()) {
        let shown: String = scrub(message, token).chars().take(200).collect();
        reason.push_str(&format!(" (FCM: {shown})"));
    }
    if !body.bad_fields.is_empty() {
        reason.push_str(&format!(
            " [fields: {}]",
            scrub(&body.bad_fields.join(", "), token)
        ));
    }
    let after = retry_after(answer.retry_after.as_deref(), now);
    let outcome = match rule.action {
        Action::InvalidToken => invalid_token(reason),
        Action::InvalidArgument if body.about_the_token() => invalid_token(reason),
        Action::InvalidArgument | Action::Rejected | Action::RejectedConfig => {
            Outcome::Rejected { reason }
        }
        Action::AuthFailed | Action::AuthFailedConfig => Outcome::AuthFailed { reason },
        Action::Retry => Outcome::Retry { after, reason },
        Action::RetryQuota => Outcome::Retry {
            after: Some(after.map_or(QUOTA_MIN_WAIT, |a| a.max(QUOTA_MIN_WAIT))),
            reason,
        },
        // The HTTP level always decides; this arm is never taken.
        Action::FallThrough => Outcome::Retry { after, reason },
    };
    let degrades = matches!(
        rule.action,
        Action::RejectedConfig
            | Action::AuthFailed
            | Action::AuthFailedConfig
            | Action::Retry
            | Action::RetryQuota
            | Action::FallThrough
    );
    Verdict { outcome, degrades }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        outcome: Outcome::Retry {
            after: None,
            reason: format!("FCM: {reason}"),
        },
        degrades: true,
    }
}

fn invalid_token(reason: String) -> Outcome {
    Outcome::InvalidToken {
        reason,
        invalid_since: None,
    }
}

/// The deciding rule and a label naming what matched (and what did not).
fn find_rule(status: u16, body: &ErrorBody) -> (Rule, String) {
    let http = format!("HTTP {status}");
    let mut label = Vec::new();
    if let Some(code) = &body.error_code {
        match RULES
            .iter()
            .find(|r| matches!(r.on, On::FcmError(k) if k == code.as_str()))
        {
            Some(r) if r.action != Action::FallThrough => {
                return (*r, format!("{code} ({http})"));
            }
            Some(_) => label.push(code.clone()),
            None => label.push(format!("unknown FCM error {code}")),
        }
    }
    if let Some(name) = &body.status {
        match RULES
            .iter()
            .find(|r| matches!(r.on, On::Status(k) if k == name.as_str()))
        {
            Some(r) => {
                label.push(format!("{name} ({http})"));
                return (*r, label.join(", "));
            }
            None => label.push(name.clone()),
        }
    }
    label.push(http);
    let by_http = RULES
        .iter()
        .find(|r| matches!(r.on, On::Http(lo, hi) if (lo..=hi).contains(&status)))
        .copied()
        .unwrap_or(rule(
            On::Http(0, 999),
            Action::Retry,
            "unexpected HTTP status",
        ));
    (by_http, label.join(", "))
}

fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "[token]")
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (IMF-fixdate), relative to `now`;
/// a date in the past means "now" (zero).
pub(crate) fn retry_after(value: Option<&str>, now: OffsetDateTime) -> Option<Duration> {
    let value = value?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let wait = at - now;
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
