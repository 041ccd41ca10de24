//! Client acks end to end (`POST /v1/apps/{app}/notifications/{id}/acks`): FCM sends no
//! receipts, so the app on the device (or the tenant's backend) reports that a notification
//! arrived or was opened. Acks move the delivery like vendor receipts do, are idempotent, are
//! published on the receipts exchange, and reach only the caller's own deliveries — by the
//! tenant's API key, or by the device's client token (the `GET /v1/ws` JWT).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod online_support;
mod support;

use online_support::{set_hs256, token, token_with};
use push_core::queue::{EventStream, Queue};
use push_sim::types::{FcmTokenSpec, FcmTokenState};
use push_sim::{Sim, SimConfig};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "client-acks-admin-token-0123456789";

/// Where the instance keeps its state.
enum Backend {
    /// The `cargo run` default: SQLite and the embedded queue. Its receipt events stay inside
    /// the process, so only the stored history is checked.
    Sqlite,
    /// Production: PostgreSQL and RabbitMQ; the test also reads the receipt events.
    PostgresRabbit,
}

struct Setup {
    sim: Sim,
    base: String,
    http: reqwest::Client,
    /// The API key of the tenant owning app `chat` (FCM devices `d0`, `d1`).
    key: String,
    shutdown: CancellationToken,
    /// PostgreSQL database and AMQP prefix to remove afterwards.
    production: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Acks `id` of app `chat` with the tenant's key.
    async fn ack(&self, id: &str, device: &str, state: &str) -> (StatusCode, Value) {
        self.ack_as(
            &self.key,
            "chat",
            id,
            json!({"device_id": device, "state": state}),
        )
        .await
    }

