//! The adapter conformance suite (pushgate-testkit) for WeChat against push-sim, for the
//! official-account channel (`wechat_oa`) and the mini-program channel (`wechat_mp`).
//!
//! Left out for both channels: `oversized_payload_is_rejected_without_a_request` — the case
//! grows `message.data`, which a WeChat message does not carry (only template values are
//! sent, each under its own length rule; that rule is the malformed case), and WeChat
//! documents no body size limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use push_core::adapter::CredentialRef;
use push_core::{
    App, AppSettings, Channel, CredentialSecret, IngestMessage, Secret, TenantId, WechatSettings,
};
use push_sim::dev::{
    DEV_WECHAT_MP_APP_ID, DEV_WECHAT_MP_APP_SECRET, DEV_WECHAT_MP_TEMPLATE, DEV_WECHAT_OA_APP_ID,
    DEV_WECHAT_OA_APP_SECRET, DEV_WECHAT_OA_TEMPLATE,
};
use push_sim::types::{
    ErrorFault, RequestFilter, RequestRecord, Vendor, WechatConsentSpec, WechatUserSpec,
    WechatUserState,
};
use push_sim::{Sim, SimConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use pushgate_wechat::{WechatBuilder, WechatConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

fn error(status: u16, reason: &str, retry_after: Option<u64>) -> ErrorFault {
    pushgate_testkit::conformance::error_fault(status, reason, retry_after)
}

struct Hooks {
    channel: Channel,
}

impl Hooks {
    fn app_id(&self) -> &'static str {
        match self.channel {
            Channel::WechatMp => DEV_WECHAT_MP_APP_ID,
            _ => DEV_WECHAT_OA_APP_ID,
        }
    }
}

#[async_trait]
impl VendorHooks for Hooks {
    fn live_token(&self, n: u32) -> String {
        format!("oConf{n:04}-Rj7aBcDeFgHiJkLmNoPq")
    }
    async fn uninstall(&self, sim: &Sim, token: &str) {
        match self.channel {
            // Unfollowed: 43004.
            Channel::WechatOa => sim
                .control()
                .set_wechat_user(WechatUserSpec {
                    app_id: DEV_WECHAT_OA_APP_ID.into(),
                    openid: token.into(),
                    state: WechatUserState::Unfollowed,
                    receipt_status: None,
                })
                .unwrap(),
            // An openid of another AppID: 40003.
            _ => sim
                .control()
                .set_wechat_user(WechatUserSpec {
                    app_id: DEV_WECHAT_OA_APP_ID.into(),
                    openid: token.into(),
                    state: WechatUserState::Following,
                    receipt_status: None,
                })
                .unwrap(),
        }
    }
    async fn expire_auth(&self, sim: &Sim) {
        sim.control().expire_wechat_access_tokens();
    }
    fn auth_tokens_seen(&self, sim: &Sim) -> usize {
        sim.control()
            .requests(RequestFilter {
                vendor: Some(Vendor::Wechat),
                ..RequestFilter::default()
            })
            .iter()
            .filter_map(|r| {
                r.path
                    .split_once("access_token=")
                    .map(|(_, t)| t.split('&').next().unwrap_or_default().to_string())
            })
            .collect::<BTreeSet<_>>()
            .len()
    }
    fn refreshes_after_expiry(&self) -> usize {
        1
    }
    fn rate_limited(&self, seconds: u64) -> ErrorFault {
        error(429, "", Some(seconds))
    }
    fn server_error(&self) -> ErrorFault {
        error(503, "", None)
    }
    fn malformed(&self) -> Option<IngestMessage> {
        // A `time` value that is no time (WeChat: 47003). Not a long `thing`: those are cut
        // to 20 characters and sent (wechat.md §4.3).
        let mut message = chat_message();
        message.notification = None;
        message.wechat = Some(push_core::notification::WechatContent {
            data: serde_json::from_value(serde_json::json!({
                "thing1": {"value": "a"}, "thing2": {"value": "b"}, "time3": {"value": "tomorrow"}
            }))
            .unwrap(),
            ..Default::default()
        });
        Some(message)
    }
    fn secrets(&self) -> Vec<String> {
        vec![
            DEV_WECHAT_OA_APP_SECRET.to_string(),
            DEV_WECHAT_MP_APP_SECRET.to_string(),
        ]
    }
    fn is_send(&self, record: &RequestRecord) -> bool {
        record.path.starts_with("/cgi-bin/message/")
    }
}

fn app() -> App {
    let fields = |keys: &[&str]| -> BTreeMap<String, String> {
        keys.iter()
            .zip(["title", "body", "time"])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            wechat: Some(WechatSettings {
                official_account_app_id: Some(DEV_WECHAT_OA_APP_ID.into()),
                mini_program_app_id: Some(DEV_WECHAT_MP_APP_ID.into()),
                default_template: Some(DEV_WECHAT_OA_TEMPLATE.into()),
                mini_program_default_template: Some(DEV_WECHAT_MP_TEMPLATE.into()),
                template_fields: BTreeMap::from([
                    (
                        DEV_WECHAT_OA_TEMPLATE.into(),
                        fields(&["thing1", "thing2", "time3"]),
                    ),
                    (DEV_WECHAT_MP_TEMPLATE.into(), fields(&["thing1", "thing2"])),
                ]),
                ..WechatSettings::default()
            }),
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

async fn harness(channel: Channel) -> Harness {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let config: WechatConfig = serde_json::from_value(serde_json::json!({
        "base_url": sim.wechat_url(),
        "auth_url": format!("{}/cgi-bin/stable_token", sim.wechat_url()),
        "request_timeout_seconds": 2,
    }))
    .unwrap();
    let adapter = WechatBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    let hooks = Hooks { channel };
    let secret = match channel {
        Channel::WechatMp => DEV_WECHAT_MP_APP_SECRET,
        _ => DEV_WECHAT_OA_APP_SECRET,
    };
    if channel == Channel::WechatMp {
        // Mini-program users need a consent per message: plenty for every live token.
        for n in 0..100 {
            sim.control()
                .wechat_consent(WechatConsentSpec {
                    app_id: DEV_WECHAT_MP_APP_ID.into(),
                    openid: hooks.live_token(n),
                    template_id: DEV_WECHAT_MP_TEMPLATE.into(),
                    add: 50,
                    reset: false,
                })
                .unwrap();
        }
    }
    let credential = CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::WechatAppSecret {
            app_id: hooks.app_id().into(),
            app_secret: Secret::new(secret),
        }),
    };
    Harness {
        sim,
        adapter,
        app: app(),
        credential,
        channel,
        vendor: Vendor::Wechat,
        hooks: Box::new(hooks),
    }
}

mod official_account {
    use super::*;

    async fn oa() -> Harness {
        harness(Channel::WechatOa).await
    }

    conformance_cases!(oa;
        success,
        mixed_batch_results,
        unregistered_token_is_invalid,
        malformed_payload_is_rejected_without_a_request,
        rate_limited_with_retry_after,
        server_error_is_retry,
        expired_auth_refreshes_exactly_once,
        timeout_is_retry,
        no_secrets_in_outcomes_or_debug,
    );
}

mod mini_program {
    use super::*;

    async fn mp() -> Harness {
        harness(Channel::WechatMp).await
    }

    conformance_cases!(mp;
        success,
        mixed_batch_results,
        unregistered_token_is_invalid,
        malformed_payload_is_rejected_without_a_request,
        rate_limited_with_retry_after,
        server_error_is_retry,
        expired_auth_refreshes_exactly_once,
        timeout_is_retry,
        no_secrets_in_outcomes_or_debug,
    );
}
