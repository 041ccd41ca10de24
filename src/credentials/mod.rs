//! Vendor credentials as tenants upload them: reading the uploaded fields into a
//! [`push_core::CredentialSecret`]. Sealing is the vault's job (`crate::vault`); storing,
//! versioning and activation belong to the store and the service.

pub mod upload;

pub use upload::{
    MAX_FIELD_BYTES, UploadError, UploadFields, accepted_fields, fields_from_json, parse_upload,
};
