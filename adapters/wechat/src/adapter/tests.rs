//! The adapter's own rules without a network: local refusals, credential checks, callbacks
//! through the trait.

use super::*;
use crate::builder::WechatBuilder;
use crate::config::WechatConfig;
use push_core::adapter::CallbackReply;
use push_core::{AppSettings, DeliveryId, IngestMessage, Secret, Target, TenantId};
use std::sync::Arc;

fn adapter() -> Arc<dyn Adapter> {
    // Nothing listens on port 9: any request would fail as Retry.
    let config: WechatConfig = serde_json::from_value(serde_json::json!({
        "base_url": "http://127.0.0.1:9",
        "auth_url": "http://127.0.0.1:9/cgi-bin/stable_token",
        "request_timeout_seconds": 1,
    }))
    .unwrap();
    WechatBuilder::new(config).build().unwrap()
}

fn app(wechat: Option<WechatSettings>) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            wechat,
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn secret(app_id: &str) -> CredentialSecret {
    CredentialSecret::WechatAppSecret {
        app_id: app_id.into(),
        app_secret: Secret::new("TOP-SECRET-APPSECRET"),
    }
}

#[tokio::test]
async fn a_message_without_a_template_is_rejected_before_any_request() {
    let a = adapter();
    let app = app(None);
    let credential = CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(secret("wx00000000000000a1")),
    };
    let message = IngestMessage {
        id: "m".into(),
        app: "chat-prod".into(),
        to: Target::Devices(vec!["d".into()]),
        notification: None,
        data: Default::default(),
        options: Default::default(),
        overrides: Default::default(),
        wechat: None,
    };
    let targets = [SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: "d".into(),
        channel: Channel::WechatOa,
        token: "oOPENID".into(),
        apns_environment: None,
    }];
    let results = a
        .send(SendRequest {
            app: &app,
            credential: &credential,
            message: &message,
            accepted_at: OffsetDateTime::now_utc(),
            targets: &targets,
        })
        .await;
    assert_eq!(results.len(), 1);
    assert!(
        matches!(&results[0].outcome, Outcome::Rejected { reason } if reason.contains("template")),
        "{results:?}"
    );
    assert_eq!(
        a.health(),
        AdapterHealth::Healthy,
        "a message's fault is not the adapter's"
    );
}

#[test]
fn credentials_must_be_one_of_the_apps_wechat_app_ids() {
    let a = adapter();
    let now = OffsetDateTime::now_utc();
    let settings = WechatSettings {
        official_account_app_id: Some("wx00000000000000a1".into()),
        ..WechatSettings::default()
    };
    assert!(
        a.verify_credential(
            &app(Some(settings.clone())),
            &secret("wx00000000000000a1"),
            now
        )
        .is_ok()
    );
    assert!(
        a.verify_credential(&app(None), &secret("wx00000000000000ff"), now)
            .is_ok()
    );
    let err = a
        .verify_credential(&app(Some(settings)), &secret("wx00000000000000ff"), now)
        .unwrap_err();
    assert!(err.to_string().contains("official_account_app_id"), "{err}");
    let err = a
        .verify_credential(&app(None), &secret("gh_123"), now)
        .unwrap_err();
    assert!(!err.to_string().contains("TOP-SECRET"), "{err}");
}

#[test]
fn callbacks_are_verified_with_the_apps_callback_secrets() {
    use push_core::adapter::CallbackSecrets;
    let a = adapter();
    let app = app(None);
    let credential = secret("wx00000000000000a1");
    let secrets = CallbackSecrets {
        token: Secret::new("Tok3nTok3nTok3nTok3nTok3nTok3n12"),
        aes_key: Secret::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
    };
    let now = OffsetDateTime::now_utc();
    let ts = now.unix_timestamp().to_string();
    let signature = crate::crypt::sign(&[secrets.token.expose(), &ts, "nonce1"]);
    let request = CallbackRequest {
        method: "POST".into(),
        query: vec![
            ("signature".into(), signature),
            ("timestamp".into(), ts),
            ("nonce".into(), "nonce1".into()),
        ],
        headers: vec![],
        body: b"<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>42</MsgID><Status>success</Status></xml>".to_vec(),
    };
    let mut context = CallbackContext {
        app: &app,
        credential: Some(&credential),
        path_token_valid: true,
        secrets: None,
        now,
    };
    assert!(matches!(
        a.parse_callback(&request, &context),
        Err(CallbackError::Unauthenticated(_))
    ));
    context.secrets = Some(&secrets);
    let answer = a.parse_callback(&request, &context).unwrap();
    assert_eq!(answer.reply, CallbackReply::text("success"));
    assert_eq!(answer.receipts[0].vendor_message_id.as_deref(), Some("42"));
    assert_eq!(answer.receipts[0].token.as_deref(), Some("o1"));
    let other = CallbackSecrets {
        token: Secret::new("another-token"),
        aes_key: Secret::new("x"),
    };
    context.secrets = Some(&other);
    assert!(matches!(
        a.parse_callback(&request, &context),
        Err(CallbackError::Unauthenticated(_))
    ));
}

#[test]
fn debug_shows_no_secret() {
    let shown = format!("{:?}", secret("wx1"));
    assert!(!shown.contains("TOP-SECRET"), "{shown}");
}
