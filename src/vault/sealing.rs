//! The [`Vault`]: envelope encryption of credential secrets.
//!
//! Sealing one credential version:
//! 1. a fresh random 256-bit data key (DEK) encrypts the JSON of the [`CredentialSecret`]
//!    with AES-256-GCM, AAD = `pushgate/credential/v1/{id}/{app_id}/{channel}`, so a sealed
//!    secret cannot be moved to another version, app or channel;
//! 2. the current master key (KEK) wraps the DEK, AAD = `pushgate/dek/v1/{kek_id}/{id}`.
//!
//! The store keeps `kek_id`, `wrapped_dek` and `ciphertext` ([`SealedCredential`]). Rotating
//! the master key re-wraps DEKs ([`Vault::rewrap`]); ciphertexts stay untouched.

use super::cipher::{self, TAG_LEN};
use super::{Keyring, MasterKey, VaultError};
use push_core::{Channel, CredentialSecret, SealedCredential, Secret};
use std::io;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Length of a data key (AES-256).
const DEK_LEN: usize = 32;
/// Longest unknown key id echoed in an error; ids are `mk-` + 16 hex digits.
const MAX_SHOWN_KEY_ID: usize = 64;

/// Seals and opens credential secrets with the master keys of its [`Keyring`].
#[derive(Debug)]
pub struct Vault {
    keyring: Keyring,
}

