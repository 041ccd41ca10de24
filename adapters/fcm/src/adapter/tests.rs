//! Tests of the adapter against a tiny scripted HTTP/1.1 fake on loopback (the simulator
//! tests in `tests/` cover TLS, HTTP/2 and the vendor's real checks).

use super::*;
use crate::auth::tests::SERVICE_ACCOUNT;
use crate::payload::tests::{app, chat_message};
use push_core::DeliveryId;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: String,
}

type Script = dyn Fn(&Seen) -> (u16, &'static str, String) + Send + Sync;

/// A fake serving both the token endpoint (`/token`) and the send endpoint.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    async fn start(script: Arc<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (script, log) = (Arc::clone(&script), Arc::clone(&log));
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(req.clone());
                    let (status, extra, body) = script(&req);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                });
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, path_part: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.contains(path_part))
            .count()
    }

    fn adapter(&self) -> Arc<dyn Adapter> {
        let config: crate::FcmConfig = serde_json::from_value(serde_json::json!({
            "base_url": self.url,
            "auth_url": format!("{}/token", self.url),
            "request_timeout_seconds": 2,
        }))
        .unwrap();
        crate::FcmBuilder::new(config).build().unwrap()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.trim().to_string())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        path: head.split_whitespace().nth(1)?.to_string(),
        authorization: header("authorization"),
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

/// Token endpoint issuing `ya29.token-<n>`; sends answered by `send`.
fn script(
    send: impl Fn(&Seen) -> (u16, &'static str, String) + Send + Sync + 'static,
) -> Arc<Script> {
    let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |req: &Seen| {
        if req.path == "/token" {
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            (
                200,
                "",
                format!(
                    r#"{{"access_token":"ya29.token-{n}","expires_in":3599,"token_type":"Bearer"}}"#
                ),
            )
        } else {
            send(req)
        }
    })
}

fn accepted(_: &Seen) -> (u16, &'static str, String) {
    (
        200,
        "",
        r#"{"name":"projects/pushgate-test/messages/42"}"#.to_string(),
    )
}

fn credential() -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::FcmServiceAccount {
            service_account_json: Secret::new(SERVICE_ACCOUNT),
        }),
    }
}

fn target(token: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: "bob-pixel".into(),
        channel: Channel::Fcm,
        token: token.into(),
        apns_environment: None,
    }
}

async fn send_to(
    adapter: &dyn Adapter,
    cred: &CredentialRef,
    msg: &push_core::IngestMessage,
    token: &str,
) -> Outcome {
    let app = app(Some("com.example.chat"));
    let targets = [target(token)];
    let request = SendRequest {
        app: &app,
        credential: cred,
        message: msg,
        accepted_at: OffsetDateTime::now_utc(),
        targets: &targets,
    };
    let mut results = adapter.send(request).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].delivery_id, targets[0].delivery_id);
    results.remove(0).outcome
}

#[tokio::test]
async fn sends_reuse_one_access_token_and_post_the_v1_body() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let cred = credential();
    for i in 0..5 {
        let outcome = send_to(&*adapter, &cred, &chat_message(), &format!("tok-{i}")).await;
        assert_eq!(
            outcome,
            Outcome::Accepted {
                vendor_message_id: Some("projects/pushgate-test/messages/42".into())
            }
        );
    }
    assert_eq!(fake.count("/token"), 1, "one token exchange for five sends");
    let sends: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path != "/token")
        .collect();
    assert_eq!(sends.len(), 5);
    assert_eq!(sends[0].path, "/v1/projects/pushgate-test/messages:send");
    assert_eq!(
        sends[0].authorization.as_deref(),
        Some("Bearer ya29.token-1")
    );
    let body: serde_json::Value = serde_json::from_str(&sends[0].body).unwrap();
    assert_eq!(body["message"]["token"], "tok-0");
    assert_eq!(
        body["message"]["android"]["restricted_package_name"],
        "com.example.chat"
    );
    let token_form = &fake.seen()[0].body;
    assert!(
        token_form.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey"
        ),
        "{token_form}"
    );
    assert_eq!(adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn a_refused_access_token_is_auth_failed_then_forget_fetches_a_new_one() {
    let fake = Fake::start(script(|req: &Seen| {
        if req.authorization.as_deref() == Some("Bearer ya29.token-1") {
            (401, "", r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#.to_string())
        } else {
            accepted(req)
        }
    }))
    .await;
    let adapter = fake.adapter();
    let cred = credential();
    let first = send_to(&*adapter, &cred, &chat_message(), "tok").await;
    assert!(
        matches!(&first, Outcome::AuthFailed { reason } if reason.contains("UNAUTHENTICATED")),
        "{first:?}"
    );
    assert!(matches!(adapter.health(), AdapterHealth::Degraded { .. }));
    adapter.forget_auth(cred.id);
    let second = send_to(&*adapter, &cred, &chat_message(), "tok").await;
    assert!(matches!(second, Outcome::Accepted { .. }), "{second:?}");
    assert_eq!(fake.count("/token"), 2);
    assert_eq!(adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn oversized_messages_are_rejected_without_any_request() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let mut msg = chat_message();
    msg.data.insert("blob".into(), "x".repeat(5000));
    let outcome = send_to(&*adapter, &credential(), &msg, "tok").await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.contains("4096")),
        "{outcome:?}"
    );
    assert!(fake.seen().is_empty(), "no token exchange, no send");
}

#[tokio::test]
async fn token_endpoint_refusals_and_outages() {
    let refusing = Fake::start(Arc::new(|_: &Seen| {
        (
            400,
            "",
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.to_string(),
        )
    }))
    .await;
    let outcome = send_to(&*refusing.adapter(), &credential(), &chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.contains("invalid_grant")),
        "{outcome:?}"
    );

    let down = Fake::start(Arc::new(|_: &Seen| {
        (503, "retry-after: 7\r\n", String::new())
    }))
    .await;
    let outcome = send_to(&*down.adapter(), &credential(), &chat_message(), "tok").await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
}

