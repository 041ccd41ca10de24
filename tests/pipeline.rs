//! The delivery pipeline on the embedded queue with stub adapters: ingest, fan-out, every
//! adapter outcome, ttl, dedupe, poison messages and receipt events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use push_core::adapter::{AdapterRegistry, GuardConfig, Outcome, RetryPolicy};
use push_core::queue::{Envelope, Queue, QueueName, REASON_HEADER};
use push_core::{
    App, AppSettings, Channel, CredentialSecret, Delivery, DeliveryState, DeviceRegistration,
    NewCredentialVersion, Secret, Store,
};
use pushgate::pipeline::Pipeline;
use pushgate::pipeline::credentials::CredentialCache;
use pushgate::pipeline::ingest::{IngestError, Ingestor};
use pushgate::pipeline::worker::{VendorWorker, WorkerLimits};
use pushgate::queue::{EmbeddedOptions, EmbeddedQueue};
use pushgate::store::SqlStore;
use pushgate::vault::{Keyring, MasterKey, Vault, fingerprint};
use pushgate_testkit::StubAdapter;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const APP: &str = "chat";

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<SqlStore>,
    queue: Arc<EmbeddedQueue>,
    fcm: Arc<StubAdapter>,
    apns: Arc<StubAdapter>,
    vault: Arc<Vault>,
    ingestor: Ingestor,
    shutdown: CancellationToken,
    pipeline: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Fast retries so retry paths finish within a test.
fn policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_attempts: 3,
    }
}

/// Fast retries and short parking so those paths finish within a test.
fn limits() -> WorkerLimits {
    WorkerLimits {
        retry: policy(),
        guard: GuardConfig::default(),
        admission_wait: Duration::from_millis(50),
        park_when_saturated: Duration::from_millis(50),
        park_after_auth_failure: Duration::from_millis(50),
    }
}

async fn harness() -> Harness {
    harness_with(limits()).await
}

async fn harness_with(limits: WorkerLimits) -> Harness {
    harness_running(limits, true).await
}

