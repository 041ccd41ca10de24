//! APNs control types: signing keys, team topics, device tokens, stored notifications.

use serde::{Deserialize, Serialize};

use super::{RequestRecord, Throttle};

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
