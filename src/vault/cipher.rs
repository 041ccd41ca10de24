//! AES-256-GCM blobs: `nonce (12) ‖ ciphertext ‖ tag (16)`.
//!
//! Nonces: we use aws-lc-rs [`RandomizedNonceKey`], which draws a fresh 96-bit nonce from
//! the system's secure random source inside AWS-LC on every seal and hands it back. No code
//! of ours ever chooses a nonce, so none can be reused by mistake (the failure that breaks
//! GCM). Random 96-bit nonces are safe for up to 2^32 seals per key (NIST SP 800-38D); a
//! data key seals exactly once, and a master key wraps one data key per credential version,
//! many orders of magnitude below that bound. `LessSafeKey` with our own random nonce would
//! be equivalent but puts nonce handling in our hands for no gain.

use super::VaultError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use zeroize::Zeroizing;

/// Length of the authentication tag.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `plaintext` (which the caller gives with `TAG_LEN` spare capacity, so appending
/// the tag never reallocates and leaves no plaintext copy behind) and returns the blob.
pub(crate) fn seal(
    key: &[u8; 32],
    aad: &str,
    mut plaintext: Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, VaultError> {
    let key = RandomizedNonceKey::new(&AES_256_GCM, key).map_err(|_| VaultError::Encrypt)?;
    plaintext.reserve_exact(TAG_LEN);
    let nonce = key
        .seal_in_place_append_tag(Aad::from(aad.as_bytes()), &mut *plaintext)
        .map_err(|_| VaultError::Encrypt)?;
    // `plaintext` now holds ciphertext ‖ tag.
    let mut blob = Vec::with_capacity(NONCE_LEN + plaintext.len());
    blob.extend_from_slice(nonce.as_ref());
    blob.extend_from_slice(&plaintext);
    Ok(blob)
}

/// Authenticates and decrypts a blob made by [`seal`] with the same key and `aad`.
/// Every failure, including a blob too short to hold a nonce and tag, is
/// [`VaultError::Decrypt`].
pub(crate) fn open(
    key: &[u8; 32],
    aad: &str,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::Decrypt);
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Decrypt)?;
    let key = RandomizedNonceKey::new(&AES_256_GCM, key).map_err(|_| VaultError::Decrypt)?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
        .map_err(|_| VaultError::Decrypt)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn round_trip_with_random_nonces() {
        let a = seal(&KEY, "aad", Zeroizing::new(b"hello".to_vec())).unwrap();
        let b = seal(&KEY, "aad", Zeroizing::new(b"hello".to_vec())).unwrap();
        assert_eq!(a.len(), NONCE_LEN + 5 + TAG_LEN);
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN], "nonces must differ");
        assert_eq!(open(&KEY, "aad", &a).unwrap().as_slice(), b"hello");
    }

    #[test]
    fn wrong_aad_key_or_short_blob_fail() {
        let blob = seal(&KEY, "aad", Zeroizing::new(b"hello".to_vec())).unwrap();
        assert!(matches!(
            open(&KEY, "other", &blob),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(
            open(&[8; 32], "aad", &blob),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(
            open(&KEY, "aad", &blob[..20]),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(open(&KEY, "aad", &[]), Err(VaultError::Decrypt)));
    }
}
