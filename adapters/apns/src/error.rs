//! The response classifier: APNs status + `reason` → one [`Outcome`], from one table.
//!
//! Every reason of the APNs reference (vendors/apns.md §6.3) is a row of [`REASONS`]; an
//! unknown reason falls back to its status. The outcome's reason text starts with the raw
//! vendor reason (`APNs 403 InvalidProviderToken: …`) and says what to do; `pause + alert`
//! marks credential problems that a fresh token cannot fix. Besides the outcome, a row says
//! whether the connection must be replaced (GOAWAY-like reasons) and how the adapter's
//! health changes. No reason text ever contains a device token, JWT or key.

use push_core::adapter::Outcome;
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;

/// What a vendor answer means for the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The device token is dead → `InvalidToken`.
    InvalidToken,
    /// The credential or provider token was refused → `AuthFailed`.
    Auth,
    /// Transient → `Retry`.
    Retry,
    /// This message can never succeed → `Rejected`.
    Rejected,
    /// This message can never succeed and the credential's setup needs a person: `Rejected`
    /// without a retry (Apple: never retry `Forbidden`), and the adapter is degraded so the
    /// alert fires.
    RejectedAlert,
}

/// One documented APNs reason.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// The HTTP status APNs answers it with.
    pub status: u16,
    /// The `reason` string.
    pub reason: &'static str,
    /// The outcome class.
    pub class: Class,
    /// Whether the connection must be dropped and a new one opened.
    pub reconnect: bool,
    /// What it means and what to do, for the outcome's reason text.
    pub advice: &'static str,
}

const fn row(
    status: u16,
    reason: &'static str,
    class: Class,
    reconnect: bool,
    advice: &'static str,
) -> Row {
    Row {
        status,
        reason,
        class,
        reconnect,
        advice,
    }
}

use Class::{Auth, InvalidToken, Rejected, RejectedAlert, Retry};

/// Every reason of the APNs reference, one row each.
#[rustfmt::skip]
pub(crate) const REASONS: &[Row] = &[
    row(400, "BadCollapseId", Rejected, false,
        "apns-collapse-id is over 64 bytes; drop and alert (bug)"),
    row(400, "BadDeviceToken", InvalidToken, false,
        "the token is malformed or belongs to the other environment; deactivate it (a spike means an environment misconfiguration: alert)"),
    row(400, "BadExpirationDate", Rejected, false,
        "bad apns-expiration; drop and alert (bug)"),
    row(400, "BadMessageId", Rejected, false,
        "bad apns-id; drop and alert (bug)"),
    row(400, "BadPriority", Rejected, false,
        "bad apns-priority; drop and alert (bug)"),
    row(400, "BadTopic", Rejected, false,
        "bad apns-topic; drop and alert (check the app's bundle id)"),
    row(400, "DeviceTokenNotForTopic", InvalidToken, false,
        "the token belongs to another app; deactivate it (frequent: wrong bundle id configured)"),
    row(400, "DuplicateHeaders", Rejected, false,
        "a header was repeated; drop and alert (bug)"),
    row(400, "IdleTimeout", Retry, true,
        "the connection was idle too long; reconnect and retry"),
    row(400, "InvalidPushType", Rejected, false,
        "bad apns-push-type; drop and alert (bug)"),
    row(400, "MissingDeviceToken", Rejected, false,
        "no device token in the path; drop and alert (bug)"),
    row(400, "MissingTopic", Rejected, false,
        "apns-topic is missing; drop and alert (bug)"),
    row(400, "PayloadEmpty", Rejected, false,
        "the body is empty; drop and alert (bug)"),
    row(400, "TopicDisallowed", Rejected, false,
        "the credential may not push to this topic; drop and alert (config)"),
    row(403, "BadCertificate", Auth, true,
        "the client certificate is invalid or revoked; pause + alert"),
    row(403, "BadCertificateEnvironment", Auth, true,
        "the certificate is for the other environment; pause + alert"),
    row(403, "ExpiredProviderToken", Auth, false,
        "the provider token is over an hour old; refresh it once (20-minute rule) and retry; if it persists check the host clock and alert"),
    row(403, "Forbidden", RejectedAlert, false,
        "the action is not allowed for this credential; drop, do not retry; alert"),
    row(403, "InvalidProviderToken", Auth, true,
        "the provider token is invalid (wrong key, key id or team, or a revoked key); pause + alert"),
    row(403, "MissingProviderToken", RejectedAlert, false,
        "no certificate and no provider token; drop and alert (bug)"),
    row(403, "UnrelatedKeyIdInToken", Retry, true,
        "the key is unrelated to this connection's first key; reconnect and retry (alert if it recurs)"),
    row(403, "BadEnvironmentKeyIdInToken", Auth, true,
        "the key is restricted to the other environment; pause + alert"),
    row(404, "BadPath", Rejected, false,
        "bad request path; drop and alert (bug)"),
    row(405, "MethodNotAllowed", Rejected, false,
        "not a POST; drop and alert (bug)"),
    row(410, "ExpiredToken", InvalidToken, false,
        "the device token expired; deactivate it"),
    row(410, "Unregistered", InvalidToken, false,
        "the token is no longer active for the topic; deactivate it unless it registered again since"),
    row(413, "PayloadTooLarge", Rejected, false,
        "the payload is too large; shorten it"),
    row(429, "TooManyProviderTokenUpdates", Retry, true,
        "the provider token changed too often on one connection; reconnect and retry with the current token; alert (refresh bug)"),
    row(429, "TooManyRequests", Retry, false,
        "too many pushes to this device; retry later and collapse"),
    row(500, "InternalServerError", Retry, false,
        "APNs internal error; retry with backoff"),
    row(503, "ServiceUnavailable", Retry, true,
        "APNs is unavailable; reconnect and retry with backoff"),
    row(503, "Shutdown", Retry, true,
        "this APNs server is shutting down; reconnect and retry with backoff"),
];

