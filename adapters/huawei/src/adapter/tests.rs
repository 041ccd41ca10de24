//! Tests of the adapter against a tiny scripted HTTP/1.1 fake on loopback (the simulator
//! tests in `tests/` cover TLS and the vendor's real checks).

use super::*;
use crate::auth::tests::{APP_ID, APP_SECRET, secret};
use crate::payload::tests::{app, chat_message};
use push_core::{DeliveryId, Secret};
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
        let config: crate::HuaweiConfig = serde_json::from_value(serde_json::json!({
            "base_url": self.url,
            "auth_url": format!("{}/oauth2/v3/token", self.url),
            "request_timeout_seconds": 2,
        }))
        .unwrap();
        crate::HuaweiBuilder::new(config).build().unwrap()
    }

    fn sends(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.ends_with("/messages:send"))
            .collect()
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

/// Token endpoint issuing `CF/token-<n>`; sends answered by `send`.
fn script(
    send: impl Fn(&Seen) -> (u16, &'static str, String) + Send + Sync + 'static,
) -> Arc<Script> {
    let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |req: &Seen| {
        if req.path == "/oauth2/v3/token" {
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            (
                200,
                "",
                format!(
                    r#"{{"access_token":"CF\/token-{n}","expires_in":3600,"token_type":"Bearer"}}"#
                ),
            )
        } else {
            send(req)
        }
    })
}

fn answer(code: &str, msg: &str) -> (u16, &'static str, String) {
    let body = serde_json::json!({ "code": code, "msg": msg, "requestId": "req-1" });
    (200, "", body.to_string())
}

fn accepted(_: &Seen) -> (u16, &'static str, String) {
    answer("80000000", "Success")
}

fn credential() -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(secret()),
    }
}

fn target(token: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: "bob-mate".into(),
        channel: Channel::Huawei,
        token: token.into(),
        apns_environment: None,
    }
}

