//! The credential lifecycle in the delivery pipeline, with the real APNs and FCM adapters
//! against push-sim: fallback from a version the vendor refuses, expired certificates, expiry
//! warnings (events and once-per-threshold across instances), health in the listing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod credential_support;

use credential_support::{BUNDLE, P12_PASSWORD, cert_base64, cert_text, config, fresh_p8, sim};
use push_core::adapter::GuardConfig;
use push_core::adapter::RetryPolicy;
use push_core::queue::{Envelope, EventStream, Queue, QueueName};
use push_core::store::CredentialAction;
use push_core::{
    ApnsEnvironment, ApnsSettings, App, AppSettings, Channel, CredentialSecret, Delivery,
    DeliveryState, DeviceRegistration, NewCredentialVersion, Secret, Store,
};
use pushgate::credentials::expiry::ExpiryMonitor;
use pushgate::pipeline::Pipeline;
use pushgate::pipeline::credentials::{CREDENTIAL_REFRESH, CredentialCache};
use pushgate::pipeline::ingest::Ingestor;
use pushgate::pipeline::worker::{VendorWorker, WorkerLimits};
use pushgate::queue::{EmbeddedOptions, EmbeddedQueue};
use pushgate::store::SqlStore;
use pushgate::vault::{Keyring, MasterKey, Vault, fingerprint};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const APP: &str = "chat";
const TOKEN: &str = "5a5b5c5d5a5b5c5d5a5b5c5d5a5b5c5d5a5b5c5d5a5b5c5d5a5b5c5d5a5b5c5d";

struct Harness {
    sim: push_sim::Sim,
    _dir: tempfile::TempDir,
    store: Arc<SqlStore>,
    queue: Arc<EmbeddedQueue>,
    vault: Arc<Vault>,
    shutdown: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn harness() -> Harness {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&sim, dir.path());
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Arc::new(SqlStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let options = EmbeddedOptions {
        poll_interval: Duration::from_millis(20),
        ..EmbeddedOptions::default()
    };
    let queue = Arc::new(EmbeddedQueue::with_options(&store, options));
    let vault = Arc::new(Vault::new(Keyring::new(
        MasterKey::generate().unwrap(),
        vec![],
    )));
    let registry = Arc::new(pushgate::adapters::registry(&config.vendors, None).unwrap());
    let dyn_store: Arc<dyn Store> = store.clone();
    let dyn_queue: Arc<dyn Queue> = queue.clone();
    let ingestor = Ingestor::new(
        dyn_store.clone(),
        dyn_queue.clone(),
        registry.clone(),
        64 * 1024,
    );
    let credentials = Arc::new(
        CredentialCache::new(dyn_store.clone(), vault.clone()).with_events(dyn_queue.clone()),
    );
    let limits = WorkerLimits {
        retry: RetryPolicy {
            base: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_attempts: 3,
        },
        guard: GuardConfig::default(),
        admission_wait: Duration::from_millis(50),
        park_when_saturated: Duration::from_millis(50),
        park_after_auth_failure: Duration::from_millis(200),
    };
    let workers = registry
        .adapters()
        .into_iter()
        .map(|a| {
            Arc::new(VendorWorker::new(
                a,
                dyn_store.clone(),
                dyn_queue.clone(),
                credentials.clone(),
                limits,
            ))
        })
        .collect();
    let shutdown = CancellationToken::new();
    let pipeline = Pipeline::new(dyn_queue, ingestor, workers, 16);
    let stop = shutdown.clone();
    tokio::spawn(async move { pipeline.run(stop).await.unwrap() });

    let tenant = store.create_tenant("t").await.unwrap();
    let now = push_core::now();
    let app = App {
        id: APP.into(),
        tenant_id: tenant.id,
        name: APP.into(),
        settings: AppSettings {
            apns: Some(ApnsSettings {
                bundle_id: BUNDLE.into(),
                default_environment: ApnsEnvironment::Sandbox,
            }),
            ..AppSettings::default()
        },
        created_at: now,
        updated_at: now,
    };
    store.create_app(&app).await.unwrap();
    let reg = DeviceRegistration {
        app_id: APP.into(),
        device_id: "iphone".into(),
        user_id: "alice".into(),
        channel: Channel::Apns,
        token: TOKEN.into(),
        apns_environment: None,
    };
    store.upsert_device(&reg, now).await.unwrap();
    Harness {
        sim,
        _dir: dir,
        store,
        queue,
        vault,
        shutdown,
    }
}

impl Harness {
    /// Stores a credential version directly (no upload verification), as active.
    async fn store_credential(&self, secret: CredentialSecret, not_after: Option<OffsetDateTime>) {
        let id = Uuid::now_v7();
        let sealed = self.vault.seal(id, APP, Channel::Apns, &secret).unwrap();
        let new = NewCredentialVersion {
            id,
            app_id: APP.into(),
            channel: Channel::Apns,
            kind: secret.kind(),
            fingerprint: fingerprint(&secret),
            public_fields: secret.public_fields(),
            not_after,
            sealed,
        };
        self.store
            .insert_credential(&new, push_core::now())
            .await
            .unwrap();
    }

