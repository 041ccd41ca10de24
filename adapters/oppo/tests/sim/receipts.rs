//! Receipts: the sim POSTs OPPO's JSON array to the app's `callback_url`; the adapter's
//! `parse_callback` turns it back into the delivery id, message id and token.

use crate::helpers::*;
use push_core::adapter::{CallbackContext, CallbackEvent, CallbackRequest, Outcome};
use push_sim::types::{OppoReceiptSettings, OppoSimSettingsUpdate};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A plain-HTTP receiver answering 200 to every POST; yields the bodies.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/callbacks/oppo/chat-prod/s3cretPathToken",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    let _ = tx.send(buf[end + 4..end + 4 + length].to_vec());
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn receipts_come_back_with_the_delivery_id_message_id_and_token() {
    let mut t = spawn_app().await;
    let (url, mut bodies) = receiver().await;
    t.app = app(Some(url.clone()));
    let targets = [target("CN_a"), target("CN_b")];
    let outcomes = t
        .send_targets(&t.credential, &chat_message(), &targets)
        .await;
    let body = tokio::time::timeout(Duration::from_secs(5), bodies.recv())
        .await
        .expect("a receipt POST")
        .unwrap();
    let request = CallbackRequest {
        method: "POST".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        ..CallbackRequest::default()
    };
    let context = CallbackContext {
        app: &t.app,
        credential: None,
        path_token_valid: true,
        secrets: None,
        now: time::OffsetDateTime::now_utc(),
    };
    let answer = t.adapter.parse_callback(&request, &context).unwrap();
    assert_eq!(answer.reply.status, 200);
    assert_eq!(answer.receipts.len(), 2, "{:?}", answer.receipts);
    for (target, outcome) in targets.iter().zip(&outcomes) {
        let Outcome::Accepted { vendor_message_id } = outcome else {
            panic!("{outcome:?}")
        };
        let receipt = answer
            .receipts
            .iter()
            .find(|r| r.token.as_deref() == Some(target.token.as_str()))
            .unwrap();
        assert_eq!(receipt.tag, Some(target.delivery_id.to_string()));
        assert_eq!(&receipt.vendor_message_id, vendor_message_id);
        assert_eq!(receipt.event, CallbackEvent::Delivered);
        assert!(receipt.at.is_some());
    }
    // The same request without the path token is refused.
    let refused = CallbackContext {
        path_token_valid: false,
        ..context
    };
    assert!(t.adapter.parse_callback(&request, &refused).is_err());
    let posts = t.sim.control().oppo_receipts();
    assert!(
        posts.iter().all(|p| p.delivered && p.url == url),
        "{posts:?}"
    );
}

#[tokio::test]
async fn marketing_beyond_the_device_limit_reports_user_daily_limit() {
    let mut t = spawn_app().await;
    let (url, mut bodies) = receiver().await;
    t.app = app(Some(url));
    t.sim.control().update_oppo_settings(OppoSimSettingsUpdate {
        receipts: Some(OppoReceiptSettings {
            delay_ms: 10,
            ..OppoReceiptSettings::default()
        }),
        ..OppoSimSettingsUpdate::default()
    });
    let mut promo = chat_message();
    promo.options.category = Some("PROMO".into());
    let mut events = Vec::new();
    for _ in 0..3 {
        assert!(accepted(&t.send(&promo, &["CN_a"]).await[0]));
        let body = tokio::time::timeout(Duration::from_secs(5), bodies.recv())
            .await
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        events.push(v[0]["eventType"].as_str().unwrap().to_string());
    }
    assert_eq!(events, ["push_arrive", "push_arrive", "user_daily_limit"]);
}
