//! Verification of an uploaded credential before it is stored, through the vendor's adapter.
//!
//! Offline, always: the adapter's [`Adapter::verify_credential`] (it parses, the key type is
//! right, a .p12 opens with its password, a certificate's topics include the app's bundle
//! id, it is not expired). With [`Verification::Live`] also [`Adapter::check_credential`]:
//! the adapter obtains a vendor auth token (or makes the cheapest authenticated call). A
//! channel whose adapter is not in this build (its Cargo feature is off) gets the structural
//! checks of [`super::parse_upload`] only, and a live check of it is refused rather than
//! silently skipped.

use push_core::adapter::{AdapterRegistry, CheckError, CredentialFacts, CredentialRef};
use push_core::{App, Channel, CredentialSecret};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// How far an upload is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The adapter's offline checks.
    Offline,
    /// The offline checks, then an authenticated call to the vendor.
    Live,
}

/// Why a credential was refused. Messages come from the adapters, which never put a
/// secret in them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The credential itself is wrong (offline checks, or the adapter's own parsing).
    #[error("the {channel} credential is invalid: {reason}")]
    Invalid {
        /// The channel.
        channel: Channel,
        /// What is wrong.
        reason: String,
    },
    /// The vendor refused it.
    #[error("the {channel} vendor refused the credential: {reason}")]
    Refused {
        /// The channel.
        channel: Channel,
        /// The vendor's reason.
        reason: String,
    },
    /// The vendor could not be asked; the credential is unproven.
    #[error("the {channel} vendor could not be reached to check the credential: {reason}")]
    Unreachable {
        /// The channel.
        channel: Channel,
        /// What happened.
        reason: String,
    },
    /// A live check was asked for a channel without an adapter in this build.
    #[error("a live check of {channel} credentials is not available in this build")]
    NoLiveCheck {
        /// The channel.
        channel: Channel,
    },
}

impl VerifyError {
    fn from_check(channel: Channel, e: CheckError) -> Self {
        match e {
            CheckError::Invalid(reason) => Self::Invalid { channel, reason },
            CheckError::Refused(reason) => Self::Refused { channel, reason },
            CheckError::Unreachable(reason) => Self::Unreachable { channel, reason },
        }
    }
}

/// Verifies `secret`, about to be stored as version `id` of `app`'s `channel` credential.
/// Answers what was learnt (certificate expiry); default facts for a channel without an
/// adapter.
pub async fn verify_upload(
    adapters: &AdapterRegistry,
    app: &App,
    channel: Channel,
    id: Uuid,
    secret: &CredentialSecret,
    how: Verification,
) -> Result<CredentialFacts, VerifyError> {
    let Some(adapter) = adapters.get(channel) else {
        return match how {
            Verification::Offline => Ok(CredentialFacts::default()),
            Verification::Live => Err(VerifyError::NoLiveCheck { channel }),
        };
    };
    let facts = adapter
        .verify_credential(app, secret, OffsetDateTime::now_utc())
        .map_err(|e| VerifyError::from_check(channel, e))?;
    if how == Verification::Live {
        let credential = CredentialRef {
            id,
            version: 0,
            secret: Arc::new(secret.clone()),
        };
        let checked = adapter.check_credential(app, &credential).await;
        if let Err(e) = checked {
            // Nothing is stored; drop whatever the adapter cached under the unused id.
            adapter.forget_auth(id);
            return Err(VerifyError::from_check(channel, e));
        }
    }
    Ok(facts)
}
