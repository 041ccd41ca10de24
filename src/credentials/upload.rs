//! Turning an uploaded credential (JSON body or multipart form) into a
//! [`CredentialSecret`], with a clear error for anything missing, unknown or malformed.
//!
//! The REST handler collects the fields ([`fields_from_json`], or one entry per multipart
//! part) and calls [`parse_upload`]. Fields per channel:
//!
//! | channel | fields | kind stored |
//! |---|---|---|
//! | `apns` (token) | `key_id` (10 letters/digits), `team_id` (10 letters/digits), `private_key` (the .p8 file: PEM `PRIVATE KEY`) | `apns_p8` |
//! | `apns` (certificate) | `certificate` (the .p12 file: raw bytes in a multipart file part, or base64 text; in JSON also as `certificate_base64`), `password` (required, may be empty) | `apns_p12` |
//! | `fcm` | `service_account` (the service-account JSON file; in a JSON body also an inline object) | `fcm_service_account` |
//! | `huawei` | `app_id` (1–64 digits), `app_secret` | `huawei_oauth` |
//! | `honor` | `app_id`, `client_id`, `client_secret` | `honor_oauth` |
//! | `xiaomi` | `app_secret`, `package_name` (Android package, e.g. `com.example.chat`) | `xiaomi_app_secret` |
//! | `oppo` | `app_key`, `master_secret` | `oppo_master_secret` |
//! | `vivo` | `app_id`, `app_key`, `app_secret` | `vivo_app_secret` |
//! | `wechat_oa`, `wechat_mp` | `app_id` (`wx` + 1–32 letters/digits), `app_secret` (1–128 visible ASCII) | `wechat_app_secret` |
//!
//! Rules for every channel: each field at most 64 KiB; text fields valid UTF-8; required
//! fields present and not blank (the .p12 `password` may be empty); unknown fields refused.
//! APNs takes exactly one of the two sets. Identifiers (`key_id`, `app_id`, `client_id`,
//! `app_key`, `package_name`) are `.`/`_`/`-`/letters/digits unless stated above.
//! Other vendor secrets are 1–1024 visible ASCII characters.
//!
//! What is stored: identifiers and vendor secrets without surrounding whitespace (a
//! trailing newline from a file part or a paste would otherwise break every vendor call);
//! the .p8 PEM and the service-account JSON exactly as uploaded (whitespace around them is
//! insignificant to their parsers, and keeping the original keeps the upload verifiable);
//! the .p12 `password` exactly as given (spaces may be part of it); the .p12 as standard
//! base64 of its raw bytes. The PKCS#12 and the keys are not parsed here: verification of
//! the key material is a separate step.
//!
//! Errors name the field and the problem and never contain a value.

mod checks;
mod error;

pub use error::UploadError;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use checks::Check;
use push_core::{Channel, CredentialSecret, Secret};
use serde_json::Value;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// One uploaded field: from JSON (text) or a multipart part (text or file bytes).
pub type UploadFields = BTreeMap<String, Vec<u8>>;

/// Largest accepted field, in bytes.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

const APNS_P8: [&str; 3] = ["key_id", "team_id", "private_key"];
const APNS_P12: [&str; 3] = ["certificate", "certificate_base64", "password"];

/// The field names `channel` accepts (see the module documentation).
pub fn accepted_fields(channel: Channel) -> &'static [&'static str] {
    match channel {
        Channel::Apns => &[
            "key_id",
            "team_id",
            "private_key",
            "certificate",
            "certificate_base64",
            "password",
        ],
        Channel::Fcm => &["service_account"],
        Channel::Huawei => &["app_id", "app_secret"],
        Channel::Honor => &["app_id", "client_id", "client_secret"],
        Channel::Xiaomi => &["app_secret", "package_name"],
        Channel::Oppo => &["app_key", "master_secret"],
        Channel::Vivo => &["app_id", "app_key", "app_secret"],
        Channel::WechatOa | Channel::WechatMp => &["app_id", "app_secret"],
    }
}

