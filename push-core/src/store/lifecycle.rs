//! Records of the credential lifecycle the store keeps beside each version: the vendor's
//! last verdict on its auth ([`CredentialHealth`]), and the audit log of who changed what
//! ([`CredentialAuditEntry`]). None of them holds secret material.

use crate::channel::Channel;
use crate::credential::CredentialMeta;
use crate::ids::{ApiKeyId, TenantId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// How the vendor last judged a credential version's auth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CredentialHealth {
    /// The last time the vendor accepted it (a send that was not refused for auth).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last time the vendor refused it, after a refresh.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_failure_at: Option<OffsetDateTime>,
    /// The vendor's reason for that refusal.
    pub last_failure_reason: Option<String>,
    /// When pushgate stopped using it because the vendor refused it while an older version
    /// still worked (fallback). Cleared when it is activated again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub unhealthy_at: Option<OffsetDateTime>,
    /// Why it was marked unhealthy.
    pub unhealthy_reason: Option<String>,
}

/// A credential version's metadata with its health: what the credential list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    /// The metadata.
    #[serde(flatten)]
    pub meta: CredentialMeta,
    /// The health.
    pub health: CredentialHealth,
}

/// Vendor verdicts on a version's auth gathered since the last write (see
/// [`crate::Store::record_credential_auth`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthReport {
    /// The latest success, if any.
    pub success_at: Option<OffsetDateTime>,
    /// The latest failure and its reason, if any.
    pub failure: Option<(OffsetDateTime, String)>,
}

/// What was done to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialAction {
    /// A new version was uploaded (and became active).
    Upload,
    /// A version newer than the active one was activated.
    Activate,
    /// A version older than the active one was activated.
    Rollback,
    /// An inactive version was deleted.
    Delete,
    /// pushgate went back to an older version because the vendor refused the active one.
    Fallback,
}

impl CredentialAction {
    /// Every action.
    pub const ALL: [CredentialAction; 5] = [
        Self::Upload,
        Self::Activate,
        Self::Rollback,
        Self::Delete,
        Self::Fallback,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Activate => "activate",
            Self::Rollback => "rollback",
            Self::Delete => "delete",
            Self::Fallback => "fallback",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One line of the credential audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialAuditEntry {
    /// Its id.
    pub id: Uuid,
    /// The tenant owning the app.
    pub tenant_id: TenantId,
    /// The API key that acted; `None` when pushgate itself did (fallback).
    pub api_key_id: Option<ApiKeyId>,
    /// The app.
    pub app_id: String,
    /// The channel. Named `vendor` in JSON, as in the API path.
    #[serde(rename = "vendor")]
    pub channel: Channel,
    /// The version acted on.
    pub version: i64,
    /// What was done.
    pub action: CredentialAction,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
