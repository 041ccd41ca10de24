//! Shared set-up of the credential test binaries: push-sim, a pushgate instance (or two on
//! one database) pointed at it by configuration, a tenant with a key, and an app.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use push_sim::{Sim, SimConfig};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use tokio_util::sync::CancellationToken;

pub const ADMIN: &str = "cred-admin-token-0123456789";
pub const BUNDLE: &str = "com.example.chat";
pub const P12_PASSWORD: &str = "pushgate-test";

/// A file of `certs/` as text.
pub fn cert_text(name: &str) -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join(name)).unwrap()
}

/// A file of `certs/` as base64.
pub fn cert_base64(name: &str) -> String {
    let bytes = std::fs::read(push_sim::repo_certs_dir().join(name)).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A fresh P-256 key as a .p8 PEM (no simulator knows it).
pub fn fresh_p8() -> String {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The dev .p8 upload body (known to the simulator with `preload_dev`).
pub fn dev_p8() -> Value {
    json!({"key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": cert_text("apns-authkey.p8")})
}

/// The dev FCM service account upload body.
pub fn dev_fcm() -> Value {
    let account: Value = serde_json::from_str(&cert_text("fcm-service-account.json")).unwrap();
    json!({ "service_account": account })
}

/// A running simulator with the dev identities.
pub async fn sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A configuration pointed at `sim`, keeping its data in `dir`.
pub fn config(sim: &Sim, dir: &Path) -> Config {
    let vendors = json!({
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
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        vendors: serde_json::from_value(vendors).unwrap(),
        ..Config::default()
    };
    config.pipeline.retry_base_ms = 50;
    config
}

/// One running pushgate.
pub struct Instance {
    pub base: String,
    pub http: Client,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Instance {
    pub async fn start(config: &Config) -> Instance {
        let app = Application::build(config).await.expect("pushgate builds");
        let base = format!("http://{}", app.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Instance {
            base,
            http: Client::new(),
            shutdown,
            task: Some(task),
        }
    }

    /// Stops it and waits until it has drained.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A JSON call; answers the status and the body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A new tenant and an API key of it.
    pub async fn tenant(&self, name: &str) -> String {
        let (s, t) = self
            .call(
                Method::POST,
                "/v1/tenants",
                ADMIN,
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let id = t["id"].as_str().unwrap();
        let (s, k) = self
            .call(Method::POST, &format!("/v1/tenants/{id}/keys"), ADMIN, None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        k["key"].as_str().unwrap().to_string()
    }

    /// An app with the APNs bundle id and Android package of the dev credentials.
    pub async fn app(&self, key: &str, id: &str) {
        let (s, b) = self
            .call(
                Method::POST,
                "/v1/apps",
                key,
                Some(json!({"id": id, "settings": {
                "apns": {"bundle_id": BUNDLE, "default_environment": "sandbox"},
                "android": {"package_name": BUNDLE}}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    /// Uploads a credential; answers the status and body.
    pub async fn upload(
        &self,
        key: &str,
        app: &str,
        vendor: &str,
        query: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.call(
            Method::PUT,
            &format!("/v1/apps/{app}/credentials/{vendor}{query}"),
            key,
            Some(body),
        )
        .await
    }

    /// The credential list.
    pub async fn credentials(&self, key: &str, app: &str) -> Vec<Value> {
        let (s, b) = self
            .call(
                Method::GET,
                &format!("/v1/apps/{app}/credentials"),
                key,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b.as_array().unwrap().clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
