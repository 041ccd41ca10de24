//! `spawn_app()`: a simulator with the dev Huawei app, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget};
use push_core::{
    App, AppSettings, Channel, CredentialSecret, DeliveryId, HuaweiSettings, IngestMessage,
    NotificationContent, Options, Secret, Target, TenantId,
};
use push_sim::dev::{DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET};
use push_sim::types::{HuaweiTokenSpec, HuaweiTokenState, RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate_huawei::{HuaweiBuilder, HuaweiConfig};
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
        self.send_with(&self.credential, message, tokens).await
    }

    pub async fn send_with(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        tokens: &[&str],
    ) -> Vec<Outcome> {
        let targets: Vec<SendTarget> = tokens.iter().map(|t| target(t)).collect();
        let request = SendRequest {
            app: &self.app,
            credential,
            message,
            accepted_at: OffsetDateTime::now_utc(),
            targets: &targets,
        };
        let results = self.adapter.send(request).await;
        assert_eq!(results.len(), targets.len(), "{results:?}");
        targets
            .iter()
            .map(|t| {
                results
                    .iter()
                    .find(|r| r.delivery_id == t.delivery_id)
                    .expect("an outcome per target")
                    .outcome
                    .clone()
            })
            .collect()
    }

    /// Requests the sim received.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Huawei),
            ..RequestFilter::default()
        })
    }

    pub fn sends(&self) -> Vec<RequestRecord> {
        let all = self.requests();
        all.into_iter()
            .filter(|r| r.path.ends_with("/messages:send"))
            .collect()
    }

    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/oauth2/v3/token" && r.response.status == 200)
            .count()
    }

    /// Registers a token of the dev app in a state.
    pub fn token(&self, token: &str, state: HuaweiTokenState) {
        let spec = HuaweiTokenSpec {
            app_id: DEV_HUAWEI_APP_ID.into(),
            token: token.into(),
            state,
            receipt_status: None,
        };
        self.sim.control().set_huawei_token(spec).unwrap();
    }
}

pub fn config_for(sim: &Sim, timeout_seconds: u64) -> HuaweiConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.huawei_url(),
        "auth_url": sim.huawei_token_url(),
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
    let adapter = HuaweiBuilder::new(config_for(&sim, 3))
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET),
        app: app(),
    }
}

pub fn credential(app_id: &str, app_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::HuaweiOauth {
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
        }),
    }
}

/// An app mapping `IM` to Huawei's `IM`.
pub fn app() -> App {
    let now = OffsetDateTime::now_utc();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            huawei: Some(HuaweiSettings {
                categories: BTreeMap::from([("IM".to_string(), "IM".to_string())]),
            }),
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
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: format!("device-{token}"),
        channel: Channel::Huawei,
        token: token.into(),
        apns_environment: None,
    }
}

pub fn accepted(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Accepted {
            vendor_message_id: Some(_)
        }
    )
}
