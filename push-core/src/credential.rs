//! Vendor credentials: what a tenant uploads (secret), what anyone may see (metadata), and
//! the sealed form the store keeps.

use crate::channel::Channel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string: zeroed on drop, redacted in `Debug`. It serialises as plain text, which
/// only the credential vault does, to seal it; API answers never carry a [`CredentialSecret`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must use it (signing, sealing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The kinds of credential, each tied to the channels it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// APNs provider-token key (.p8) with key id and team id.
    ApnsP8,
    /// APNs TLS client certificate (.p12) with its password.
    ApnsP12,
    /// FCM service-account JSON.
    FcmServiceAccount,
    /// Huawei app id + app secret (OAuth client credentials).
    HuaweiOauth,
    /// Honor app id + client id + client secret (OAuth client credentials).
    HonorOauth,
    /// Xiaomi AppSecret + package name.
    XiaomiAppSecret,
    /// OPPO AppKey + MasterSecret.
    OppoMasterSecret,
    /// vivo AppID + AppKey + AppSecret.
    VivoAppSecret,
    /// WeChat AppID + AppSecret (official account or mini program).
    WechatAppSecret,
}

impl CredentialKind {
    /// Every kind.
    pub const ALL: [CredentialKind; 9] = [
        Self::ApnsP8,
        Self::ApnsP12,
        Self::FcmServiceAccount,
        Self::HuaweiOauth,
        Self::HonorOauth,
        Self::XiaomiAppSecret,
        Self::OppoMasterSecret,
        Self::VivoAppSecret,
        Self::WechatAppSecret,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApnsP8 => "apns_p8",
            Self::ApnsP12 => "apns_p12",
            Self::FcmServiceAccount => "fcm_service_account",
            Self::HuaweiOauth => "huawei_oauth",
            Self::HonorOauth => "honor_oauth",
            Self::XiaomiAppSecret => "xiaomi_app_secret",
            Self::OppoMasterSecret => "oppo_master_secret",
            Self::VivoAppSecret => "vivo_app_secret",
            Self::WechatAppSecret => "wechat_app_secret",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this kind can authenticate sends on `channel`.
    pub fn serves(self, channel: Channel) -> bool {
        matches!(
            (self, channel),
            (Self::ApnsP8 | Self::ApnsP12, Channel::Apns)
                | (Self::FcmServiceAccount, Channel::Fcm)
                | (Self::HuaweiOauth, Channel::Huawei)
                | (Self::HonorOauth, Channel::Honor)
                | (Self::XiaomiAppSecret, Channel::Xiaomi)
                | (Self::OppoMasterSecret, Channel::Oppo)
                | (Self::VivoAppSecret, Channel::Vivo)
                | (Self::WechatAppSecret, Channel::WechatOa | Channel::WechatMp)
        )
    }
}

/// A credential's secret material, as uploaded. Its `Debug` shows identifiers only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSecret {
    /// APNs .p8 key.
    ApnsP8 {
        /// The 10-character key id.
        key_id: String,
        /// The 10-character team id.
        team_id: String,
        /// The PKCS#8 PEM private key.
        private_key: Secret,
    },
    /// APNs .p12 certificate.
    ApnsP12 {
        /// The PKCS#12 file, base64.
        pkcs12_base64: Secret,
        /// Its password.
        password: Secret,
    },
    /// FCM service account.
    FcmServiceAccount {
        /// The whole service-account JSON file.
        service_account_json: Secret,
    },
    /// Huawei OAuth client.
    HuaweiOauth {
        /// The numeric App ID.
        app_id: String,
        /// The App Secret.
        app_secret: Secret,
    },
    /// Honor OAuth client.
    HonorOauth {
        /// The App ID used in the send URL.
        app_id: String,
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
    },
    /// Xiaomi.
    XiaomiAppSecret {
        /// The Android package name registered with Xiaomi.
        package_name: String,
        /// The AppSecret.
        app_secret: Secret,
    },
    /// OPPO.
    OppoMasterSecret {
        /// The AppKey.
        app_key: String,
        /// The MasterSecret.
        master_secret: Secret,
    },
    /// vivo.
    VivoAppSecret {
        /// The AppID.
        app_id: String,
        /// The AppKey.
        app_key: String,
        /// The AppSecret.
        app_secret: Secret,
    },
    /// WeChat.
    WechatAppSecret {
        /// The AppID (`wx…`).
        app_id: String,
        /// The AppSecret.
        app_secret: Secret,
    },
}

