//! Identifier newtypes, so a tenant id can never be passed where a delivery id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies a tenant: an organisation owning apps, API keys and credentials.
    TenantId
);
uuid_id!(
    /// Identifies one delivery: one notification to one device.
    DeliveryId
);
uuid_id!(
    /// Identifies one API key of a tenant (not the key itself).
    ApiKeyId
);

/// Checks a caller-chosen identifier (app id, device id, user id): 1–128 characters of
/// letters, digits and `-_.:@`, so it is safe in URL paths, routing keys and logs.
pub fn check_external_id(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("must not be empty");
    }
    if value.chars().count() > 128 {
        return Err("must be at most 128 characters");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'))
    {
        return Err("may contain only letters, digits and - _ . : @");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_checked() {
        assert!(check_external_id("chat-prod").is_ok());
        assert!(check_external_id("user@example.com").is_ok());
        assert_eq!(check_external_id(""), Err("must not be empty"));
        assert!(check_external_id("a/b").is_err());
        assert!(check_external_id("ab cd").is_err());
        assert!(check_external_id(&"x".repeat(129)).is_err());
        assert!(check_external_id(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn ids_round_trip_through_strings() {
        let id = TenantId::new();
        assert_eq!(id.to_string().parse::<TenantId>().ok(), Some(id));
        assert!("not-a-uuid".parse::<DeliveryId>().is_err());
    }
}