async fn send(
    adapter: &dyn Adapter,
    cred: &CredentialRef,
    msg: &push_core::IngestMessage,
    targets: &[SendTarget],
) -> Vec<Outcome> {
    let app = app();
    let request = SendRequest {
        app: &app,
        credential: cred,
        message: msg,
        accepted_at: OffsetDateTime::now_utc(),
        targets,
    };
    let results = adapter.send(request).await;
    assert_eq!(results.len(), targets.len());
    targets
        .iter()
        .map(|t| {
            let mut of = results.iter().filter(|r| r.delivery_id == t.delivery_id);
            let outcome = of.next().expect("an outcome per target").outcome.clone();
            assert!(of.next().is_none(), "exactly one outcome per target");
            outcome
        })
        .collect()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn one_request_carries_the_token_list_with_one_cached_access_token() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let cred = credential();
    let targets = [target("tok-a"), target("tok-b"), target("tok-c")];
    let outcomes = send(&*adapter, &cred, &chat_message(), &targets).await;
    let want = Outcome::Accepted {
        vendor_message_id: Some("req-1".into()),
    };
    assert!(outcomes.iter().all(|o| *o == want), "{outcomes:?}");
    let single = [target("tok-d")];
    send(&*adapter, &cred, &chat_message(), &single).await;

    assert_eq!(
        fake.count("/oauth2/v3/token"),
        1,
        "one token exchange for two sends"
    );
    let form = &fake.seen()[0].body;
    let encoded_secret = "s3cr3t%2B%2F%3DHu4wei-app-secret-value";
    assert_eq!(
        *form,
        format!("grant_type=client_credentials&client_id={APP_ID}&client_secret={encoded_secret}")
    );
    let sends = fake.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0].path, format!("/v1/{APP_ID}/messages:send"));
    assert_eq!(sends[0].authorization.as_deref(), Some("Bearer CF/token-1"));
    let batch = json(&sends[0].body);
    assert_eq!(
        batch["message"]["token"],
        serde_json::json!(["tok-a", "tok-b", "tok-c"])
    );
    assert_eq!(
        batch["message"]["android"]["bi_tag"], "m-1",
        "a batch is tagged with the notification id"
    );
    assert_eq!(batch["message"]["android"]["category"], "IM");
    let one = json(&sends[1].body);
    assert_eq!(
        one["message"]["android"]["bi_tag"],
        single[0].delivery_id.to_string()
    );
    assert_eq!(adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn partial_success_gives_each_target_its_outcome() {
    let fake = Fake::start(script(|_: &Seen| {
        answer(
            "80100000",
            r#"{"success":2,"failure":1,"illegal_tokens":["tok-b"]}"#,
        )
    }))
    .await;
    let targets = [target("tok-a"), target("tok-b"), target("tok-c")];
    let outcomes = send(&*fake.adapter(), &credential(), &chat_message(), &targets).await;
    assert!(
        matches!(outcomes[0], Outcome::Accepted { .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::InvalidToken { .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[2], Outcome::Accepted { .. }),
        "{outcomes:?}"
    );
}

/// A Huawei-like device token of `len` characters (base64 alphabet, `+` and `/` included).
fn long_token(i: usize, len: usize) -> String {
    let mut token = format!("IQAAAACy0kYv{i:04}");
    while token.len() < len {
        token.push_str("AADrWtm0+ZLkp/X3lQ0xV-");
    }
    token.truncate(len);
    token
}

#[tokio::test]
async fn a_partial_success_listing_1000_long_illegal_tokens_is_read_whole() {
    // Every 100th token is kept (accepted) once `keep_some` is set; the rest are listed.
    let keep_some = Arc::new(Mutex::new(false));
    let switch = Arc::clone(&keep_some);
    let listed = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&listed);
    let fake = Fake::start(script(move |req: &Seen| {
        let sent = json(&req.body)["message"]["token"].clone();
        let tokens: Vec<&str> = sent
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let keep = *switch.lock().unwrap();
        let illegal: Vec<&str> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| !keep || i % 100 != 0)
            .map(|(_, t)| *t)
            .collect();
        *count.lock().unwrap() = illegal.len();
        let msg = serde_json::json!({
            "success": tokens.len() - illegal.len(),
            "failure": illegal.len(),
            "illegal_tokens": illegal,
        });
        answer("80100000", &msg.to_string())
    }))
    .await;
    let adapter = fake.adapter();
    let cred = credential();
    let targets: Vec<_> = (0..1000).map(|i| target(&long_token(i, 200))).collect();

    let outcomes = send(&*adapter, &cred, &chat_message(), &targets).await;
    assert_eq!(*listed.lock().unwrap(), 1000);
    assert!(
        outcomes.iter().all(
            |o| matches!(o, Outcome::InvalidToken { reason, .. } if reason.contains("80100000"))
        ),
        "every listed token is invalid, none retried: {:?}",
        outcomes
            .iter()
            .find(|o| !matches!(o, Outcome::InvalidToken { .. }))
    );

    *keep_some.lock().unwrap() = true;
    let outcomes = send(&*adapter, &cred, &chat_message(), &targets).await;
    for (i, o) in outcomes.iter().enumerate() {
        if i % 100 == 0 {
            assert_eq!(
                *o,
                Outcome::Accepted {
                    vendor_message_id: Some("req-1".into())
                },
                "token {i}"
            );
        } else {
            assert!(
                matches!(o, Outcome::InvalidToken { .. }),
                "token {i}: {o:?}"
            );
        }
    }
    assert_eq!(
        fake.sends().len(),
        2,
        "one request per send, nothing resent"
    );
}

#[test]
fn the_answer_of_1000_long_illegal_tokens_is_well_past_the_default_limit() {
    // What the test above receives: over 64 KiB (the shared client's default) yet well
    // inside Huawei's limit.
    let illegal: Vec<String> = (0..1000).map(|i| long_token(i, 200)).collect();
    let msg = serde_json::json!({"success": 0, "failure": 1000, "illegal_tokens": illegal});
    let (_, _, body) = answer("80100000", &msg.to_string());
    assert!(body.len() > 3 * 64 * 1024, "{}", body.len());
    assert!(
        body.len() < crate::client::MAX_BODY_BYTES / 4,
        "{}",
        body.len()
    );
}

#[tokio::test]
async fn all_invalid_on_a_batch_deactivates_nothing_until_the_credential_is_proven() {
    let all_bad = Arc::new(Mutex::new(true));
    let switch = Arc::clone(&all_bad);
    let fake = Fake::start(script(move |_: &Seen| {
        if *switch.lock().unwrap() {
            answer("80300007", "All the tokens are invalid")
        } else {
            accepted(&Seen {
                path: String::new(),
                authorization: None,
                body: String::new(),
            })
        }
    }))
    .await;
    let adapter = fake.adapter();
    let cred = credential();
    let batch = [target("tok-a"), target("tok-b")];
    let outcomes = send(&*adapter, &cred, &chat_message(), &batch).await;
    for o in &outcomes {
        assert!(
            matches!(o, Outcome::Rejected { reason } if reason.contains("App ID") && reason.contains("no device was deactivated")),
            "{o:?}"
        );
    }
    assert!(
        matches!(adapter.health(), AdapterHealth::Degraded { reason } if reason.contains("80300007"))
    );
    let one = send(&*adapter, &cred, &chat_message(), &[target("tok-c")]).await;
    assert!(
        matches!(one[0], Outcome::InvalidToken { .. }),
        "one token is that token: {one:?}"
    );

    *all_bad.lock().unwrap() = false;
    let ok = send(&*adapter, &cred, &chat_message(), &[target("tok-d")]).await;
    assert!(matches!(ok[0], Outcome::Accepted { .. }));
    *all_bad.lock().unwrap() = true;
    let outcomes = send(&*adapter, &cred, &chat_message(), &batch).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "a proven credential's all-invalid batch is really dead: {outcomes:?}"
    );
}