/// A harness whose pipeline runs only with `run` (else its queues just fill up).
async fn harness_running(limits: WorkerLimits, run: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Arc::new(SqlStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let options = EmbeddedOptions {
        poll_interval: Duration::from_millis(20),
        ..EmbeddedOptions::default()
    };
    let queue = Arc::new(EmbeddedQueue::with_options(&store, options));
    let fcm = Arc::new(StubAdapter::accepting(Channel::Fcm));
    let apns = Arc::new(StubAdapter::accepting(Channel::Apns));
    let vault = Arc::new(Vault::new(Keyring::new(
        MasterKey::generate().unwrap(),
        vec![],
    )));

    store.create_tenant("t").await.unwrap();
    let mut registry = AdapterRegistry::new();
    registry.register(fcm.clone()).unwrap();
    registry.register(apns.clone()).unwrap();
    let registry = Arc::new(registry);
    let dyn_store: Arc<dyn Store> = store.clone();
    let dyn_queue: Arc<dyn Queue> = queue.clone();
    let ingestor = Ingestor::new(
        dyn_store.clone(),
        dyn_queue.clone(),
        registry.clone(),
        64 * 1024,
    );
    let credentials = Arc::new(CredentialCache::new(dyn_store.clone(), vault.clone()));
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
    let pipeline = Pipeline::new(dyn_queue, ingestor.clone(), workers, 16);
    let stop = shutdown.clone();
    let handle = run.then(|| tokio::spawn(async move { pipeline.run(stop).await.unwrap() }));
    let h = Harness {
        _dir: dir,
        store,
        queue,
        fcm,
        apns,
        vault,
        ingestor,
        shutdown,
        pipeline: handle,
    };
    h.add_app(APP).await;
    h
}

impl Harness {
    /// An app of the tenant with working FCM and APNs credentials.
    async fn add_app(&self, app_id: &str) {
        let tenant = self.store.list_tenants().await.unwrap()[0].id;
        let now = push_core::now();
        let app = App {
            id: app_id.into(),
            tenant_id: tenant,
            name: app_id.into(),
            settings: AppSettings::default(),
            created_at: now,
            updated_at: now,
        };
        self.store.create_app(&app).await.unwrap();
        for channel in [Channel::Fcm, Channel::Apns] {
            let secret = match channel {
                Channel::Fcm => CredentialSecret::FcmServiceAccount {
                    service_account_json: Secret::new("{}"),
                },
                _ => CredentialSecret::ApnsP8 {
                    key_id: "ABC123DEFG".into(),
                    team_id: "TEAM123456".into(),
                    private_key: Secret::new("pem"),
                },
            };
            let id = uuid::Uuid::now_v7();
            let sealed = self.vault.seal(id, app_id, channel, &secret).unwrap();
            let new = NewCredentialVersion {
                id,
                app_id: app_id.into(),
                channel,
                kind: secret.kind(),
                fingerprint: fingerprint(&secret),
                public_fields: secret.public_fields(),
                not_after: None,
                sealed,
            };
            self.store.insert_credential(&new, now).await.unwrap();
        }
    }

    async fn device(&self, id: &str, user: &str, channel: Channel, token: &str) {
        let reg = DeviceRegistration {
            app_id: APP.into(),
            device_id: id.into(),
            user_id: user.into(),
            channel,
            token: token.into(),
            apns_environment: None,
        };
        self.store
            .upsert_device(&reg, push_core::now())
            .await
            .unwrap();
    }

    /// Users `u0…u<n-1>` with one device each, `d<k>` with token `tok-<k>`: FCM for even
    /// k, APNs for odd.
    async fn one_device_each(&self, n: usize) {
        for u in 0..n {
            let channel = if u % 2 == 0 {
                Channel::Fcm
            } else {
                Channel::Apns
            };
            let (device, user, token) = (format!("d{u}"), format!("u{u}"), format!("tok-{u}"));
            self.device(&device, &user, channel, &token).await;
        }
    }

    async fn publish(&self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        self.queue
            .publish(&QueueName::Ingest, vec![Envelope::new(body)], None)
            .await
            .unwrap();
    }

    /// The deliveries of a notification once every one is in a final or accepted state.
    async fn settled(&self, id: &str, expected: usize) -> Vec<Delivery> {
        for _ in 0..300 {
            let ds = self.store.deliveries_of(APP, id).await.unwrap();
            if ds.len() == expected
                && ds
                    .iter()
                    .all(|d| d.state.is_final() || d.state == DeliveryState::Accepted)
            {
                return ds;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "deliveries of {id} did not settle: {:?}",
            self.store.deliveries_of(APP, id).await.unwrap()
        );
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.pipeline.take() {
            tokio::time::timeout(Duration::from_secs(10), h)
                .await
                .expect("pipeline drains")
                .unwrap();
        }
    }
}

fn message(id: &str, to: Value) -> Value {
    json!({ "id": id, "app": APP, "to": to, "notification": { "title": "Alice", "body": "hi" } })
}

#[tokio::test]
async fn a_user_message_reaches_every_active_device_once() {
    let h = harness().await;
    h.device("pixel", "alice", Channel::Fcm, "fcm-1").await;
    h.device("iphone", "alice", Channel::Apns, "apns-1").await;
    h.device("other", "bob", Channel::Fcm, "fcm-2").await;
    h.publish(message("n1", json!({ "users": ["alice"] })))
        .await;
    let ds = h.settled("n1", 2).await;
    assert!(
        ds.iter().all(|d| d.state == DeliveryState::Accepted),
        "{ds:?}"
    );
    assert!(ds.iter().all(|d| {
        d.vendor_message_id
            .as_deref()
            .is_some_and(|m| m.starts_with("stub-"))
    }));
    assert_eq!(h.fcm.sends().len(), 1);
    assert_eq!(h.apns.sends().len(), 1);
    assert_eq!(h.fcm.sends()[0].targets[0].1, "fcm-1");
    let receipts = h.store.receipts_of(ds[0].id).await.unwrap();
    let states: Vec<DeliveryState> = receipts.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            DeliveryState::Queued,
            DeliveryState::Sending,
            DeliveryState::Accepted
        ]
    );
    h.stop().await;
}

