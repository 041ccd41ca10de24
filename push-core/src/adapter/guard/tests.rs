//! The guard's policies against a slow stand-in adapter, on paused time.

use super::*;
use crate::adapter::{Capabilities, CredentialFacts, SendTarget};
use crate::app::AppSettings;
use crate::channel::Channel;
use crate::credential::{CredentialSecret, Secret};
use crate::ids::{DeliveryId, TenantId};
use crate::notification::{IngestMessage, Options, Target};
use std::sync::atomic::{AtomicUsize, Ordering};
use time::OffsetDateTime;

/// Accepts everything after `delay`, counting how many calls overlap.
struct Slow {
    delay: Duration,
    now: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl Adapter for Slow {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: "slow",
            channels: &[Channel::Fcm],
            capabilities: Capabilities {
                max_batch: 1,
                max_payload_bytes: 4096,
                collapse: true,
                ttl: true,
                priority: true,
                per_token_results: true,
            },
        }
    }
    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        same_outcome(
            request.targets,
            &Outcome::Accepted {
                vendor_message_id: None,
            },
        )
    }
    fn verify_credential(
        &self,
        _: &App,
        _: &CredentialSecret,
        _: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        Ok(CredentialFacts::default())
    }
    async fn check_credential(&self, _: &App, _: &CredentialRef) -> Result<(), CheckError> {
        tokio::time::sleep(self.delay).await;
        Ok(())
    }
    fn forget_auth(&self, _: Uuid) {}
    fn health(&self) -> AdapterHealth {
        AdapterHealth::Healthy
    }
}

struct Fixture {
    app: App,
    credential: CredentialRef,
    message: IngestMessage,
    targets: Vec<SendTarget>,
}

fn fixture() -> Fixture {
    Fixture {
        app: App {
            id: "app".into(),
            tenant_id: TenantId::new(),
            name: "app".into(),
            settings: AppSettings::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        credential: CredentialRef {
            id: Uuid::nil(),
            version: 1,
            secret: Arc::new(CredentialSecret::FcmServiceAccount {
                service_account_json: Secret::new("{}"),
            }),
        },
        message: IngestMessage {
            id: "n1".into(),
            app: "app".into(),
            to: Target::Devices(vec!["d1".into()]),
            notification: None,
            data: [("k".to_string(), "v".to_string())].into(),
            options: Options::default(),
            overrides: Default::default(),
            wechat: None,
        },
        targets: vec![SendTarget {
            delivery_id: DeliveryId::new(),
            device_id: "d1".into(),
            channel: Channel::Fcm,
            token: "t".into(),
            apns_environment: None,
        }],
    }
}

impl Fixture {
    fn request(&self) -> SendRequest<'_> {
        SendRequest {
            app: &self.app,
            credential: &self.credential,
            message: &self.message,
            accepted_at: OffsetDateTime::UNIX_EPOCH,
            targets: &self.targets,
        }
    }
}

fn slow(delay_ms: u64) -> Arc<Slow> {
    Arc::new(Slow {
        delay: Duration::from_millis(delay_ms),
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    })
}

#[tokio::test(start_paused = true)]
async fn a_send_past_the_timeout_becomes_retry_for_every_target() {
    let f = fixture();
    let guard = Guard::new(
        slow(5_000),
        GuardConfig {
            timeout: Duration::from_secs(1),
            ..GuardConfig::default()
        },
    );
    let results = guard.send(f.request()).await;
    assert_eq!(results.len(), 1);
    assert!(
        matches!(&results[0].outcome, Outcome::Retry { reason, .. } if reason.contains("1000 ms"))
    );
    assert_eq!(results[0].delivery_id, f.targets[0].delivery_id);
    let check = guard.check_credential(&f.app, &f.credential).await;
    assert!(matches!(check, Err(CheckError::Unreachable(_))));
}

#[tokio::test(start_paused = true)]
async fn in_flight_calls_are_capped() {
    let inner = slow(100);
    let guard = Arc::new(Guard::new(
        inner.clone(),
        GuardConfig {
            max_in_flight: 3,
            ..GuardConfig::default()
        },
    ));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let guard = Arc::clone(&guard);
            tokio::spawn(async move {
                let f = fixture();
                guard.send(f.request()).await
            })
        })
        .collect();
    for t in tasks {
        let results = t.await.expect("task");
        assert_eq!(
            results[0].outcome,
            Outcome::Accepted {
                vendor_message_id: None
            }
        );
    }
    assert_eq!(inner.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_sends() {
    let guard = Guard::new(
        slow(0),
        GuardConfig {
            rate_per_second: Some(10.0),
            burst: 2,
            ..GuardConfig::default()
        },
    );
    let f = fixture();
    let started = Instant::now();
    for _ in 0..12 {
        guard.send(f.request()).await;
    }
    // 2 go at once (the burst), the other 10 at 100 ms intervals.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1100), "{elapsed:?}");
}
