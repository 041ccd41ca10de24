//! The sealing port: HS256 client secrets are encrypted at rest by pushgate's vault, which
//! lives in the binary; the binary hands the online core an implementation.

use push_core::{SealedCredential, Secret};

/// Sealing failed (a broken or unknown master key). Carries no secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("sealing failed: {0}")]
pub struct SealError(pub String);

/// Seals and opens client secrets. `key_id` and `app` are bound into the seal, so a sealed
/// secret cannot be moved to another key version or app.
pub trait SecretSealer: Send + Sync {
    /// Encrypts `secret`.
    fn seal(
        &self,
        key_id: uuid::Uuid,
        app: &str,
        secret: &Secret,
    ) -> Result<SealedCredential, SealError>;
    /// Decrypts what [`SecretSealer::seal`] made with the same `key_id` and `app`.
    fn open(
        &self,
        key_id: uuid::Uuid,
        app: &str,
        sealed: &SealedCredential,
    ) -> Result<Secret, SealError>;
}
