//! Credential uploads through the API against push-sim: verification (offline always, live
//! with `?check=live`), versions (activate, rollback, delete), the audit log, tenant
//! isolation, and no secret in any answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod credential_support;

use credential_support::*;
use push_sim::types::{FaultSpec, Outage, Vendor};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Env {
    sim: push_sim::Sim,
    pg: Instance,
    key: String,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let pg = Instance::start(&config(&sim, dir.path())).await;
    let key = pg.tenant("acme").await;
    pg.app(&key, "chat").await;
    Env {
        sim,
        pg,
        key,
        _dir: dir,
    }
}

fn p12(name: &str, password: &str) -> Value {
    json!({"certificate_base64": cert_base64(name), "password": password})
}

/// Asserts a refused upload: the status, the code, words of the message, and nothing stored.
async fn assert_refused(
    e: &Env,
    (status, body): (StatusCode, Value),
    want: StatusCode,
    code: &str,
    words: &str,
) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(words), "{message:?} should say {words:?}");
    assert!(
        e.pg.credentials(&e.key, "chat").await.is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_valid_p12_is_stored_with_its_expiry() {
    let e = env().await;
    let (s, meta) =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            p12("apns-cert.p12", P12_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["kind"], "apns_p12");
    let not_after = meta["not_after"].as_str().expect("not_after is set");
    let listed = e.pg.credentials(&e.key, "chat").await;
    assert_eq!(listed[0]["not_after"], not_after);
    // The legacy (Keychain-style) encoding opens too.
    let (s, meta) =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            p12("apns-cert-legacy.p12", P12_PASSWORD),
        )
        .await;
    assert_eq!(
        (s, meta["version"].as_i64()),
        (StatusCode::CREATED, Some(2)),
        "{meta}"
    );
}

#[tokio::test]
async fn a_p12_with_the_wrong_password_is_refused() {
    let e = env().await;
    let answer =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            p12("apns-cert.p12", "not-the-password"),
        )
        .await;
    assert_refused(
        &e,
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_credential",
        "password",
    )
    .await;
}

#[tokio::test]
async fn an_expired_p12_is_refused_with_its_date() {
    let e = env().await;
    let answer =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            p12("apns-cert-expired.p12", P12_PASSWORD),
        )
        .await;
    assert_refused(
        &e,
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_credential",
        "expired on",
    )
    .await;
}

#[tokio::test]
async fn a_p12_for_another_bundle_id_is_refused() {
    let e = env().await;
    let (s, b) =
        e.pg.call(
            Method::POST,
            "/v1/apps",
            &e.key,
            Some(json!({"id": "other",
            "settings": {"apns": {"bundle_id": "com.example.other"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (status, body) =
        e.pg.upload(
            &e.key,
            "other",
            "apns",
            "",
            p12("apns-cert.p12", P12_PASSWORD),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("com.example.other"), "{message}");
    assert!(e.pg.credentials(&e.key, "other").await.is_empty());
}

#[tokio::test]
async fn a_p8_holding_the_wrong_key_type_is_refused() {
    let e = env().await;
    // The FCM service account's RSA key is a valid PKCS#8 PEM, but not the P-256 key APNs needs.
    let account: Value = serde_json::from_str(&cert_text("fcm-service-account.json")).unwrap();
    let rsa = account["private_key"].as_str().unwrap();
    let answer =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            json!({"key_id": "ABC123DEFG",
            "team_id": "TEAM123456", "private_key": rsa}),
        )
        .await;
    assert_refused(
        &e,
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_credential",
        "apns",
    )
    .await;
}

#[tokio::test]
async fn live_checks_accept_credentials_the_vendor_knows() {
    let e = env().await;
    for (vendor, body) in [("apns", dev_p8()), ("fcm", dev_fcm())] {
        let (s, meta) =
            e.pg.upload(&e.key, "chat", vendor, "?check=live", body)
                .await;
        assert_eq!(s, StatusCode::CREATED, "{vendor}: {meta}");
    }
    let (s, meta) =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "?check=live",
            p12("apns-cert.p12", P12_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{meta}");
    let counters = e.sim.control().counters();
    let shown = serde_json::to_string(&counters).unwrap();
    assert!(
        shown.contains("auth_requests"),
        "the sim was asked: {shown}"
    );
}

#[tokio::test]
async fn live_checks_refuse_a_key_the_vendor_does_not_know() {
    let e = env().await;
    let unknown =
        json!({"key_id": "ZZZ999ZZZZ", "team_id": "TEAM123456", "private_key": fresh_p8()});
    // Offline it looks fine…
    let answer =
        e.pg.upload(&e.key, "chat", "apns", "?check=live", unknown.clone())
            .await;
    // …but APNs refuses the provider token.
    assert_refused(
        &e,
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "credential_refused",
        "refused",
    )
    .await;

    let mut account: Value = serde_json::from_str(&cert_text("fcm-service-account.json")).unwrap();
    account["client_email"] = json!("stranger@pushgate-test.iam.gserviceaccount.com");
    let answer =
        e.pg.upload(
            &e.key,
            "chat",
            "fcm",
            "?check=live",
            json!({"service_account": account}),
        )
        .await;
    assert_refused(
        &e,
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "credential_refused",
        "fcm",
    )
    .await;
}

#[tokio::test]
async fn a_live_check_against_an_unreachable_vendor_stores_nothing() {
    let e = env().await;
    e.sim
        .control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                outage: Some(Outage::Refuse),
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let answer =
        e.pg.upload(&e.key, "chat", "fcm", "?check=live", dev_fcm())
            .await;
    assert_refused(
        &e,
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "vendor_unreachable",
        "could not be reached",
    )
    .await;
}

#[tokio::test]
async fn vendors_without_an_adapter_get_structural_checks_only() {
    let e = env().await;
    let body = json!({"app_id": "10001", "app_key": "vivo-key", "app_secret": "vivo-secret"});
    let answer =
        e.pg.upload(&e.key, "chat", "vivo", "?check=live", body.clone())
            .await;
    assert_refused(
        &e,
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "not available",
    )
    .await;
    let (s, meta) = e.pg.upload(&e.key, "chat", "vivo", "", body).await;
    assert_eq!(s, StatusCode::CREATED, "{meta}");
    let (s, b) =
        e.pg.upload(&e.key, "chat", "fcm", "?check=sometimes", dev_fcm())
            .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query")),
        "{b}"
    );
}
