//! Vendor credentials as tenants upload them: reading the uploaded fields into a
//! [`push_core::CredentialSecret`] ([`upload`]) and verifying it through the vendor's adapter
//! before it is stored ([`verify`]). Sealing is the vault's job (`crate::vault`); storing,
//! versioning and activation belong to the store and the API.

pub mod event;
pub mod expiry;
pub mod health;
pub mod upload;
pub mod verify;

pub use upload::{
    MAX_FIELD_BYTES, UploadError, UploadFields, accepted_fields, fields_from_json, parse_upload,
};
pub use verify::{Verification, VerifyError, verify_upload};
