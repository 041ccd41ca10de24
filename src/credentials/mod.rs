//! Vendor credentials as a product feature: reading uploaded fields into a
//! [`push_core::CredentialSecret`] ([`upload`]), verifying it through the vendor's adapter
//! before it is stored ([`verify`]), the vendor's verdicts on each version ([`health`]),
//! certificate expiry warnings ([`expiry`]), `<app>.credential` events ([`event`]) and
//! master-key rotation ([`rewrap`]). Sealing is the vault's job (`crate::vault`); storing and
//! versioning belong to the store, activation and the audit log to the API.

pub mod event;
pub mod expiry;
pub mod health;
pub mod rewrap;
pub mod shared_tokens;
pub mod upload;
pub mod verify;

pub use upload::{
    MAX_FIELD_BYTES, UploadError, UploadFields, accepted_fields, fields_from_json, parse_upload,
};
pub use verify::{Verification, VerifyError, verify_upload};