#[tokio::test]
async fn unreachable_fcm_is_retry_and_degrades_health() {
    let adapter = crate::FcmBuilder::new(
        serde_json::from_value(serde_json::json!({
            "base_url": "http://127.0.0.1:9", "auth_url": "http://127.0.0.1:9/token",
        }))
        .unwrap(),
    )
    .build()
    .unwrap();
    let outcome = send_to(&*adapter, &credential(), &chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason } if reason.contains("token endpoint")),
        "{outcome:?}"
    );
    assert!(
        matches!(adapter.health(), AdapterHealth::Degraded { reason } if reason.contains("connect"))
    );
}

#[tokio::test]
async fn check_credential_gets_a_token_and_makes_a_dry_run() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let app = app(None);
    assert_eq!(adapter.check_credential(&app, &credential()).await, Ok(()));
    let dry = fake
        .seen()
        .into_iter()
        .find(|s| s.path != "/token")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&dry.body).unwrap();
    assert_eq!(body["validate_only"], true);
    assert_eq!(body["message"]["topic"], "pushgate-credential-check");

    let denied = Fake::start(script(|_: &Seen| {
        (
            403,
            "",
            r#"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#.to_string(),
        )
    }))
    .await;
    let err = denied
        .adapter()
        .check_credential(&app, &credential())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("PERMISSION_DENIED")),
        "{err:?}"
    );
}

#[test]
fn verify_credential_is_offline_and_never_shows_the_key() {
    let adapter = crate::FcmBuilder::new(crate::FcmConfig::default())
        .build()
        .unwrap();
    let app = app(None);
    let now = OffsetDateTime::now_utc();
    let ok = CredentialSecret::FcmServiceAccount {
        service_account_json: Secret::new(SERVICE_ACCOUNT),
    };
    assert_eq!(
        adapter.verify_credential(&app, &ok, now),
        Ok(CredentialFacts::default())
    );
    let key_line = SERVICE_ACCOUNT.split("\\n").nth(5).unwrap();
    let broken = SERVICE_ACCOUNT.replace(key_line, "AAAA");
    let bad = CredentialSecret::FcmServiceAccount {
        service_account_json: Secret::new(broken),
    };
    let err = adapter.verify_credential(&app, &bad, now).unwrap_err();
    assert!(
        matches!(&err, CheckError::Invalid(r) if r.contains("private_key")),
        "{err:?}"
    );
    assert!(!format!("{err:?} {err}").contains(key_line));
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let cred = credential();
    let _ = send_to(&*adapter, &cred, &chat_message(), "tok").await;
    let key_line = SERVICE_ACCOUNT.split("\\n").nth(5).unwrap();
    let auth = FcmAdapter::new(
        HttpClient::new(
            reqwest::Client::new(),
            Url::parse(&fake.url).unwrap(),
            Duration::from_secs(1),
            "fcm",
        ),
        Some(Url::parse(&format!("{}/token", fake.url)).unwrap()),
        "messages".into(),
        true,
    );
    let account = auth.auth.account(&cred).unwrap();
    let token = auth.auth.access_token(&auth.client, &cred, &account).await;
    assert!(
        token
            .as_ref()
            .is_ok_and(|t| t.expose().starts_with("ya29."))
    );
    let shown = format!(
        "{cred:?} {auth:?} {account:?} {token:?} {:?}",
        crate::FcmConfig::default()
    );
    assert!(!shown.contains(key_line), "{shown}");
    assert!(!shown.contains("ya29."), "{shown}");
}
