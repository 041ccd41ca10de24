//! The online core through the real service: client keys and groups over REST, WebSocket
//! auth before the upgrade, send / msg / pull / ack, kick, idle eviction, bad frames, the
//! offline hand-off to the pipeline (FCM simulator) and its durability across a stop and a
//! repeated send, and gap-free sequences under concurrent senders on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod online_support;
mod support;

use online_support::*;
use pushgate_online::protocol::{Content, Recipient};
use pushgate_online::store::messages::Outgoing;
use pushgate_online::store::{Dialect, OnlineStore};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const ES256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFGe2tUdh8P5D/TWoVdG/+jqWzhkE\nT6k2VuKVRG6HhyNbKzdDT4wCN4+ovq/wc9yl26Lk2CQ9WZ/CHK6wi4yRPQ==\n-----END PUBLIC KEY-----\n";
const ES256_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiCXbHr6+q322Ce9t\nV28ocbh3VYsuPc466+xzSqcLNw+hRANCAAQUZ7a1R2Hw/kP9NahV0b/6OpbOGQRP\nqTZW4pVEboeHI1srN0NPjAI3j6i+r/Bz3KXbouTYJD1Zn8IcrrCLjJE9\n-----END PRIVATE KEY-----\n";

async fn embedded() -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let config = embedded_config(&dir);
    start(&config, Some(dir)).await
}

