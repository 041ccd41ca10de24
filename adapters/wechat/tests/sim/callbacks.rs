//! Events the sim posts after accepted template messages, read by the adapter's
//! `parse_callback` behind a tiny local HTTP receiver, in plain and safe (AES) mode.

use crate::helpers::*;
use push_core::adapter::{
    Adapter, CallbackContext, CallbackEvent, CallbackReceipt, CallbackRequest, CallbackSecrets,
};
use push_core::{App, Channel, Secret};
use push_sim::dev::DEV_WECHAT_OA_APP_ID;
use push_sim::types::{WechatEventMode, WechatEventSpec, WechatUserState};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TOKEN: &str = "Tok3nTok3nTok3nTok3nTok3nTok3n12";
const AES: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn secrets() -> CallbackSecrets {
    CallbackSecrets {
        token: Secret::new(TOKEN),
        aes_key: Secret::new(AES),
    }
}

/// Reads one HTTP/1.1 request: method, target, body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((method, target, buf[head_end..].to_vec()))
}

/// A receiver at `http://127.0.0.1:<port>/wechat` handing every callback to the adapter.
async fn receiver(
    adapter: Arc<dyn Adapter>,
    app: App,
) -> (String, mpsc::UnboundedReceiver<Vec<CallbackReceipt>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wechat/chat-prod", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let secrets = secrets();
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some((method, target, body)) = read_request(&mut stream).await else {
                continue;
            };
            let query = target
                .split_once('?')
                .map(|(_, q)| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default();
            let request = CallbackRequest {
                method,
                query,
                headers: vec![],
                body,
            };
            let context = CallbackContext {
                app: &app,
                credential: None,
                path_token_valid: false,
                secrets: Some(&secrets),
                now: time::OffsetDateTime::now_utc(),
            };
            let (status, reply) = match adapter.parse_callback(&request, &context) {
                Ok(answer) => {
                    let _ = tx.send(answer.receipts);
                    (200, answer.reply.body)
                }
                Err(e) => (401, e.to_string().into_bytes()),
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&reply).await;
        }
    });
    (url, rx)
}

async fn event_for(
    t: &TestApp,
    mode: WechatEventMode,
    status: Option<&str>,
) -> (u64, CallbackReceipt) {
    let (url, mut rx) = receiver(t.adapter.clone(), t.app.clone()).await;
    t.sim
        .control()
        .set_wechat_event_url(WechatEventSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            url,
            token: TOKEN.into(),
            encoding_aes_key: Some(AES.into()),
            mode,
            delay_ms: 0,
            reply_timeout_ms: 5000,
            duplicate: false,
        })
        .unwrap();
    t.user(
        DEV_WECHAT_OA_APP_ID,
        "oReceipt",
        WechatUserState::Following,
        status,
    );
    let (outcome, _) = t.send(Channel::WechatOa, &chat_message(), "oReceipt").await;
    let id = msgid(&outcome);
    let mut receipts = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .unwrap();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    (id, receipts.remove(0))
}

#[tokio::test]
async fn a_plain_event_is_a_delivered_receipt_for_the_msgid() {
    let t = spawn_app().await;
    let (id, receipt) = event_for(&t, WechatEventMode::Plain, None).await;
    assert_eq!(receipt.vendor_message_id, Some(id.to_string()));
    assert_eq!(receipt.token.as_deref(), Some("oReceipt"));
    assert_eq!(receipt.event, CallbackEvent::Delivered);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let posted = t.sim.control().wechat_events();
    assert_eq!(posted.len(), 1);
    assert!(posted[0].delivered && posted[0].attempts == 1, "{posted:?}");
    assert_eq!(posted[0].reply.as_deref(), Some("success"));
}

#[tokio::test]
async fn a_safe_mode_event_is_decrypted_and_a_block_invalidates_the_openid() {
    let t = spawn_app().await;
    let (id, receipt) = event_for(&t, WechatEventMode::Safe, Some("failed:user block")).await;
    assert_eq!(receipt.vendor_message_id, Some(id.to_string()));
    assert_eq!(receipt.token.as_deref(), Some("oReceipt"));
    assert!(
        matches!(receipt.event, CallbackEvent::TokenInvalid { .. }),
        "{receipt:?}"
    );
}

#[tokio::test]
async fn a_compatible_mode_system_failure_is_a_failed_receipt() {
    let t = spawn_app().await;
    let (_, receipt) = event_for(
        &t,
        WechatEventMode::Compatible,
        Some("failed: system failed"),
    )
    .await;
    assert!(
        matches!(receipt.event, CallbackEvent::Failed { .. }),
        "{receipt:?}"
    );
}
