//! What can go wrong in the vault: loading master keys, sealing and opening credentials.
//!
//! Every message says what is wrong and where, and none carries key material or a secret:
//! parse errors name the origin and the position of the key, never its text; decryption
//! failures are one fixed message, so they leak nothing about why authentication failed.

use std::io;
use std::path::PathBuf;

/// An error of the credential vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No master key is configured and none may be generated (the PostgreSQL case).
    #[error(
        "no master key: set `master_key` or `master_key_file` (32 random bytes, standard base64; \
         e.g. `openssl rand -base64 32`)"
    )]
    NoMasterKey,
    /// Both `master_key` and `master_key_file` are set.
    #[error("both `master_key` and `master_key_file` are set; set only one of them")]
    ConflictingSources,
    /// The configured text holds no key at all (empty, or only separators).
    #[error("{origin} holds no master key (expected standard base64 of 32 random bytes)")]
    EmptyKeyList {
        /// Where the keys came from: `master_key`, or the file's path.
        origin: String,
    },
    /// A key is not standard base64.
    #[error("master key #{entry} in {origin} is not standard base64")]
    NotBase64 {
        /// Where the keys came from: `master_key`, or the file's path.
        origin: String,
        /// The key's position in the list, from 1.
        entry: usize,
    },
    /// A key decodes to the wrong number of bytes.
    #[error("master key #{entry} in {origin} is {len} bytes instead of 32")]
    WrongLength {
        /// Where the keys came from: `master_key`, or the file's path.
        origin: String,
        /// The key's position in the list, from 1.
        entry: usize,
        /// How many bytes it decodes to.
        len: usize,
    },
    /// A master key file could not be read, created or written.
    #[error("cannot {action} master key file {}: {kind}", path.display())]
    Io {
        /// What was attempted: `read`, `create`, `write`, `create the directory of`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the operating system answered.
        kind: io::ErrorKind,
    },
    /// A sealed credential names a master key that is not in the keyring.
    #[error(
        "unknown master key id {0:?}: the credential was sealed with a key that is not configured \
         (add it to the keyring as an older key)"
    )]
    UnknownKey(String),
    /// Authentication failed: wrong key, tampered data, or sealed for another id/app/channel.
    #[error("credential could not be decrypted")]
    Decrypt,
    /// Encryption or random-number generation failed.
    #[error("credential could not be encrypted")]
    Encrypt,
    /// The data decrypted but is not a credential secret this version understands.
    #[error("decrypted credential is not a valid credential secret")]
    Malformed,
}

impl VaultError {
    /// An [`VaultError::Io`] for `path`.
    pub(crate) fn io(action: &'static str, path: &std::path::Path, err: &io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            kind: err.kind(),
        }
    }
}