/// The fields of a JSON body: an object whose values are strings. An object or array value
/// (an inline service account) becomes its JSON text; an integer becomes its decimal text
/// (numeric app ids). Anything else is [`UploadError::WrongType`].
pub fn fields_from_json(body: &Value) -> Result<UploadFields, UploadError> {
    let object = body.as_object().ok_or(UploadError::NotAnObject)?;
    let mut fields = UploadFields::new();
    for (name, value) in object {
        let bytes = match value {
            Value::String(text) => text.as_bytes().to_vec(),
            Value::Object(_) | Value::Array(_) => {
                serde_json::to_vec(value).map_err(|_| UploadError::wrong_type(name))?
            }
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string().into_bytes(),
            _ => return Err(UploadError::wrong_type(name)),
        };
        fields.insert(name.clone(), bytes);
    }
    Ok(fields)
}

/// Checks the uploaded fields for `channel` and builds the secret to store.
pub fn parse_upload(
    channel: Channel,
    fields: &UploadFields,
) -> Result<CredentialSecret, UploadError> {
    let accepted = accepted_fields(channel);
    let mut unknown: Vec<String> = fields
        .keys()
        .filter(|name| !accepted.contains(&name.as_str()))
        .map(|name| error::shown_name(name))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(UploadError::UnknownFields {
            channel,
            fields: unknown,
            accepted,
        });
    }
    for name in accepted {
        if fields.get(*name).is_some_and(|v| v.len() > MAX_FIELD_BYTES) {
            return Err(UploadError::TooLarge {
                field: name,
                limit: MAX_FIELD_BYTES,
            });
        }
    }
    let form = Form { fields };
    Ok(match channel {
        Channel::Apns => return apns(&form),
        Channel::Fcm => {
            let text = form.text("service_account")?;
            checks::service_account(text)?;
            CredentialSecret::FcmServiceAccount {
                service_account_json: Secret::new(text),
            }
        }
        Channel::Huawei => CredentialSecret::HuaweiOauth {
            app_id: form.identifier("app_id", checks::digits)?,
            app_secret: form.secret("app_secret", checks::vendor_secret)?,
        },
        Channel::Honor => CredentialSecret::HonorOauth {
            app_id: form.identifier("app_id", checks::identifier)?,
            client_id: form.identifier("client_id", checks::identifier)?,
            client_secret: form.secret("client_secret", checks::vendor_secret)?,
        },
        Channel::Xiaomi => CredentialSecret::XiaomiAppSecret {
            app_secret: form.secret("app_secret", checks::vendor_secret)?,
            package_name: form.identifier("package_name", checks::package_name)?,
        },
        Channel::Oppo => CredentialSecret::OppoMasterSecret {
            app_key: form.identifier("app_key", checks::identifier)?,
            master_secret: form.secret("master_secret", checks::vendor_secret)?,
        },
        Channel::Vivo => CredentialSecret::VivoAppSecret {
            app_id: form.identifier("app_id", checks::identifier)?,
            app_key: form.identifier("app_key", checks::identifier)?,
            app_secret: form.secret("app_secret", checks::vendor_secret)?,
        },
        Channel::WechatOa | Channel::WechatMp => CredentialSecret::WechatAppSecret {
            app_id: form.identifier("app_id", checks::wechat_app_id)?,
            app_secret: form.secret("app_secret", checks::wechat_secret)?,
        },
    })
}

