//! `spawn_app()`: a simulator with the dev WeChat accounts, an adapter pointed at it by
//! configuration only, and the messages and targets the cases send.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget};
use push_core::{
    App, AppSettings, Channel, CredentialSecret, DeliveryId, IngestMessage, NotificationContent,
    Options, Secret, Target, TenantId, WechatSettings,
};
use push_sim::dev::{
    DEV_WECHAT_MP_APP_ID, DEV_WECHAT_MP_APP_SECRET, DEV_WECHAT_MP_TEMPLATE, DEV_WECHAT_OA_APP_ID,
    DEV_WECHAT_OA_APP_SECRET, DEV_WECHAT_OA_TEMPLATE,
};
use push_sim::types::{RequestFilter, RequestRecord, Vendor, WechatUserSpec, WechatUserState};
use push_sim::{Sim, SimConfig};
use pushgate_wechat::{WechatBuilder, WechatConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// A running sim and an adapter configured for it.
pub struct TestApp {
    pub sim: Sim,
    pub adapter: Arc<dyn Adapter>,
    pub oa: CredentialRef,
    pub mp: CredentialRef,
    pub app: App,
}

impl TestApp {
    /// Sends `message` to one openid on `channel`; its outcome and the target.
    pub async fn send(
        &self,
        channel: Channel,
        message: &IngestMessage,
        openid: &str,
    ) -> (Outcome, SendTarget) {
        let target = target(channel, openid);
        let outcome = self.send_target(message, &target).await;
        (outcome, target)
    }

    pub async fn send_target(&self, message: &IngestMessage, target: &SendTarget) -> Outcome {
        let credential = match target.channel {
            Channel::WechatMp => &self.mp,
            _ => &self.oa,
        };
        let request = SendRequest {
            app: &self.app,
            credential,
            message,
            accepted_at: OffsetDateTime::now_utc(),
            targets: std::slice::from_ref(target),
        };
        let results = self.adapter.send(request).await;
        assert_eq!(results.len(), 1, "{results:?}");
        assert_eq!(results[0].delivery_id, target.delivery_id);
        results[0].outcome.clone()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.control().requests(RequestFilter {
            vendor: Some(Vendor::Wechat),
            ..RequestFilter::default()
        })
    }

    pub fn sends(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/cgi-bin/message/"))
            .collect()
    }

    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/cgi-bin/stable_token")
            .count()
    }

    pub fn user(&self, app_id: &str, openid: &str, state: WechatUserState, receipt: Option<&str>) {
        self.sim
            .control()
            .set_wechat_user(WechatUserSpec {
                app_id: app_id.into(),
                openid: openid.into(),
                state,
                receipt_status: receipt.map(str::to_string),
            })
            .unwrap();
    }
}

pub fn config_for(sim: &Sim, timeout_seconds: u64) -> WechatConfig {
    serde_json::from_value(serde_json::json!({
        "base_url": sim.wechat_url(),
        "auth_url": format!("{}/cgi-bin/stable_token", sim.wechat_url()),
        "request_timeout_seconds": timeout_seconds,
    }))
    .unwrap()
}

pub async fn spawn_app() -> TestApp {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let adapter = WechatBuilder::new(config_for(&sim, 3))
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        oa: credential(DEV_WECHAT_OA_APP_ID, DEV_WECHAT_OA_APP_SECRET),
        mp: credential(DEV_WECHAT_MP_APP_ID, DEV_WECHAT_MP_APP_SECRET),
        app: app(),
    }
}

pub fn credential(app_id: &str, app_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::WechatAppSecret {
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
        }),
    }
}

/// An app whose `IM` category maps to the dev templates, filled from title / body / time.
pub fn app() -> App {
    let fields = |keys: &[(&str, &str)]| -> BTreeMap<String, String> {
        keys.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let now = OffsetDateTime::now_utc();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            wechat: Some(WechatSettings {
                official_account_app_id: Some(DEV_WECHAT_OA_APP_ID.into()),
                mini_program_app_id: Some(DEV_WECHAT_MP_APP_ID.into()),
                templates: BTreeMap::from([("IM".into(), DEV_WECHAT_OA_TEMPLATE.into())]),
                mini_program_templates: BTreeMap::from([(
                    "IM".into(),
                    DEV_WECHAT_MP_TEMPLATE.into(),
                )]),
                template_fields: BTreeMap::from([
                    (
                        DEV_WECHAT_OA_TEMPLATE.into(),
                        fields(&[("thing1", "title"), ("thing2", "body"), ("time3", "time")]),
                    ),
                    (
                        DEV_WECHAT_MP_TEMPLATE.into(),
                        fields(&[("thing1", "title"), ("thing2", "body")]),
                    ),
                ]),
                ..WechatSettings::default()
            }),
            ..AppSettings::default()
        },
        created_at: now,
        updated_at: now,
    }
}

pub fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming to the party tonight?".into()),
            click: Some("https://im.example.com/c/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

pub fn target(channel: Channel, openid: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: format!("device-{openid}"),
        channel,
        token: openid.into(),
        apns_environment: None,
    }
}

pub fn msgid(o: &Outcome) -> u64 {
    match o {
        Outcome::Accepted {
            vendor_message_id: Some(id),
        } => id.parse().unwrap(),
        other => panic!("expected Accepted with a msgid, got {other:?}"),
    }
}
