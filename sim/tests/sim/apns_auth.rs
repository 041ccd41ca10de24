//! APNs transport and authentication: HTTP/2 only, token auth (signature, kid, iss, alg,
//! expiry, update rate, connection binding), certificate auth (topics, expiry).

use push_sim::types::{ApnsEnvironment, ApnsKeySpec, ApnsTeamTopics, ClockShift, Vendor};

use crate::helpers::*;

#[tokio::test]
async fn token_auth_push_is_accepted_with_apns_id_echoed() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let id = "123e4567-e89b-12d3-a456-4266554400a0";
    let auth = format!("bearer {}", dev_jwt(now()));
    let headers = [
        ("authorization", auth.as_str()),
        ("apns-topic", TOPIC),
        ("apns-id", id),
    ];
    let path = format!("/3/device/{TOKEN}");
    let body = r#"{"aps":{"alert":{"title":"Alice","body":"hi"}}}"#;
    let r = apns_post(&client, &sim.apns_sandbox_url(), &path, &headers, body).await;
    assert_eq!((r.status, r.apns_id.as_deref()), (200, Some(id)), "{r:?}");
    assert!(
        r.unique_id.is_some(),
        "sandbox answers carry apns-unique-id"
    );
    let r = apns_post(
        &client,
        &sim.apns_production_url(),
        &path,
        &headers[..2],
        body,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.apns_id.is_some_and(|id| id.len() == 36),
        "a generated apns-id"
    );
    assert!(r.unique_id.is_none(), "production has no apns-unique-id");
    sim.shutdown().await;
}

#[tokio::test]
async fn http1_is_refused() {
    let sim = spawn_sim().await;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(sim.ca_pem_path()).unwrap()).unwrap();
    let h1 = reqwest::Client::builder()
        .tls_certs_only([ca])
        .http1_only()
        .build()
        .unwrap();
    let res = h1
        .post(format!("{}/3/device/{TOKEN}", sim.apns_sandbox_url()))
        .body("{}")
        .send()
        .await;
    assert!(res.is_err(), "HTTP/1.1 must not get an answer: {res:?}");
    let failed = || {
        sim.control()
            .counters()
            .vendor(Vendor::Apns)
            .handshake_failures
            == 1
    };
    assert!(eventually(failed).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn provider_token_failures() {
    let sim = spawn_sim().await;
    let base = sim.apns_sandbox_url();
    let p8 = cert_file("apns-authkey.p8");
    let other_key = cert_file("sim.key"); // another P-256 key
    let cases = [
        (
            jwt("ABC123DEFG", "TEAM123456", now(), &other_key),
            "InvalidProviderToken",
        ), // bad signature
        (
            jwt("UNKNOWNKID", "TEAM123456", now(), &p8),
            "InvalidProviderToken",
        ),
        (
            jwt("ABC123DEFG", "TEAM999999", now(), &p8),
            "InvalidProviderToken",
        ), // wrong iss
        (
            jwt("ABC123DEFG", "TEAM123456", now() - 3601, &p8),
            "ExpiredProviderToken",
        ),
        (
            jwt("ABC123DEFG", "TEAM123456", now() * 1000, &p8),
            "InvalidProviderToken",
        ), // ms iat
        ("not.a.jwt".to_string(), "InvalidProviderToken"),
    ];
    for (token, reason) in cases {
        // A fresh connection per case, so no token-update rule interferes.
        let r = alert(&apns_client(&sim), &base, &token, TOKEN).await;
        assert_eq!((r.status, r.reason()), (403, reason), "{token}");
    }
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("ABC123DEFG".into()),
            ..Default::default()
        },
        &serde_json::json!({"iss": "TEAM123456", "iat": now()}),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let r = alert(&apns_client(&sim), &base, &hs256, TOKEN).await;
    assert_eq!(r.reason(), "InvalidProviderToken");
    let path = format!("/3/device/{TOKEN}");
    let r = apns_post(
        &apns_client(&sim),
        &base,
        &path,
        &[("apns-topic", TOPIC)],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.reason()), (403, "MissingProviderToken"));
    sim.shutdown().await;
}

