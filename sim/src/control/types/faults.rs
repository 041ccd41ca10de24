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