#[tokio::test]
async fn tokens_are_checked_before_the_upgrade() {
    let pg = embedded().await;
    let http = Client::new();
    app_with_key(&http, &pg.base, "chat").await;
    let no_token = format!("{}/v1/ws", pg.base.replacen("http", "ws", 1));
    assert_eq!(refused_status(&no_token).await, 401);
    assert_eq!(refused_status(&pg.ws_url("garbage")).await, 401);
    let expired = token("chat", "alice", "phone", -600);
    assert_eq!(refused_status(&pg.ws_url(&expired)).await, 401);
    let foreign = token_with(
        "chat",
        "alice",
        "phone",
        600,
        "another-secret-another-secret-0123",
    );
    assert_eq!(refused_status(&pg.ws_url(&foreign)).await, 401);
    let unknown_app = token("nope", "alice", "phone", 600);
    assert_eq!(refused_status(&pg.ws_url(&unknown_app)).await, 401);
    // A plain GET with a good token is told to upgrade, in the API's error shape.
    let good = token("chat", "alice", "phone", 600);
    let resp = http
        .get(format!("{}/v1/ws?token={good}", pg.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_a_websocket");
    let client = connect(&pg, &good).await;
    assert_eq!(client.welcome["user"], "alice");
    assert_eq!(client.welcome["device"], "phone");
    assert_eq!(client.welcome["head"], 0);
}

#[tokio::test]
async fn the_client_key_is_set_through_the_apps_api_and_never_answered() {
    let pg = embedded().await;
    let http = Client::new();
    let key = app_with_key(&http, &pg.base, "chat").await;
    let (s, info) = rest(
        &http,
        &pg.base,
        &key,
        Method::GET,
        "/v1/apps/chat/client-key",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["alg"], "HS256");
    assert!(info["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        !info.to_string().contains(SECRET),
        "the secret is never answered"
    );
    let stored: Vec<u8> =
        std::fs::read(pg.dir.as_ref().unwrap().path().join("pushgate.db")).unwrap();
    assert!(
        !stored.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the secret is sealed at rest"
    );
    // Another tenant cannot see or change it.
    let other = tenant(&http, &pg.base, "other").await;
    for method in [Method::GET, Method::DELETE] {
        let (s, _) = rest(
            &http,
            &pg.base,
            &other,
            method,
            "/v1/apps/chat/client-key",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, _) = rest(
        &http,
        &pg.base,
        "pgk_wrong",
        Method::GET,
        "/v1/apps/chat/client-key",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Bad material is refused with a reason that does not repeat it.
    let (s, body) = rest(
        &http,
        &pg.base,
        &key,
        Method::PUT,
        "/v1/apps/chat/client-key",
        Some(json!({"alg": "HS256", "secret": "short-secret-xyz"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("short-secret-xyz"), "{body}");
    let (s, _) = rest(
        &http,
        &pg.base,
        &key,
        Method::PUT,
        "/v1/apps/chat/client-key",
        Some(json!({"alg": "ES256", "public_key_pem": ES256_PRIVATE})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a private key is refused");
    // ES256: the app registers its public key and signs tokens with the private one.
    let (s, info) = rest(
        &http,
        &pg.base,
        &key,
        Method::PUT,
        "/v1/apps/chat/client-key",
        Some(json!({"alg": "ES256", "public_key_pem": ES256_PUBLIC})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{info}");
    tokio::time::sleep(pushgate_online::keys::CACHE_TTL).await;
    let es = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &json!({"app": "chat", "sub": "u", "dev": "d", "exp": jsonwebtoken::get_current_timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    connect(&pg, &es).await;
    // The old HS256 tokens no longer work.
    assert_eq!(
        refused_status(&pg.ws_url(&token("chat", "u", "d", 600))).await,
        401
    );
    let (s, _) = rest(
        &http,
        &pg.base,
        &key,
        Method::DELETE,
        "/v1/apps/chat/client-key",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn one_to_one_messages_are_delivered_pulled_and_acked_per_device() {
    let pg = embedded().await;
    let http = Client::new();
    app_with_key(&http, &pg.base, "chat").await;
    let mut alice = connect(&pg, &token("chat", "alice", "phone", 600)).await;
    let mut bob = connect(&pg, &token("chat", "bob", "phone", 600)).await;
    let sent = alice
        .send_msg("c1", json!({"user": "bob"}), "hello bob")
        .await;
    assert_eq!(sent["seq"], 1);
    assert_eq!(sent["duplicate"], false);
    let msg = bob.next().await;
    assert_eq!(
        (msg["type"].as_str(), msg["seq"].as_i64()),
        (Some("msg"), Some(1))
    );
    assert_eq!(msg["from"], "alice");
    assert_eq!(msg["text"], "hello bob");
    assert_eq!(msg["msg_id"], sent["msg_id"]);
    // The same client id again: stored once, delivered once.
    let again = alice
        .send_msg("c1", json!({"user": "bob"}), "hello bob")
        .await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["msg_id"], sent["msg_id"]);
    assert!(bob.try_next(Duration::from_millis(300)).await.is_none());
    for i in 2..=4 {
        alice
            .send_msg(&format!("c{i}"), json!({"user": "bob"}), "more")
            .await;
        assert_eq!(bob.next().await["seq"], i);
    }
    bob.send(json!({"type": "ack", "seq": 3})).await;
    let acked = bob.next().await;
    assert_eq!(
        (acked["seq"].as_i64(), acked["unread"].as_i64()),
        (Some(3), Some(1))
    );
    // Bob's tablet starts from its own position (0) and pulls in pages.
    let mut tablet = connect(&pg, &token("chat", "bob", "tablet", 600)).await;
    assert_eq!(
        (
            tablet.welcome["head"].as_i64(),
            tablet.welcome["acked"].as_i64()
        ),
        (Some(4), Some(0))
    );
    tablet
        .send(json!({"type": "pull", "after": 0, "limit": 3}))
        .await;
    let page = tablet.next().await;
    assert_eq!(page["type"], "pulled");
    assert_eq!(page["messages"].as_array().unwrap().len(), 3);
    assert_eq!(page["more"], true);
    tablet.send(json!({"type": "pull", "after": 3})).await;
    let rest_page = tablet.next().await;
    assert_eq!(rest_page["messages"][0]["seq"], 4);
    assert_eq!(rest_page["more"], false);
    // Bob's phone reconnects at its own ack position.
    drop(bob);
    let bob = connect(&pg, &token("chat", "bob", "phone", 600)).await;
    assert_eq!(bob.welcome["acked"], 3);
    // A message from bob's phone reaches his tablet too, and not the phone itself.
    let mut bob = bob;
    bob.send_msg("b1", json!({"user": "alice"}), "hi").await;
    assert_eq!(tablet.next().await["from"], "bob");
    assert_eq!(alice.next().await["text"], "hi");
    assert!(bob.try_next(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_second_login_of_the_same_device_kicks_the_first() {
    let pg = embedded().await;
    let http = Client::new();
    app_with_key(&http, &pg.base, "chat").await;
    let mut first = connect(&pg, &token("chat", "alice", "phone", 600)).await;
    let _second = connect(&pg, &token("chat", "alice", "phone", 600)).await;
    let kicked = first.next().await;
    assert_eq!(kicked["type"], "kicked");
    assert_eq!(kicked["reason"], "replaced");
    assert_eq!(first.closed(Duration::from_secs(5)).await, Some(4001));
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = embedded_config(&dir);
    config.online.heartbeat_seconds = 1;
    config.online.idle_timeout_seconds = 2;
    let pg = start(&config, Some(dir)).await;
    let http = Client::new();
    app_with_key(&http, &pg.base, "chat").await;
    // A raw TCP client that upgrades, then never reads or answers pings.
    let url = pg.ws_url(&token("chat", "sleepy", "phone", 600));
    let (mut silent, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // A client that keeps talking stays.
    let mut awake = connect(&pg, &token("chat", "awake", "phone", 600)).await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        awake.send(json!({"type": "ping"})).await;
        assert_eq!(awake.next().await["type"], "pong");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The silent one was closed with 4002 (idle); its pongs never went out because it
    // never read, so the server heard nothing from it.
    use futures::StreamExt;
    let mut code = None;
    while let Some(Ok(m)) = silent.next().await {
        if let Message::Close(f) = m {
            code = f.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(code, Some(4002));
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_harm_nothing() {
    let pg = embedded().await;
    let http = Client::new();
    app_with_key(&http, &pg.base, "chat").await;
    let mut c = connect(&pg, &token("chat", "alice", "phone", 600)).await;
    c.send_raw(Message::text("{not json")).await;
    assert_eq!(c.next().await["code"], "bad_frame");
    c.send(json!({"type": "shout"})).await;
    assert_eq!(c.next().await["code"], "bad_frame");
    c.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(c.next().await["code"], "bad_frame");
    c.send_raw(Message::text(format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(70_000)
    )))
    .await;
    assert_eq!(c.next().await["code"], "too_large");
    c.send(json!({"type": "send", "id": "bad id!", "to": {"user": "bob"}, "text": "x"}))
        .await;
    assert_eq!(c.next().await["code"], "bad_frame");
    c.send(json!({"type": "send", "id": "ok", "to": {"user": "bob"}, "text": ""}))
        .await;
    let e = c.next().await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_str()),
        (Some("bad_frame"), Some("ok"))
    );
    c.send(json!({"type": "ack", "seq": 99})).await;
    assert_eq!(c.next().await["code"], "bad_ack");
    c.send(json!({"type": "send", "id": "g", "to": {"group": "none"}, "text": "x"}))
        .await;
    assert_eq!(c.next().await["code"], "no_such_group");
    c.send(json!({"type": "ping"})).await;
    assert_eq!(
        c.next().await["type"],
        "pong",
        "the connection is still fine"
    );
}

#[tokio::test]
async fn group_messages_reach_every_member_and_outsiders_are_refused() {
    let pg = embedded().await;
    let http = Client::new();
    let key = app_with_key(&http, &pg.base, "chat").await;
    let (s, g) = rest(
        &http,
        &pg.base,
        &key,
        Method::POST,
        "/v1/apps/chat/groups",
        Some(json!({"id": "team", "name": "Team", "members": ["ann", "ben"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(g["members"], 2);
    let (s, m) = rest(
        &http,
        &pg.base,
        &key,
        Method::PUT,
        "/v1/apps/chat/groups/team/members",
        Some(json!({"users": ["cid", "ben"]})),
    )
    .await;
    assert_eq!((s, m["members"].as_i64()), (StatusCode::OK, Some(3)));
    let (s, detail) = rest(
        &http,
        &pg.base,
        &key,
        Method::GET,
        "/v1/apps/chat/groups/team",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["member_ids"], json!(["ann", "ben", "cid"]));
    let (s, _) = rest(
        &http,
        &pg.base,
        &key,
        Method::POST,
        "/v1/apps/chat/groups",
        Some(json!({"id": "team"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let other = tenant(&http, &pg.base, "other").await;
    let (s, _) = rest(
        &http,
        &pg.base,
        &other,
        Method::GET,
        "/v1/apps/chat/groups",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let mut ann = connect(&pg, &token("chat", "ann", "phone", 600)).await;
    let mut ben = connect(&pg, &token("chat", "ben", "phone", 600)).await;
    let mut cid = connect(&pg, &token("chat", "cid", "phone", 600)).await;
    let sent = ann
        .send_msg("g1", json!({"group": "team"}), "hi team")
        .await;
    for c in [&mut ben, &mut cid] {
        let m = c.next().await;
        assert_eq!(m["to"], json!({"group": "team"}));
        assert_eq!(m["msg_id"], sent["msg_id"]);
    }
    let mut zed = connect(&pg, &token("chat", "zed", "phone", 600)).await;
    zed.send(json!({"type": "send", "id": "z", "to": {"group": "team"}, "text": "let me in"}))
        .await;
    assert_eq!(zed.next().await["code"], "not_a_member");
    let (s, _) = rest(
        &http,
        &pg.base,
        &key,
        Method::DELETE,
        "/v1/apps/chat/groups/team/members/cid",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    ann.send_msg("g2", json!({"group": "team"}), "cid left")
        .await;
    assert_eq!(ben.next().await["text"], "cid left");
    assert!(cid.try_next(Duration::from_millis(300)).await.is_none());
}

/// An embedded instance talking to the FCM simulator, with app `chat` (FCM credential,
/// devices d0, d1 of users u0, u1) and the HS256 client key.
async fn with_sim(group_grace_ms: u64) -> (push_sim::Sim, Instance, String) {
    let (sim, config, dir) = sim_and_config(group_grace_ms).await;
    let pg = start(&config, Some(dir)).await;
    let key = chat_app_with_fcm(&pg).await;
    (sim, pg, key)
}

/// The FCM simulator and an embedded configuration pointed at it, in a fresh directory.
async fn sim_and_config(
    group_grace_ms: u64,
) -> (push_sim::Sim, pushgate::config::Config, tempfile::TempDir) {
    let sim = push_sim::Sim::start(push_sim::SimConfig {
        preload_dev: true,
        ..push_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = embedded_config(&dir);
    config.vendors = serde_json::from_value(json!({ "fcm": {
        "base_url": sim.fcm_url(), "auth_url": sim.fcm_token_url(), "ca_file": sim.ca_pem_path() } }))
    .unwrap();
    config.online.group_grace_ms = group_grace_ms;
    (sim, config, dir)
}

/// App `chat` on `pg` with an FCM credential, devices d0, d1 of users u0, u1 and the HS256
/// client key; answers the tenant's API key.
async fn chat_app_with_fcm(pg: &Instance) -> String {
    let http = Client::new();
    let key = support::set_up_fcm_app(&http, ADMIN, &pg.base, &pg.base, 2).await;
    set_hs256(&http, &pg.base, &key, "chat").await;
    key
}

/// Group `g` of app `chat` with members u0 and u1.
async fn group_of_u0_and_u1(pg: &Instance, key: &str) {
    let (s, _) = rest(
        &Client::new(),
        &pg.base,
        key,
        Method::POST,
        "/v1/apps/chat/groups",
        Some(json!({"id": "g", "members": ["u0", "u1"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
}

fn fcm_bodies(sim: &push_sim::Sim, token: &str) -> Vec<String> {
    use push_sim::types::{RequestFilter, Vendor};
    sim.control()
        .requests(RequestFilter {
            vendor: Some(Vendor::Fcm),
            ..RequestFilter::default()
        })
        .into_iter()
        .filter(|r| r.path.ends_with("/messages:send") && r.token.as_deref() == Some(token))
        .map(|r| r.body)
        .collect()
}

async fn wait_for_pushes(sim: &push_sim::Sim, token: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let bodies = fcm_bodies(sim, token);
        if bodies.len() >= n || std::time::Instant::now() > deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_device_gets_a_push_with_the_unread_count_as_badge() {
    let (sim, pg, _key) = with_sim(3_000).await;
    let mut u0 = connect(&pg, &token("chat", "u0", "d0", 600)).await;
    u0.send_msg("m1", json!({"user": "u1"}), "are you coming?")
        .await;
    u0.send_msg("m2", json!({"user": "u1"}), "hello?").await;
    let bodies = wait_for_pushes(&sim, "tok-1", 2).await;
    assert_eq!(
        bodies.len(),
        2,
        "one push per message to the offline device"
    );
    let last = bodies
        .iter()
        .find(|b| b.contains("hello?"))
        .expect("the second push");
    assert!(last.contains("\"title\":\"u0\""), "{last}");
    assert!(
        last.contains("\"notification_count\":2"),
        "badge = unread: {last}"
    );
    // The sender's own (online) device is never pushed.
    assert!(fcm_bodies(&sim, "tok-0").is_empty());
    // An online recipient is not pushed.
    let mut u1 = connect(&pg, &token("chat", "u1", "d1", 600)).await;
    u0.send_msg("m3", json!({"user": "u1"}), "you're here")
        .await;
    assert_eq!(u1.next().await["text"], "you're here");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fcm_bodies(&sim, "tok-1").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_who_acks_within_the_grace_window_is_not_pushed() {
    let (sim, pg, key) = with_sim(2_000).await;
    group_of_u0_and_u1(&pg, &key).await;
    let mut u0 = connect(&pg, &token("chat", "u0", "d0", 600)).await;
    // 1: u1 catches up and acks inside the window, then goes away again.
    u0.send_msg("g1", json!({"group": "g"}), "first").await;
    let mut u1 = connect(&pg, &token("chat", "u1", "d1", 600)).await;
    u1.send(json!({"type": "ack", "seq": u1.welcome["head"]}))
        .await;
    assert_eq!(u1.next().await["type"], "acked");
    drop(u1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 2: nobody acks this one: pushed after the window.
    u0.send_msg("g2", json!({"group": "g"}), "second").await;
    let bodies = wait_for_pushes(&sim, "tok-1", 1).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let bodies_later = fcm_bodies(&sim, "tok-1");
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies_later.len(), 1, "{bodies_later:?}");
    assert!(bodies_later[0].contains("second"), "{}", bodies_later[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_waiting_out_its_grace_window_survives_a_restart() {
    let (sim, config, _dir) = sim_and_config(1_500).await;
    let first = start(&config, None).await;
    let key = chat_app_with_fcm(&first).await;
    group_of_u0_and_u1(&first, &key).await;
    let mut u0 = connect(&first, &token("chat", "u0", "d0", 600)).await;
    u0.send_msg("g1", json!({"group": "g"}), "sent before the restart")
        .await;
    // Stopped inside u1's grace window: the push must wait for the next process.
    drop(u0);
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fcm_bodies(&sim, "tok-1").is_empty(),
        "pushed before the grace window ended"
    );
    let _second = start(&config, None).await;
    let bodies = wait_for_pushes(&sim, "tok-1", 1).await;
    assert_eq!(
        bodies.len(),
        1,
        "the pending push went out after the restart"
    );
    assert!(
        bodies[0].contains("sent before the restart"),
        "{}",
        bodies[0]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fcm_bodies(&sim, "tok-1").len(), 1, "and only once");
}

/// An ES256 token for (app `chat`, user, device), signed with [`ES256_PRIVATE`].
fn es256_token(user: &str, device: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &json!({"app": "chat", "sub": user, "dev": device,
                "exp": jsonwebtoken::get_current_timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Sets app `chat`'s client key to [`ES256_PUBLIC`] (stored as is, so an online core without
/// the vault can verify tokens).
async fn set_es256(pg: &Instance, key: &str) {
    let (s, body) = rest(
        &Client::new(),
        &pg.base,
        key,
        Method::PUT,
        "/v1/apps/chat/client-key",
        Some(json!({"alg": "ES256", "public_key_pem": ES256_PUBLIC})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Opens no sealed secrets: the online cores built here verify ES256 tokens only.
struct NoSealer;

impl pushgate_online::SecretSealer for NoSealer {
    fn seal(
        &self,
        _: uuid::Uuid,
        _: &str,
        _: &push_core::Secret,
    ) -> Result<push_core::SealedCredential, pushgate_online::SealError> {
        Err(pushgate_online::SealError("no vault here".into()))
    }
    fn open(
        &self,
        _: uuid::Uuid,
        _: &str,
        _: &push_core::SealedCredential,
    ) -> Result<push_core::Secret, pushgate_online::SealError> {
        Err(pushgate_online::SealError("no vault here".into()))
    }
}

/// An online core on `config`'s store and queue that serves its routes but whose background
/// work (the hand-off workers) never runs: an instance that dies right after queueing
/// hand-offs. Shutting the returned instance down stops serving.
async fn online_core_without_workers(config: &pushgate::config::Config) -> Instance {
    use push_core::Store;
    let store = pushgate::service::open_store(config).await.unwrap();
    let queue = pushgate::queue::open_queue(
        config.amqp_url.as_deref(),
        &config.amqp_prefix,
        Duration::from_secs(config.pipeline.embedded_lease_seconds),
        &store,
    )
    .await
    .unwrap();
    let dialect = match store.backend() {
        pushgate::store::Backend::Postgres => Dialect::Postgres,
        pushgate::store::Backend::Sqlite => Dialect::Sqlite,
    };
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    let core = pushgate_online::OnlineCore::new(
        config.online.clone(),
        pushgate_online::OnlinePorts {
            pool: store.pool().clone(),
            dialect,
            store: Arc::clone(&dyn_store),
            queue,
            sealer: Arc::new(NoSealer),
            access: Arc::new(pushgate_online::StoreTenantAccess::new(
                dyn_store,
                pushgate::api::auth::hash_api_key,
                pushgate::api::auth::API_KEY_PREFIX,
            )),
            clustered: config.amqp_url.is_some(),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, core.router())
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    Instance {
        base,
        shutdown,
        dir: None,
    }
}

/// (a) A one-to-one message (no grace window) is stored and its hand-off queued by an
/// instance that stops before working it off; the next instance on the same store and
/// queue pushes it, once.
async fn a_zero_grace_hand_off_survives_a_stop(
    config: &pushgate::config::Config,
    sim: &push_sim::Sim,
) {
    assert_eq!(config.online.direct_grace_ms, 0);
    let setup = start(config, None).await;
    let key = chat_app_with_fcm(&setup).await;
    set_es256(&setup, &key).await;
    drop(setup);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let dying = online_core_without_workers(config).await;
    let mut u0 = connect(&dying, &es256_token("u0", "d0")).await;
    let sent = u0
        .send_msg("m1", json!({"user": "u1"}), "sent before the stop")
        .await;
    assert_eq!(sent["duplicate"], false);
    drop(u0);
    drop(dying);
    assert!(
        fcm_bodies(sim, "tok-1").is_empty(),
        "nothing took the hand-off yet"
    );

    let _next = start(config, None).await;
    let bodies = wait_for_pushes(sim, "tok-1", 1).await;
    assert_eq!(
        bodies.len(),
        1,
        "the queued hand-off went out after the restart"
    );
    assert!(bodies[0].contains("sent before the stop"), "{}", bodies[0]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fcm_bodies(sim, "tok-1").len(), 1, "and only once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_grace_hand_off_survives_a_stop_on_the_embedded_queue() {
    let (sim, config, _dir) = sim_and_config(3_000).await;
    a_zero_grace_hand_off_survives_a_stop(&config, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_grace_hand_off_survives_a_stop_on_rabbitmq() {
    let (sim, mut config, _dir) = sim_and_config(3_000).await;
    let (db_url, db_name) = support::fresh_postgres_database().await;
    let prefix = format!(
        "pghandoff{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    config.database_url = Some(db_url);
    config.amqp_url = Some(support::amqp_url());
    config.amqp_prefix = prefix.clone();
    config.master_key = Some(push_core::Secret::new(
        "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=",
    ));
    a_zero_grace_hand_off_survives_a_stop(&config, &sim).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    support::delete_rabbit_prefix(&prefix);
    support::drop_postgres_database(&db_name).await;
}

/// (c) A send stored just before a crash (its hand-off never queued) is repeated by the
/// client: the repeat queues the hand-off, and the push goes out; a further repeat queues
/// it again, and ingest takes the same push id only once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_send_hands_off_again_and_pushes_once() {
    let (sim, config, _dir) = sim_and_config(3_000).await;
    let pg = start(&config, None).await;
    chat_app_with_fcm(&pg).await;
    // Stored, then the process died before queueing the hand-off.
    let sql = pushgate::store::SqlStore::connect(&config.effective_database_url())
        .await
        .unwrap();
    let online = OnlineStore::new(sql.pool().clone(), Dialect::Sqlite);
    let stored = online
        .send(&Outgoing {
            app: "chat",
            sender: "u0",
            client_msg_id: "m1",
            to: &Recipient::User("u1".into()),
            content: &Content {
                text: "stored before a crash".into(),
                title: None,
                data: None,
            },
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fcm_bodies(&sim, "tok-1").is_empty());

    let mut u0 = connect(&pg, &token("chat", "u0", "d0", 600)).await;
    let again = u0
        .send_msg("m1", json!({"user": "u1"}), "stored before a crash")
        .await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["msg_id"], stored.msg_id.as_str());
    let bodies = wait_for_pushes(&sim, "tok-1", 1).await;
    assert_eq!(bodies.len(), 1, "the repeat handed the message off");
    assert!(bodies[0].contains("stored before a crash"), "{}", bodies[0]);

    // Repeated once more: handed off again, deduplicated by ingest.
    let third = u0
        .send_msg("m1", json!({"user": "u1"}), "stored before a crash")
        .await;
    assert_eq!(third["duplicate"], true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fcm_bodies(&sim, "tok-1").len(), 1, "pushed once");
    // The sender's own device is never pushed.
    assert!(fcm_bodies(&sim, "tok-0").is_empty());
}

/// `repeat_of` on PostgreSQL (the SQLite checks are the online crate's unit tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_finds_its_recipients_on_postgres() {
    let (url, name) = support::fresh_postgres_database().await;
    let sql = store_with_app(&url).await;
    let store = OnlineStore::new(sql.pool().clone(), Dialect::Postgres);
    let content = |text: &str| Content {
        text: text.into(),
        title: None,
        data: None,
    };
    let send = |sender: &'static str, id: &'static str, to: Recipient| {
        let store = store.clone();
        async move {
            store
                .send(&Outgoing {
                    app: "chat",
                    sender,
                    client_msg_id: id,
                    to: &to,
                    content: &content(id),
                })
                .await
                .unwrap()
        }
    };
    send("carol", "c0", Recipient::User("bob".into())).await;
    let m1 = send("alice", "m1", Recipient::User("bob".into())).await;
    let repeat = store.repeat_of("chat", &m1.msg_id).await.unwrap().unwrap();
    assert_eq!(repeat.recipients, vec![("bob".to_string(), 2)]);
    assert_eq!(repeat.content, content("m1"));
    store.create_group("chat", "g", "G").await.unwrap();
    let members: Vec<String> = ["ann", "ben", "bob"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    store.add_members("chat", "g", &members, 10).await.unwrap();
    let g1 = send("ben", "g1", Recipient::Group("g".into())).await;
    let repeat = store.repeat_of("chat", &g1.msg_id).await.unwrap().unwrap();
    let expected: Vec<(String, i64)> = g1
        .seqs
        .iter()
        .filter(|(u, _)| u != "ben")
        .cloned()
        .collect();
    assert_eq!(repeat.recipients, expected);
    assert!(store.repeat_of("chat", "no-such").await.unwrap().is_none());
    sql.close().await;
    support::drop_postgres_database(&name).await;
}

async fn gap_free_under_concurrent_senders(pool: sqlx::AnyPool, dialect: Dialect) {
    let store = Arc::new(OnlineStore::new(pool, dialect));
    store.create_group("chat", "team", "Team").await.unwrap();
    let members: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
    store
        .add_members("chat", "team", &members, 100)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for s in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let sender = format!("m{s}");
            for i in 0..20 {
                let to = if i % 2 == 0 {
                    Recipient::Group("team".into())
                } else {
                    Recipient::User(format!("m{}", (s + 1) % 8))
                };
                let content = Content {
                    text: format!("{s}-{i}"),
                    title: None,
                    data: None,
                };
                store
                    .send(&Outgoing {
                        app: "chat",
                        sender: &sender,
                        client_msg_id: &format!("{s}-{i}"),
                        to: &to,
                        content: &content,
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for user in &members {
        let head = store.head("chat", user).await.unwrap();
        let page = store.pull("chat", user, 0, 1000).await.unwrap();
        let seqs: Vec<i64> = page.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "inbox of {user}");
        // 80 group messages + 10 sent directly + 10 received directly.
        assert_eq!(head, 100, "{user}");
    }
}

async fn store_with_app(url: &str) -> pushgate::store::SqlStore {
    use push_core::Store;
    let store = pushgate::store::SqlStore::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = store.create_tenant("t").await.unwrap();
    let now = push_core::now();
    store
        .create_app(&push_core::App {
            id: "chat".into(),
            tenant_id: tenant.id,
            name: "chat".into(),
            settings: Default::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_are_gap_free_under_concurrent_senders_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seq.db").display());
    let store = store_with_app(&url).await;
    gap_free_under_concurrent_senders(store.pool().clone(), Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_are_gap_free_under_concurrent_senders_on_postgres() {
    let (url, name) = support::fresh_postgres_database().await;
    let store = store_with_app(&url).await;
    gap_free_under_concurrent_senders(store.pool().clone(), Dialect::Postgres).await;
    store.close().await;
    support::drop_postgres_database(&name).await;
}
