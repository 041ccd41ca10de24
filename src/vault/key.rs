//! Master keys (key-encryption keys, KEKs) and the keyring that holds them.
//!
//! A master key is 32 random bytes, written as standard base64. Its id is `mk-` followed by
//! the hex of the first 8 bytes of SHA-256 over the key bytes: stable, derivable by anyone
//! holding the key, and useless for guessing it. Key bytes are zeroed on drop and never
//! appear in `Debug`.

use super::VaultError;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Length of a master key, in bytes (AES-256).
pub const MASTER_KEY_LEN: usize = 32;

/// One master key: 32 secret bytes and their public id.
#[derive(ZeroizeOnDrop)]
pub struct MasterKey {
    #[zeroize(skip)]
    id: String,
    bytes: [u8; MASTER_KEY_LEN],
}

impl MasterKey {
    /// A fresh key from the system's secure random source.
    pub fn generate() -> Result<Self, VaultError> {
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| VaultError::Encrypt)?;
        Ok(Self::from_array(&bytes))
    }

    /// A key from its base64 text (standard alphabet, padded; surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        Self::parse(text, "master key", 1)
    }

    /// Parses one key; `origin` and `entry` only serve error messages.
    pub(crate) fn parse(text: &str, origin: &str, entry: usize) -> Result<Self, VaultError> {
        let decoded =
            Zeroizing::new(
                STANDARD
                    .decode(text.trim())
                    .map_err(|_| VaultError::NotBase64 {
                        origin: origin.to_string(),
                        entry,
                    })?,
            );
        let bytes: &[u8; MASTER_KEY_LEN] =
            decoded
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::WrongLength {
                    origin: origin.to_string(),
                    entry,
                    len: decoded.len(),
                })?;
        Ok(Self::from_array(bytes))
    }

    fn from_array(bytes: &[u8; MASTER_KEY_LEN]) -> Self {
        let hash = digest(&SHA256, bytes);
        let id = format!("mk-{}", hex::encode(&hash.as_ref()[..8]));
        Self { id, bytes: *bytes }
    }

    /// The key's id, `mk-` + 16 hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The standard-base64 text of the key, for writing a newly generated key to its file.
    pub(crate) fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_slice()))
    }

    /// The raw key, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// The master keys in use: the current key seals, every key (current and older) opens.
///
/// Older keys exist for master-key rotation: configure the new key first and the old ones
/// after it, re-wrap the stored credentials ([`super::Vault::rewrap`]), then drop the old keys.
pub struct Keyring {
    current: MasterKey,
    older: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring sealing with `current`. Older keys equal to an earlier key are dropped.
    pub fn new(current: MasterKey, older: Vec<MasterKey>) -> Self {
        let mut kept: Vec<MasterKey> = Vec::with_capacity(older.len());
        for key in older {
            if key.id != current.id && kept.iter().all(|k| k.id != key.id) {
                kept.push(key);
            }
        }
        Self {
            current,
            older: kept,
        }
    }

    /// Parses a list of base64 keys separated by commas or newlines: the first is current,
    /// the rest are older. `origin` (`master_key` or a file path) names it in errors.
    pub(crate) fn parse_list(text: &str, origin: &str) -> Result<Self, VaultError> {
        let mut keys = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .enumerate()
            .map(|(i, entry)| MasterKey::parse(entry, origin, i + 1));
        let current = keys.next().ok_or_else(|| VaultError::EmptyKeyList {
            origin: origin.to_string(),
        })??;
        let older = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(current, older))
    }

    /// The key that seals.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The older keys, which only open.
    pub fn older(&self) -> &[MasterKey] {
        &self.older
    }

    /// The key with this id, current or older.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|key| key.id == id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let older: Vec<&str> = self.older.iter().map(MasterKey::id).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("older", &older)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn id_is_derived_from_the_key_bytes() {
        let key = MasterKey::from_base64(KEY_A).unwrap();
        let bytes: Vec<u8> = (0u8..32).collect();
        let expected = format!("mk-{}", hex::encode(&digest(&SHA256, &bytes).as_ref()[..8]));
        assert_eq!(key.id(), expected);
        assert_eq!(key.id().len(), 3 + 16);
        assert_eq!(MasterKey::from_base64(KEY_A).unwrap().id(), key.id());
        assert_eq!(key.to_base64().as_str(), KEY_A);
    }

    #[test]
    fn generated_keys_differ() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn bad_base64_and_wrong_length_are_named() {
        let err = MasterKey::from_base64("not base64!").unwrap_err();
        assert!(
            matches!(err, VaultError::NotBase64 { entry: 1, .. }),
            "{err:?}"
        );
        let err = MasterKey::from_base64("AAAA").unwrap_err();
        assert!(
            matches!(err, VaultError::WrongLength { len: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("3 bytes instead of 32"), "{err}");
    }

    #[test]
    fn list_parses_current_then_older_and_skips_blanks() {
        let b = MasterKey::generate().unwrap();
        let c = MasterKey::generate().unwrap();
        let text = format!(
            " {KEY_A} ,\n{}\r\n\n{},",
            b.to_base64().as_str(),
            c.to_base64().as_str()
        );
        let ring = Keyring::parse_list(&text, "master_key").unwrap();
        assert_eq!(
            ring.current().id(),
            MasterKey::from_base64(KEY_A).unwrap().id()
        );
        let older: Vec<&str> = ring.older().iter().map(MasterKey::id).collect();
        assert_eq!(older, [b.id(), c.id()]);
        assert!(ring.get(c.id()).is_some());
        assert!(ring.get("mk-0000000000000000").is_none());
    }

    #[test]
    fn list_errors_name_the_entry() {
        let err = Keyring::parse_list(&format!("{KEY_A},AAAA"), "master_key").unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::WrongLength {
                    entry: 2,
                    len: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = Keyring::parse_list(" ,\n ", "master_key").unwrap_err();
        assert!(matches!(err, VaultError::EmptyKeyList { .. }), "{err:?}");
    }

    #[test]
    fn duplicate_older_keys_are_dropped() {
        let ring = Keyring::parse_list(&format!("{KEY_A},{KEY_A}"), "master_key").unwrap();
        assert!(ring.older().is_empty());
    }

    #[test]
    fn debug_shows_ids_only() {
        let key = MasterKey::from_base64(KEY_A).unwrap();
        let id = key.id().to_string();
        let shown = format!("{key:?}");
        assert!(shown.contains(&id) && !shown.contains(KEY_A), "{shown}");
        let ring = Keyring::new(key, vec![MasterKey::generate().unwrap()]);
        let shown = format!("{ring:?}");
        assert!(shown.contains(&id) && !shown.contains(KEY_A), "{shown}");
        for err in [
            MasterKey::from_base64(&format!("{KEY_A}x")).unwrap_err(),
            MasterKey::from_base64(&KEY_A[4..]).unwrap_err(),
        ] {
            let shown = format!("{err:?} {err}");
            assert!(!shown.contains(&KEY_A[4..20]), "{shown}");
        }
    }
}
