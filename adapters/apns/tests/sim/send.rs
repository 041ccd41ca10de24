//! Sends: acceptance, headers and body on the wire, routing, connection reuse, per-device
//! outcomes, refusal before the network.

use crate::helpers::*;
use push_core::ApnsEnvironment;
use push_core::adapter::Outcome;
use push_sim::types::{ApnsEnvironment as SimEnvironment, ApnsTokenState};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn token_auth_send_is_accepted_with_the_delivery_id_as_apns_id() {
    let t = spawn_app().await;
    let device = target(&token(1), None);
    let msg = message(json!({
        "notification": {"title": "Alice", "body": "New message", "badge": 3},
        "data": {"conv": "conv-8841"},
        "options": {"collapse_key": "conv-8841", "ttl": 600}
    }));
    let outcome = t.send_one(&p8(), &msg, &device).await;
    let id = device.delivery_id.to_string();
    assert_eq!(
        outcome,
        Outcome::Accepted {
            vendor_message_id: Some(id.clone())
        }
    );

    let seen = t.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.endpoint, "apns-production");
    assert_eq!(r.http_version, "HTTP/2.0");
    assert_eq!(r.path, format!("/3/device/{}", token(1)));
    assert_eq!(r.header("apns-id"), Some(id.as_str()));
    assert_eq!(r.header("apns-topic"), Some(BUNDLE));
    assert_eq!(r.header("apns-push-type"), Some("alert"));
    assert_eq!(r.header("apns-priority"), Some("10"));
    assert_eq!(r.header("apns-collapse-id"), Some("conv-8841"));
    assert!(r.header("apns-expiration").unwrap().parse::<i64>().unwrap() > 0);
    assert!(r.header("authorization").unwrap().starts_with("bearer ey"));
    let body = r.body_json().unwrap();
    assert_eq!(
        body["aps"]["alert"],
        json!({"title": "Alice", "body": "New message"})
    );
    assert_eq!(body["aps"]["thread-id"], json!("conv-8841"));
    assert_eq!(body["conv"], json!("conv-8841"));
    assert_eq!(r.response.status, 200);
}

#[tokio::test]
async fn cert_auth_sends_are_accepted_in_both_p12_encodings() {
    let t = spawn_app().await;
    for file in ["apns-cert.p12", "apns-cert-legacy.p12"] {
        let device = target(&token(2), None);
        let outcome = t.send_one(&p12(file), &alert(), &device).await;
        assert!(
            matches!(outcome, Outcome::Accepted { .. }),
            "{file}: {outcome:?}"
        );
    }
    let seen = t.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.header("authorization").is_none()));
}

#[tokio::test]
async fn voip_and_background_pushes_carry_their_type_topic_and_priority() {
    let t = spawn_app().await;
    let call = message(
        json!({"notification": {"body": "Incoming call"}, "options": {"category": "CALL"}}),
    );
    let sync = message(json!({"data": {"sync": "1"}, "options": {"silent": true}}));
    for credential in [p8(), p12("apns-cert.p12")] {
        for msg in [&call, &sync] {
            let outcome = t.send_one(&credential, msg, &target(&token(3), None)).await;
            assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        }
    }
    let seen = t.requests();
    let voip: Vec<_> = seen
        .iter()
        .filter(|r| r.header("apns-push-type") == Some("voip"))
        .collect();
    let background: Vec<_> = seen
        .iter()
        .filter(|r| r.header("apns-push-type") == Some("background"))
        .collect();
    assert_eq!((voip.len(), background.len()), (2, 2));
    assert!(
        voip.iter()
            .all(|r| r.header("apns-topic") == Some("com.example.chat.voip"))
    );
    assert!(
        background
            .iter()
            .all(|r| r.header("apns-priority") == Some("5"))
    );
    assert_eq!(
        background[0].body_json().unwrap()["aps"],
        json!({"content-available": 1})
    );
}

#[tokio::test]
async fn two_hundred_concurrent_sends_share_one_http2_connection() {
    let t = Arc::new(spawn_with(|c| c.connections_per_credential = 1).await);
    let credential = Arc::new(p8());
    let msg = Arc::new(alert());
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let (t, credential, msg) = (Arc::clone(&t), Arc::clone(&credential), Arc::clone(&msg));
        tasks.spawn(async move {
            t.send_one(&credential, &msg, &target(&token(n), None))
                .await
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        assert!(matches!(outcome.unwrap(), Outcome::Accepted { .. }));
    }
    assert_eq!(t.connections("apns-production"), 1);
    let seen = t.requests();
    assert_eq!(seen.len(), 200);
    assert!(seen.iter().all(|r| r.connection == seen[0].connection));
    let jwts: std::collections::HashSet<_> =
        seen.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(jwts.len(), 1, "one provider token for every request");
}

#[tokio::test]
async fn the_default_pool_uses_two_connections_and_keeps_them() {
    let t = spawn_app().await;
    let credential = p8();
    let targets: Vec<_> = (0..100).map(|n| target(&token(n), None)).collect();
    for _ in 0..3 {
        let results = t.send(&credential, &alert(), &targets).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Accepted { .. }))
        );
    }
    assert_eq!(t.connections("apns-production"), 2, "reused across sends");
}

