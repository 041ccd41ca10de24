use super::*;
use crate::auth::tests::{cert_file, p8_pem, p12};
use crate::builder::ApnsBuilder;
use crate::config::ApnsConfig;
use push_core::{AppSettings, IngestMessage, Secret, TenantId};
use serde_json::json;

pub(crate) fn app(bundle_id: Option<&str>) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            apns: bundle_id.map(|b| ApnsSettings {
                bundle_id: b.into(),
                default_environment: ApnsEnvironment::Production,
            }),
            ..Default::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn verify(
    app: &App,
    secret: &CredentialSecret,
    now: OffsetDateTime,
) -> Result<CredentialFacts, CheckError> {
    auth::verify(bundle_id(app), secret, now)
}

fn p8_secret() -> CredentialSecret {
    CredentialSecret::ApnsP8 {
        key_id: "ABC123DEFG".into(),
        team_id: "TEAM123456".into(),
        private_key: p8_pem(),
    }
}

fn p12_secret(file: &str, password: &str) -> CredentialSecret {
    CredentialSecret::ApnsP12 {
        pkcs12_base64: p12(file),
        password: Secret::new(password),
    }
}

fn credential(secret: CredentialSecret) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(secret),
    }
}

/// An adapter whose APNs is a closed local port: any request would fail as a `Retry`.
fn offline_adapter() -> ApnsAdapter {
    let config = ApnsConfig {
        base_url: Url::parse("https://127.0.0.1:1").unwrap(),
        sandbox_url: Url::parse("https://127.0.0.1:1").unwrap(),
        request_timeout_seconds: 2,
        connect_timeout_seconds: 1,
        ..Default::default()
    };
    ApnsBuilder::new(config).build_adapter().unwrap()
}

fn message(extra: serde_json::Value) -> IngestMessage {
    let mut base = json!({"id": "m-1", "app": "chat-prod", "to": {"devices": ["d1"]}});
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn target(token: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: "d1".into(),
        channel: Channel::Apns,
        token: token.into(),
        apns_environment: None,
    }
}

const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

async fn send(
    adapter: &ApnsAdapter,
    app: &App,
    cred: &CredentialRef,
    msg: &IngestMessage,
    targets: &[SendTarget],
) -> Vec<TargetResult> {
    adapter
        .send(SendRequest {
            app,
            credential: cred,
            message: msg,
            accepted_at: OffsetDateTime::now_utc(),
            targets,
        })
        .await
}

