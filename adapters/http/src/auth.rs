//! Why no access or auth token could be had, and what that means for a send or a
//! credential check.

use push_core::adapter::{CheckError, Outcome};

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The credential is unusable or the token endpoint refused it: `AuthFailed`.
    Refused(String),
    /// The token endpoint could not be asked, had an outage or throttled: `Retry`.
    Unreachable(String),
}

impl AuthError {
    /// The outcome of every target of a send that could not get a token.
    pub fn into_outcome(self) -> Outcome {
        match self {
            AuthError::Refused(reason) => Outcome::AuthFailed { reason },
            AuthError::Unreachable(reason) => Outcome::Retry {
                after: None,
                reason,
            },
        }
    }

    /// The answer of a credential check that could not get a token.
    pub fn into_check_error(self) -> CheckError {
        match self {
            AuthError::Refused(r) => CheckError::Refused(r),
            AuthError::Unreachable(r) => CheckError::Unreachable(r),
        }
    }
}
