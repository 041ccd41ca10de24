//! Fingerprints of credential secrets: tell versions apart without revealing them.
//!
//! `fingerprint(secret)` = `sha256:` + hex of the first 16 bytes of SHA-256 over the
//! canonical JSON of the secret: the flat object `{"kind": …, <field>: …}` exactly as serde
//! writes a [`CredentialSecret`], with keys sorted and no whitespace (RFC 8785 for an object
//! of strings). Sorting makes it independent of field order in the Rust type and of
//! serde_json's features. It is written straight into the hash, so no extra copy of the
//! secret is made.

use aws_lc_rs::digest::{Context, SHA256};
use push_core::CredentialSecret;

/// `sha256:` + 32 hex digits identifying `secret`; the same secret always gives the same
/// fingerprint.
pub fn fingerprint(secret: &CredentialSecret) -> String {
    let mut fields = fields(secret);
    fields.sort_unstable_by_key(|(name, _)| *name);
    let mut hash = Context::new(&SHA256);
    hash.update(b"{");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            hash.update(b",");
        }
        write_json_string(&mut hash, name);
        hash.update(b":");
        write_json_string(&mut hash, value);
    }
    hash.update(b"}");
    format!("sha256:{}", hex::encode(&hash.finish().as_ref()[..16]))
}

/// The serde field names and values of `secret`, `kind` included. Destructured without
/// `..`, so a field added to push-core fails to compile here instead of being left out.
fn fields(secret: &CredentialSecret) -> Vec<(&'static str, &str)> {
    let kind = ("kind", secret.kind().as_str());
    let mut out = vec![kind];
    match secret {
        CredentialSecret::ApnsP8 {
            key_id,
            team_id,
            private_key,
        } => out.extend([
            ("key_id", key_id.as_str()),
            ("team_id", team_id.as_str()),
            ("private_key", private_key.expose()),
        ]),
        CredentialSecret::ApnsP12 {
            pkcs12_base64,
            password,
        } => out.extend([
            ("pkcs12_base64", pkcs12_base64.expose()),
            ("password", password.expose()),
        ]),
        CredentialSecret::FcmServiceAccount {
            service_account_json,
        } => out.push(("service_account_json", service_account_json.expose())),
        CredentialSecret::HuaweiOauth { app_id, app_secret } => out.extend([
            ("app_id", app_id.as_str()),
            ("app_secret", app_secret.expose()),
        ]),
        CredentialSecret::HonorOauth {
            app_id,
            client_id,
            client_secret,
        } => out.extend([
            ("app_id", app_id.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
        ]),
        CredentialSecret::XiaomiAppSecret {
            package_name,
            app_secret,
        } => out.extend([
            ("package_name", package_name.as_str()),
            ("app_secret", app_secret.expose()),
        ]),
        CredentialSecret::OppoMasterSecret {
            app_key,
            master_secret,
        } => out.extend([
            ("app_key", app_key.as_str()),
            ("master_secret", master_secret.expose()),
        ]),
        CredentialSecret::VivoAppSecret {
            app_id,
            app_key,
            app_secret,
        } => out.extend([
            ("app_id", app_id.as_str()),
            ("app_key", app_key.as_str()),
            ("app_secret", app_secret.expose()),
        ]),
        CredentialSecret::WechatAppSecret { app_id, app_secret } => out.extend([
            ("app_id", app_id.as_str()),
            ("app_secret", app_secret.expose()),
        ]),
    }
    out
}

/// Writes `s` as a JSON string literal: `"` and `\` escaped, the short escapes for
/// backspace, tab, newline, form feed and carriage return, `\u00xx` (lower-case hex) for the
/// other control characters, everything else as UTF-8 (RFC 8785 §3.2.2.2).
fn write_json_string(hash: &mut Context, s: &str) {
    hash.update(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[],
            _ => continue,
        };
        hash.update(&bytes[start..i]);
        if escape.is_empty() {
            hash.update(format!("\\u{b:04x}").as_bytes());
        } else {
            hash.update(escape);
        }
        start = i + 1;
    }
    hash.update(&bytes[start..]);
    hash.update(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::samples::all_secrets;
    use aws_lc_rs::digest::digest;
    use push_core::Secret;

    /// The reference: serde's JSON, re-serialised through a `Value` with sorted keys.
    fn reference(secret: &CredentialSecret) -> String {
        let value = serde_json::to_value(secret).unwrap();
        let map = value.as_object().unwrap();
        let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = map.iter().collect();
        let json = serde_json::to_string(&sorted).unwrap();
        format!(
            "sha256:{}",
            hex::encode(&digest(&SHA256, json.as_bytes()).as_ref()[..16])
        )
    }

    #[test]
    fn matches_sorted_serde_json_for_every_kind() {
        for secret in all_secrets() {
            assert_eq!(
                fingerprint(&secret),
                reference(&secret),
                "{:?}",
                secret.kind()
            );
        }
    }

    #[test]
    fn escapes_like_json() {
        let secret = CredentialSecret::WechatAppSecret {
            app_id: "wx\"\\/\u{8}\t\n\u{c}\r\u{1}\u{1f}é€😀".into(),
            app_secret: Secret::new("x\u{7f}y"),
        };
        assert_eq!(fingerprint(&secret), reference(&secret));
    }

    #[test]
    fn stable_and_distinct() {
        let secrets = all_secrets();
        let prints: Vec<String> = secrets.iter().map(fingerprint).collect();
        for (secret, print) in secrets.iter().zip(&prints) {
            assert_eq!(&fingerprint(&secret.clone()), print);
            assert!(
                print.starts_with("sha256:") && print.len() == 7 + 32,
                "{print}"
            );
        }
        let unique: std::collections::BTreeSet<&String> = prints.iter().collect();
        assert_eq!(unique.len(), prints.len());
        let a = CredentialSecret::OppoMasterSecret {
            app_key: "k".into(),
            master_secret: Secret::new("s1"),
        };
        let b = CredentialSecret::OppoMasterSecret {
            app_key: "k".into(),
            master_secret: Secret::new("s2"),
        };
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