/// How an answer changes the adapter's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthEffect {
    /// APNs was reached and the credential worked.
    Healthy,
    /// An auth or network failure: the adapter is degraded.
    Degraded,
    /// Says nothing about the adapter (e.g. one throttled device).
    Unchanged,
}

/// A classified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    /// The target's outcome.
    pub outcome: Outcome,
    /// Whether the connection(s) must be replaced.
    pub reconnect: bool,
    /// How the adapter's health changes.
    pub health: HealthEffect,
}

#[derive(Deserialize)]
struct ErrorBody {
    reason: Option<String>,
    timestamp: Option<i64>,
}

/// The row of a reason, if APNs documents it.
pub(crate) fn lookup(reason: &str) -> Option<&'static Row> {
    REASONS.iter().find(|r| r.reason == reason)
}

/// Classifies a non-transport answer: `status`, the parsed `Retry-After`, the body.
pub(crate) fn classify_response(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Classified {
    if status == 200 {
        return Classified {
            outcome: Outcome::Accepted {
                vendor_message_id: None,
            },
            reconnect: false,
            health: HealthEffect::Healthy,
        };
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (reason, timestamp) = match parsed {
        Some(b) => (b.reason.filter(|r| !r.is_empty()), b.timestamp),
        None => (None, None),
    };
    let row = reason.as_deref().and_then(lookup);
    let class = row.map_or_else(|| fallback_class(status), |r| r.class);
    let text = match (&reason, row) {
        (Some(reason), Some(row)) => format!("APNs {status} {reason}: {}", row.advice),
        (Some(reason), None) => format!(
            "APNs {status} {}: an undocumented reason, handled by its status",
            printable(reason)
        ),
        (None, _) if body.is_empty() => format!("APNs {status} without a body"),
        (None, _) => format!(
            "APNs {status} with an unreadable body ({} bytes)",
            body.len()
        ),
    };
    let invalid_since = timestamp
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
    Classified {
        outcome: outcome(class, text, retry_after, invalid_since),
        reconnect: row.is_some_and(|r| r.reconnect),
        health: health(class, status),
    }
}

fn outcome(
    class: Class,
    reason: String,
    after: Option<Duration>,
    invalid_since: Option<OffsetDateTime>,
) -> Outcome {
    match class {
        Class::InvalidToken => Outcome::InvalidToken {
            reason,
            invalid_since,
        },
        Class::Auth => Outcome::AuthFailed { reason },
        Class::Retry => Outcome::Retry { after, reason },
        Class::Rejected | Class::RejectedAlert => Outcome::Rejected { reason },
    }
}

/// The class of an undocumented reason (or no reason) by its status.
pub(crate) fn fallback_class(status: u16) -> Class {
    match status {
        401 | 403 => Class::Auth,
        410 => Class::InvalidToken,
        408 | 429 => Class::Retry,
        400..=499 => Class::Rejected,
        _ => Class::Retry,
    }
}

fn health(class: Class, status: u16) -> HealthEffect {
    match class {
        Class::Auth | Class::RejectedAlert => HealthEffect::Degraded,
        Class::Retry if status >= 500 => HealthEffect::Degraded,
        Class::Retry => HealthEffect::Unchanged,
        Class::InvalidToken | Class::Rejected => HealthEffect::Healthy,
    }
}

/// An undocumented reason, cut to something safe to log.
fn printable(reason: &str) -> String {
    reason
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect()
}

/// Classifies a request that got no HTTP answer. `chain` is the error and its sources as
/// text, already without the URL (which holds the device token). A GOAWAY carrying a
/// documented reason in its debug data is classified by that reason; a TLS alert on a
/// certificate connection means the certificate was refused.
pub(crate) fn classify_transport(chain: &str, timed_out: bool, cert_auth: bool) -> Classified {
    if let Some(row) = goaway_reason(chain).and_then(lookup) {
        return Classified {
            outcome: outcome(
                row.class,
                format!(
                    "APNs GOAWAY {} (status {}): {}",
                    row.reason, row.status, row.advice
                ),
                None,
                None,
            ),
            reconnect: true,
            health: HealthEffect::Degraded,
        };
    }
    let lower = chain.to_ascii_lowercase();
    let outcome = if timed_out {
        Outcome::Retry {
            after: None,
            reason: format!("APNs did not answer in time ({chain})"),
        }
    } else if cert_auth && lower.contains("received fatal alert") {
        Outcome::AuthFailed {
            reason: format!(
                "APNs refused the client certificate in the TLS handshake ({chain}); pause + alert"
            ),
        }
    } else {
        Outcome::Retry {
            after: None,
            reason: format!("APNs could not be reached ({chain})"),
        }
    };
    Classified {
        outcome,
        reconnect: true,
        health: HealthEffect::Degraded,
    }
}

/// The `reason` inside GOAWAY debug data quoted in an error text, e.g.
/// `connection error received: not a result of an error (b"{\"reason\":\"Shutdown\"}")`.
fn goaway_reason(chain: &str) -> Option<&str> {
    let start = chain
        .find("reason\\\"")
        .map(|i| i + 8)
        .or_else(|| chain.find("reason\"").map(|i| i + 7))?;
    let rest = chain[start..].trim_start_matches([':', ' ', '\\', '"']);
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|r| !r.is_empty())
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (relative to `now`).
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
