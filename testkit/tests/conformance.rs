//! The adapter conformance suite run for every adapter against the simulator. Each vendor
//! lists every case; a case that cannot apply is left out by name with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use push_core::adapter::CredentialRef;
use push_core::{
    AndroidSettings, ApnsEnvironment, ApnsSettings, App, AppSettings, Channel, CredentialSecret,
    HuaweiSettings, IngestMessage, Secret, TenantId,
};
use push_sim::types::{ErrorFault, RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate_testkit::conformance::{Harness, VendorHooks, chat_message};
use pushgate_testkit::conformance_cases;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

fn certs(name: &str) -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join(name)).unwrap()
}

/// The middle line of a PEM body: key material that must never be shown.
fn pem_line(pem: &str) -> String {
    pem.lines().nth(2).unwrap().to_string()
}

fn app(settings: AppSettings) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn credential(secret: CredentialSecret) -> CredentialRef {
    CredentialRef {
        id: Uuid::new_v4(),
        version: 1,
        secret: Arc::new(secret),
    }
}

async fn sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn requests(sim: &Sim, vendor: Vendor) -> Vec<RequestRecord> {
    sim.control().requests(RequestFilter {
        vendor: Some(vendor),
        ..RequestFilter::default()
    })
}

fn error(status: u16, reason: &str, retry_after: Option<u64>) -> ErrorFault {
    pushgate_testkit::conformance::error_fault(status, reason, retry_after)
}

mod apns {
    use super::*;
    use pushgate_apns::{ApnsBuilder, ApnsConfig};

    struct Hooks;

    #[async_trait]
    impl VendorHooks for Hooks {
        fn live_token(&self, n: u32) -> String {
            format!("{n:08x}").repeat(8)
        }
        async fn uninstall(&self, sim: &Sim, token: &str) {
            use push_sim::types::{ApnsEnvironment as Env, ApnsTokenSpec, ApnsTokenState};
            let spec = ApnsTokenSpec {
                environment: Env::Production,
                token: token.into(),
                topic: Some("com.example.chat".into()),
                state: ApnsTokenState::Unregistered,
                unregistered_at_ms: None,
                throttle: None,
            };
            sim.control().set_apns_token(spec).unwrap();
        }
        async fn expire_auth(&self, sim: &Sim) {
            let mut fault = error(403, "ExpiredProviderToken", None);
            fault.count = Some(1);
            sim.control()
                .set_faults(
                    Vendor::Apns,
                    push_sim::types::FaultSpec {
                        error: Some(fault),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
        fn auth_tokens_seen(&self, sim: &Sim) -> usize {
            requests(sim, Vendor::Apns)
                .iter()
                .filter_map(|r| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k == "authorization")
                        .map(|(_, v)| v.clone())
                })
                .collect::<BTreeSet<_>>()
                .len()
        }
        fn refreshes_after_expiry(&self) -> usize {
            0
        }
        fn rate_limited(&self, seconds: u64) -> ErrorFault {
            error(429, "TooManyRequests", Some(seconds))
        }
        fn server_error(&self) -> ErrorFault {
            error(503, "ServiceUnavailable", None)
        }
        fn malformed(&self) -> Option<IngestMessage> {
            None
        }
        fn secrets(&self) -> Vec<String> {
            vec![pem_line(&certs("apns-authkey.p8"))]
        }
        fn is_send(&self, record: &RequestRecord) -> bool {
            record.path.starts_with("/3/device/")
        }
    }

    async fn harness() -> Harness {
        let sim = sim().await;
        let config = ApnsConfig {
            base_url: sim.apns_production_url().parse().unwrap(),
            sandbox_url: sim.apns_sandbox_url().parse().unwrap(),
            ca_file: Some(sim.ca_pem_path()),
            trust_system_roots: false,
            request_timeout_seconds: 2,
            ..ApnsConfig::default()
        };
        let adapter = ApnsBuilder::new(config).build().unwrap();
        let settings = AppSettings {
            apns: Some(ApnsSettings {
                bundle_id: "com.example.chat".into(),
                default_environment: ApnsEnvironment::Production,
            }),
            ..AppSettings::default()
        };
        let credential = credential(CredentialSecret::ApnsP8 {
            key_id: "ABC123DEFG".into(),
            team_id: "TEAM123456".into(),
            private_key: Secret::new(certs("apns-authkey.p8")),
        });
        Harness {
            sim,
            adapter,
            app: app(settings),
            credential,
            channel: Channel::Apns,
            vendor: Vendor::Apns,
            hooks: Box::new(Hooks),
        }
    }

    // Left out: malformed_payload_is_rejected_without_a_request — every field pushgate sends
    // is validated at ingest; APNs has no further local rule beyond the size limit.
    conformance_cases!(harness;
        success,
        mixed_batch_results,
        unregistered_token_is_invalid,
        oversized_payload_is_rejected_without_a_request,
        rate_limited_with_retry_after,
        server_error_is_retry,
        expired_auth_refreshes_exactly_once,
        timeout_is_retry,
        no_secrets_in_outcomes_or_debug,
    );
}

mod fcm {
    use super::*;
    use push_sim::types::{FcmTokenSpec, FcmTokenState};
    use pushgate_fcm::{FcmBuilder, FcmConfig};

    struct Hooks;

