//! Fault-injection types.

use serde::{Deserialize, Serialize};

/// Faults injected into one vendor's endpoints (`PUT /faults/{vendor}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Delay before every answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer a share of the requests with an error instead of processing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFault>,
    /// Take the vendor down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// Share of requests (0.0..=1.0) that are processed and recorded as usual — an accepted
    /// push counts as accepted — but whose connection is then reset instead of answering, to
    /// exercise duplicate handling after ambiguous network errors.
    #[serde(default)]
    pub reset_rate: f64,
    /// Instead of answering, close the request's connection with an HTTP/2 GOAWAY whose
    /// last-stream-id is below the request's stream (APNs only; apns.md §5, §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goaway: Option<GoawayFault>,
    /// Close a connection that has had no open request and no frame from the client for this
    /// many milliseconds, with a GOAWAY whose debug data is `{"reason":"IdleTimeout"}` (APNs
    /// only; absent: connections are never closed for idleness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
}

/// An injected error answer, rendered in the vendor's own error format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// Share of requests that fail, 0.0..=1.0.
    pub rate: f64,
    /// HTTP status, e.g. 500, 503, 429.
    pub status: u16,
    /// APNs `reason` (e.g. `ServiceUnavailable`) or FCM `errorCode` (e.g. `UNAVAILABLE`;
    /// empty: no FcmError detail).
    #[serde(default)]
    pub reason: String,
    /// `Retry-After` header value, verbatim (seconds or an HTTP date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Fail at most this many requests, then stop (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// An injected GOAWAY: the request that triggers it is never answered; its connection gets a
/// GOAWAY frame whose last-stream-id is the stream the client opened before it (so it and
/// every later stream were "not processed"), streams at or below that id are still answered,
/// then the connection closes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoawayFault {
    /// The `reason` of the JSON debug data `{"reason": …}`, in the vocabulary of error
    /// answers (e.g. `Shutdown`, `BadCertificate`); empty: a GOAWAY without debug data.
    #[serde(default)]
    pub reason: String,
    /// The HTTP/2 error code (RFC 9113 §7): 0 `NO_ERROR` (the default), 2 `INTERNAL_ERROR`, …
    #[serde(default)]
    pub error_code: u32,
    /// Share of requests that trigger it, 0.0..=1.0 (default 1).
    #[serde(default = "always")]
    pub rate: f64,
    /// Trigger at most this many GOAWAYs, then stop (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Default for GoawayFault {
    /// Every request, `NO_ERROR`, no debug data, no limit.
    fn default() -> Self {
        GoawayFault {
            reason: String::new(),
            error_code: 0,
            rate: always(),
            count: None,
        }
    }
}

fn always() -> f64 {
    1.0
}

/// How a vendor is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outage {
    /// The listening sockets close (new connections are refused) and open connections are
    /// dropped; the ports are bound again when the outage ends.
    Refuse,
    /// Connections work but every request gets 503 (APNs `ServiceUnavailable`, FCM
    /// `UNAVAILABLE`, token endpoint `temporarily_unavailable`).
    Unavailable,
}