#[test]
fn p8_keys_verify_without_facts() {
    let facts = verify(
        &app(Some("com.example.chat")),
        &p8_secret(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(facts, CredentialFacts::default());
    let bad = CredentialSecret::ApnsP8 {
        key_id: "short".into(),
        team_id: "TEAM123456".into(),
        private_key: p8_pem(),
    };
    assert!(
        matches!(verify(&app(None), &bad, OffsetDateTime::now_utc()), Err(CheckError::Invalid(m)) if m.starts_with("key_id"))
    );
}

#[test]
fn certificates_verify_with_expiry_and_topics_in_both_encodings() {
    for file in ["apns-cert.p12", "apns-cert-legacy.p12"] {
        let facts = verify(
            &app(Some("com.example.chat")),
            &p12_secret(file, "pushgate-test"),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(
            facts
                .not_after
                .is_some_and(|t| t > OffsetDateTime::now_utc()),
            "{file}"
        );
        assert!(facts.topics.contains(&"com.example.chat.voip".to_string()));
    }
}

#[test]
fn certificate_problems_are_invalid_with_a_clear_message() {
    let now = OffsetDateTime::now_utc();
    let chat = app(Some("com.example.chat"));
    let invalid = |app: &App, secret: CredentialSecret| match verify(app, &secret, now) {
        Err(CheckError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(
        invalid(&chat, p12_secret("apns-cert.p12", "nope")),
        "the .p12 password is wrong"
    );
    assert_eq!(
        invalid(&chat, p12_secret("apns-cert-expired.p12", "pushgate-test")),
        "the certificate expired on 2016-01-02"
    );
    let other = invalid(
        &app(Some("com.example.other")),
        p12_secret("apns-cert.p12", "pushgate-test"),
    );
    assert!(
        other.contains("do not include the app's bundle id com.example.other"),
        "{other}"
    );
    assert!(other.contains("com.example.chat.voip"), "{other}");
    assert_eq!(
        invalid(&app(None), p12_secret("apns-cert.p12", "pushgate-test")),
        NO_SETTINGS
    );
    let fcm = CredentialSecret::FcmServiceAccount {
        service_account_json: Secret::new("{}"),
    };
    assert!(
        invalid(&chat, fcm)
            .starts_with("a fcm_service_account credential cannot authenticate APNs")
    );
    // Valid at some time in 2016, before it expired.
    let then = time::macros::datetime!(2016-01-01 12:00:00 UTC);
    assert!(
        verify(
            &chat,
            &p12_secret("apns-cert-expired.p12", "pushgate-test"),
            then
        )
        .is_ok()
    );
}

#[tokio::test]
async fn oversized_payloads_are_rejected_without_a_connection() {
    let adapter = offline_adapter();
    let cred = credential(p8_secret());
    let msg = message(json!({"notification": {"body": "x".repeat(5000)}}));
    let results = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &[target(TOKEN), target(TOKEN)],
    )
    .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(
            matches!(&r.outcome, Outcome::Rejected { reason } if reason.contains("4096")),
            "{r:?}"
        );
    }
    assert_eq!(adapter.pools.len(), 0, "no connection was even made");
    assert_eq!(adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn apps_without_apns_settings_and_odd_tokens_are_refused_locally() {
    let adapter = offline_adapter();
    let cred = credential(p8_secret());
    let msg = message(json!({"notification": {"body": "hi"}}));
    let results = send(&adapter, &app(None), &cred, &msg, &[target(TOKEN)]).await;
    assert!(matches!(&results[0].outcome, Outcome::Rejected { reason } if reason == NO_SETTINGS));
    let results = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &[target("../../admin")],
    )
    .await;
    assert!(
        matches!(&results[0].outcome, Outcome::InvalidToken { reason, .. } if reason.starts_with("BadDeviceToken"))
    );
    assert_eq!(adapter.pools.len(), 0);
}

#[tokio::test]
async fn network_failures_are_retries_that_degrade_health() {
    let adapter = offline_adapter();
    let cred = credential(p8_secret());
    let msg = message(json!({"notification": {"body": "hi"}}));
    let targets = [target(TOKEN), target(TOKEN), target(TOKEN)];
    let results = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &targets,
    )
    .await;
    assert_eq!(results.len(), 3);
    for (r, t) in results.iter().zip(&targets) {
        assert_eq!(r.delivery_id, t.delivery_id);
        assert!(
            matches!(&r.outcome, Outcome::Retry { after: None, .. }),
            "{r:?}"
        );
        let shown = format!("{r:?}");
        assert!(
            !shown.contains(TOKEN),
            "no device token in outcomes: {shown}"
        );
    }
    assert!(
        matches!(adapter.health(), AdapterHealth::Degraded { reason } if reason.contains("could not be reached"))
    );
}

#[tokio::test]
async fn wrong_credential_kinds_fail_auth_for_every_target() {
    let adapter = offline_adapter();
    let cred = credential(CredentialSecret::FcmServiceAccount {
        service_account_json: Secret::new("{}"),
    });
    let msg = message(json!({"notification": {"body": "hi"}}));
    let results = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &[target(TOKEN), target(TOKEN)],
    )
    .await;
    assert!(results.iter().all(|r| r.outcome.kind() == "auth_failed"));
    adapter.forget_auth(cred.id);
    adapter.forget_auth(Uuid::new_v4());
}

#[tokio::test]
async fn forget_auth_drops_the_credentials_connections() {
    let adapter = offline_adapter();
    let cred = credential(p12_secret("apns-cert.p12", "pushgate-test"));
    let msg = message(json!({"notification": {"body": "hi"}}));
    let mut sandbox = target(TOKEN);
    sandbox.apns_environment = Some(ApnsEnvironment::Sandbox);
    let _ = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &[sandbox],
    )
    .await;
    let _ = send(
        &adapter,
        &app(Some("com.example.chat")),
        &cred,
        &msg,
        &[target(TOKEN)],
    )
    .await;
    // Network errors drop a pool themselves; make them again without sending.
    for environment in [ApnsEnvironment::Production, ApnsEnvironment::Sandbox] {
        adapter
            .pool(environment, &AuthKey::Certificate(cred.id), &cred)
            .unwrap();
    }
    assert_eq!(adapter.pools.len(), 2);
    adapter.forget_auth(cred.id);
    assert_eq!(adapter.pools.len(), 0);
}

#[tokio::test]
async fn secrets_never_show_in_debug_output() {
    let adapter = offline_adapter();
    let p8 = credential(p8_secret());
    let p12_cred = credential(p12_secret("apns-cert.p12", "pushgate-test"));
    let bad = credential(p12_secret("apns-cert.p12", "wrong-password-123"));
    let msg = message(json!({"notification": {"body": "hi"}}));
    let chat = app(Some("com.example.chat"));
    let mut shown = String::new();
    for cred in [&p8, &p12_cred, &bad] {
        let results = send(&adapter, &chat, cred, &msg, &[target(TOKEN)]).await;
        shown += &format!("{results:?}{cred:?}");
        shown += &format!("{:?}", adapter.check_credential(&chat, cred).await);
        shown += &format!(
            "{:?}",
            adapter.verify_credential(&chat, &cred.secret, OffsetDateTime::now_utc())
        );
    }
    shown += &format!(
        "{adapter:?}{:?}{:?}",
        ApnsConfig::default(),
        adapter.health()
    );
    let p8_body: String = p8_pem()
        .expose()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der_b64 = p12("apns-cert.p12");
    assert!(!shown.contains(&p8_body[..40]), "{shown}");
    for line in p8_pem()
        .expose()
        .lines()
        .filter(|l| !l.starts_with("-----"))
    {
        assert!(!shown.contains(line), "{shown}");
    }
    assert!(!shown.contains(&der_b64.expose()[..40]));
    assert!(
        !shown.contains("pushgate-test") && !shown.contains("wrong-password-123"),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN), "{shown}");
    let cert_key: String = String::from_utf8(cert_file("apns-cert.key")).unwrap();
    assert!(!shown.contains(cert_key.lines().nth(1).unwrap()));
}

#[test]
fn capabilities_describe_apns() {
    let info = offline_adapter().info();
    assert_eq!(info.vendor, "apns");
    assert_eq!(info.channels, &[Channel::Apns]);
    assert_eq!(info.capabilities.max_payload_bytes, 4096);
    assert!(info.capabilities.per_token_results && info.capabilities.collapse);
}
