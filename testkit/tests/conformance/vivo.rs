//! The shared adapter conformance suite (pushgate-testkit) for vivo, against push-sim.

use async_trait::async_trait;
use push_core::VivoSettings;
use push_core::adapter::CredentialRef;
use push_core::{App, AppSettings, Channel, CredentialSecret, IngestMessage, Secret, TenantId};
use push_sim::dev::{DEV_VIVO_APP_ID, DEV_VIVO_APP_KEY, DEV_VIVO_APP_SECRET};
use push_sim::types::{
    ErrorFault, RequestFilter, RequestRecord, Vendor, VivoTokenSpec, VivoTokenState,
};
use push_sim::{Sim, SimConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use pushgate_vivo::{VivoBuilder, VivoConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

fn error(status: u16, retry_after: Option<u64>) -> ErrorFault {
    pushgate_testkit::conformance::error_fault(status, "", retry_after)
}

struct Hooks;

#[async_trait]
impl VendorHooks for Hooks {
    fn live_token(&self, n: u32) -> String {
        // vivo regIds are 23 characters.
        format!("165123456789{n:011}")
    }
    async fn uninstall(&self, sim: &Sim, token: &str) {
        let spec = VivoTokenSpec {
            app_id: DEV_VIVO_APP_ID.into(),
            reg_id: token.into(),
            state: VivoTokenState::Uninstalled,
            receipt: None,
        };
        sim.control().set_vivo_token(spec).unwrap();
    }
    async fn expire_auth(&self, sim: &Sim) {
        sim.control().expire_vivo_auth_tokens();
    }
    fn auth_tokens_seen(&self, sim: &Sim) -> usize {
        let filter = RequestFilter {
            vendor: Some(Vendor::Vivo),
            ..RequestFilter::default()
        };
        sim.control()
            .requests(filter)
            .iter()
            .filter(|r| r.path == "/message/auth" && r.response.body.contains("authToken"))
            .count()
    }
    fn refreshes_after_expiry(&self) -> usize {
        1
    }
    fn rate_limited(&self, seconds: u64) -> ErrorFault {
        error(429, Some(seconds))
    }
    fn server_error(&self) -> ErrorFault {
        error(503, None)
    }
    fn malformed(&self) -> Option<IngestMessage> {
        // vivo's clientCustomMap holds at most 10 pairs.
        let mut message = chat_message();
        message.data = (0..11)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        Some(message)
    }
    fn secrets(&self) -> Vec<String> {
        vec![DEV_VIVO_APP_SECRET.to_string()]
    }
    fn is_send(&self, record: &RequestRecord) -> bool {
        record.path != "/message/auth"
    }
}

async fn harness() -> Harness {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let config: VivoConfig = serde_json::from_value(serde_json::json!({
        "base_url": sim.vivo_url(),
        "request_timeout_seconds": 2,
    }))
    .unwrap();
    let adapter = VivoBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    let settings = AppSettings {
        vivo: Some(VivoSettings {
            categories: BTreeMap::from([("IM".to_string(), "IM".to_string())]),
            ..VivoSettings::default()
        }),
        ..AppSettings::default()
    };
    let credential = CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::VivoAppSecret {
            app_id: DEV_VIVO_APP_ID.into(),
            app_key: DEV_VIVO_APP_KEY.into(),
            app_secret: Secret::new(DEV_VIVO_APP_SECRET),
        }),
    };
    let app = App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    Harness {
        sim,
        adapter,
        app,
        credential,
        channel: Channel::Vivo,
        vendor: Vendor::Vivo,
        hooks: Box::new(Hooks),
    }
}

conformance_cases!(harness;
    success,
    mixed_batch_results,
    unregistered_token_is_invalid,
    oversized_payload_is_rejected_without_a_request,
    malformed_payload_is_rejected_without_a_request,
    rate_limited_with_retry_after,
    server_error_is_retry,
    expired_auth_refreshes_exactly_once,
    timeout_is_retry,
    no_secrets_in_outcomes_or_debug,
);
