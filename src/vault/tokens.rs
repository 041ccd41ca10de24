//! Sealing vendor auth tokens for the shared store: AES-256-GCM directly under the current
//! master key (a token lives an hour or a day, so no data key to rewrap), bound to its
//! store key and fetch time by the AAD. A token sealed under a retired master key simply
//! fails to open and is fetched again.

use super::cipher;
use super::{Vault, VaultError};
use push_core::Secret;
use zeroize::Zeroizing;

impl Vault {
    /// Seals `token` for store key `key`, fetched at `fetched_at_ms`: (master key id, blob).
    pub fn seal_token(
        &self,
        key: &str,
        fetched_at_ms: i64,
        token: &Secret,
    ) -> Result<(String, Vec<u8>), VaultError> {
        let kek = self.keyring().current();
        let plain = Zeroizing::new(token.expose().as_bytes().to_vec());
        let blob = cipher::seal(kek.bytes(), &token_aad(key, fetched_at_ms), plain)?;
        Ok((kek.id().to_string(), blob))
    }

    /// Opens what [`Vault::seal_token`] sealed.
    pub fn open_token(
        &self,
        key: &str,
        fetched_at_ms: i64,
        kek_id: &str,
        blob: &[u8],
    ) -> Result<Secret, VaultError> {
        let kek = self
            .keyring()
            .get(kek_id)
            .ok_or_else(|| VaultError::UnknownKey(kek_id.chars().take(64).collect()))?;
        let plain = cipher::open(kek.bytes(), &token_aad(key, fetched_at_ms), blob)?;
        let text = std::str::from_utf8(&plain).map_err(|_| VaultError::Malformed)?;
        Ok(Secret::new(text))
    }
}

fn token_aad(key: &str, fetched_at_ms: i64) -> String {
    format!("pushgate/auth-token/v1/{key}/{fetched_at_ms}")
}
