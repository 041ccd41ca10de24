//! Example secrets of every kind, for the vault's tests.

use push_core::{CredentialSecret, Secret};

/// One secret of every [`push_core::CredentialKind`], each with distinctive secret values
/// (all containing `SECRET`).
pub(crate) fn all_secrets() -> Vec<CredentialSecret> {
    vec![
        CredentialSecret::ApnsP8 {
            key_id: "ABC123DEFG".into(),
            team_id: "TEAM123456".into(),
            private_key: Secret::new(
                "-----BEGIN PRIVATE KEY-----\nP8SECRETP8SECRET\n-----END PRIVATE KEY-----\n",
            ),
        },
        CredentialSecret::ApnsP12 {
            pkcs12_base64: Secret::new("MIIP12SECRETP12SECRET"),
            password: Secret::new("p12-SECRET-password"),
        },
        CredentialSecret::FcmServiceAccount {
            service_account_json: Secret::new(
                r#"{"type":"service_account","private_key":"FCMSECRET"}"#,
            ),
        },
        CredentialSecret::HuaweiOauth {
            app_id: "10086".into(),
            app_secret: Secret::new("huawei-SECRET-value"),
        },
        CredentialSecret::HonorOauth {
            app_id: "104400000".into(),
            client_id: "client-1".into(),
            client_secret: Secret::new("honor-SECRET-value"),
        },
        CredentialSecret::XiaomiAppSecret {
            package_name: "com.example.chat".into(),
            app_secret: Secret::new("xiaomi-SECRET-value"),
        },
        CredentialSecret::OppoMasterSecret {
            app_key: "oppo-key".into(),
            master_secret: Secret::new("oppo-SECRET-value"),
        },
        CredentialSecret::VivoAppSecret {
            app_id: "105500000".into(),
            app_key: "vivo-key".into(),
            app_secret: Secret::new("vivo-SECRET-value"),
        },
        CredentialSecret::WechatAppSecret {
            app_id: "wx1234567890abcdef".into(),
            app_secret: Secret::new("wechat-SECRET-value"),
        },
    ]
}
