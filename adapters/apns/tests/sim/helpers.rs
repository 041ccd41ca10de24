//! `spawn_app()` for the adapter: a fresh sim (dev identities preloaded) and an adapter that
//! trusts only the sim's CA.

use push_core::adapter::{Adapter, CredentialRef, SendRequest, SendTarget, TargetResult};
use push_core::{
    ApnsEnvironment, ApnsSettings, App, AppSettings, Channel, CredentialSecret, DeliveryId,
    IngestMessage, Secret, TenantId,
};
use push_sim::types::{
    ApnsEnvironment as SimEnvironment, ApnsTokenSpec, ApnsTokenState, RequestFilter, RequestRecord,
    Vendor,
};
use push_sim::{Sim, SimConfig};
use pushgate_apns::{ApnsBuilder, ApnsConfig};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

pub const BUNDLE: &str = "com.example.chat";
pub const PASSWORD: &str = "pushgate-test";

pub struct TestApns {
    pub sim: Sim,
    pub adapter: Arc<dyn Adapter>,
    pub app: App,
}

pub fn certs(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../certs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub async fn spawn_app() -> TestApns {
    spawn_with(|_| {}).await
}

/// A sim with the dev identities and an adapter whose configuration `tweak` may change.
pub async fn spawn_with(tweak: impl FnOnce(&mut ApnsConfig)) -> TestApns {
    let sim_config = SimConfig {
        preload_dev: true,
        ..Default::default()
    };
    let sim = Sim::start(sim_config).await.unwrap();
    let mut config = ApnsConfig {
        base_url: sim.apns_production_url().parse().unwrap(),
        sandbox_url: sim.apns_sandbox_url().parse().unwrap(),
        ca_file: Some(sim.ca_pem_path()),
        trust_system_roots: false,
        request_timeout_seconds: 5,
        ..Default::default()
    };
    tweak(&mut config);
    let adapter = ApnsBuilder::new(config).build().unwrap();
    TestApns {
        sim,
        adapter,
        app: app(ApnsEnvironment::Production),
    }
}

pub fn app(default_environment: ApnsEnvironment) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            apns: Some(ApnsSettings {
                bundle_id: BUNDLE.into(),
                default_environment,
            }),
            ..Default::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

pub fn p8_with(key_id: &str, pem_file: &str) -> CredentialRef {
    credential(CredentialSecret::ApnsP8 {
        key_id: key_id.into(),
        team_id: "TEAM123456".into(),
        private_key: Secret::new(String::from_utf8(certs(pem_file)).unwrap()),
    })
}

pub fn p8() -> CredentialRef {
    p8_with("ABC123DEFG", "apns-authkey.p8")
}

pub fn p12(file: &str) -> CredentialRef {
    use base64::Engine;
    credential(CredentialSecret::ApnsP12 {
        pkcs12_base64: Secret::new(base64::engine::general_purpose::STANDARD.encode(certs(file))),
        password: Secret::new(PASSWORD),
    })
}

fn credential(secret: CredentialSecret) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(secret),
    }
}

pub fn message(extra: serde_json::Value) -> IngestMessage {
    let mut base = serde_json::json!({"id": "m-1", "app": "chat-prod", "to": {"devices": ["d1"]}});
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    serde_json::from_value(base).unwrap()
}

pub fn alert() -> IngestMessage {
    message(serde_json::json!({"notification": {"title": "Alice", "body": "New message"}}))
}

/// A device token of 64 hex digits, different per `n`.
pub fn token(n: u32) -> String {
    format!("{n:08x}").repeat(8)
}

pub fn target(token: &str, environment: Option<ApnsEnvironment>) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: format!("dev-{}", &token[..8]),
        channel: Channel::Apns,
        token: token.into(),
        apns_environment: environment,
    }
}

impl TestApns {
    pub async fn send(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        targets: &[SendTarget],
    ) -> Vec<TargetResult> {
        self.adapter
            .send(SendRequest {
                app: &self.app,
                credential,
                message,
                accepted_at: OffsetDateTime::now_utc(),
                targets,
            })
            .await
    }

    /// Sends to one device and answers its outcome.
    pub async fn send_one(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        target: &SendTarget,
    ) -> push_core::adapter::Outcome {
        let results = self
            .send(credential, message, std::slice::from_ref(target))
            .await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].delivery_id, target.delivery_id);
        results[0].outcome.clone()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Apns),
            ..Default::default()
        })
    }

    pub fn connections(&self, endpoint: &str) -> u64 {
        self.sim
            .control()
            .counters()
            .endpoints
            .get(endpoint)
            .map_or(0, |c| c.connections)
    }

    pub fn set_token(
        &self,
        environment: SimEnvironment,
        token: &str,
        state: ApnsTokenState,
        at_ms: Option<i64>,
    ) {
        self.sim
            .control()
            .set_apns_token(ApnsTokenSpec {
                environment,
                token: token.into(),
                topic: Some(BUNDLE.into()),
                state,
                unregistered_at_ms: at_ms,
                throttle: None,
            })
            .unwrap();
    }
}