    async fn ack_as(&self, token: &str, app: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            token,
            Method::POST,
            &format!("/v1/apps/{app}/notifications/{id}/acks"),
            body,
        )
        .await
    }

    /// Posts notification `id` to `devices` of app `chat` and waits until the vendor has it
    /// (or it failed); answers the first delivery.
    async fn notify(&self, id: &str, devices: &[&str]) -> Value {
        let (status, body) = self
            .send(
                &self.key,
                Method::POST,
                "/v1/apps/chat/notifications",
                json!({"id": id, "to": {"devices": devices},
                       "notification": {"title": "Alice", "body": "hi"}}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        for _ in 0..400 {
            let (status, view) = self
                .send(
                    &self.key,
                    Method::GET,
                    &format!("/v1/apps/chat/notifications/{id}"),
                    Value::Null,
                )
                .await;
            let ds = view["deliveries"].as_array().cloned().unwrap_or_default();
            if status == StatusCode::OK
                && ds.len() == devices.len()
                && ds
                    .iter()
                    .all(|d| !matches!(d["state"].as_str(), Some("queued" | "sending")))
            {
                return ds[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("notification {id} did not reach the vendor");
    }

    /// The delivery of `id` to `device`: its state and the states of its history.
    async fn delivery(&self, id: &str, device: &str) -> (String, Vec<String>) {
        let (status, view) = self
            .send(
                &self.key,
                Method::GET,
                &format!("/v1/apps/chat/notifications/{id}"),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let d = view["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == device)
            .unwrap_or_else(|| panic!("no delivery to {device}: {view}"))
            .clone();
        let history = d["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["state"].as_str().unwrap().to_string())
            .collect();
        (d["state"].as_str().unwrap().to_string(), history)
    }

    /// A second tenant's API key.
    async fn other_tenant_key(&self) -> String {
        let tenant = support::call(
            &self.http,
            &self.base,
            ADMIN,
            Method::POST,
            "/v1/tenants",
            json!({"name": "other"}),
        )
        .await;
        let path = format!("/v1/tenants/{}/keys", tenant["id"].as_str().unwrap());
        support::call(
            &self.http,
            &self.base,
            ADMIN,
            Method::POST,
            &path,
            json!({}),
        )
        .await["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Stops the instance and removes what the production backend left on the servers.
    async fn finish(self) {
        self.shutdown.cancel();
        if let Some((db, prefix)) = &self.production {
            tokio::time::sleep(Duration::from_millis(300)).await;
            support::drop_postgres_database(db).await;
            support::delete_rabbit_prefix(prefix);
        }
    }
}

async fn setup(backend: Backend) -> Setup {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        vendors: serde_json::from_value(support::vendors_for(&sim)).unwrap(),
        ..Config::default()
    };
    let mut production = None;
    if let Backend::PostgresRabbit = backend {
        let (db_url, db_name) = support::fresh_postgres_database().await;
        let prefix = format!("pgacks{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        config.database_url = Some(db_url);
        config.amqp_url = Some(support::amqp_url());
        config.amqp_prefix = prefix.clone();
        config.master_key = Some(push_core::Secret::new(
            "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=",
        ));
        production = Some((db_name, prefix));
    }
    let app = Application::build(&config).await.expect("pushgate builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::new();
    let key = support::set_up_fcm_app(&http, ADMIN, &base, &base, 2).await;
    Setup {
        sim,
        base,
        http,
        key,
        shutdown,
        production,
        _dir: dir,
    }
}

/// The next receipt event of notification `id`, as (routing key, body).
async fn next_event(events: &mut Box<dyn EventStream>, id: &str) -> Option<(String, Value)> {
    loop {
        let (key, body) = tokio::time::timeout(Duration::from_secs(2), events.next())
            .await
            .ok()??;
        let body: Value = serde_json::from_slice(&body).unwrap();
        if body["notification_id"] == id {
            return Some((key, body));
        }
    }
}

/// The whole flow on one backend: accepted → delivered → opened by acks, each stored once
/// (and, where the test can read them, published once), repeated acks answered 204.
async fn acks_move_an_fcm_delivery_to_delivered_then_opened(backend: Backend) {
    let s = setup(backend).await;
    let mut events = match &s.production {
        Some((_, prefix)) => {
            let queue = pushgate::queue::RabbitQueue::connect(&support::amqp_url(), prefix)
                .await
                .unwrap();
            Some(queue.subscribe_events("chat.*").await.unwrap())
        }
        None => None,
    };
    let first = s.notify("n-1", &["d0"]).await;
    assert_eq!(first["state"], "accepted", "{first}");

    let (status, body) = s.ack("n-1", "d0", "delivered").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (state, history) = s.delivery("n-1", "d0").await;
    assert_eq!(state, "delivered");
    assert_eq!(history, ["queued", "sending", "accepted", "delivered"]);

    // A repeated ack is answered the same and records nothing.
    assert_eq!(
        s.ack("n-1", "d0", "delivered").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.delivery("n-1", "d0").await.1.len(), 4);

    assert_eq!(s.ack("n-1", "d0", "opened").await.0, StatusCode::NO_CONTENT);
    let (state, history) = s.delivery("n-1", "d0").await;
    assert_eq!(state, "opened");
    assert_eq!(
        history,
        ["queued", "sending", "accepted", "delivered", "opened"]
    );
    // Once opened, neither ack changes anything.
    for again in ["opened", "delivered"] {
        assert_eq!(s.ack("n-1", "d0", again).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(s.delivery("n-1", "d0").await.1.len(), 5);

    if let Some(events) = &mut events {
        let mut seen = Vec::new();
        while let Some((key, body)) = next_event(events, "n-1").await {
            seen.push((key, body));
        }
        let keys: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
        // The pipeline's own events come first; the acks add exactly one of each.
        let acked: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| matches!(*k, "chat.delivered" | "chat.opened"))
            .collect();
        assert_eq!(acked, ["chat.delivered", "chat.opened"], "{keys:?}");
        let (_, opened) = seen.iter().find(|(k, _)| k == "chat.opened").unwrap();
        assert_eq!(opened["device_id"], "d0", "{opened}");
        assert_eq!(opened["vendor"], "fcm", "{opened}");
        assert_eq!(opened["state"], "opened", "{opened}");
    }
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_move_an_fcm_delivery_to_delivered_then_opened_on_sqlite() {
    acks_move_an_fcm_delivery_to_delivered_then_opened(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_move_an_fcm_delivery_and_publish_receipts_on_postgres_and_rabbitmq() {
    acks_move_an_fcm_delivery_to_delivered_then_opened(Backend::PostgresRabbit).await;
}

/// As a vendor's click receipt does, `opened` may come without `delivered`; a `delivered`
/// after it is late and ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_without_delivered_skips_delivered_like_a_click_receipt() {
    let s = setup(Backend::Sqlite).await;
    s.notify("n-2", &["d0"]).await;
    assert_eq!(s.ack("n-2", "d0", "opened").await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        s.ack("n-2", "d0", "delivered").await.0,
        StatusCode::NO_CONTENT
    );
    let (state, history) = s.delivery("n-2", "d0").await;
    assert_eq!(state, "opened");
    assert_eq!(history, ["queued", "sending", "accepted", "opened"]);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_stays_failed_whatever_the_client_says() {
    let s = setup(Backend::Sqlite).await;
    s.sim
        .control()
        .set_fcm_token(FcmTokenSpec {
            project_id: "pushgate-test".into(),
            token: "tok-0".into(),
            state: FcmTokenState::Unregistered,
            throttle: None,
        })
        .unwrap();
    let first = s.notify("n-3", &["d0"]).await;
    assert_eq!(first["state"], "failed", "{first}");
    let before = s.delivery("n-3", "d0").await;
    for state in ["delivered", "opened"] {
        assert_eq!(s.ack("n-3", "d0", state).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(s.delivery("n-3", "d0").await, before);
    s.finish().await;
}

/// Unknown notifications, devices without a delivery of it, other tenants' apps: 404 in the
/// API's error shape, as everywhere under `/v1/apps`; no or a wrong key: 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_reach_only_existing_deliveries_of_the_callers_apps() {
    let s = setup(Backend::Sqlite).await;
    s.notify("n-4", &["d0"]).await;
    for (id, device) in [("no-such", "d0"), ("n-4", "d1"), ("n-4", "nobody")] {
        let (status, body) = s.ack(id, device, "delivered").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}/{device}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{body}");
    }
    let other = s.other_tenant_key().await;
    let ack = json!({"device_id": "d0", "state": "delivered"});
    let (status, body) = s.ack_as(&other, "chat", "n-4", ack.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    let (status, _) = s.ack_as(&s.key, "no-app", "n-4", ack.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s.ack_as("pgk_wrong", "chat", "n-4", ack.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let anonymous = s
        .http
        .post(format!("{}/v1/apps/chat/notifications/n-4/acks", s.base))
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.delivery("n-4", "d0").await.0, "accepted");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_acks_are_refused_in_the_api_error_shape_and_change_nothing() {
    let s = setup(Backend::Sqlite).await;
    s.notify("n-5", &["d0"]).await;
    for (body, field) in [
        (json!({"device_id": "d0", "state": "read"}), "state"),
        (json!({"device_id": "d0", "state": "accepted"}), "state"),
        (json!({"device_id": "", "state": "delivered"}), "device_id"),
    ] {
        let (status, answer) = s.ack_as(&s.key, "chat", "n-5", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request", "{answer}");
        assert_eq!(answer["error"]["details"][0]["field"], field, "{answer}");
    }
    for body in [
        json!({"device_id": "d0"}),
        json!({"device_id": "d0", "state": "opened", "extra": 1}),
        json!({"device_id": 7, "state": "opened"}),
    ] {
        let (status, answer) = s.ack_as(&s.key, "chat", "n-5", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_json", "{answer}");
    }
    let not_json = s
        .http
        .post(format!("{}/v1/apps/chat/notifications/n-5/acks", s.base))
        .bearer_auth(&s.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let (state, history) = s.delivery("n-5", "d0").await;
    assert_eq!((state.as_str(), history.len()), ("accepted", 3));
    s.finish().await;
}

/// A device may ack with its client token, for its own deliveries of its own app only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_acks_its_own_deliveries_with_its_client_token() {
    let s = setup(Backend::Sqlite).await;
    set_hs256(&s.http, &s.base, &s.key, "chat").await;
    support::call(
        &s.http,
        &s.base,
        &s.key,
        Method::POST,
        "/v1/apps",
        json!({"id": "chat2"}),
    )
    .await;
    s.notify("n-6", &["d0", "d1"]).await;
    let d0 = token("chat", "u0", "d0", 600);
    let ack = |device: &str, state: &str| json!({"device_id": device, "state": state});

    let (status, body) = s.ack_as(&d0, "chat", "n-6", ack("d0", "delivered")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(s.delivery("n-6", "d0").await.0, "delivered");

    // Another device's delivery, or another app: 403.
    for (app, device) in [("chat", "d1"), ("chat2", "d0")] {
        let (status, body) = s.ack_as(&d0, app, "n-6", ack(device, "opened")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{app}/{device}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }
    // Expired, foreign-signed and malformed tokens: 401.
    for bad in [
        token("chat", "u0", "d0", -600),
        token_with(
            "chat",
            "u0",
            "d0",
            600,
            "another-secret-another-secret-0123",
        ),
        token("chat2", "u0", "d0", 600),
        "not-a-jwt".to_string(),
    ] {
        let (status, body) = s.ack_as(&bad, "chat", "n-6", ack("d0", "opened")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }
    assert_eq!(s.delivery("n-6", "d0").await.0, "delivered");
    assert_eq!(s.delivery("n-6", "d1").await.0, "accepted");
    let d1 = token("chat", "u1", "d1", 600);
    let (status, _) = s.ack_as(&d1, "chat", "n-6", ack("d1", "opened")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.delivery("n-6", "d1").await.1,
        ["queued", "sending", "accepted", "opened"]
    );
    s.finish().await;
}
