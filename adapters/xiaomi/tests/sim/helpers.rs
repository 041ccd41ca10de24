//! `spawn_app()`: a simulator with the dev Xiaomi app, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendTarget};
use push_core::{
    AndroidSettings, App, AppSettings, Channel, CredentialSecret, IngestMessage,
    NotificationContent, Options, Secret, Target, TenantId, XiaomiSettings,
};
use push_sim::dev::{DEV_XIAOMI_APP_SECRET, DEV_XIAOMI_PACKAGE};
use push_sim::types::{RequestFilter, RequestRecord, Vendor, XiaomiTokenSpec, XiaomiTokenState};
use push_sim::{Sim, SimConfig};
use pushgate_xiaomi::{XiaomiBuilder, XiaomiConfig};
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
    /// Sends `message` to these regids; one outcome per regid, in order.
    pub async fn send(&self, message: &IngestMessage, tokens: &[&str]) -> Vec<Outcome> {
        self.send_with(&self.credential, message, tokens).await
    }

    pub async fn send_with(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        tokens: &[&str],
    ) -> Vec<Outcome> {
        let targets: Vec<SendTarget> = tokens.iter().map(|t| target(t)).collect();
        self.send_targets(credential, message, &targets).await
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

    /// Send requests the sim received.
    pub fn sends(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Xiaomi),
            ..RequestFilter::default()
        })
    }

    /// Registers a regid of the dev package in a state.
    pub fn token(&self, regid: &str, state: XiaomiTokenState) {
        self.sim
            .control()
            .set_xiaomi_token(XiaomiTokenSpec {
                package_name: DEV_XIAOMI_PACKAGE.into(),
                regid: regid.into(),
                state,
                receipt_type: None,
                clicked: false,
            })
            .unwrap();
    }
}

/// The form fields of a recorded request.
pub fn form(record: &RequestRecord) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(record.body.as_bytes())
        .into_owned()
        .collect()
}

pub fn config_for(sim: &Sim, timeout_seconds: u64) -> XiaomiConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.xiaomi_url(),
        "request_timeout_seconds": timeout_seconds,
    }))
    .unwrap()
}

/// A sim with the dev identities and an adapter trusting only the sim's CA.
pub async fn spawn_app() -> TestApp {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let adapter = XiaomiBuilder::new(config_for(&sim, 3))
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(DEV_XIAOMI_PACKAGE, DEV_XIAOMI_APP_SECRET),
        app: app(None),
    }
}

pub fn credential(package: &str, app_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::XiaomiAppSecret {
            package_name: package.into(),
            app_secret: Secret::new(app_secret),
        }),
    }
}

/// An app mapping `IM` to the dev private channel and `MARKETING` to the public one.
pub fn app(callback_url: Option<&str>) -> App {
    let now = OffsetDateTime::now_utc();
    let mut xiaomi: XiaomiSettings = serde_json::from_value(serde_json::json!({
        "categories": {
            "IM": {"channel_id": "110001", "class": "private"},
            "MARKETING": {"channel_id": "120001", "class": "public"}
        }
    }))
    .unwrap();
    xiaomi.callback_url = callback_url.map(str::to_string);
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            android: Some(AndroidSettings {
                package_name: DEV_XIAOMI_PACKAGE.into(),
            }),
            xiaomi: Some(xiaomi),
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
            collapse_key: Some("conv-42".into()),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

pub fn target(token: &str) -> SendTarget {
    pushgate_testkit::sends::target(Channel::Xiaomi, token)
}

pub fn accepted(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Accepted {
            vendor_message_id: Some(_)
        }
    )
}

/// A regid like Xiaomi's: Base64-like with `+ / =`.
pub fn regid(n: u32) -> String {
    format!("d//igwEhgBGCI2TG{n:04}lWqlK+gpu5IN2jb8Ajl8Bq0ipA=")
}
