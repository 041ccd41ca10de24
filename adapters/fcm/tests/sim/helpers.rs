//! `spawn_app()`: a simulator with the dev service account, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget};
use push_core::{
    AndroidSettings, App, AppSettings, Channel, CredentialSecret, DeliveryId, IngestMessage,
    NotificationContent, Options, Priority, Secret, Target, TenantId,
};
use push_sim::types::{RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate_fcm::{FcmBuilder, FcmConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The dev project of `certs/fcm-service-account.json`.
pub const PROJECT: &str = "pushgate-test";

/// `certs/fcm-service-account.json`, unedited (its `token_uri` is not the sim's port).
pub fn service_account_json() -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join("fcm-service-account.json")).unwrap()
}

/// A line from the middle of the private key: what must never be shown.
pub fn private_key_line() -> String {
    let v: serde_json::Value = serde_json::from_str(&service_account_json()).unwrap();
    v["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(5)
        .unwrap()
        .to_string()
}

/// A running sim and an adapter configured for it.
pub struct TestApp {
    pub sim: Sim,
    pub adapter: Arc<dyn Adapter>,
    pub credential: CredentialRef,
    pub app: App,
}

/// The adapter's config for a sim: nothing but `base_url`, `auth_url` and a timeout.
pub fn config_for(sim: &Sim, timeout_seconds: u64) -> FcmConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.fcm_url(),
        "auth_url": sim.fcm_token_url(),
        "request_timeout_seconds": timeout_seconds,
    }))
    .unwrap()
}

pub async fn spawn_sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A sim with the dev identities and an adapter trusting only the sim's CA.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_timeout(5).await
}

pub async fn spawn_app_with_timeout(timeout_seconds: u64) -> TestApp {
    let sim = spawn_sim().await;
    let adapter = FcmBuilder::new(config_for(&sim, timeout_seconds))
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(&service_account_json()),
        app: app(),
    }
}

pub fn credential(json: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::FcmServiceAccount {
            service_account_json: Secret::new(json),
        }),
    }
}

pub fn app() -> App {
    let now = OffsetDateTime::now_utc();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            android: Some(AndroidSettings {
                package_name: "com.example.chat".into(),
            }),
            ..AppSettings::default()
        },
        created_at: now,
        updated_at: now,
    }
}

/// A chat notification with a collapse key and a day of ttl.
pub fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("New message".into()),
            badge: Some(2),
            ..NotificationContent::default()
        }),
        data: [("conv".to_string(), "conv-8841".to_string())].into(),
        options: Options {
            priority: Priority::High,
            ttl: Some(86_400),
            collapse_key: Some("conv-8841".into()),
            category: None,
            silent: false,
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

pub fn target(token: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: format!("device-{token}"),
        channel: Channel::Fcm,
        token: token.into(),
        apns_environment: None,
    }
}

impl TestApp {
    /// Sends `message` to one token and answers its outcome.
    pub async fn send(&self, message: &IngestMessage, token: &str) -> Outcome {
        self.send_with(&self.credential, message, token).await
    }

    pub async fn send_with(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        token: &str,
    ) -> Outcome {
        let targets = [target(token)];
        let results = self
            .adapter
            .send(SendRequest {
                app: &self.app,
                credential,
                message,
                accepted_at: OffsetDateTime::now_utc(),
                targets: &targets,
            })
            .await;
        assert_eq!(results.len(), 1, "one outcome per target");
        assert_eq!(results[0].delivery_id, targets[0].delivery_id);
        results.into_iter().next().unwrap().outcome
    }

    /// Every FCM request the sim recorded (token exchanges included).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Fcm),
            ..RequestFilter::default()
        })
    }

    /// The recorded `messages:send` requests.
    pub fn sends(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("messages:send"))
            .collect()
    }

    /// How many token exchanges the sim answered.
    pub fn token_exchanges(&self) -> u64 {
        self.sim
            .control()
            .counters()
            .vendor(Vendor::Fcm)
            .auth_requests
    }
}

/// Asserts `Retry` and answers its `after`.
pub fn retry_after(outcome: &Outcome) -> Option<std::time::Duration> {
    match outcome {
        Outcome::Retry { after, .. } => *after,
        other => panic!("want Retry, got {other:?}"),
    }
}