impl CredentialSecret {
    /// Its kind.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::ApnsP8 { .. } => CredentialKind::ApnsP8,
            Self::ApnsP12 { .. } => CredentialKind::ApnsP12,
            Self::FcmServiceAccount { .. } => CredentialKind::FcmServiceAccount,
            Self::HuaweiOauth { .. } => CredentialKind::HuaweiOauth,
            Self::HonorOauth { .. } => CredentialKind::HonorOauth,
            Self::XiaomiAppSecret { .. } => CredentialKind::XiaomiAppSecret,
            Self::OppoMasterSecret { .. } => CredentialKind::OppoMasterSecret,
            Self::VivoAppSecret { .. } => CredentialKind::VivoAppSecret,
            Self::WechatAppSecret { .. } => CredentialKind::WechatAppSecret,
        }
    }

    /// The non-secret identifiers worth showing in a listing (key id, app id, …).
    pub fn public_fields(&self) -> BTreeMap<String, String> {
        let pairs: Vec<(&str, &str)> = match self {
            Self::ApnsP8 {
                key_id, team_id, ..
            } => vec![("key_id", key_id), ("team_id", team_id)],
            Self::ApnsP12 { .. } | Self::FcmServiceAccount { .. } => vec![],
            Self::HuaweiOauth { app_id, .. } => vec![("app_id", app_id)],
            Self::HonorOauth {
                app_id, client_id, ..
            } => vec![("app_id", app_id), ("client_id", client_id)],
            Self::XiaomiAppSecret { package_name, .. } => vec![("package_name", package_name)],
            Self::OppoMasterSecret { app_key, .. } => vec![("app_key", app_key)],
            Self::VivoAppSecret {
                app_id, app_key, ..
            } => vec![("app_id", app_id), ("app_key", app_key)],
            Self::WechatAppSecret { app_id, .. } => vec![("app_id", app_id)],
        };
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// Whether a credential version is the one in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    /// Used for sends.
    Active,
    /// Kept for rollback.
    Inactive,
}

/// What anyone allowed to see the app may see of a credential version. Never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialMeta {
    /// Unique id of this version (also bound into its encryption).
    pub id: Uuid,
    /// The app.
    pub app_id: String,
    /// The channel it serves. Named `vendor` in JSON, as in the API path.
    #[serde(rename = "vendor", alias = "channel")]
    pub channel: Channel,
    /// 1, 2, 3… per app and channel.
    pub version: i64,
    /// Its kind.
    pub kind: CredentialKind,
    /// `sha256:` and the first 16 bytes (hex) of the SHA-256 of the secret material, to
    /// tell versions apart without revealing them.
    pub fingerprint: String,
    /// Non-secret identifiers (key id, team id, app id…).
    pub public_fields: BTreeMap<String, String>,
    /// Active or kept for rollback.
    pub state: CredentialState,
    /// Certificate expiry, where the credential is a certificate.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// When it was uploaded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last became active.
    #[serde(with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
}

/// Encrypted secret material, as the store keeps it. Opaque to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    /// Id of the master key (KEK) that wrapped the data key.
    pub kek_id: String,
    /// The data key, encrypted under the KEK (nonce ‖ ciphertext ‖ tag).
    pub wrapped_dek: Vec<u8>,
    /// The secret, encrypted under the data key (nonce ‖ ciphertext ‖ tag).
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCredential")
            .field("kek_id", &self.kek_id)
            .field(
                "wrapped_dek",
                &format_args!("{} bytes", self.wrapped_dek.len()),
            )
            .field(
                "ciphertext",
                &format_args!("{} bytes", self.ciphertext.len()),
            )
            .finish()
    }
}

/// A new credential version for the store: metadata plus the sealed secret. The store
/// assigns the version number.
#[derive(Debug, Clone)]
pub struct NewCredentialVersion {
    /// Id chosen before sealing (it is part of the encryption's associated data).
    pub id: Uuid,
    /// The app.
    pub app_id: String,
    /// The channel.
    pub channel: Channel,
    /// Its kind.
    pub kind: CredentialKind,
    /// See [`CredentialMeta::fingerprint`].
    pub fingerprint: String,
    /// See [`CredentialMeta::public_fields`].
    pub public_fields: BTreeMap<String, String>,
    /// Certificate expiry.
    pub not_after: Option<OffsetDateTime>,
    /// The sealed secret.
    pub sealed: SealedCredential,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let secret = CredentialSecret::VivoAppSecret {
            app_id: "1001".into(),
            app_key: "key-1".into(),
            app_secret: Secret::new("TOP-SECRET-VALUE"),
        };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("TOP-SECRET-VALUE"), "{shown}");
        assert!(shown.contains("1001"));
    }

    #[test]
    fn kinds_serve_their_channels_only() {
        assert!(CredentialKind::ApnsP8.serves(Channel::Apns));
        assert!(CredentialKind::WechatAppSecret.serves(Channel::WechatMp));
        assert!(!CredentialKind::ApnsP8.serves(Channel::Fcm));
        for c in Channel::ALL {
            assert!(
                CredentialKind::ALL.iter().any(|k| k.serves(c)),
                "{c} has no credential kind"
            );
        }
        for k in CredentialKind::ALL {
            assert_eq!(CredentialKind::parse(k.as_str()), Some(k));
        }
    }
}
