//! `spawn_app()`: a simulator with the dev OPPO app, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendTarget};
use push_core::{
    App, AppSettings, Channel, CredentialSecret, IngestMessage, NotificationContent, Options,
    Secret, Target, TenantId,
};
use push_sim::dev::{DEV_OPPO_APP_KEY, DEV_OPPO_MASTER_SECRET};
use push_sim::types::{OppoRegIdSpec, OppoRegIdState, RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate_oppo::{OppoBuilder, OppoConfig};
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

impl TestApp {
    /// Sends `message` to these tokens; one outcome per token, in order.
    pub async fn send(&self, message: &IngestMessage, tokens: &[&str]) -> Vec<Outcome> {
        let targets: Vec<SendTarget> = tokens.iter().map(|t| target(t)).collect();
        self.send_targets(&self.credential, message, &targets).await
    }

    pub async fn send_targets(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        targets: &[SendTarget],
    ) -> Vec<Outcome> {
        pushgate_testkit::sends::outcomes_in_order(
            self.adapter.as_ref(),
            &self.app,
            credential,
            message,
            targets,
        )
        .await
    }

    /// Requests the sim received.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Oppo),
            ..RequestFilter::default()
        })
    }

    pub fn sends(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains("/message/notification/"))
            .collect()
    }

    /// Successful auth exchanges on a path (`/server/v1/auth` or `/intl/server/v1/auth`).
    pub fn auth_tokens(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == path && r.response.body.contains("auth_token"))
            .count()
    }

    /// Registers a registration id of the dev app in a state.
    pub fn regid(&self, id: &str, state: OppoRegIdState) {
        let spec = OppoRegIdSpec {
            app_key: DEV_OPPO_APP_KEY.into(),
            registration_id: id.into(),
            state,
            receipt_event: None,
        };
        self.sim.control().set_oppo_registration_id(spec).unwrap();
    }
}

/// A form body's fields.
pub fn form(record: &RequestRecord) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(record.body.as_bytes())
        .into_owned()
        .collect()
}

pub fn config_for(sim: &Sim, timeout_seconds: u64) -> OppoConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.oppo_url(),
        "intl_base_url": format!("{}/intl", sim.oppo_url()),
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
pub fn app_on(sim: Sim, config: OppoConfig) -> TestApp {
    let adapter = OppoBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(DEV_OPPO_APP_KEY, DEV_OPPO_MASTER_SECRET),
        app: app(None),
    }
}

pub fn credential(app_key: &str, master_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::OppoMasterSecret {
            app_key: app_key.into(),
            master_secret: Secret::new(master_secret),
        }),
    }
}

/// An app classifying `IM` on the dev private channel (strong reminder), `PROMO` as marketing
/// and `ORPHAN` on a channel the dev app never registered.
pub fn app(callback_url: Option<String>) -> App {
    let now = OffsetDateTime::now_utc();
    let oppo = serde_json::from_value(serde_json::json!({
        "categories": {
            "IM": {"channel_id": "pushgate_im", "category": "IM", "notify_level": 16},
            "PROMO": {"channel_id": "pushgate_marketing", "category": "MARKETING", "notify_level": 1},
            "ORPHAN": {"channel_id": "not_registered", "category": "MARKETING"}
        },
        "callback_url": callback_url,
    }))
    .unwrap();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            oppo: Some(oppo),
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
            click: Some("app://chat/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(86_400),
            collapse_key: Some("conv-42".into()),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

pub fn target(token: &str) -> SendTarget {
    pushgate_testkit::sends::target(Channel::Oppo, token)
}

pub fn accepted(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Accepted {
            vendor_message_id: Some(_)
        }
    )
}