#[tokio::test]
async fn a_batch_of_messages_becomes_one_job_per_vendor_and_bad_ones_are_singled_out() {
    let h = harness_running(limits(), false).await;
    h.one_device_each(120).await;
    let mut bodies: Vec<Vec<u8>> = (0..120)
        .map(|u| {
            message(&format!("n{u}"), json!({ "users": [format!("u{u}")] }))
                .to_string()
                .into_bytes()
        })
        .collect();
    bodies.insert(7, b"{not json".to_vec());
    bodies.insert(
        20,
        json!({ "id": "x", "app": "nope", "to": { "users": ["u1"] }, "data": {"k": "v"} })
            .to_string()
            .into_bytes(),
    );
    // A repeat of n3 within the batch, and a message to device ids.
    bodies.push(
        message("n3", json!({ "users": ["u3"] }))
            .to_string()
            .into_bytes(),
    );
    bodies.push(
        message("by-id", json!({ "devices": ["d0", "d1", "gone"] }))
            .to_string()
            .into_bytes(),
    );
    let raws: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let results = h.ingestor.process_batch(&raws).await.unwrap();
    assert_eq!(results.len(), raws.len());
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| (e.is_permanent(), e.to_string())))
        .map(|(permanent, e)| {
            assert!(permanent, "{e}");
            e
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(matches!(&results[7], Err(e) if e.to_string().contains("invalid message")));
    assert!(matches!(&results[20], Err(e) if e.to_string().contains("unknown app")));
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 122);
    let repeat = ok.iter().filter(|i| i.id == "n3").collect::<Vec<_>>();
    assert_eq!(
        repeat
            .iter()
            .map(|i| (i.new, i.dispatched))
            .collect::<Vec<_>>(),
        vec![(true, 1), (false, 0)],
        "the repeat within the batch is stored and sent once"
    );
    let by_id = ok.iter().find(|i| i.id == "by-id").unwrap();
    assert_eq!((by_id.new, by_id.dispatched), (true, 2));
    assert_eq!(ok.iter().map(|i| i.dispatched).sum::<usize>(), 122);

    // One job per vendor carries the deliveries of all the batch's notifications.
    for (vendor, expected) in [("fcm", 61), ("apns", 61)] {
        let name = QueueName::Vendor(vendor.into());
        assert_eq!(h.queue.depth(&name).await.unwrap(), 1, "{vendor}");
        let (mut jobs, acker) = h.queue.subscribe(&name, 10).await.unwrap();
        let job = jobs.next().await.unwrap();
        let job = pushgate::pipeline::job::VendorJob::from_envelope(&job.envelope).unwrap();
        assert_eq!(
            (job.app.as_str(), job.deliveries.len()),
            (APP, expected),
            "{vendor}"
        );
        drop(acker);
    }
    for u in [0, 3, 119] {
        let ds = h.store.deliveries_of(APP, &format!("n{u}")).await.unwrap();
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].state, DeliveryState::Queued);
    }

    // The batch redelivered (a crash before its ack) stores nothing twice; deliveries never
    // attempted get jobs again (the workers' state guard keeps them from going out twice).
    let again = h.ingestor.process_batch(&raws).await.unwrap();
    let again: Vec<_> = again.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(again.len(), 122);
    assert!(again.iter().all(|i| !i.new));
    assert_eq!(again.iter().map(|i| i.dispatched).sum::<usize>(), 122);
    for u in [0, 3, 5] {
        assert_eq!(
            h.store
                .deliveries_of(APP, &format!("n{u}"))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    assert_eq!(h.store.deliveries_of(APP, "by-id").await.unwrap().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn a_burst_of_messages_is_delivered_once_each() {
    let h = harness().await;
    h.one_device_each(200).await;
    let burst: Vec<Envelope> = (0..200)
        .map(|u| {
            Envelope::new(
                message(&format!("n{u}"), json!({ "users": [format!("u{u}")] })).to_string(),
            )
        })
        .collect();
    h.queue
        .publish(&QueueName::Ingest, burst, None)
        .await
        .unwrap();
    for u in 0..200 {
        let ds = h.settled(&format!("n{u}"), 1).await;
        assert_eq!(ds[0].state, DeliveryState::Accepted, "{ds:?}");
    }
    let mut tokens: Vec<String> = h
        .fcm
        .sends()
        .into_iter()
        .chain(h.apns.sends())
        .flat_map(|s| s.targets.into_iter().map(|t| t.1))
        .collect();
    tokens.sort();
    let mut expected: Vec<String> = (0..200).map(|u| format!("tok-{u}")).collect();
    expected.sort();
    assert_eq!(tokens, expected, "each device got its message once");
    h.stop().await;
}

#[tokio::test]
async fn a_repeated_id_is_delivered_once() {
    let h = harness().await;
    h.device("pixel", "alice", Channel::Fcm, "fcm-1").await;
    h.publish(message("dup", json!({ "users": ["alice"] })))
        .await;
    h.settled("dup", 1).await;
    h.publish(message("dup", json!({ "users": ["alice"] })))
        .await;
    // Give the duplicate time to be processed, then check nothing more was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.fcm.sends().len(), 1);
    assert_eq!(h.store.deliveries_of(APP, "dup").await.unwrap().len(), 1);
    // A repeat naming someone else is the same notification: nothing more is sent.
    h.device("phone", "bob", Channel::Fcm, "fcm-2").await;
    h.publish(message("dup", json!({ "users": ["bob"] }))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.fcm.sends().len(),
        1,
        "the repeat's recipients are ignored"
    );
    assert_eq!(h.store.deliveries_of(APP, "dup").await.unwrap().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_notification_stored_without_deliveries_gets_them_from_the_stored_message() {
    // As after a crash between the notification and the deliveries inserts: the redelivery
    // (here a repeat naming someone else) completes the first message, not the repeat.
    let h = harness().await;
    h.device("pixel", "alice", Channel::Fcm, "fcm-1").await;
    h.device("phone", "bob", Channel::Fcm, "fcm-2").await;
    let first: push_core::IngestMessage =
        serde_json::from_value(message("half", json!({ "users": ["alice"] }))).unwrap();
    assert!(
        h.store
            .insert_notification(&first, push_core::now())
            .await
            .unwrap()
    );
    h.publish(message("half", json!({ "users": ["bob"] })))
        .await;
    let settled = h.settled("half", 1).await;
    assert_eq!(
        settled[0].device_id, "pixel",
        "alice's device, from the stored message"
    );
    h.stop().await;
}

#[tokio::test]
async fn rest_refuses_what_the_consumer_would_dead_letter_for_its_size() {
    let h = harness().await;
    // A body just under the limit, which grows past it once `app` and the default options
    // are written into the queued form.
    let body = |len: usize| {
        let head = r#"{"id":"big","to":{"users":["alice"]},"data":{"k":""#;
        let tail = r#""}}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let near = body(64 * 1024 - 8);
    let refused = h.ingestor.enqueue(APP, near.as_bytes()).await;
    match refused {
        Err(IngestError::Invalid(problems)) => {
            assert!(problems[0].reason.contains("once its app"), "{problems:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let fits = body(64 * 1024 - 200);
    assert!(h.ingestor.enqueue(APP, fits.as_bytes()).await.is_ok());
    h.stop().await;
}

#[tokio::test]
async fn poison_messages_are_dead_lettered_with_the_reason_and_do_not_block() {
    let h = harness().await;
    h.device("pixel", "alice", Channel::Fcm, "fcm-1").await;
    let (mut dead, dead_acker) = h.queue.subscribe(&QueueName::Dead, 10).await.unwrap();
    h.queue
        .publish(&QueueName::Ingest, vec![Envelope::new("{not json")], None)
        .await
        .unwrap();
    h.publish(
        json!({ "id": "x", "app": "nope", "to": { "users": ["alice"] }, "data": { "k": "v" } }),
    )
    .await;
    h.publish(message("good", json!({ "users": ["alice"] })))
        .await;
    h.settled("good", 1).await;
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(5), dead.next())
            .await
            .unwrap()
            .unwrap();
        reasons.push(
            m.envelope
                .headers
                .get(REASON_HEADER)
                .cloned()
                .unwrap_or_default(),
        );
        dead_acker.ack(&[m.tag]).await.unwrap();
    }
    reasons.sort();
    assert!(
        reasons[0].contains("invalid message") && reasons[0].contains("JSON"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("unknown app"), "{reasons:?}");
    h.stop().await;
}

#[tokio::test]
async fn an_invalid_token_deactivates_the_device_and_is_announced() {
    let h = harness().await;
    h.device("pixel", "alice", Channel::Fcm, "dead-token").await;
    let mut events = h.queue.subscribe_events("#.token_invalid").await.unwrap();
    h.fcm.script(
        "dead-token",
        [Outcome::InvalidToken {
            reason: "UNREGISTERED".into(),
            invalid_since: None,
        }],
    );
    h.publish(message("n1", json!({ "devices": ["pixel"] })))
        .await;
    let ds = h.settled("n1", 1).await;
    assert_eq!(ds[0].state, DeliveryState::Failed);
    assert!(ds[0].reason.as_deref().unwrap().contains("UNREGISTERED"));
    let device = h.store.get_device(APP, "pixel").await.unwrap().unwrap();
    assert!(!device.is_active());
    let (key, body) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key, "chat.token_invalid");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (body["device_id"].as_str(), body["user_id"].as_str()),
        (Some("pixel"), Some("alice"))
    );
    assert_eq!(h.fcm.sends().len(), 1, "never retried");
    h.stop().await;
}

#[tokio::test]
async fn retries_back_off_then_succeed_and_give_up_after_max_attempts() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "flaky").await;
    h.device("b", "bob", Channel::Fcm, "down").await;
    let retry = || Outcome::Retry {
        after: None,
        reason: "UNAVAILABLE".into(),
    };
    h.fcm.script("flaky", [retry()]);
    h.fcm.script("down", [retry(), retry(), retry(), retry()]);
    h.publish(message("n1", json!({ "devices": ["a", "b"] })))
        .await;
    let ds = h.settled("n1", 2).await;
    let a = ds.iter().find(|d| d.device_id == "a").unwrap();
    let b = ds.iter().find(|d| d.device_id == "b").unwrap();
    assert_eq!((a.state, a.attempts), (DeliveryState::Accepted, 2));
    assert_eq!((b.state, b.attempts), (DeliveryState::Failed, 3));
    assert!(
        b.reason
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{b:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn auth_failure_refreshes_once_then_succeeds() {
    let h = harness().await;
    h.device("a", "alice", Channel::Apns, "tok").await;
    h.apns.script(
        "tok",
        [Outcome::AuthFailed {
            reason: "ExpiredProviderToken".into(),
        }],
    );
    h.publish(message("n1", json!({ "devices": ["a"] }))).await;
    let ds = h.settled("n1", 1).await;
    assert_eq!(ds[0].state, DeliveryState::Accepted);
    assert_eq!(
        h.apns.forgotten().len(),
        1,
        "the auth token was dropped once"
    );
    assert_eq!(h.apns.sends().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn a_credential_refused_twice_keeps_deliveries_waiting_not_dropped() {
    let h = harness().await;
    h.device("a", "alice", Channel::Apns, "tok").await;
    let refused = || Outcome::AuthFailed {
        reason: "InvalidProviderToken".into(),
    };
    // Refused on the first try and on the refresh; then the tenant fixes it.
    h.apns.script("tok", [refused(), refused()]);
    h.publish(message("n1", json!({ "devices": ["a"] }))).await;
    let ds = h.settled("n1", 1).await;
    assert_eq!(
        (ds[0].state, ds[0].attempts),
        (DeliveryState::Accepted, 2),
        "retried later, not failed"
    );
    h.stop().await;
}

#[tokio::test]
async fn rejected_messages_fail_with_the_reason() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok").await;
    h.fcm.script(
        "tok",
        [Outcome::Rejected {
            reason: "payload too large".into(),
        }],
    );
    h.publish(message("n1", json!({ "devices": ["a"] }))).await;
    let ds = h.settled("n1", 1).await;
    assert_eq!(
        (ds[0].state, ds[0].reason.as_deref()),
        (DeliveryState::Failed, Some("payload too large"))
    );
    h.stop().await;
}

#[tokio::test]
async fn expired_deliveries_are_not_sent() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok").await;
    h.fcm.script(
        "tok",
        [Outcome::Retry {
            after: Some(Duration::from_secs(5)),
            reason: "QUOTA_EXCEEDED".into(),
        }],
    );
    let mut m = message("n1", json!({ "devices": ["a"] }));
    m["options"] = json!({ "ttl": 1 });
    h.publish(m).await;
    let ds = h.settled("n1", 1).await;
    assert_eq!(
        ds[0].state,
        DeliveryState::Expired,
        "a retry past the ttl is not scheduled"
    );
    assert_eq!(h.fcm.sends().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn receipts_are_published_per_state() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok").await;
    let mut events = h.queue.subscribe_events("chat.*").await.unwrap();
    h.publish(message("n1", json!({ "devices": ["a"] }))).await;
    h.settled("n1", 1).await;
    let mut keys = Vec::new();
    while let Ok(Some((key, body))) =
        tokio::time::timeout(Duration::from_millis(300), events.next()).await
    {
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["notification_id"], "n1");
        assert_eq!(body["vendor"], "fcm");
        keys.push(key);
    }
    assert_eq!(keys, ["chat.queued", "chat.sending", "chat.accepted"]);
    h.stop().await;
}

#[tokio::test]
async fn messages_to_devices_without_a_credential_wait_and_fail_after_the_attempts() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok").await;
    // A second app with no credentials.
    let tenant = h.store.list_tenants().await.unwrap()[0].id;
    let now = push_core::now();
    h.store
        .create_app(&App {
            id: "bare".into(),
            tenant_id: tenant,
            name: "bare".into(),
            settings: AppSettings::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let reg = DeviceRegistration {
        app_id: "bare".into(),
        device_id: "d".into(),
        user_id: "u".into(),
        channel: Channel::Fcm,
        token: "t".into(),
        apns_environment: None,
    };
    h.store.upsert_device(&reg, now).await.unwrap();
    h.publish(
        json!({ "id": "m", "app": "bare", "to": { "devices": ["d"] }, "data": { "k": "v" } }),
    )
    .await;
    let mut last = Vec::new();
    for _ in 0..300 {
        last = h.store.deliveries_of("bare", "m").await.unwrap();
        if last.first().is_some_and(|d| d.state.is_final()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last[0].state, DeliveryState::Failed, "{last:?}");
    assert!(
        last[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("no active fcm credential"),
        "{last:?}"
    );
    assert!(
        h.fcm.sends().is_empty(),
        "nothing was sent without a credential"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_slow_vendor_does_not_slow_the_others() {
    let h = harness().await;
    h.apns.set_latency(Duration::from_secs(5));
    h.device("iphone", "alice", Channel::Apns, "apns-1").await;
    for i in 0..20 {
        h.device(
            &format!("pixel-{i}"),
            &format!("u{i}"),
            Channel::Fcm,
            &format!("fcm-{i}"),
        )
        .await;
    }
    h.publish(message("slow", json!({ "devices": ["iphone"] })))
        .await;
    // Wait until APNs is busy with it, then time the FCM traffic.
    for _ in 0..200 {
        let slow = h.store.deliveries_of(APP, "slow").await.unwrap();
        if slow
            .first()
            .is_some_and(|d| d.state == DeliveryState::Sending)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    for i in 0..20 {
        h.publish(message(
            &format!("fast-{i}"),
            json!({ "devices": [format!("pixel-{i}")] }),
        ))
        .await;
    }
    for i in 0..20 {
        h.settled(&format!("fast-{i}"), 1).await;
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "FCM waited for APNs: {elapsed:?}"
    );
    let slow = h.store.deliveries_of(APP, "slow").await.unwrap();
    assert_eq!(slow[0].state, DeliveryState::Sending, "APNs is still busy");
    h.shutdown.cancel();
}

#[tokio::test]
async fn one_apps_flood_does_not_starve_another() {
    let mut limits = limits();
    limits.guard.max_in_flight = 2;
    let h = harness_with(limits).await;
    h.add_app("flood").await;
    let now = push_core::now();
    h.fcm.set_app_latency("flood", Duration::from_secs(6));
    for i in 0..40 {
        let reg = DeviceRegistration {
            app_id: "flood".into(),
            device_id: format!("f{i}"),
            user_id: format!("u{i}"),
            channel: Channel::Fcm,
            token: format!("flood-{i}"),
            apns_environment: None,
        };
        h.store.upsert_device(&reg, now).await.unwrap();
        let body = json!({ "id": format!("f{i}"), "app": "flood", "to": { "devices": [format!("f{i}")] }, "data": { "k": "v" } });
        h.queue
            .publish(
                &QueueName::Ingest,
                vec![Envelope::new(serde_json::to_vec(&body).unwrap())],
                None,
            )
            .await
            .unwrap();
    }
    h.device("pixel", "alice", Channel::Fcm, "fcm-1").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    h.publish(message("chat-1", json!({ "devices": ["pixel"] })))
        .await;
    let ds = h.settled("chat-1", 1).await;
    assert_eq!(ds[0].state, DeliveryState::Accepted);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(4),
        "the other app waited behind the flood: {elapsed:?}"
    );
    h.shutdown.cancel();
}

/// A delivery left in `sending` by a crashed worker: a job marked `resume` (a redelivery
/// that was parked, or a retry published just before the crash) sends it again; an ordinary
/// job leaves it alone, since another worker may be sending it right now.
#[tokio::test]
async fn abandoned_sending_deliveries_are_resumed_only_by_resume_jobs() {
    use pushgate::pipeline::job::VendorJob;
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok").await;
    let message: push_core::IngestMessage = serde_json::from_value(json!({
        "id": "n1", "app": APP, "to": { "devices": ["a"] }, "data": { "k": "v" }
    }))
    .unwrap();
    let now = push_core::now();
    h.store.insert_notification(&message, now).await.unwrap();
    let delivery = Delivery::queued(APP, "n1", "a", Channel::Fcm, now);
    h.store
        .insert_deliveries(std::slice::from_ref(&delivery))
        .await
        .unwrap();
    h.store
        .transition_delivery(delivery.id, &push_core::Transition::Sending, now)
        .await
        .unwrap();
    let vendor = QueueName::Vendor("fcm".into());

    let plain = VendorJob::new(APP, vec![delivery.id]);
    h.queue
        .publish(&vendor, vec![plain.to_envelope()], None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = h.store.get_delivery(delivery.id).await.unwrap().unwrap();
    assert_eq!(
        d.state,
        DeliveryState::Sending,
        "an ordinary job must not touch it"
    );
    assert!(h.fcm.sends().is_empty());

    let resume = VendorJob {
        resume: true,
        ..VendorJob::new(APP, vec![delivery.id])
    };
    h.queue
        .publish(&vendor, vec![resume.to_envelope()], None)
        .await
        .unwrap();
    let ds = h.settled("n1", 1).await;
    assert_eq!((ds[0].state, ds[0].attempts), (DeliveryState::Accepted, 2));
    assert_eq!(h.fcm.sends().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_used_up_quota_parks_the_app_until_the_reset_without_spending_attempts() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok-a").await;
    h.device("b", "bob", Channel::Fcm, "tok-b").await;
    let quota = |ms: u64| Outcome::QuotaExhausted {
        reason: "10070: daily quota used up".into(),
        resets_at: time::OffsetDateTime::now_utc() + Duration::from_millis(ms),
    };
    // More quota answers than the retry policy's 3 attempts: quota waits are not attempts.
    h.fcm
        .script("tok-a", [quota(600), quota(100), quota(100), quota(100)]);
    h.publish(message("n1", json!({ "devices": ["a"] }))).await;
    for _ in 0..100 {
        if !h.fcm.sends().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While the app is parked, another of its deliveries waits too.
    h.publish(message("n2", json!({ "devices": ["b"] }))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = h.fcm.sends();
    assert!(
        during.iter().all(|s| s.notification_id == "n1"),
        "nothing else of the app is sent while its quota is used up: {during:?}"
    );
    let waiting = h.store.deliveries_of(APP, "n1").await.unwrap();
    assert_eq!(waiting[0].state, DeliveryState::Queued);
    assert!(
        waiting[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("daily quota used up: 10070"),
        "{waiting:?}"
    );
    let a = h.settled("n1", 1).await;
    assert_eq!((a[0].state, a[0].attempts), (DeliveryState::Accepted, 5));
    let b = h.settled("n2", 1).await;
    assert_eq!(b[0].state, DeliveryState::Accepted);
    h.stop().await;
}

#[tokio::test]
async fn a_quota_reset_after_the_ttl_expires_the_delivery() {
    let h = harness().await;
    h.device("a", "alice", Channel::Fcm, "tok-a").await;
    h.fcm.script(
        "tok-a",
        [Outcome::QuotaExhausted {
            reason: "33: daily quota used up".into(),
            resets_at: time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
        }],
    );
    let mut msg = message("n1", json!({ "devices": ["a"] }));
    msg["options"] = json!({ "ttl": 60 });
    h.publish(msg).await;
    for _ in 0..300 {
        let ds = h.store.deliveries_of(APP, "n1").await.unwrap();
        if ds.first().is_some_and(|d| d.state.is_final()) {
            assert_eq!(ds[0].state, DeliveryState::Expired, "{ds:?}");
            h.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the delivery neither expired nor was sent");
}

#[tokio::test]
async fn an_apps_rate_limit_for_a_vendor_paces_its_sends() {
    let h = harness().await;
    let mut app = h.store.get_app(APP).await.unwrap().unwrap();
    app.settings.rate_limits.insert(
        "fcm".into(),
        push_core::RateLimit {
            per_second: 10,
            burst: 1,
        },
    );
    h.store.update_app(&app).await.unwrap();
    for i in 0..6 {
        h.device(
            &format!("d{i}"),
            &format!("u{i}"),
            Channel::Fcm,
            &format!("t{i}"),
        )
        .await;
    }
    let started = std::time::Instant::now();
    for i in 0..6 {
        h.publish(message(
            &format!("n{i}"),
            json!({ "devices": [format!("d{i}")] }),
        ))
        .await;
    }
    for i in 0..6 {
        h.settled(&format!("n{i}"), 1).await;
    }
    // Six sends at 10 per second with a burst of 1 cannot take less than five intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    h.stop().await;
}
