//! The shared adapter conformance suite (pushgate-testkit) for Honor, against push-sim, plus
//! the `spawn` helpers the other cases use.

use async_trait::async_trait;
use push_core::adapter::CredentialRef;
use push_core::{
    App, AppSettings, Channel, CredentialSecret, HonorSettings, IngestMessage, Secret, TenantId,
};
use push_sim::dev::{DEV_HONOR_APP_ID, DEV_HONOR_CLIENT_ID, DEV_HONOR_CLIENT_SECRET};
use push_sim::types::{
    ErrorFault, HonorTokenSpec, HonorTokenState, RequestFilter, RequestRecord, Vendor,
};
use push_sim::{Sim, SimConfig};
use pushgate_honor::{HonorBuilder, HonorConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The documented token path.
pub const TOKEN_PATH: &str = "/auth/realms/developer/protocol/openid-connect/token";

fn error(status: u16, retry_after: Option<u64>) -> ErrorFault {
    pushgate_testkit::conformance::error_fault(status, "", retry_after)
}

/// Successful token requests the sim answered.
pub fn tokens_issued(sim: &Sim) -> usize {
    let filter = RequestFilter {
        vendor: Some(Vendor::Honor),
        ..RequestFilter::default()
    };
    sim.control()
        .requests(filter)
        .iter()
        .filter(|r| r.path == TOKEN_PATH && r.response.status == 200)
        .count()
}

struct Hooks;

#[async_trait]
impl VendorHooks for Hooks {
    fn live_token(&self, n: u32) -> String {
        format!("HONOR-{n:04}-{}", "x".repeat(40))
    }
    async fn uninstall(&self, sim: &Sim, token: &str) {
        let spec = HonorTokenSpec {
            app_id: DEV_HONOR_APP_ID.into(),
            token: token.into(),
            state: HonorTokenState::Expired,
            receipt_status: None,
        };
        sim.control().set_honor_token(spec).unwrap();
    }
    async fn expire_auth(&self, sim: &Sim) {
        sim.control().expire_honor_access_tokens();
    }
    fn auth_tokens_seen(&self, sim: &Sim) -> usize {
        tokens_issued(sim)
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
        // Honor's data is a string; an object there is refused locally.
        let mut message = chat_message();
        message.overrides.insert(
            "honor".into(),
            serde_json::json!({ "data": { "conv": 42 } }),
        );
        Some(message)
    }
    fn secrets(&self) -> Vec<String> {
        vec![DEV_HONOR_CLIENT_SECRET.to_string()]
    }
    fn is_send(&self, record: &RequestRecord) -> bool {
        record.path.ends_with("/sendMessage")
    }
}

/// A sim with the dev identities and its config for the adapter.
pub async fn sim_and_config(timeout_seconds: u64) -> (Sim, HonorConfig) {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        // Receipts at once whatever the hour: these tests are not about Honor's night hold.
        honor_night_hold: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let config: HonorConfig = serde_json::from_value(serde_json::json!({
        "base_url": sim.honor_url(),
        "auth_url": sim.honor_token_url(),
        "request_timeout_seconds": timeout_seconds,
    }))
    .unwrap();
    (sim, config)
}

/// The dev credential (or one with another secret).
pub fn credential(client_secret: &str) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::HonorOauth {
            app_id: DEV_HONOR_APP_ID.into(),
            client_id: DEV_HONOR_CLIENT_ID.into(),
            client_secret: Secret::new(client_secret),
        }),
    }
}

/// An app mapping `IM` to `NORMAL` and `PROMO` to `LOW`.
pub fn app() -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            honor: Some(HonorSettings {
                categories: BTreeMap::from([
                    ("IM".to_string(), "NORMAL".to_string()),
                    ("PROMO".to_string(), "LOW".to_string()),
                ]),
            }),
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

async fn harness() -> Harness {
    let (sim, config) = sim_and_config(2).await;
    let adapter = HonorBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    Harness {
        sim,
        adapter,
        app: app(),
        credential: credential(DEV_HONOR_CLIENT_SECRET),
        channel: Channel::Honor,
        vendor: Vendor::Honor,
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