#[tokio::test]
async fn each_device_is_routed_to_its_environment() {
    let mut t = spawn_app().await;
    let credential = p8();
    let sandbox = target(&token(4), Some(ApnsEnvironment::Sandbox));
    let production = target(&token(5), Some(ApnsEnvironment::Production));
    let default = target(&token(6), None);
    let results = t
        .send(&credential, &alert(), &[sandbox, production, default])
        .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Accepted { .. }))
    );
    let endpoint_of = |t: &TestApns, n: u32| {
        t.requests()
            .into_iter()
            .find(|r| r.token.as_deref() == Some(token(n).as_str()))
            .unwrap()
            .endpoint
    };
    assert_eq!(endpoint_of(&t, 4), "apns-sandbox");
    assert_eq!(endpoint_of(&t, 5), "apns-production");
    assert_eq!(endpoint_of(&t, 6), "apns-production");
    t.app = app(ApnsEnvironment::Sandbox);
    t.send_one(&credential, &alert(), &target(&token(7), None))
        .await;
    assert_eq!(
        endpoint_of(&t, 7),
        "apns-sandbox",
        "the app's default environment"
    );
}

#[tokio::test]
async fn a_sandbox_token_sent_to_production_is_a_bad_device_token() {
    let t = spawn_app().await;
    t.set_token(
        SimEnvironment::Sandbox,
        &token(8),
        ApnsTokenState::Active,
        None,
    );
    let outcome = t
        .send_one(
            &p8(),
            &alert(),
            &target(&token(8), Some(ApnsEnvironment::Production)),
        )
        .await;
    assert!(
        matches!(&outcome, Outcome::InvalidToken { reason, invalid_since: None } if reason.starts_with("APNs 400 BadDeviceToken")),
        "{outcome:?}"
    );
    let ok = t
        .send_one(
            &p8(),
            &alert(),
            &target(&token(8), Some(ApnsEnvironment::Sandbox)),
        )
        .await;
    assert!(matches!(ok, Outcome::Accepted { .. }));
}

#[tokio::test]
async fn an_unregistered_token_is_invalid_since_apns_says() {
    let t = spawn_app().await;
    t.set_token(
        SimEnvironment::Production,
        &token(9),
        ApnsTokenState::Unregistered,
        Some(1_767_225_600_123),
    );
    t.set_token(
        SimEnvironment::Production,
        &token(10),
        ApnsTokenState::Expired,
        None,
    );
    let results = t
        .send(
            &p8(),
            &alert(),
            &[
                target(&token(9), None),
                target(&token(10), None),
                target(&token(11), None),
            ],
        )
        .await;
    assert!(
        matches!(
            &results[0].outcome,
            Outcome::InvalidToken { reason, invalid_since: Some(at) }
                if reason.starts_with("APNs 410 Unregistered") && *at == time::macros::datetime!(2026-01-01 00:00:00.123 UTC)
        ),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1].outcome, Outcome::InvalidToken { reason, .. } if reason.starts_with("APNs 410 ExpiredToken"))
    );
    assert!(
        matches!(results[2].outcome, Outcome::Accepted { .. }),
        "the rest of the batch is unaffected"
    );
}

#[tokio::test]
async fn an_oversized_payload_is_rejected_and_apns_sees_nothing() {
    let t = spawn_app().await;
    let big = message(json!({"notification": {"body": "x".repeat(4100)}}));
    for credential in [p8(), p12("apns-cert.p12")] {
        let outcome = t
            .send_one(&credential, &big, &target(&token(12), None))
            .await;
        assert!(
            matches!(&outcome, Outcome::Rejected { reason } if reason.contains("at most 4096")),
            "{outcome:?}"
        );
    }
    assert!(t.requests().is_empty());
    assert_eq!(t.connections("apns-production"), 0, "not even a connection");
}

#[tokio::test]
async fn a_throttled_device_is_retried_later() {
    let t = spawn_app().await;
    t.sim
        .control()
        .set_apns_token(push_sim::types::ApnsTokenSpec {
            environment: SimEnvironment::Production,
            token: token(13),
            topic: Some(BUNDLE.into()),
            state: ApnsTokenState::Active,
            unregistered_at_ms: None,
            throttle: Some(push_sim::types::Throttle {
                max_requests: 1,
                window_secs: 3600,
            }),
        })
        .unwrap();
    let credential = p8();
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(13), None))
            .await,
        Outcome::Accepted { .. }
    ));
    let outcome = t
        .send_one(&credential, &alert(), &target(&token(13), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::Retry { reason, .. } if reason.starts_with("APNs 429 TooManyRequests")),
        "{outcome:?}"
    );
    assert_eq!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Healthy
    );
}
