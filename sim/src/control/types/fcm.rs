//! FCM control types: service accounts, registration tokens.

use serde::{Deserialize, Serialize};

use super::Throttle;

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
    /// Answer 429 `QUOTA_EXCEEDED` beyond this per-device budget, which replaces the
    /// `fcm_device_per_minute` setting for this token (`null`: the setting applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
}

/// Answer of `POST /fcm/access-tokens/expire`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredTokens {
    /// How many issued access tokens were still live and are now expired.
    pub expired: usize,
}
