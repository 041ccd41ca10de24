//! The Xiaomi harness of the adapter conformance suite (testkit, STYLE.md §9), self-contained
//! so it compiles both from `adapters/xiaomi/tests/conformance.rs` and from
//! `testkit/tests/conformance/xiaomi.rs`.
//!
//! Xiaomi specifics: there is no auth token — the AppSecret is sent on every request — so
//! "expired auth" is a one-shot `21301` answer, and a refresh mints nothing
//! (`refreshes_after_expiry` = 0, like APNs); the "auth tokens seen" are the distinct
//! `Authorization` values. Every case applies; none is left out.

use async_trait::async_trait;
use push_core::adapter::CredentialRef;
use push_core::{
    AndroidSettings, App, AppSettings, Channel, CredentialSecret, IngestMessage, Secret, TenantId,
};
use push_sim::dev::{DEV_XIAOMI_APP_SECRET, DEV_XIAOMI_PACKAGE};
use push_sim::types::{
    ErrorFault, FaultSpec, RequestFilter, RequestRecord, Vendor, XiaomiTokenSpec, XiaomiTokenState,
};
use push_sim::{Sim, SimConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use pushgate_xiaomi::{XiaomiBuilder, XiaomiConfig};
use std::collections::BTreeSet;
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
        format!("d//igwEhgBGCI2TG{n:04}lWqlK+gpu5IN2jb8Ajl8Bq0ipA=")
    }
    async fn uninstall(&self, sim: &Sim, token: &str) {
        let spec = XiaomiTokenSpec {
            package_name: DEV_XIAOMI_PACKAGE.into(),
            regid: token.into(),
            state: XiaomiTokenState::Uninstalled,
            receipt_type: None,
            clicked: false,
        };
        sim.control().set_xiaomi_token(spec).unwrap();
    }
    async fn expire_auth(&self, sim: &Sim) {
        // No token to expire: Xiaomi refuses the AppSecret once.
        let mut fault = error(200, "21301", None);
        fault.count = Some(1);
        let spec = FaultSpec {
            error: Some(fault),
            ..FaultSpec::default()
        };
        sim.control().set_faults(Vendor::Xiaomi, spec).unwrap();
    }
    fn auth_tokens_seen(&self, sim: &Sim) -> usize {
        let filter = RequestFilter {
            vendor: Some(Vendor::Xiaomi),
            ..RequestFilter::default()
        };
        sim.control()
            .requests(filter)
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_string))
            .collect::<BTreeSet<_>>()
            .len()
    }
    fn refreshes_after_expiry(&self) -> usize {
        0
    }
    fn rate_limited(&self, seconds: u64) -> ErrorFault {
        error(429, "10027", Some(seconds))
    }
    fn server_error(&self) -> ErrorFault {
        error(503, "10001", None)
    }
    fn malformed(&self) -> Option<IngestMessage> {
        // Xiaomi's form values are text: an object in overrides.xiaomi is refused locally.
        let mut message = chat_message();
        message.overrides.insert(
            "xiaomi".into(),
            serde_json::json!({ "extra.conv": { "id": 42 } }),
        );
        Some(message)
    }
    fn secrets(&self) -> Vec<String> {
        vec![DEV_XIAOMI_APP_SECRET.to_string()]
    }
    fn is_send(&self, record: &RequestRecord) -> bool {
        record.path.ends_with("/message/regid")
    }
}

async fn harness() -> Harness {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let config: XiaomiConfig = serde_json::from_value(serde_json::json!({
        "base_url": sim.xiaomi_url(),
        "request_timeout_seconds": 2,
    }))
    .unwrap();
    let adapter = XiaomiBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    let app = App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            android: Some(AndroidSettings {
                package_name: DEV_XIAOMI_PACKAGE.into(),
            }),
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    let credential = CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(CredentialSecret::XiaomiAppSecret {
            package_name: DEV_XIAOMI_PACKAGE.into(),
            app_secret: Secret::new(DEV_XIAOMI_APP_SECRET),
        }),
    };
    Harness {
        sim,
        adapter,
        app,
        credential,
        channel: Channel::Xiaomi,
        vendor: Vendor::Xiaomi,
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