#[tokio::test]
async fn provider_token_expires_an_hour_after_iat_on_the_sim_clock() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let token = dev_jwt(now());
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &token, TOKEN)
            .await
            .status,
        200
    );
    sim.control().shift_clock(ClockShift { seconds: 3601 });
    let r = alert(&client, &sim.apns_sandbox_url(), &token, TOKEN).await;
    assert_eq!((r.status, r.reason()), (403, "ExpiredProviderToken"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_new_provider_token_within_20_minutes_is_too_many_updates() {
    let sim = spawn_sim().await;
    let base = sim.apns_sandbox_url();
    let conn = apns_client(&sim);
    let (first, second) = (dev_jwt(now() - 10), dev_jwt(now()));
    assert_eq!(alert(&conn, &base, &first, TOKEN).await.status, 200);
    let r = alert(&conn, &base, &second, TOKEN).await;
    assert_eq!((r.status, r.reason()), (429, "TooManyProviderTokenUpdates"));
    assert_eq!(
        alert(&conn, &base, &first, TOKEN).await.status,
        200,
        "the old token still works"
    );
    assert_eq!(
        alert(&apns_client(&sim), &base, &second, TOKEN)
            .await
            .status,
        200,
        "a new connection may"
    );
    sim.control().shift_clock(ClockShift {
        seconds: 20 * 60 + 1,
    });
    assert_eq!(
        alert(&conn, &base, &second, TOKEN).await.status,
        200,
        "after 20 minutes"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_binding_and_key_environments() {
    let sim = spawn_sim().await;
    let other = cert_file("dev-ca.key"); // another P-256 key, registered as a second team's key
    let c = sim.control();
    c.add_apns_key(ApnsKeySpec {
        key_id: "OTHERKEY01".into(),
        team_id: "TEAM777777".into(),
        private_key_pem: Some(String::from_utf8(other.clone()).unwrap()),
        environments: vec![ApnsEnvironment::Sandbox],
        ..Default::default()
    })
    .unwrap();
    c.add_apns_topics(ApnsTeamTopics {
        team_id: "TEAM777777".into(),
        topics: vec![TOPIC.into()],
    })
    .unwrap();
    let other_jwt = jwt("OTHERKEY01", "TEAM777777", now(), &other);
    let conn = apns_client(&sim);
    let sandbox = sim.apns_sandbox_url();
    assert_eq!(
        alert(&conn, &sandbox, &dev_jwt(now()), TOKEN).await.status,
        200
    );
    let r = alert(&conn, &sandbox, &other_jwt, TOKEN).await;
    assert_eq!((r.status, r.reason()), (403, "UnrelatedKeyIdInToken"));
    assert_eq!(
        alert(&apns_client(&sim), &sandbox, &other_jwt, TOKEN)
            .await
            .status,
        200
    );
    let r = alert(
        &apns_client(&sim),
        &sim.apns_production_url(),
        &other_jwt,
        TOKEN,
    )
    .await;
    assert_eq!((r.status, r.reason()), (403, "BadEnvironmentKeyIdInToken"));
    assert!(c.remove_apns_key("OTHERKEY01"));
    let r = alert(&apns_client(&sim), &sandbox, &other_jwt, TOKEN).await;
    assert_eq!(r.reason(), "InvalidProviderToken", "a revoked key");
    sim.shutdown().await;
}

#[tokio::test]
async fn certificate_auth_uses_the_certificate_topics() {
    let sim = spawn_sim().await;
    let client = apns_cert_client(&sim, &dev_identity_pem());
    let base = sim.apns_production_url();
    let path = format!("/3/device/{TOKEN}");
    let body = r#"{"aps":{"alert":"hi"}}"#;
    let garbage_auth = [("authorization", "bearer ignored"), ("apns-topic", TOPIC)];
    let r = apns_post(&client, &base, &path, &garbage_auth, body).await;
    assert_eq!(
        r.status, 200,
        "authorization is ignored with a certificate: {r:?}"
    );
    let voip = [
        ("apns-topic", "com.example.chat.voip"),
        ("apns-push-type", "voip"),
    ];
    assert_eq!(
        apns_post(&client, &base, &path, &voip, body).await.status,
        200
    );
    let r = apns_post(&client, &base, &path, &[], body).await;
    assert_eq!(
        (r.status, r.reason()),
        (400, "MissingTopic"),
        "several topics: apns-topic required"
    );
    let r = apns_post(
        &client,
        &base,
        &path,
        &[("apns-topic", "com.other.app")],
        body,
    )
    .await;
    assert_eq!(r.reason(), "TopicDisallowed");
    // apns.md §4.2: token auth is needed for live activities and location queries; the sim
    // refuses the push type with 403 Forbidden before looking at the topic.
    for (push_type, topic) in [
        ("liveactivity", "com.example.chat.push-type.liveactivity"),
        ("location", "com.example.chat.location-query"),
    ] {
        let headers = [("apns-topic", topic), ("apns-push-type", push_type)];
        let r = apns_post(&client, &base, &path, &headers, body).await;
        assert_eq!((r.status, r.reason()), (403, "Forbidden"), "{push_type}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_client_certificate_fails_the_handshake() {
    let sim = spawn_sim().await;
    let p12 = cert_file("apns-cert-expired.p12");
    let store = p12_keystore::KeyStore::from_pkcs12(
        &p12,
        "pushgate-test",
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let mut pem_text = pem::encode(&pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec()));
    for c in chain.certs() {
        pem_text.push_str(&pem::encode(&pem::Pem::new(
            "CERTIFICATE",
            c.as_der().to_vec(),
        )));
    }
    let client = apns_cert_client(&sim, pem_text.as_bytes());
    let res = client
        .post(format!("{}/3/device/{TOKEN}", sim.apns_production_url()))
        .header("apns-topic", TOPIC)
        .body("{}")
        .send()
        .await;
    assert!(
        res.is_err(),
        "an expired certificate must not get an answer: {res:?}"
    );
    let failed = || {
        sim.control()
            .counters()
            .vendor(Vendor::Apns)
            .handshake_failures
            == 1
    };
    assert!(eventually(failed).await);
    sim.shutdown().await;
}
