//! Receipts: the sim posts them back as a form with `data` (JSON keyed by message id) to
//! `extra.callback`; the adapter reads them into receipts.

use crate::helpers::*;
use push_core::adapter::{CallbackContext, CallbackEvent, CallbackRequest, Outcome};
use push_sim::dev::DEV_XIAOMI_PACKAGE;
use push_sim::types::{XiaomiReceiptSettings, XiaomiTokenSpec, XiaomiTokenState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A plain-HTTP callback receiver: keeps (content-type, body) of every request.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/callbacks/xiaomi/chat-prod",
        listener.local_addr().unwrap()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}:")))
                            .map(|v| v.trim().to_string())
                    };
                    let length: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    let body = buf[end + 4..end + 4 + length].to_vec();
                    log.lock()
                        .unwrap()
                        .push((header("content-type").unwrap_or_default(), body));
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    return;
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn receipts_come_back_as_a_form_keyed_by_message_id() {
    let mut t = spawn_app().await;
    let (url, seen) = receiver().await;
    t.app = app(Some(&url));
    t.sim
        .control()
        .set_xiaomi_receipt_settings(XiaomiReceiptSettings { batch_ms: 50 });
    let (live, off, clicked) = (regid(1), regid(2), regid(3));
    t.token(&off, XiaomiTokenState::NotificationsOff);
    t.sim
        .control()
        .set_xiaomi_token(XiaomiTokenSpec {
            package_name: DEV_XIAOMI_PACKAGE.into(),
            regid: clicked.clone(),
            state: XiaomiTokenState::Active,
            receipt_type: None,
            clicked: true,
        })
        .unwrap();
    let outcomes = t.send(&chat_message(), &[&live, &off, &clicked]).await;
    let Outcome::Accepted {
        vendor_message_id: Some(message_id),
    } = &outcomes[0]
    else {
        panic!("{outcomes:?}");
    };
    let single = target(&regid(4));
    let one = t
        .send_targets(
            &t.credential,
            &chat_message(),
            std::slice::from_ref(&single),
        )
        .await;
    assert!(accepted(&one[0]), "{one:?}");

    // Delivered (1) for three regids of two messages, notifications off (32), clicked (2):
    // the message id appears once per POST, so at least two POSTs.
    let mut receipts = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        receipts.clear();
        for (content_type, body) in seen.lock().unwrap().iter() {
            assert!(content_type.starts_with("application/x-www-form-urlencoded"));
            let request = CallbackRequest {
                method: "POST".into(),
                query: vec![],
                headers: vec![("content-type".into(), content_type.clone())],
                body: body.clone(),
            };
            let context = CallbackContext {
                app: &t.app,
                credential: None,
                path_token_valid: true,
                secrets: None,
                now: time::OffsetDateTime::now_utc(),
            };
            let answer = t.adapter.parse_callback(&request, &context).unwrap();
            receipts.extend(answer.receipts);
        }
        if receipts.len() >= 5 {
            break;
        }
    }
    assert_eq!(receipts.len(), 5, "{receipts:?}");
    let of = |token: &str, event: &CallbackEvent| {
        receipts
            .iter()
            .find(|r| r.token.as_deref() == Some(token) && &r.event == event)
            .unwrap_or_else(|| panic!("no {event:?} for {token}: {receipts:?}"))
            .clone()
    };
    let r = of(&live, &CallbackEvent::Delivered);
    assert_eq!(r.vendor_message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(
        r.tag.as_deref(),
        Some("m-1"),
        "a batch echoes the notification id"
    );
    assert!(r.at.is_some());
    of(&clicked, &CallbackEvent::Delivered);
    of(&clicked, &CallbackEvent::Clicked);
    let off_receipt = receipts
        .iter()
        .find(|r| r.token.as_deref() == Some(off.as_str()))
        .unwrap();
    assert!(
        matches!(&off_receipt.event, CallbackEvent::Failed { reason } if reason.contains("notifications off")),
        "{off_receipt:?}"
    );
    let single_receipt = of(&regid(4), &CallbackEvent::Delivered);
    assert_eq!(
        single_receipt.tag,
        Some(single.delivery_id.to_string()),
        "one regid echoes its delivery id"
    );
    let posts = t.sim.control().xiaomi_receipts();
    assert!(
        posts.len() >= 2 && posts.iter().all(|p| p.delivered),
        "{posts:?}"
    );
}

#[tokio::test]
async fn callbacks_without_the_path_token_are_refused() {
    let t = spawn_app().await;
    let request = CallbackRequest {
        method: "POST".into(),
        body: b"data=%7B%7D".to_vec(),
        ..CallbackRequest::default()
    };
    let context = CallbackContext {
        app: &t.app,
        credential: None,
        path_token_valid: false,
        secrets: None,
        now: time::OffsetDateTime::now_utc(),
    };
    assert!(matches!(
        t.adapter.parse_callback(&request, &context),
        Err(push_core::adapter::CallbackError::Unauthenticated(_))
    ));
}
