//! Tenants and their API keys.

use crate::ids::{ApiKeyId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An organisation using pushgate: it owns apps, their devices and their credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// When the operator created it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A tenant API key as stored: only the hash of the key is kept, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Id of the key (shown in listings, used to revoke it).
    pub id: ApiKeyId,
    /// The tenant the key acts for.
    pub tenant_id: TenantId,
    /// A free label ("ci", "im-core-prod").
    pub label: String,
    /// The first characters of the key, so an operator can tell keys apart.
    pub prefix: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// What the store needs to create an API key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The tenant the key acts for.
    pub tenant_id: TenantId,
    /// A free label.
    pub label: String,
    /// The first characters of the key.
    pub prefix: String,
    /// Hex SHA-256 of the whole key; the lookup key.
    pub hash: String,
}
