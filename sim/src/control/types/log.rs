//! Request-log and counter types.

use serde::{Deserialize, Serialize};

use super::Vendor;

/// Selects recorded requests (`GET /requests`); absent fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    /// Only this vendor.
    #[serde(default)]
    pub vendor: Option<Vendor>,
    /// Only requests to this device / registration token (any of a Huawei request's).
    #[serde(default)]
    pub token: Option<String>,
    /// Only requests with `seq` greater than this.
    #[serde(default)]
    pub since: Option<u64>,
    /// Only requests received at or after this sim time (Unix ms).
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// At most this many (the newest).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// One request the sim received, with the answer it gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Increasing sequence number (1, 2, …), for `since`.
    pub seq: u64,
    /// When it was received, sim clock, Unix ms.
    pub at_ms: i64,
    /// Vendor.
    pub vendor: Vendor,
    /// Endpoint: `apns-production`, `apns-sandbox`, `fcm` or `huawei`.
    pub endpoint: String,
    /// Connection number (per sim, increasing), to check connection reuse.
    pub connection: u64,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub http_version: String,
    /// Request method.
    pub method: String,
    /// Request path (with query, if any).
    pub path: String,
    /// Request headers in order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Request body (lossy UTF-8).
    pub body: String,
    /// Device token (APNs) or registration token (FCM) the request addressed, if any (for
    /// Huawei: the first of `tokens`).
    pub token: Option<String>,
    /// Every device token of a multi-token request (Huawei); empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    /// APNs topic used, FCM project of the URL, or Huawei app / project ID of the URL.
    pub topic: Option<String>,
    /// FCM / Huawei `validate_only` request (nothing was delivered).
    pub dry_run: bool,
    /// The connection was reset instead of sending the answer (fault `reset_rate`).
    #[serde(default)]
    pub reset: bool,
    /// The answer.
    pub response: RecordedResponse,
}

impl RequestRecord {
    /// The first value of a request header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The answer the sim gave to a recorded request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
}

/// Counters of one endpoint or one vendor (`GET /counters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounters {
    /// TLS connections established.
    pub connections: u64,
    /// Connections that failed the TLS handshake (e.g. an expired client certificate).
    pub handshake_failures: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// HTTP requests received (all paths).
    pub requests: u64,
    /// Of those, OAuth2 token requests (FCM `/token`).
    pub auth_requests: u64,
}

/// All counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Per vendor (sums of its endpoints).
    pub vendors: std::collections::BTreeMap<Vendor, EndpointCounters>,
    /// Per endpoint (`apns-production`, `apns-sandbox`, `fcm`).
    pub endpoints: std::collections::BTreeMap<String, EndpointCounters>,
}

impl Counters {
    /// The counters of one vendor (zero if it saw nothing).
    pub fn vendor(&self, vendor: Vendor) -> EndpointCounters {
        self.vendors.get(&vendor).copied().unwrap_or_default()
    }
}
