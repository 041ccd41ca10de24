//! The OPPO harness of the adapter conformance suite (testkit, STYLE.md §9), self-contained
//! so it compiles both from `adapters/oppo/tests/conformance.rs` and from
//! `testkit/tests/conformance/oppo.rs`.
//!
//! OPPO specifics: the auth token is a form field and lives 24 hours; "expired auth" is the
//! sim expiring every issued token (code 11), and a refresh mints exactly one new token. The
//! 429 fault carries code -2 (server flow control) and the 5xx fault code -1. The malformed
//! payload is `action_parameters` as an object where OPPO wants a JSON string. Every case
//! applies; none is left out.

use async_trait::async_trait;
use push_core::adapter::CredentialRef;
use push_core::{App, AppSettings, Channel, CredentialSecret, IngestMessage, Secret, TenantId};
use push_sim::dev::{DEV_OPPO_APP_KEY, DEV_OPPO_MASTER_SECRET};
use push_sim::types::{
    ErrorFault, OppoRegIdSpec, OppoRegIdState, RequestFilter, RequestRecord, Vendor,
};
use push_sim::{Sim, SimConfig};
use pushgate_oppo::{OppoBuilder, OppoConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

fn error(status: u16, code: &str, retry_after: Option<u64>) -> ErrorFault {
    pushgate_testkit::conformance::error_fault(status, code, retry_after)
}

struct Hooks;

#[async_trait]
impl VendorHooks for Hooks {
    fn live_token(&self, n: u32) -> String {
        format!("CN_{n:04}b6bbd94b59cdb5df8391642c15")
    }
    async fn uninstall(&self, sim: &Sim, token: &str) {
        let spec = OppoRegIdSpec {
            app_key: DEV_OPPO_APP_KEY.into(),
            registration_id: token.into(),
            state: OppoRegIdState::Invalid,
            receipt_event: None,
        };
        sim.control().set_oppo_registration_id(spec).unwrap();
    }
    async fn expire_auth(&self, sim: &Sim) {
        sim.control().expire_oppo_auth_tokens();
    }
    fn auth_tokens_seen(&self, sim: &Sim) -> usize {
        let filter = RequestFilter {
            vendor: Some(Vendor::Oppo),
            ..RequestFilter::default()
        };
        sim.control()
            .requests(filter)
            .iter()
            .filter(|r| {
                r.path.ends_with("/server/v1/auth") && r.response.body.contains("auth_token")
            })
            .count()
    }
    fn refreshes_after_expiry(&self) -> usize {
        1
    }
    fn rate_limited(&self, seconds: u64) -> ErrorFault {
        error(429, "-2", Some(seconds))
    }
    fn server_error(&self) -> ErrorFault {
        error(503, "-1", None)
    }
    fn malformed(&self) -> Option<IngestMessage> {
        // OPPO's action_parameters is a JSON string; an object there is refused locally.
        let mut message = chat_message();
        message.overrides.insert(
            "oppo".into(),
            serde_json::json!({ "action_parameters": { "conv": 42 } }),
        );
        Some(message)
    }
    fn secrets(&self) -> Vec<String> {
        vec![DEV_OPPO_MASTER_SECRET.to_string()]
    }
    fn is_send(&self, record: &RequestRecord) -> bool {
        record.path.contains("/message/notification/")
    }
}

async fn harness() -> Harness {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let config: OppoConfig = serde_json::from_value(serde_json::json!({
        "base_url": sim.oppo_url(),
        "intl_base_url": format!("{}/intl", sim.oppo_url()),
        "request_timeout_seconds": 2,
    }))
    .unwrap();
    let adapter = OppoBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    let app = App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings::default(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    let credential = CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::OppoMasterSecret {
            app_key: DEV_OPPO_APP_KEY.into(),
            master_secret: Secret::new(DEV_OPPO_MASTER_SECRET),
        }),
    };
    Harness {
        sim,
        adapter,
        app,
        credential,
        channel: Channel::Oppo,
        vendor: Vendor::Oppo,
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