impl Vault {
    /// A vault over these keys.
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }

    /// Its keys.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The id of the master key new seals use.
    pub fn current_key_id(&self) -> &str {
        self.keyring.current().id()
    }

    /// Encrypts `secret` for credential version `id` of `app_id` on `channel`. The same three
    /// values must be given to [`Vault::open`].
    pub fn seal(
        &self,
        id: Uuid,
        app_id: &str,
        channel: Channel,
        secret: &CredentialSecret,
    ) -> Result<SealedCredential, VaultError> {
        let plaintext = serialize(secret)?;
        let mut dek = Zeroizing::new([0u8; DEK_LEN]);
        aws_lc_rs::rand::fill(dek.as_mut()).map_err(|_| VaultError::Encrypt)?;
        let ciphertext = cipher::seal(&dek, &credential_aad(id, app_id, channel), plaintext)?;
        let kek = self.keyring.current();
        Ok(SealedCredential {
            kek_id: kek.id().to_string(),
            wrapped_dek: wrap_dek(kek, id, &dek)?,
            ciphertext,
        })
    }

    /// Decrypts a secret sealed by [`Vault::seal`] (with any key of the keyring).
    ///
    /// Errors: [`VaultError::UnknownKey`] when its master key is not in the keyring;
    /// [`VaultError::Decrypt`] when anything was altered or `id`, `app_id` or `channel`
    /// differ from sealing time.
    pub fn open(
        &self,
        id: Uuid,
        app_id: &str,
        channel: Channel,
        sealed: &SealedCredential,
    ) -> Result<CredentialSecret, VaultError> {
        let dek = self.unwrap_dek(id, sealed)?;
        let plaintext = cipher::open(
            &dek,
            &credential_aad(id, app_id, channel),
            &sealed.ciphertext,
        )?;
        serde_json::from_slice(&plaintext).map_err(|_| VaultError::Malformed)
    }

    /// Seals a secret that is not a vendor credential (an online client key) with the same
    /// envelope as credentials: a fresh data key, wrapped by the current master key. `purpose`
    /// and `owner` (an app id) are bound to it by the associated data, so it opens only as
    /// what it was sealed as; [`Vault::rewrap`] re-wraps it like a credential.
    pub fn seal_secret(
        &self,
        id: Uuid,
        purpose: &str,
        owner: &str,
        secret: &Secret,
    ) -> Result<SealedCredential, VaultError> {
        let mut plaintext = Zeroizing::new(Vec::with_capacity(secret.expose().len() + TAG_LEN));
        plaintext.extend_from_slice(secret.expose().as_bytes());
        let mut dek = Zeroizing::new([0u8; DEK_LEN]);
        aws_lc_rs::rand::fill(dek.as_mut()).map_err(|_| VaultError::Encrypt)?;
        let ciphertext = cipher::seal(&dek, &secret_aad(id, purpose, owner), plaintext)?;
        let kek = self.keyring.current();
        Ok(SealedCredential {
            kek_id: kek.id().to_string(),
            wrapped_dek: wrap_dek(kek, id, &dek)?,
            ciphertext,
        })
    }

    /// Opens what [`Vault::seal_secret`] sealed with the same `id`, `purpose` and `owner`.
    pub fn open_secret(
        &self,
        id: Uuid,
        purpose: &str,
        owner: &str,
        sealed: &SealedCredential,
    ) -> Result<Secret, VaultError> {
        let dek = self.unwrap_dek(id, sealed)?;
        let plaintext = cipher::open(&dek, &secret_aad(id, purpose, owner), &sealed.ciphertext)?;
        let text = std::str::from_utf8(&plaintext).map_err(|_| VaultError::Malformed)?;
        Ok(Secret::new(text))
    }

    /// Re-wraps the data key of `sealed` under the current master key, keeping the
    /// ciphertext as it is. Used to rotate the master key; the secret itself is not
    /// decrypted. Always re-wraps, even when `sealed` already uses the current key.
    pub fn rewrap(
        &self,
        id: Uuid,
        sealed: &SealedCredential,
    ) -> Result<SealedCredential, VaultError> {
        let dek = self.unwrap_dek(id, sealed)?;
        let kek = self.keyring.current();
        Ok(SealedCredential {
            kek_id: kek.id().to_string(),
            wrapped_dek: wrap_dek(kek, id, &dek)?,
            ciphertext: sealed.ciphertext.clone(),
        })
    }

    fn unwrap_dek(
        &self,
        id: Uuid,
        sealed: &SealedCredential,
    ) -> Result<Zeroizing<[u8; DEK_LEN]>, VaultError> {
        let kek = self.keyring.get(&sealed.kek_id).ok_or_else(|| {
            VaultError::UnknownKey(sealed.kek_id.chars().take(MAX_SHOWN_KEY_ID).collect())
        })?;
        let plain = cipher::open(kek.bytes(), &dek_aad(kek.id(), id), &sealed.wrapped_dek)?;
        let mut dek = Zeroizing::new([0u8; DEK_LEN]);
        if plain.len() != DEK_LEN {
            return Err(VaultError::Decrypt);
        }
        dek.copy_from_slice(&plain);
        Ok(dek)
    }
}

fn wrap_dek(kek: &MasterKey, id: Uuid, dek: &[u8; DEK_LEN]) -> Result<Vec<u8>, VaultError> {
    let mut plain = Zeroizing::new(Vec::with_capacity(DEK_LEN + TAG_LEN));
    plain.extend_from_slice(dek);
    cipher::seal(kek.bytes(), &dek_aad(kek.id(), id), plain)
}

fn credential_aad(id: Uuid, app_id: &str, channel: Channel) -> String {
    format!("pushgate/credential/v1/{id}/{app_id}/{channel}")
}

fn secret_aad(id: Uuid, purpose: &str, owner: &str) -> String {
    format!("pushgate/secret/v1/{purpose}/{id}/{owner}")
}

fn dek_aad(kek_id: &str, id: Uuid) -> String {
    format!("pushgate/dek/v1/{kek_id}/{id}")
}

/// The JSON of `secret` in a buffer of exactly the right capacity (plus room for the tag):
/// measured first, so the buffer never grows and no reallocation leaves a stray copy of the
/// plaintext in freed memory.
fn serialize(secret: &CredentialSecret) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, secret).map_err(|_| VaultError::Encrypt)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(counter.0 + TAG_LEN));
    serde_json::to_writer(&mut *buf, secret).map_err(|_| VaultError::Encrypt)?;
    Ok(buf)
}

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