    #[async_trait]
    impl VendorHooks for Hooks {
        fn live_token(&self, n: u32) -> String {
            format!("fcm-token-{n}:APA91b{}", "x".repeat(40))
        }
        async fn uninstall(&self, sim: &Sim, token: &str) {
            let spec = FcmTokenSpec {
                project_id: "pushgate-test".into(),
                token: token.into(),
                state: FcmTokenState::Unregistered,
                throttle: None,
            };
            sim.control().set_fcm_token(spec).unwrap();
        }
        async fn expire_auth(&self, sim: &Sim) {
            sim.control().expire_fcm_access_tokens();
        }
        fn auth_tokens_seen(&self, sim: &Sim) -> usize {
            requests(sim, Vendor::Fcm)
                .iter()
                .filter(|r| r.path == "/token" && r.response.status == 200)
                .count()
        }
        fn refreshes_after_expiry(&self) -> usize {
            1
        }
        fn rate_limited(&self, seconds: u64) -> ErrorFault {
            error(429, "QUOTA_EXCEEDED", Some(seconds))
        }
        fn server_error(&self) -> ErrorFault {
            error(503, "UNAVAILABLE", None)
        }
        fn malformed(&self) -> Option<IngestMessage> {
            // `from` is a reserved FCM data key.
            let mut message = chat_message();
            message.data.insert("from".into(), "x".into());
            Some(message)
        }
        fn secrets(&self) -> Vec<String> {
            let json: serde_json::Value =
                serde_json::from_str(&certs("fcm-service-account.json")).unwrap();
            vec![pem_line(json["private_key"].as_str().unwrap())]
        }
        fn is_send(&self, record: &RequestRecord) -> bool {
            record.path.ends_with("/messages:send")
        }
    }

    async fn harness() -> Harness {
        let sim = sim().await;
        let config: FcmConfig = serde_json::from_value(serde_json::json!({
            "base_url": sim.fcm_url(),
            "auth_url": sim.fcm_token_url(),
            "request_timeout_seconds": 2,
        }))
        .unwrap();
        let adapter = FcmBuilder::new(config)
            .trust_only(sim.ca_pem_path())
            .build()
            .unwrap();
        let settings = AppSettings {
            android: Some(AndroidSettings {
                package_name: "com.example.chat".into(),
            }),
            ..AppSettings::default()
        };
        let credential = credential(CredentialSecret::FcmServiceAccount {
            service_account_json: Secret::new(certs("fcm-service-account.json")),
        });
        Harness {
            sim,
            adapter,
            app: app(settings),
            credential,
            channel: Channel::Fcm,
            vendor: Vendor::Fcm,
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
}

mod huawei {
    use super::*;
    use push_sim::dev::{DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET};
    use push_sim::types::{HuaweiTokenSpec, HuaweiTokenState};
    use pushgate_huawei::{HuaweiBuilder, HuaweiConfig};
    use std::collections::BTreeMap;

    struct Hooks;

    #[async_trait]
    impl VendorHooks for Hooks {
        fn live_token(&self, n: u32) -> String {
            format!("IQAAAACy0-{n:04}-{}", "x".repeat(40))
        }
        async fn uninstall(&self, sim: &Sim, token: &str) {
            // "Uninstalled" in the sim is only visible in receipts; a token Huawei refuses
            // at send time is `invalid` (80100000 lists it, or 80300007 when it is alone).
            let spec = HuaweiTokenSpec {
                app_id: DEV_HUAWEI_APP_ID.into(),
                token: token.into(),
                state: HuaweiTokenState::Invalid,
                receipt_status: None,
            };
            sim.control().set_huawei_token(spec).unwrap();
        }
        async fn expire_auth(&self, sim: &Sim) {
            sim.control().expire_huawei_access_tokens();
        }
        fn auth_tokens_seen(&self, sim: &Sim) -> usize {
            requests(sim, Vendor::Huawei)
                .iter()
                .filter(|r| r.path == "/oauth2/v3/token" && r.response.status == 200)
                .count()
        }
        fn refreshes_after_expiry(&self) -> usize {
            1
        }
        fn rate_limited(&self, seconds: u64) -> ErrorFault {
            error(429, "", Some(seconds))
        }
        fn server_error(&self) -> ErrorFault {
            error(503, "81000001", None)
        }
        fn malformed(&self) -> Option<IngestMessage> {
            // Huawei's `data` is a string; an object there is refused locally.
            let mut message = chat_message();
            message.overrides.insert(
                "huawei".into(),
                serde_json::json!({ "data": { "conv": 42 } }),
            );
            Some(message)
        }
        fn secrets(&self) -> Vec<String> {
            vec![DEV_HUAWEI_APP_SECRET.to_string()]
        }
        fn is_send(&self, record: &RequestRecord) -> bool {
            record.path.ends_with("/messages:send")
        }
    }

    async fn harness() -> Harness {
        let sim = sim().await;
        let config: HuaweiConfig = serde_json::from_value(serde_json::json!({
            "base_url": sim.huawei_url(),
            "auth_url": sim.huawei_token_url(),
            "request_timeout_seconds": 2,
        }))
        .unwrap();
        let adapter = HuaweiBuilder::new(config)
            .trust_only(sim.ca_pem_path())
            .build()
            .unwrap();
        let settings = AppSettings {
            huawei: Some(HuaweiSettings {
                categories: BTreeMap::from([("IM".to_string(), "IM".to_string())]),
            }),
            ..AppSettings::default()
        };
        let credential = credential(CredentialSecret::HuaweiOauth {
            app_id: DEV_HUAWEI_APP_ID.into(),
            app_secret: Secret::new(DEV_HUAWEI_APP_SECRET),
        });
        Harness {
            sim,
            adapter,
            app: app(settings),
            credential,
            channel: Channel::Huawei,
            vendor: Vendor::Huawei,
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
}

#[path = "conformance/honor.rs"]
mod honor;
#[path = "conformance/oppo.rs"]
mod oppo;
#[path = "conformance/vivo.rs"]
mod vivo;
#[path = "conformance/wechat.rs"]
mod wechat;
#[path = "conformance/xiaomi.rs"]
mod xiaomi;
