//! Sends: acceptance, the recorded message, registration-token states, refusals.

use crate::helpers::*;
use push_core::adapter::{AdapterHealth, Outcome};
use push_sim::types::{FcmTokenSpec, FcmTokenState};
use serde_json::json;

fn set_token(t: &TestApp, token: &str, state: FcmTokenState) {
    t.sim
        .control()
        .set_fcm_token(FcmTokenSpec {
            project_id: PROJECT.into(),
            token: token.into(),
            state,
            throttle: None,
        })
        .unwrap();
}

#[tokio::test]
async fn a_send_is_accepted_with_the_message_name_over_http2() {
    let t = spawn_app().await;
    let outcome = t.send(&chat_message(), "bob-token-1").await;
    let Outcome::Accepted {
        vendor_message_id: Some(name),
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(
        name.starts_with("projects/pushgate-test/messages/0:"),
        "{name}"
    );
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    let sent = &sends[0];
    assert_eq!(sent.http_version, "HTTP/2.0", "ALPN negotiates h2");
    assert_eq!(sent.path, "/v1/projects/pushgate-test/messages:send");
    assert_eq!(sent.token.as_deref(), Some("bob-token-1"));
    assert!(
        sent.header("authorization")
            .unwrap()
            .starts_with("Bearer ya29.")
    );
    let m = &sent.body_json().unwrap()["message"];
    assert_eq!(
        m["notification"],
        json!({ "title": "Alice", "body": "New message" })
    );
    assert_eq!(m["android"]["priority"], "HIGH");
    assert_eq!(m["android"]["collapse_key"], "conv-8841");
    assert_eq!(m["android"]["restricted_package_name"], "com.example.chat");
    assert_eq!(m["android"]["notification"]["tag"], "conv-8841");
    assert_eq!(m["apns"]["payload"]["aps"]["badge"], 2);
    let ttl = m["android"]["ttl"].as_str().unwrap();
    assert!(ttl == "86400s" || ttl == "86399s", "{ttl}");
    t.sim.shutdown().await;
}

#[tokio::test]
async fn silent_messages_reach_fcm_as_data_only() {
    let t = spawn_app().await;
    let mut msg = chat_message();
    msg.notification = None;
    msg.options.silent = true;
    let outcome = t.send(&msg, "bob-token-1").await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let m = t.sends()[0].body_json().unwrap()["message"].clone();
    assert!(m.get("notification").is_none());
    assert_eq!(m["data"]["conv"], "conv-8841");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "5");
    assert_eq!(m["apns"]["payload"]["aps"]["content-available"], 1);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn unregistered_token_is_invalid_token() {
    let t = spawn_app().await;
    set_token(&t, "gone-token", FcmTokenState::Unregistered);
    let outcome = t.send(&chat_message(), "gone-token").await;
    assert!(
        matches!(&outcome, Outcome::InvalidToken { reason, .. } if reason.contains("UNREGISTERED")),
        "{outcome:?}"
    );
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn sender_id_mismatch_and_malformed_tokens_are_invalid_tokens() {
    let t = spawn_app().await;
    set_token(&t, "other-project-token", FcmTokenState::SenderIdMismatch);
    set_token(&t, "mangled-token", FcmTokenState::Malformed);
    for (token, code) in [
        ("other-project-token", "SENDER_ID_MISMATCH"),
        ("mangled-token", "INVALID_ARGUMENT"),
        ("not a token!", "INVALID_ARGUMENT"),
    ] {
        let outcome = t.send(&chat_message(), token).await;
        assert!(
            matches!(&outcome, Outcome::InvalidToken { reason, .. } if reason.contains(code) && !reason.contains(token)),
            "{token}: {outcome:?}"
        );
    }
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_apns_credential_in_firebase_is_rejected_and_keeps_the_token() {
    let t = spawn_app().await;
    set_token(&t, "iphone-token", FcmTokenState::ThirdPartyAuthError);
    let outcome = t.send(&chat_message(), "iphone-token").await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.contains("THIRD_PARTY_AUTH_ERROR") && reason.contains("Firebase console")),
        "{outcome:?}"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_request_from_fcm_is_rejected_without_deactivating() {
    let t = spawn_app().await;
    let mut msg = chat_message();
    // Data values are strings by type; a bad enum through overrides gets FCM's BadRequest.
    msg.overrides
        .insert("fcm".into(), json!({ "android": { "priority": "URGENT" } }));
    let outcome = t.send(&msg, "bob-token-1").await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.contains("INVALID_ARGUMENT") && reason.contains("message.android.priority")),
        "{outcome:?}"
    );
    assert_eq!(t.sends().len(), 1, "it reached FCM");
    assert_eq!(
        t.adapter.health(),
        AdapterHealth::Healthy,
        "a payload bug is not an outage"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn an_oversized_message_is_rejected_with_zero_requests() {
    let t = spawn_app().await;
    let mut msg = chat_message();
    msg.data.insert("blob".into(), "x".repeat(4096));
    let outcome = t.send(&msg, "bob-token-1").await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.contains("4096")),
        "{outcome:?}"
    );
    assert!(t.requests().is_empty(), "no token exchange and no send");
    t.sim.shutdown().await;
}

#[tokio::test]
async fn the_largest_message_the_adapter_lets_through_fcm_accepts() {
    let t = spawn_app().await;
    let mut msg = chat_message();
    msg.data.insert("blob".into(), String::new());
    // Find the room left, from the adapter's own refusal message.
    msg.data.insert("blob".into(), "x".repeat(5000));
    let Outcome::Rejected { reason } = t.send(&msg, "bob-token-1").await else {
        panic!("should be too big");
    };
    let size: usize = reason
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap();
    msg.data
        .insert("blob".into(), "x".repeat(5000 - (size - 4096)));
    let outcome = t.send(&msg, "bob-token-1").await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    msg.data
        .insert("blob".into(), "x".repeat(5000 - (size - 4096) + 1));
    assert!(matches!(
        t.send(&msg, "bob-token-1").await,
        Outcome::Rejected { .. }
    ));
    assert_eq!(t.sends().len(), 1);
    t.sim.shutdown().await;
}
