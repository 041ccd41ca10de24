//! The plain serde types of the control API: the JSON bodies of the HTTP control API and the
//! arguments and results of the in-process [`Control`](crate::Control) handle are the same types.

use serde::{Deserialize, Serialize};

/// A simulated vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Apple Push Notification service (both personalities).
    Apns,
    /// Firebase Cloud Messaging HTTP v1 (send endpoint and OAuth2 token endpoint).
    Fcm,
}

impl Vendor {
    /// The vendor's name as used in URLs and JSON (`apns`, `fcm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Apns => "apns",
            Vendor::Fcm => "fcm",
        }
    }
}

/// An APNs personality: each has its own port and its own device-token namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`.
    Production,
    /// `api.sandbox.push.apple.com` (answers also carry `apns-unique-id`).
    Sandbox,
}

impl ApnsEnvironment {
    /// `production` or `sandbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApnsEnvironment::Production => "production",
            ApnsEnvironment::Sandbox => "sandbox",
        }
    }
}

fn both_environments() -> Vec<ApnsEnvironment> {
    vec![ApnsEnvironment::Production, ApnsEnvironment::Sandbox]
}

/// Registers an APNs token-auth signing key (`POST /apns/keys`). `Default` is a team-scoped
/// key for both environments with empty ids and no key material.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsKeySpec {
    /// The 10-character key id (`kid` of the provider JWT).
    pub key_id: String,
    /// The 10-character team id (`iss` of the provider JWT).
    pub team_id: String,
    /// The public key as a PEM `PUBLIC KEY`; give this or `private_key_pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    /// The `.p8` file (PKCS#8 P-256 private key); the sim keeps only its public half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    /// Environments the key may be used in (default: both, like an older team key).
    #[serde(default = "both_environments")]
    pub environments: Vec<ApnsEnvironment>,
    /// Bundle ids of a topic-specific key; absent for a team-scoped key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    /// The one related key of a topic-specific key (usable on the same connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_key_id: Option<String>,
}

impl Default for ApnsKeySpec {
    fn default() -> Self {
        ApnsKeySpec {
            key_id: String::new(),
            team_id: String::new(),
            public_key_pem: None,
            private_key_pem: None,
            environments: both_environments(),
            topics: None,
            related_key_id: None,
        }
    }
}

/// Adds bundle ids to a team (`POST /apns/topics`); token auth may push only to these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsTeamTopics {
    /// The team id.
    pub team_id: String,
    /// Bundle ids (without push-type suffixes such as `.voip`).
    pub topics: Vec<String>,
}

/// What the sim answers for a registered APNs device token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApnsTokenState {
    /// Accepted (200).
    #[default]
    Active,
    /// 410 `Unregistered` with `timestamp` = `unregistered_at_ms` (app uninstalled).
    Unregistered,
    /// 410 `ExpiredToken`.
    Expired,
}

/// A request budget per time window; the request after `max_requests` in a window gets 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// Window length in seconds (fixed windows on the sim clock).
    pub window_secs: u64,
}

/// Registers or updates an APNs device token (`POST /apns/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsTokenSpec {
    /// Token namespace.
    pub environment: ApnsEnvironment,
    /// Hex device token (case-insensitive).
    pub token: String,
    /// Bundle id the token was issued for; may be omitted when updating a known token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// New state (default `active`).
    #[serde(default)]
    pub state: ApnsTokenState,
    /// For `unregistered`: the 410 `timestamp` in ms (default: the sim clock's now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unregistered_at_ms: Option<i64>,
    /// Answer 429 `TooManyRequests` beyond this budget (`null` removes throttling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
}

/// Selects stored APNs notifications (`GET /apns/stored`); absent fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsStoredFilter {
    /// Only this environment.
    #[serde(default)]
    pub environment: Option<ApnsEnvironment>,
    /// Only this device token.
    #[serde(default)]
    pub token: Option<String>,
    /// Only this topic.
    #[serde(default)]
    pub topic: Option<String>,
}

/// The last accepted notification per (environment, token, topic), as APNs keeps one per app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredNotification {
    /// Environment it was sent to.
    pub environment: ApnsEnvironment,
    /// Device token (lowercase hex).
    pub token: String,
    /// `apns-topic` (or the certificate's topic).
    pub topic: String,
    /// The request as recorded.
    pub request: RequestRecord,
}

