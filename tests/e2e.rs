//! The whole pushgate against the vendor simulator: a tenant sets up an app, devices and
//! credentials over REST, posts a notification, and the simulator receives the pushes —
//! with pushgate pointed at the simulator by configuration only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use push_sim::types::{RequestFilter, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "e2e-admin-token-0123456789";
const APNS_TOKEN: &str = "0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d";

fn certs(name: &str) -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join(name)).unwrap()
}

struct Setup {
    sim: Sim,
    base: String,
    http: Client,
    key: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn setup() -> Setup {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vendors = serde_json::json!({
        "apns": {
            "base_url": sim.apns_production_url(),
            "sandbox_url": sim.apns_sandbox_url(),
            "ca_file": sim.ca_pem_path(),
        },
        "fcm": {
            "base_url": sim.fcm_url(),
            "auth_url": sim.fcm_token_url(),
            "ca_file": sim.ca_pem_path(),
        }
    });
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        vendors: serde_json::from_value(vendors).unwrap(),
        ..Config::default()
    };
    let app = Application::build(&config).await.expect("pushgate builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = Client::new();
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth(ADMIN);
    let tenant: Value = admin(http.post(format!("{base}/v1/tenants")))
        .json(&json!({"name": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_id = tenant["id"].as_str().unwrap();
    let created: Value = admin(http.post(format!("{base}/v1/tenants/{tenant_id}/keys")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let s = Setup {
        sim,
        base,
        http,
        key,
        shutdown,
        _dir: dir,
    };
    s.call("POST", "/v1/apps", json!({"id": "chat-prod", "settings": {
        "apns": {"bundle_id": "com.example.chat"}, "android": {"package_name": "com.example.chat"}}}))
        .await;
    s.call(
        "PUT",
        "/v1/apps/chat-prod/credentials/apns",
        json!({
        "key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": certs("apns-authkey.p8")}),
    )
    .await;
    let service_account: Value = serde_json::from_str(&certs("fcm-service-account.json")).unwrap();
    s.call(
        "PUT",
        "/v1/apps/chat-prod/credentials/fcm",
        json!({ "service_account": service_account }),
    )
    .await;
    s.call(
        "PUT",
        "/v1/apps/chat-prod/devices/alice-iphone",
        json!({"user_id": "alice", "vendor": "apns", "token": APNS_TOKEN}),
    )
    .await;
    s.call(
        "PUT",
        "/v1/apps/chat-prod/devices/alice-pixel",
        json!({"user_id": "alice", "vendor": "fcm", "token": "fcm-alice-1"}),
    )
    .await;
    s
}

impl Setup {
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    async fn deliveries(&self, id: &str) -> Value {
        let resp = self
            .http
            .get(format!(
                "{}/v1/apps/chat-prod/notifications/{id}",
                self.base
            ))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::NOT_FOUND {
            return json!({ "deliveries": [] });
        }
        resp.json().await.unwrap()
    }

    /// Waits until every delivery of `id` is out of `queued`/`sending`.
    async fn settled(&self, id: &str, expected: usize) -> Value {
        for _ in 0..200 {
            let view = self.deliveries(id).await;
            let ds = view["deliveries"].as_array().cloned().unwrap_or_default();
            if ds.len() == expected
                && ds
                    .iter()
                    .all(|d| !matches!(d["state"].as_str(), Some("queued" | "sending")))
            {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "notification {id} did not settle: {}",
            self.deliveries(id).await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_notification_reaches_apns_and_fcm_through_the_simulator() {
    let s = setup().await;
    let resp = s
        .http
        .post(format!("{}/v1/apps/chat-prod/notifications", s.base))
        .bearer_auth(&s.key)
        .json(&json!({"id": "im-1", "to": {"users": ["alice"]},
                      "notification": {"title": "Alice", "body": "are you coming?"}, "data": {"conv": "42"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], "im-1");

    let view = s.settled("im-1", 2).await;
    for d in view["deliveries"].as_array().unwrap() {
        assert_eq!(d["state"], "accepted", "{view}");
        let history: Vec<&str> = d["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["state"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["queued", "sending", "accepted"]);
    }
    let apns = s.sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Apns),
        ..RequestFilter::default()
    });
    let push = apns
        .iter()
        .find(|r| r.path == format!("/3/device/{APNS_TOKEN}"))
        .expect("APNs got the push");
    assert_eq!(push.response.status, 200);
    assert!(push.body.contains("are you coming?"));
    let fcm = s.sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Fcm),
        token: Some("fcm-alice-1".into()),
        ..RequestFilter::default()
    });
    assert_eq!(fcm.len(), 1, "FCM got exactly one push");
    assert!(fcm[0].body.contains("\"conv\":\"42\""), "{}", fcm[0].body);

    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "pushgate_delivery_transitions_total{vendor=\"fcm\",app=\"chat-prod\",state=\"accepted\"}",
        "pushgate_deliveries_total{vendor=\"apns\",app=\"chat-prod\",outcome=\"accepted\"}",
        "pushgate_vendor_send_seconds_bucket{vendor=\"fcm\"",
        "pushgate_queue_lag_seconds_bucket{queue=\"vendor.fcm\"",
        "pushgate_queue_depth{queue=\"ingest\"}",
        "pushgate_sends_in_flight{vendor=\"apns\"}",
    ] {
        assert!(
            metrics.contains(needle),
            "/metrics lacks {needle}:\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uninstalled_app_deactivates_the_device() {
    let s = setup().await;
    use push_sim::types::{FcmTokenSpec, FcmTokenState};
    s.sim
        .control()
        .set_fcm_token(FcmTokenSpec {
            project_id: "pushgate-test".into(),
            token: "fcm-alice-1".into(),
            state: FcmTokenState::Unregistered,
            throttle: None,
        })
        .unwrap();
    s.call(
        "POST",
        "/v1/apps/chat-prod/notifications",
        json!({"id": "im-2", "to": {"devices": ["alice-pixel"]}, "data": {"k": "v"}}),
    )
    .await;
    let view = s.settled("im-2", 1).await;
    assert_eq!(view["deliveries"][0]["state"], "failed");
    assert!(
        view["deliveries"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("UNREGISTERED"),
        "{view}"
    );
    let device = s
        .http
        .get(format!("{}/v1/apps/chat-prod/devices/alice-pixel", s.base))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    let device: Value = device.json().await.unwrap();
    assert_eq!(device["status"]["state"], "deactivated", "{device}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_notifications_get_a_clear_4xx() {
    let s = setup().await;
    let resp = s
        .http
        .post(format!("{}/v1/apps/chat-prod/notifications", s.base))
        .bearer_auth(&s.key)
        .json(&json!({"to": {"users": []}, "options": {"priority": "urgent"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"id")
            && fields.contains(&"to.users")
            && fields.contains(&"options.priority"),
        "{body}"
    );
}