#[tokio::test]
async fn a_refused_access_token_is_auth_failed_then_forget_fetches_a_new_one() {
    let fake = Fake::start(script(|req: &Seen| {
        if req.authorization.as_deref() == Some("Bearer CF/token-1") {
            let body = r#"{"code":"80200003","msg":"Oauth Token expired.","requestId":"r"}"#;
            (401, "", body.to_string())
        } else {
            accepted(req)
        }
    }))
    .await;
    let adapter = fake.adapter();
    let cred = credential();
    let first = send(&*adapter, &cred, &chat_message(), &[target("tok")]).await;
    assert!(
        matches!(&first[0], Outcome::AuthFailed { reason } if reason.contains("80200003")),
        "{first:?}"
    );
    adapter.forget_auth(cred.id);
    let second = send(&*adapter, &cred, &chat_message(), &[target("tok")]).await;
    assert!(matches!(second[0], Outcome::Accepted { .. }), "{second:?}");
    assert_eq!(fake.count("/oauth2/v3/token"), 2);
    assert_eq!(adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn refused_messages_send_no_request() {
    let fake = Fake::start(script(accepted)).await;
    let adapter = fake.adapter();
    let mut big = chat_message();
    big.data.insert("blob".into(), "x".repeat(5000));
    // The app maps VOICE to PLAY_VOICE, which Huawei takes on data messages only.
    let mut voice = chat_message();
    voice.options.category = Some("VOICE".into());
    for (msg, want) in [(big, "4096"), (voice, "PLAY_VOICE")] {
        let outcomes = send(&*adapter, &credential(), &msg, &[target("a"), target("b")]).await;
        for o in outcomes {
            assert!(
                matches!(&o, Outcome::Rejected { reason } if reason.contains(want)),
                "{o:?}"
            );
        }
    }
    assert!(fake.seen().is_empty(), "no token exchange, no send");
}

#[tokio::test]
async fn token_endpoint_refusals_and_outages() {
    let refusing = Fake::start(Arc::new(|_: &Seen| {
        let body =
            r#"{"error":1101,"sub_error":12304,"error_description":"invalid client_secret"}"#;
        (400, "", body.to_string())
    }))
    .await;
    let outcomes = send(
        &*refusing.adapter(),
        &credential(),
        &chat_message(),
        &[target("t")],
    )
    .await;
    assert!(
        matches!(&outcomes[0], Outcome::AuthFailed { reason } if reason.contains("12304") && !reason.contains(APP_SECRET)),
        "{outcomes:?}"
    );
    let busy = Fake::start(Arc::new(|_: &Seen| {
        (503, "retry-after: 7\r\n", String::new())
    }))
    .await;
    let outcomes = send(
        &*busy.adapter(),
        &credential(),
        &chat_message(),
        &[target("t")],
    )
    .await;
    assert!(matches!(outcomes[0], Outcome::Retry { .. }), "{outcomes:?}");
}

#[tokio::test]
async fn more_than_1000_targets_are_split_into_requests() {
    let fake = Fake::start(script(accepted)).await;
    let targets: Vec<_> = (0..1001).map(|i| target(&format!("tok-{i}"))).collect();
    let outcomes = send(&*fake.adapter(), &credential(), &chat_message(), &targets).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Accepted { .. }))
    );
    let mut sizes: Vec<usize> = fake
        .sends()
        .iter()
        .map(|s| json(&s.body)["message"]["token"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![1, 1000]);
}