    async fn send(&self, id: &str) {
        let message = json!({ "id": id, "app": APP, "to": {"users": ["alice"]},
            "notification": { "title": "Alice", "body": "hi" } });
        let body = serde_json::to_vec(&message).unwrap();
        self.queue
            .publish(&QueueName::Ingest, vec![Envelope::new(body)], None)
            .await
            .unwrap();
    }

    /// The one delivery of a notification once it is accepted or final.
    async fn settled(&self, id: &str) -> Delivery {
        for _ in 0..500 {
            if let Some(d) = self.store.deliveries_of(APP, id).await.unwrap().pop()
                && (d.state.is_final() || d.state == DeliveryState::Accepted)
            {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("delivery of {id} did not settle");
    }
}

fn dev_p8() -> CredentialSecret {
    CredentialSecret::ApnsP8 {
        key_id: "ABC123DEFG".into(),
        team_id: "TEAM123456".into(),
        private_key: Secret::new(cert_text("apns-authkey.p8")),
    }
}

/// The next `<app>.credential` event, within a few seconds.
async fn next_event(events: &mut Box<dyn EventStream>) -> Value {
    let (key, body) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event in time")
        .expect("the stream is open");
    assert_eq!(key, format!("{APP}.credential"));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_refused_new_version_falls_back_to_the_previous_one() {
    let h = harness().await;
    let mut events = h.queue.subscribe_events("*.credential").await.unwrap();
    h.store_credential(dev_p8(), None).await;
    h.send("n1").await;
    assert_eq!(h.settled("n1").await.state, DeliveryState::Accepted);

    // Version 2: a well-formed key the vendor has never heard of.
    h.store_credential(
        CredentialSecret::ApnsP8 {
            key_id: "NOTKNOWN01".into(),
            team_id: "TEAM123456".into(),
            private_key: Secret::new(fresh_p8()),
        },
        None,
    )
    .await;
    // Let the credential cache pick version 2 up.
    tokio::time::sleep(CREDENTIAL_REFRESH + Duration::from_millis(200)).await;
    h.send("n2").await;
    let d = h.settled("n2").await;
    assert_eq!(d.state, DeliveryState::Accepted, "{d:?}");

    let event = next_event(&mut events).await;
    assert_eq!(
        (
            event["kind"].as_str(),
            event["version"].as_i64(),
            event["fallback_version"].as_i64()
        ),
        (Some("fallback"), Some(2), Some(1)),
        "{event}"
    );

    let listed = h.store.list_credential_status(APP).await.unwrap();
    let (v1, v2) = (&listed[0], &listed[1]);
    assert_eq!(
        (v1.meta.version, v1.meta.state),
        (1, push_core::CredentialState::Active)
    );
    assert!(v1.health.last_success_at.is_some(), "{v1:?}");
    assert_eq!(v2.meta.state, push_core::CredentialState::Inactive);
    let unhealthy = v2.health.unhealthy_reason.as_deref().unwrap_or_default();
    assert!(unhealthy.contains("InvalidProviderToken"), "{unhealthy}");
    assert!(v2.health.last_failure_reason.is_some(), "{v2:?}");
    let audit = h.store.list_credential_audit(APP).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .map(|e| (e.action, e.version, e.api_key_id))
            .collect::<Vec<_>>(),
        [(CredentialAction::Fallback, 1, None)]
    );

    // Later sends use version 1 straight away.
    h.send("n3").await;
    assert_eq!(h.settled("n3").await.state, DeliveryState::Accepted);
}

#[tokio::test]
async fn without_a_working_previous_version_a_refused_credential_is_not_replaced() {
    let h = harness().await;
    h.store_credential(
        CredentialSecret::ApnsP8 {
            key_id: "NOTKNOWN02".into(),
            team_id: "TEAM123456".into(),
            private_key: Secret::new(fresh_p8()),
        },
        None,
    )
    .await;
    h.send("n1").await;
    // The delivery waits (auth failures are retried after the circuit pause) and ends failed.
    let d = h.settled("n1").await;
    assert_eq!(d.state, DeliveryState::Failed, "{d:?}");
    let listed = h.store.list_credential_status(APP).await.unwrap();
    assert_eq!(listed[0].meta.state, push_core::CredentialState::Active);
    assert!(listed[0].health.unhealthy_at.is_none());
}

#[tokio::test]
async fn an_expired_certificate_fails_each_delivery_with_its_date_and_sends_nothing() {
    let h = harness().await;
    let expired_on = OffsetDateTime::now_utc() - time::Duration::days(3);
    h.store_credential(
        CredentialSecret::ApnsP12 {
            pkcs12_base64: Secret::new(cert_base64("apns-cert-expired.p12")),
            password: Secret::new(P12_PASSWORD),
        },
        Some(expired_on),
    )
    .await;
    for id in ["n1", "n2"] {
        h.send(id).await;
        let d = h.settled(id).await;
        assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 1), "{d:?}");
        let reason = d.reason.unwrap_or_default();
        let want = format!("the APNs certificate expired on {}", expired_on.date());
        assert!(reason.contains(&want), "{reason}");
    }
    let filter = push_sim::types::RequestFilter {
        vendor: Some(push_sim::types::Vendor::Apns),
        ..Default::default()
    };
    assert!(
        h.sim.control().requests(filter).is_empty(),
        "nothing reached APNs"
    );
}

#[tokio::test]
async fn expiry_warnings_are_raised_once_per_threshold_across_instances() {
    let h = harness().await;
    let mut events = h.queue.subscribe_events("*.credential").await.unwrap();
    let now = OffsetDateTime::now_utc();
    let not_after = now + time::Duration::days(20);
    h.store_credential(
        CredentialSecret::ApnsP12 {
            pkcs12_base64: Secret::new(cert_base64("apns-cert.p12")),
            password: Secret::new(P12_PASSWORD),
        },
        Some(not_after),
    )
    .await;
    let dyn_store: Arc<dyn Store> = h.store.clone();
    let dyn_queue: Arc<dyn Queue> = h.queue.clone();
    let first = ExpiryMonitor::new(dyn_store.clone(), dyn_queue.clone());
    let second = ExpiryMonitor::new(dyn_store, dyn_queue);

    let raised = first.check_once(now).await.unwrap();
    assert_eq!(
        raised.iter().map(|w| w.threshold_days).collect::<Vec<_>>(),
        [30]
    );
    let event = next_event(&mut events).await;
    assert_eq!(
        (event["kind"].as_str(), event["threshold_days"].as_i64()),
        (Some("expiring"), Some(30))
    );
    assert!(
        event["reason"].as_str().unwrap().contains("within 30 days"),
        "{event}"
    );
    assert!(
        second.check_once(now).await.unwrap().is_empty(),
        "the other instance stays quiet"
    );
    assert!(
        first
            .check_once(now + time::Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );

    for (days_later, threshold) in [(14, 7), (19, 1), (21, 0)] {
        let at = now + time::Duration::days(days_later);
        let raised = second.check_once(at).await.unwrap();
        assert_eq!(
            raised.iter().map(|w| w.threshold_days).collect::<Vec<_>>(),
            [threshold]
        );
        assert!(first.check_once(at).await.unwrap().is_empty());
        let event = next_event(&mut events).await;
        assert_eq!(event["threshold_days"].as_i64(), Some(threshold), "{event}");
    }
}
