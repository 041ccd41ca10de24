//! Receipts the sim posts, decoded by the adapter's `parse_callback`.

use crate::helpers::*;
use axum::body::Bytes;
use push_core::adapter::{CallbackContext, CallbackEvent, CallbackRequest};
use push_sim::dev::DEV_VIVO_APP_ID;
use push_sim::types::{VivoAck, VivoReceiptConfig, VivoTokenSpec, VivoTokenState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/v1/callbacks/vivo/chat-prod/secret",
        axum::routing::post(move |body: Bytes| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(body.to_vec());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("http://{addr}/v1/callbacks/vivo/chat-prod/secret"),
        seen,
    )
}

async fn bodies(seen: &Seen, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..300 {
        let b = seen.lock().unwrap().clone();
        if b.len() >= n {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} receipt posts");
}

#[tokio::test]
async fn receipts_find_their_delivery_by_tag_task_and_reg_id() {
    let t = spawn_app().await;
    let (url, seen) = receiver().await;
    t.sim
        .control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: DEV_VIVO_APP_ID.into(),
            receipt_id: "1234".into(),
            url,
            ..Default::default()
        })
        .unwrap();
    let gone = reg(5);
    t.sim
        .control()
        .set_vivo_token(VivoTokenSpec {
            app_id: DEV_VIVO_APP_ID.into(),
            reg_id: gone.clone(),
            state: VivoTokenState::Valid,
            receipt: Some(VivoAck {
                ack_type: 104,
                sub_ack_type: Some(2183),
            }),
        })
        .unwrap();
    let single = target(&reg(1));
    let o = t
        .send_targets(&chat_message(), std::slice::from_ref(&single))
        .await;
    let task = match &o[0] {
        push_core::adapter::Outcome::Accepted { vendor_message_id } => vendor_message_id.clone(),
        other => panic!("{other:?}"),
    };
    let listed = t.send(&chat_message(), &[&reg(2), &gone]).await;
    assert!(listed.iter().all(accepted), "{listed:?}");
    // Three entries (the single send's, and the list send's two ack groups); receipts due
    // together share POSTs, so wait for the entries the sim logged, not for 3 POSTs.
    for _ in 0..300 {
        if t.sim.control().vivo_receipts().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let posts = bodies(&seen, 1).await;
    let mut receipts = Vec::new();
    for body in posts {
        let request = CallbackRequest {
            method: "POST".into(),
            body,
            ..CallbackRequest::default()
        };
        let context = CallbackContext {
            app: &t.app,
            credential: Some(&t.credential.secret),
            path_token_valid: true,
            secrets: None,
            now: time::OffsetDateTime::now_utc(),
        };
        let answer = t.adapter.parse_callback(&request, &context).unwrap();
        assert_eq!(answer.reply.status, 200);
        receipts.extend(answer.receipts);
    }
    let one = receipts
        .iter()
        .find(|r| r.token.as_deref() == Some(reg(1).as_str()))
        .unwrap();
    assert_eq!(one.tag, Some(single.delivery_id.to_string()));
    assert_eq!(one.vendor_message_id, task);
    assert_eq!(one.event, CallbackEvent::Delivered);
    let bad = receipts
        .iter()
        .find(|r| r.token.as_deref() == Some(gone.as_str()))
        .unwrap();
    assert_eq!(bad.tag.as_deref(), Some("m-1"));
    assert!(
        matches!(bad.event, CallbackEvent::TokenInvalid { .. }),
        "{bad:?}"
    );
    // Without the secret path token, nothing is believed.
    let request = CallbackRequest {
        body: b"{}".to_vec(),
        ..CallbackRequest::default()
    };
    let context = CallbackContext {
        app: &t.app,
        credential: None,
        path_token_valid: false,
        secrets: None,
        now: time::OffsetDateTime::now_utc(),
    };
    assert!(t.adapter.parse_callback(&request, &context).is_err());
}

#[tokio::test]
async fn one_post_carrying_several_task_ids_gives_a_receipt_per_task() {
    let t = spawn_app().await;
    let (url, seen) = receiver().await;
    t.sim
        .control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: DEV_VIVO_APP_ID.into(),
            receipt_id: "1234".into(),
            url,
            // Long enough for both sends to fall in one collect window.
            collect_ms: 1000,
            ..Default::default()
        })
        .unwrap();
    let first = target(&reg(11));
    let second = target(&reg(12));
    let mut tasks = Vec::new();
    for one in [&first, &second] {
        let o = t
            .send_targets(&chat_message(), std::slice::from_ref(one))
            .await;
        match &o[0] {
            push_core::adapter::Outcome::Accepted { vendor_message_id } => {
                tasks.push(vendor_message_id.clone())
            }
            other => panic!("{other:?}"),
        }
    }
    let posts = bodies(&seen, 1).await;
    assert_eq!(posts.len(), 1, "both receipts in one POST");
    let json: serde_json::Value = serde_json::from_slice(&posts[0]).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
    let request = CallbackRequest {
        method: "POST".into(),
        body: posts[0].clone(),
        ..CallbackRequest::default()
    };
    let context = CallbackContext {
        app: &t.app,
        credential: Some(&t.credential.secret),
        path_token_valid: true,
        secrets: None,
        now: time::OffsetDateTime::now_utc(),
    };
    let answer = t.adapter.parse_callback(&request, &context).unwrap();
    assert_eq!(answer.receipts.len(), 2);
    for (one, task) in [(&first, &tasks[0]), (&second, &tasks[1])] {
        let r = answer
            .receipts
            .iter()
            .find(|r| r.token.as_deref() == Some(one.token.as_str()))
            .unwrap();
        assert_eq!(r.tag, Some(one.delivery_id.to_string()));
        assert_eq!(&r.vendor_message_id, task);
        assert_eq!(r.event, CallbackEvent::Delivered);
    }
}