fn apns(form: &Form<'_>) -> Result<CredentialSecret, UploadError> {
    let has_any = |names: &[&str]| names.iter().any(|n| form.fields.contains_key(*n));
    match (has_any(&APNS_P8), has_any(&APNS_P12)) {
        (true, true) => Err(UploadError::ApnsBothKinds),
        (false, false) => Err(UploadError::ApnsNoKind),
        (true, false) => {
            let key_id = form.identifier("key_id", checks::apple_id)?;
            let team_id = form.identifier("team_id", checks::apple_id)?;
            let private_key = form.text("private_key")?;
            checks::pkcs8_pem(private_key).map_err(|reason| UploadError::Invalid {
                field: "private_key",
                reason,
            })?;
            Ok(CredentialSecret::ApnsP8 {
                key_id,
                team_id,
                private_key: Secret::new(private_key),
            })
        }
        (false, true) => {
            let pkcs12 = form.pkcs12()?;
            // Present but possibly empty, and kept exactly as given.
            let password = form.raw_text("password")?;
            Ok(CredentialSecret::ApnsP12 {
                pkcs12_base64: Secret::new(STANDARD.encode(&*pkcs12)),
                password: Secret::new(password),
            })
        }
    }
}

/// Typed access to the uploaded fields, with the error for each failure.
struct Form<'a> {
    fields: &'a UploadFields,
}

impl<'a> Form<'a> {
    fn raw(&self, field: &'static str) -> Result<&'a [u8], UploadError> {
        self.fields
            .get(field)
            .map(Vec::as_slice)
            .ok_or(UploadError::Missing { field })
    }

    /// Present and UTF-8, possibly empty.
    fn raw_text(&self, field: &'static str) -> Result<&'a str, UploadError> {
        std::str::from_utf8(self.raw(field)?).map_err(|_| UploadError::NotUtf8 { field })
    }

    /// Present, UTF-8 and not blank; returned as given.
    fn text(&self, field: &'static str) -> Result<&'a str, UploadError> {
        let text = self.raw_text(field)?;
        if text.trim().is_empty() {
            return Err(UploadError::Empty { field });
        }
        Ok(text)
    }

    /// A non-secret identifier, trimmed and checked.
    fn identifier(&self, field: &'static str, check: Check) -> Result<String, UploadError> {
        let value = self.text(field)?.trim();
        check(value).map_err(|reason| UploadError::Invalid { field, reason })?;
        Ok(value.to_string())
    }

    /// A vendor secret, trimmed and checked.
    fn secret(&self, field: &'static str, check: Check) -> Result<Secret, UploadError> {
        let value = self.text(field)?.trim();
        check(value).map_err(|reason| UploadError::Invalid { field, reason })?;
        Ok(Secret::new(value))
    }

    /// The .p12 file's bytes, from `certificate` (raw bytes or base64 text) or
    /// `certificate_base64`. A real .p12 is DER: it starts with 0x30 and, being longer than
    /// 127 bytes, a long-form length byte (>= 0x80), so it is never valid UTF-8; base64 text
    /// always is. That tells the two forms apart without guessing.
    fn pkcs12(&self) -> Result<Zeroizing<Vec<u8>>, UploadError> {
        let (field, bytes) = match (
            self.fields.get("certificate"),
            self.fields.get("certificate_base64"),
        ) {
            (Some(_), Some(_)) => {
                return Err(UploadError::Conflict {
                    field: "certificate",
                    other: "certificate_base64",
                });
            }
            (Some(bytes), None) => ("certificate", bytes),
            (None, Some(bytes)) => ("certificate_base64", bytes),
            (None, None) => {
                return Err(UploadError::Missing {
                    field: "certificate",
                });
            }
        };
        if bytes.trim_ascii().is_empty() {
            return Err(UploadError::Empty { field });
        }
        let invalid = |reason| UploadError::Invalid { field, reason };
        let der = match std::str::from_utf8(bytes) {
            Err(_) if field == "certificate" => Zeroizing::new(bytes.clone()),
            Err(_) => return Err(UploadError::NotUtf8 { field }),
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
                return Err(invalid("is PEM; upload the .p12 file itself or its base64"));
            }
            Ok(text) => {
                checks::decode_base64(text).ok_or_else(|| invalid("is not valid base64"))?
            }
        };
        match der.first() {
            None => Err(UploadError::Empty { field }),
            Some(0x30) => Ok(der),
            Some(_) => Err(invalid("is not a PKCS#12 (.p12) file")),
        }
    }
}

#[cfg(test)]
mod tests;