#[tokio::test]
async fn check_credential_obtains_a_token_and_sends_nothing() {
    let fake = Fake::start(script(accepted)).await;
    assert_eq!(
        fake.adapter().check_credential(&app(), &credential()).await,
        Ok(())
    );
    assert_eq!(fake.count("/oauth2/v3/token"), 1);
    assert!(fake.sends().is_empty());
    let refusing = Fake::start(Arc::new(|_: &Seen| {
        (400, "", r#"{"error":1101,"sub_error":20003}"#.to_string())
    }))
    .await;
    let err = refusing
        .adapter()
        .check_credential(&app(), &credential())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("20003")),
        "{err:?}"
    );
    let down = crate::HuaweiBuilder::new(
        serde_json::from_value(serde_json::json!({ "auth_url": "http://127.0.0.1:9/token" }))
            .unwrap(),
    )
    .build()
    .unwrap();
    let err = down
        .check_credential(&app(), &credential())
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Unreachable(_)), "{err:?}");
}

#[test]
fn verify_credential_is_offline() {
    let adapter = crate::HuaweiBuilder::new(crate::HuaweiConfig::default())
        .build()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        adapter.verify_credential(&app(), &secret(), now),
        Ok(CredentialFacts::default())
    );
    let bad = CredentialSecret::HuaweiOauth {
        app_id: "com.example.chat".into(),
        app_secret: Secret::new(APP_SECRET),
    };
    let err = adapter.verify_credential(&app(), &bad, now).unwrap_err();
    assert!(
        matches!(&err, CheckError::Invalid(r) if r.contains("numeric App ID")),
        "{err:?}"
    );
    assert!(!format!("{err:?} {err}").contains(APP_SECRET));
}

#[tokio::test]
async fn secrets_never_show_in_outcomes_health_or_debug() {
    let fake = Fake::start(script(|_: &Seen| {
        let body = r#"{"code":"80200001","msg":"Oauth authentication error","requestId":"r"}"#;
        (401, "", body.to_string())
    }))
    .await;
    let adapter = fake.adapter();
    let cred = credential();
    let outcomes = send(&*adapter, &cred, &chat_message(), &[target("tok")]).await;
    let client = HttpClient::new(
        reqwest::Client::new(),
        Url::parse(&fake.url).unwrap(),
        Duration::from_secs(1),
        "huawei",
    );
    let raw = HuaweiAdapter::new(
        client,
        Url::parse(&format!("{}/oauth2/v3/token", fake.url)).unwrap(),
        None,
    );
    let app_credential = AppCredential::from_secret(&cred.secret).unwrap();
    let token = raw
        .auth
        .access_token(&raw.client, &cred, &app_credential)
        .await;
    assert!(
        token
            .as_ref()
            .is_ok_and(|t| t.expose().starts_with("CF/token-"))
    );
    let shown = format!(
        "{cred:?} {raw:?} {app_credential:?} {token:?} {:?} {outcomes:?}",
        adapter.health()
    );
    assert!(!shown.contains(APP_SECRET), "{shown}");
    assert!(!shown.contains("CF/token"), "{shown}");
    assert!(
        matches!(&outcomes[0], Outcome::AuthFailed { .. }),
        "{outcomes:?}"
    );
}