/// Registers an FCM service account (`POST /fcm/accounts`).
///
/// Either give the whole service-account JSON (`service_account_json`, as an object or as a
/// string) or the fields; explicit fields override the JSON's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmAccountSpec {
    /// `client_email` (the assertion's `iss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_email: Option<String>,
    /// `project_id` the account may send for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The numeric project number, also accepted in the send URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_number: Option<String>,
    /// `private_key_id`; when set, an assertion's `kid` must match it if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    /// The RSA public key as PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    /// The downloaded service-account JSON; its `private_key` is reduced to the public half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_json: Option<serde_json::Value>,
}

/// A registered FCM service account, as answered by `POST /fcm/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FcmAccountInfo {
    /// `client_email`.
    pub client_email: String,
    /// `project_id`.
    pub project_id: String,
}

/// What the sim answers for a registered FCM registration token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FcmTokenState {
    /// Accepted (200).
    #[default]
    Active,
    /// 404 `NOT_FOUND`, FcmError `UNREGISTERED` (app uninstalled, token rotated or stale).
    Unregistered,
    /// 403 `PERMISSION_DENIED`, FcmError `SENDER_ID_MISMATCH` (also automatic when the token is
    /// registered for another project).
    SenderIdMismatch,
    /// 400 `INVALID_ARGUMENT`, FcmError `INVALID_ARGUMENT` ("not a valid FCM registration token").
    Malformed,
    /// 401 `UNAUTHENTICATED`, FcmError `THIRD_PARTY_AUTH_ERROR` (iOS token, project without
    /// a working APNs credential).
    ThirdPartyAuthError,
}

/// Registers or updates an FCM registration token (`POST /fcm/tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmTokenSpec {
    /// Project the token belongs to.
    pub project_id: String,
    /// The registration token.
    pub token: String,
    /// New state (default `active`).
    #[serde(default)]
    pub state: FcmTokenState,
    /// Answer 429 `QUOTA_EXCEEDED` beyond this per-device budget (`null` removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
}

/// Runtime settings (`GET /settings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Accept well-formed tokens nobody registered (APNs: for any topic the credential may
    /// push to; FCM: for the caller's project). `false`: APNs `BadDeviceToken`, FCM
    /// `INVALID_ARGUMENT` ("not a valid FCM registration token").
    pub accept_unknown_tokens: bool,
    /// `expires_in` of issued FCM access tokens (Google: 3599).
    pub fcm_access_token_ttl_secs: u64,
    /// FCM messages per project per minute before 429 `QUOTA_EXCEEDED` (`None`: unlimited;
    /// Google's default is 600,000).
    pub fcm_project_quota_per_minute: Option<u64>,
}

/// A partial update of [`Settings`] (`PUT /settings`); absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// See [`Settings::accept_unknown_tokens`].
    #[serde(default)]
    pub accept_unknown_tokens: Option<bool>,
    /// See [`Settings::fcm_access_token_ttl_secs`].
    #[serde(default)]
    pub fcm_access_token_ttl_secs: Option<u64>,
    /// See [`Settings::fcm_project_quota_per_minute`]; `0` removes the quota.
    #[serde(default)]
    pub fcm_project_quota_per_minute: Option<u64>,
}

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

/// Moves the sim clock (`POST /clock/shift`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockShift {
    /// Seconds to add to the clock (negative moves it back).
    pub seconds: i64,
}

/// The sim clock (`GET /clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The sim's now, Unix milliseconds.
    pub now_ms: i64,
    /// How far the sim clock is ahead of the host clock, in milliseconds.
    pub offset_ms: i64,
}

/// Selects recorded requests (`GET /requests`); absent fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    /// Only this vendor.
    #[serde(default)]
    pub vendor: Option<Vendor>,
    /// Only requests to this device / registration token.
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
    /// Endpoint: `apns-production`, `apns-sandbox` or `fcm`.
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
    /// Device token (APNs) or registration token (FCM) the request addressed, if any.
    pub token: Option<String>,
    /// APNs topic used, or FCM project of the URL.
    pub topic: Option<String>,
    /// FCM `validate_only` request (nothing was delivered).
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

/// A rejected control operation; the HTTP control API answers it as 400 `{"error": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ControlError {
    /// What was wrong.
    pub error: String,
}

impl ControlError {
    /// A control error with this message.
    pub fn new(error: impl Into<String>) -> Self {
        ControlError {
            error: error.into(),
        }
    }
}

/// Answer of `POST /fcm/access-tokens/expire`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredTokens {
    /// How many issued access tokens were still live and are now expired.
    pub expired: usize,
}
