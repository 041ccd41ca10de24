//! Format checks of uploaded fields. Each returns a fixed reason (a sentence fragment after
//! "field `x`") and never looks at more than it must; none echoes the value.

use super::UploadError;
use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use zeroize::{Zeroize as _, Zeroizing};

/// A check's verdict: `Err(reason)`.
pub(super) type Check = fn(&str) -> Result<(), &'static str>;

/// Standard base64, padding optional, for uploaded text (ASCII whitespace removed first).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes base64 text that may be wrapped over lines; `None` if it is not base64.
pub(super) fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    LENIENT_BASE64
        .decode(compact.as_bytes())
        .ok()
        .map(Zeroizing::new)
}

/// APNs key id and team id: exactly 10 ASCII letters or digits.
pub(super) fn apple_id(s: &str) -> Result<(), &'static str> {
    if s.len() == 10 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err("must be 10 letters or digits, as shown in the Apple developer account")
    }
}

/// A PKCS#8 PEM block labelled `PRIVATE KEY` with a base64 body (the key type itself is not
/// checked here). Surrounding whitespace is ignored.
pub(super) fn pkcs8_pem(s: &str) -> Result<(), &'static str> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let s = s.trim();
    let Some(body) = s
        .strip_prefix(BEGIN)
        .and_then(|rest| rest.strip_suffix(END))
    else {
        return Err(if s.starts_with("-----BEGIN ") {
            "is a PEM block of another type; a PKCS#8 block labelled PRIVATE KEY is required"
        } else {
            "must be a PEM block labelled PRIVATE KEY (the .p8 / PKCS#8 key as downloaded)"
        });
    };
    if body.contains("-----") {
        return Err("must hold exactly one PEM block labelled PRIVATE KEY");
    }
    match decode_base64(body) {
        None => Err("has a PEM body that is not valid base64"),
        Some(der) if der.is_empty() => Err("has an empty PEM body"),
        Some(_) => Ok(()),
    }
}

/// Huawei App ID: 1 to 64 digits.
pub(super) fn digits(s: &str) -> Result<(), &'static str> {
    if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be 1 to 64 digits")
    }
}

/// A vendor identifier (app id, client id, app key): 1 to 128 letters, digits, `.`, `_`, `-`.
pub(super) fn identifier(s: &str) -> Result<(), &'static str> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if (1..=128).contains(&s.len()) && s.bytes().all(ok) {
        Ok(())
    } else {
        Err("must be 1 to 128 letters, digits, '.', '_' or '-'")
    }
}

/// An Android package name: two or more dot-separated parts, each a letter followed by
/// letters, digits or `_`; at most 255 characters.
pub(super) fn package_name(s: &str) -> Result<(), &'static str> {
    let part_ok = |p: &str| {
        let mut bytes = p.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if s.len() <= 255 && s.split('.').count() >= 2 && s.split('.').all(part_ok) {
        Ok(())
    } else {
        Err("must be an Android package name such as com.example.app")
    }
}

/// WeChat AppID: `wx` and 1 to 32 letters or digits.
pub(super) fn wechat_app_id(s: &str) -> Result<(), &'static str> {
    match s.strip_prefix("wx") {
        Some(rest)
            if (1..=32).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(())
        }
        _ => Err("must be `wx` followed by 1 to 32 letters or digits"),
    }
}

fn visible_ascii(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// WeChat AppSecret: 1 to 128 visible ASCII characters (32 hex digits in practice).
pub(super) fn wechat_secret(s: &str) -> Result<(), &'static str> {
    if visible_ascii(s, 128) {
        Ok(())
    } else {
        Err("must be 1 to 128 visible ASCII characters, without spaces")
    }
}

/// Other vendor secrets: 1 to 1024 visible ASCII characters. Vendors issue them as hex or
/// base64-like tokens; a space or non-ASCII character can only be a copy-and-paste slip.
pub(super) fn vendor_secret(s: &str) -> Result<(), &'static str> {
    if visible_ascii(s, 1024) {
        Ok(())
    } else {
        Err("must be 1 to 1024 visible ASCII characters, without spaces")
    }
}

/// The FCM service-account key file: a JSON object with `"type": "service_account"`,
/// non-empty `project_id` and `client_email`, a PKCS#8 PEM `private_key` and an http(s)
/// `token_uri`.
pub(super) fn service_account(text: &str) -> Result<(), UploadError> {
    const FIELD: &str = "service_account";
    let value: Value = serde_json::from_str(text).map_err(|e| UploadError::InvalidJson {
        field: FIELD,
        line: e.line(),
        column: e.column(),
    })?;
    let doc = ScrubbedJson(value);
    let Some(obj) = doc.0.as_object() else {
        return Err(UploadError::Invalid {
            field: FIELD,
            reason: "must be a JSON object (the service-account key file from the Firebase console)",
        });
    };
    let string = |name: &'static str, field: &'static str| -> Result<&str, UploadError> {
        match obj.get(name) {
            None | Some(Value::Null) => Err(UploadError::Missing { field }),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.as_str()),
            Some(_) => Err(UploadError::Invalid {
                field,
                reason: "must be a non-empty string",
            }),
        }
    };
    let invalid = |field, reason| UploadError::Invalid { field, reason };
    if string("type", "service_account.type")? != "service_account" {
        return Err(invalid(
            "service_account.type",
            "must be \"service_account\"",
        ));
    }
    string("project_id", "service_account.project_id")?;
    if !string("client_email", "service_account.client_email")?.contains('@') {
        return Err(invalid(
            "service_account.client_email",
            "must be the service account's e-mail address",
        ));
    }
    pkcs8_pem(string("private_key", "service_account.private_key")?)
        .map_err(|reason| invalid("service_account.private_key", reason))?;
    let uri = string("token_uri", "service_account.token_uri")?;
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
        return Err(invalid(
            "service_account.token_uri",
            "must be an http:// or https:// URL",
        ));
    }
    Ok(())
}

/// A parsed JSON document whose `private_key` string is zeroed when it is dropped.
struct ScrubbedJson(Value);

impl Drop for ScrubbedJson {
    fn drop(&mut self) {
        if let Some(Value::String(key)) = self.0.get_mut("private_key") {
            key.zeroize();
        }
    }
}
