//! `spawn_app()`: a simulator with the dev vivo app, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendTarget};
use push_core::{
    App, AppSettings, Channel, CredentialSecret, IngestMessage, NotificationContent, Options,
    Secret, Target, TenantId, VivoSettings,
};
use push_sim::dev::{DEV_VIVO_APP_ID, DEV_VIVO_APP_KEY, DEV_VIVO_APP_SECRET};
use push_sim::types::{RequestFilter, RequestRecord, Vendor, VivoTokenSpec, VivoTokenState};
use push_sim::{Sim, SimConfig};
use pushgate_vivo::{VivoBuilder, VivoConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// A running sim and an adapter configured for it.
pub struct TestApp {
    pub sim: Sim,
    pub adapter: Arc<dyn Adapter>,
    pub credential: CredentialRef,
    pub app: App,
}

/// A well-formed regId (23 characters), distinct per `n`.
pub fn reg(n: u32) -> String {
    format!("165123456789{n:011}")
}

impl TestApp {
    /// Sends `message` to these regIds; one outcome per regId, in order.
    pub async fn send(&self, message: &IngestMessage, tokens: &[&str]) -> Vec<Outcome> {
        self.send_with(&self.credential, message, tokens).await
    }

    pub async fn send_targets(
        &self,
        message: &IngestMessage,
        targets: &[SendTarget],
    ) -> Vec<Outcome> {
        pushgate_testkit::sends::outcomes_in_order(
            self.adapter.as_ref(),
            &self.app,
            &self.credential,
            message,
            targets,
        )
        .await
    }

    pub async fn send_with(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        tokens: &[&str],
    ) -> Vec<Outcome> {
        let targets: Vec<SendTarget> = tokens.iter().map(|t| target(t)).collect();
        pushgate_testkit::sends::outcomes_in_order(
            self.adapter.as_ref(),
            &self.app,
            credential,
            message,
            &targets,
        )
        .await
    }

    /// Requests the sim received.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Vivo),
            ..RequestFilter::default()
        })
    }

    /// Requests to one of the send paths.
    pub fn sends(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.path != "/message/auth")
            .collect()
    }

    /// Successful auth calls.
    pub fn auth_calls(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/message/auth" && r.response.body.contains("authToken"))
            .count()
    }

    /// Registers a regId of the dev app in a state.
    pub fn token(&self, reg_id: &str, state: VivoTokenState) {
        let spec = VivoTokenSpec {
            app_id: DEV_VIVO_APP_ID.into(),
            reg_id: reg_id.into(),
            state,
            receipt: None,
        };
        self.sim.control().set_vivo_token(spec).unwrap();
    }
}

pub fn config_for(sim: &Sim, timeout_seconds: u64) -> VivoConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.vivo_url(),
        "request_timeout_seconds": timeout_seconds,
    }))
    .unwrap()
}

/// A sim with the dev identities and an adapter trusting only the sim's CA.
pub async fn spawn_app() -> TestApp {
    let sim = dev_sim().await;
    let config = config_for(&sim, 3);
    app_on(sim, config)
}

/// A sim with the dev identities preloaded.
pub async fn dev_sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// The dev app talking to `sim` with this adapter configuration (trusting only the sim's CA).
pub fn app_on(sim: Sim, config: VivoConfig) -> TestApp {
    let adapter = VivoBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(DEV_VIVO_APP_ID, DEV_VIVO_APP_KEY, DEV_VIVO_APP_SECRET),
        app: app(settings()),
    }
}

pub fn credential(app_id: &str, app_key: &str, app_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::VivoAppSecret {
            app_id: app_id.into(),
            app_key: app_key.into(),
            app_secret: Secret::new(app_secret),
        }),
    }
}

/// `IM` → vivo `IM`, `PROMO` → `MARKETING`, receipts to console receipt `1234`.
pub fn settings() -> VivoSettings {
    VivoSettings {
        categories: BTreeMap::from([
            ("IM".to_string(), "IM".to_string()),
            ("PROMO".to_string(), "MARKETING".to_string()),
        ]),
        receipt_id: Some("1234".into()),
        callback_url: None,
    }
}

pub fn app(vivo: VivoSettings) -> App {
    let now = OffsetDateTime::now_utc();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            vivo: Some(vivo),
            ..AppSettings::default()
        },
        created_at: now,
        updated_at: now,
    }
}

/// A chat notification of category IM with a day of ttl.
pub fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming?".into()),
            click: Some("chat://conv/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(86_400),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

pub fn target(token: &str) -> SendTarget {
    pushgate_testkit::sends::target(Channel::Vivo, token)
}

pub fn accepted(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Accepted {
            vendor_message_id: Some(_)
        }
    )
}
