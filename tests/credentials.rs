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
async fn an_unknown_check_mode_is_refused() {
    let e = env().await;
    let (s, b) =
        e.pg.upload(&e.key, "chat", "fcm", "?check=sometimes", dev_fcm())
            .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query")),
        "{b}"
    );
    assert!(e.pg.credentials(&e.key, "chat").await.is_empty());
}

/// A build without the vivo adapter (`--no-default-features --features apns,fcm,…`) still
/// takes vivo credentials with structural checks, and refuses to pretend a live check.
#[cfg(not(feature = "vivo"))]
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
}

fn versions(list: &[Value]) -> Vec<(String, i64, String)> {
    list.iter()
        .map(|c| {
            (
                c["vendor"].as_str().unwrap().to_string(),
                c["version"].as_i64().unwrap(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn versions_are_restored_with_one_call_and_inactive_ones_deleted() {
    let e = env().await;
    for _ in 0..3 {
        let (s, b) = e.pg.upload(&e.key, "chat", "fcm", "", dev_fcm()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, meta) =
        e.pg.call(
            Method::POST,
            "/v1/apps/chat/credentials/fcm/versions/1/activate",
            &e.key,
            None,
        )
        .await;
    assert_eq!(
        (s, meta["version"].as_i64(), meta["state"].as_str()),
        (StatusCode::OK, Some(1), Some("active")),
        "{meta}"
    );
    let list = e.pg.credentials(&e.key, "chat").await;
    assert_eq!(
        versions(&list),
        [
            ("fcm".into(), 1, "active".into()),
            ("fcm".into(), 2, "inactive".into()),
            ("fcm".into(), 3, "inactive".into())
        ]
    );
    for field in [
        "kind",
        "fingerprint",
        "created_at",
        "activated_at",
        "not_after",
        "health",
    ] {
        assert!(
            list[0].get(field).is_some(),
            "{field} is listed: {}",
            list[0]
        );
    }
    assert!(
        list[0]["health"].get("last_success_at").is_some(),
        "{}",
        list[0]
    );

    let (s, b) =
        e.pg.call(
            Method::DELETE,
            "/v1/apps/chat/credentials/fcm/versions/1",
            &e.key,
            None,
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::CONFLICT, &json!("conflict")),
        "{b}"
    );
    let (s, _) =
        e.pg.call(
            Method::DELETE,
            "/v1/apps/chat/credentials/fcm/versions/2",
            &e.key,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for path in [
        "/v1/apps/chat/credentials/fcm/versions/2",
        "/v1/apps/chat/credentials/apns/versions/1",
    ] {
        let (s, b) = e.pg.call(Method::DELETE, path, &e.key, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
    }
    let (s, _) =
        e.pg.call(
            Method::POST,
            "/v1/apps/chat/credentials/fcm/versions/9/activate",
            &e.key,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        e.pg.call(
            Method::POST,
            "/v1/apps/chat/credentials/fcm/versions/3/activate",
            &e.key,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, audit) =
        e.pg.call(Method::GET, "/v1/apps/chat/credentials/audit", &e.key, None)
            .await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    let actions: Vec<(String, i64)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("upload".into(), 1),
            ("upload".into(), 2),
            ("upload".into(), 3),
            ("rollback".into(), 1),
            ("delete".into(), 2),
            ("activate".into(), 3)
        ]
    );
    let first = &audit[0];
    for field in ["tenant_id", "api_key_id", "app_id", "vendor", "at"] {
        assert!(!first[field].is_null(), "{field}: {first}");
    }
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_credential_route() {
    let e = env().await;
    let (s, b) = e.pg.upload(&e.key, "chat", "fcm", "", dev_fcm()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = e.pg.upload(&e.key, "chat", "fcm", "", dev_fcm()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let intruder = e.pg.tenant("intruder").await;
    let routes: [(Method, &str, Option<Value>); 5] = [
        (Method::GET, "/v1/apps/chat/credentials", None),
        (
            Method::PUT,
            "/v1/apps/chat/credentials/fcm",
            Some(dev_fcm()),
        ),
        (
            Method::POST,
            "/v1/apps/chat/credentials/fcm/versions/1/activate",
            None,
        ),
        (
            Method::DELETE,
            "/v1/apps/chat/credentials/fcm/versions/1",
            None,
        ),
        (Method::GET, "/v1/apps/chat/credentials/audit", None),
    ];
    for (method, path, body) in routes {
        let (s, b) = e.pg.call(method.clone(), path, &intruder, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {b}");
        assert_eq!(b["error"]["message"], "app not found", "{b}");
        let (s, _) = e.pg.call(method.clone(), path, "pgk_not-a-key", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // Nothing changed: two versions, the second active, two uploads in the log.
    let list = e.pg.credentials(&e.key, "chat").await;
    assert_eq!(
        versions(&list),
        [
            ("fcm".into(), 1, "inactive".into()),
            ("fcm".into(), 2, "active".into())
        ]
    );
    let (_, audit) =
        e.pg.call(Method::GET, "/v1/apps/chat/credentials/audit", &e.key, None)
            .await;
    assert_eq!(audit.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn activating_a_version_that_no_longer_verifies_is_refused() {
    let e = env().await;
    let (s, b) =
        e.pg.upload(
            &e.key,
            "chat",
            "apns",
            "",
            p12("apns-cert.p12", P12_PASSWORD),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = e.pg.upload(&e.key, "chat", "apns", "", dev_p8()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The app's bundle id changes: the certificate no longer covers it.
    let (s, b) =
        e.pg.call(
            Method::PATCH,
            "/v1/apps/chat",
            &e.key,
            Some(json!({"settings": {
            "apns": {"bundle_id": "com.example.renamed"}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) =
        e.pg.call(
            Method::POST,
            "/v1/apps/chat/credentials/apns/versions/1/activate",
            &e.key,
            None,
        )
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_credential")),
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("com.example.renamed"),
        "{b}"
    );
    let list = e.pg.credentials(&e.key, "chat").await;
    assert_eq!(list[1]["state"], "active", "version 2 stays active");
}
