//! The credential vault: envelope encryption of vendor credentials at rest.
//!
//! A [`Keyring`] of master keys (KEKs) is loaded once at start-up ([`load_keyring`]). The
//! [`Vault`] seals each credential version under a fresh data key, wrapped by the current
//! master key, and opens anything sealed by any key of the keyring. [`fingerprint`] names a
//! secret without revealing it. Nothing here logs, and no error or `Debug` output carries key
//! material or a secret.

mod cipher;
mod error;
mod fingerprint;
mod key;
mod load;
#[cfg(test)]
mod samples;
mod sealing;
mod tokens;

pub use error::VaultError;
pub use fingerprint::fingerprint;
pub use key::{Keyring, MASTER_KEY_LEN, MasterKey};
pub use load::{GENERATED_KEY_FILE, MasterKeySource, load_keyring};
pub use sealing::Vault;
