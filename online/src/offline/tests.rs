#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hand-off against an in-memory queue that outlives the online core's instances (a
//! stand-in broker) and a device directory that can be made to fail: durability across a
//! restart, retries after store and queue failures, and idempotence.

use super::*;
use crate::config::OnlineConfig;
use crate::hub::Hub;
use crate::keys::ClientKeys;
use crate::rest::access::TenantAccess;
use crate::rest::error::RestError;
use crate::seal::{SealError, SecretSealer};
use crate::store::OnlineStore;
use crate::store::messages::Outgoing;
use crate::store::testing;
use async_trait::async_trait;
use push_core::queue::{AckTag, Acker, EventStream, Subscription};
use push_core::{Channel, DeviceStatus, SealedCredential, Secret};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How long a test waits for something that should happen at once (never a measurement).
const PATIENCE: Duration = Duration::from_secs(20);

// ---- a stand-in broker ------------------------------------------------------------------

struct Message {
    id: u64,
    envelope: Envelope,
    not_before: Instant,
}

#[derive(Default)]
struct Broker {
    ready: HashMap<QueueName, Vec<Message>>,
    held: HashMap<u64, (QueueName, Message)>,
    dead: Vec<(Envelope, String)>,
    /// Every accepted publish: queue, body, delay.
    published: Vec<(QueueName, Envelope, Option<Duration>)>,
    /// Publishes still to refuse, per queue (`usize::MAX`: all).
    refuse: HashMap<QueueName, usize>,
    next_id: u64,
}

/// A durable queue in memory: it keeps its messages while online cores come and go.
#[derive(Default)]
struct MemoryQueue {
    broker: Mutex<Broker>,
}

impl MemoryQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Broker> {
        self.broker.lock().unwrap()
    }

    /// Refuses the next `n` publishes to `queue`.
    fn refuse(&self, queue: QueueName, n: usize) {
        self.lock().refuse.insert(queue, n);
    }

    /// Bodies of the accepted publishes to `queue`, with their delay.
    fn published(&self, queue: &QueueName) -> Vec<(Vec<u8>, Option<Duration>)> {
        self.lock()
            .published
            .iter()
            .filter(|(q, _, _)| q == queue)
            .map(|(_, e, d)| (e.body.clone(), *d))
            .collect()
    }

    /// Ids of the ingest messages published.
    fn ingest_ids(&self) -> Vec<String> {
        self.published(&QueueName::Ingest)
            .iter()
            .map(|(body, _)| serde_json::from_slice::<IngestMessage>(body).unwrap().id)
            .collect()
    }

    /// Messages of `queue` not acked yet (ready, delayed or held by a consumer).
    fn pending(&self, queue: &QueueName) -> usize {
        let broker = self.lock();
        broker.ready.get(queue).map_or(0, Vec::len)
            + broker.held.values().filter(|(q, _)| q == queue).count()
    }

    /// Waits until `done` holds, at most [`PATIENCE`].
    async fn until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "gave up waiting: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The [`Queue`] handed to online cores: a handle on the shared broker.
#[derive(Clone)]
struct Handle(Arc<MemoryQueue>);

#[async_trait]
impl Queue for Handle {
    async fn prepare(&self, _vendors: &[String]) -> Result<(), QueueError> {
        Ok(())
    }

    async fn publish(
        &self,
        queue: &QueueName,
        messages: Vec<Envelope>,
        delay: Option<Duration>,
    ) -> Result<(), QueueError> {
        let mut broker = self.0.lock();
        if let Some(left) = broker.refuse.get_mut(queue)
            && *left > 0
        {
            *left -= 1;
            return Err(QueueError::Unavailable("refused by the test".into()));
        }
        let not_before = Instant::now() + delay.unwrap_or_default();
        for envelope in messages {
            broker.next_id += 1;
            let id = broker.next_id;
            broker
                .published
                .push((queue.clone(), envelope.clone(), delay));
            broker
                .ready
                .entry(queue.clone())
                .or_default()
                .push(Message {
                    id,
                    envelope,
                    not_before,
                });
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        queue: &QueueName,
        _prefetch: u16,
    ) -> Result<(Box<dyn Subscription>, Arc<dyn Acker>), QueueError> {
        let subscription = MemorySubscription {
            broker: Arc::clone(&self.0),
            queue: queue.clone(),
        };
        Ok((Box::new(subscription), Arc::new(self.clone())))
    }

    async fn publish_event(&self, _routing_key: &str, _body: Vec<u8>) -> Result<(), QueueError> {
        Ok(())
    }

    async fn subscribe_events(&self, _pattern: &str) -> Result<Box<dyn EventStream>, QueueError> {
        Err(QueueError::Unavailable("no events in these tests".into()))
    }

    async fn depth(&self, queue: &QueueName) -> Result<u64, QueueError> {
        Ok(self.0.pending(queue) as u64)
    }
}

struct MemorySubscription {
    broker: Arc<MemoryQueue>,
    queue: QueueName,
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next(&mut self) -> Option<Received> {
        loop {
            {
                let mut broker = self.broker.lock();
                let now = Instant::now();
                let ready = broker.ready.entry(self.queue.clone()).or_default();
                if let Some(i) = ready.iter().position(|m| m.not_before <= now) {
                    let message = ready.remove(i);
                    let received = Received {
                        envelope: message.envelope.clone(),
                        redelivered: false,
                        tag: AckTag {
                            generation: 0,
                            id: message.id,
                        },
                    };
                    broker
                        .held
                        .insert(message.id, (self.queue.clone(), message));
                    return Some(received);
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[async_trait]
impl Acker for Handle {
    async fn ack(&self, tags: &[AckTag]) -> Result<(), QueueError> {
        let mut broker = self.0.lock();
        for tag in tags {
            broker.held.remove(&tag.id).ok_or(QueueError::StaleTag)?;
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        tag: AckTag,
        envelope: &Envelope,
        reason: &str,
    ) -> Result<(), QueueError> {
        let mut broker = self.0.lock();
        broker.held.remove(&tag.id).ok_or(QueueError::StaleTag)?;
        broker.dead.push((envelope.clone(), reason.to_string()));
        Ok(())
    }

    async fn release(&self, tag: AckTag) -> Result<(), QueueError> {
        let mut broker = self.0.lock();
        let (queue, mut message) = broker.held.remove(&tag.id).ok_or(QueueError::StaleTag)?;
        message.not_before = Instant::now();
        broker.ready.entry(queue).or_default().push(message);
        Ok(())
    }
}

// ---- a device registry that can fail ------------------------------------------------------

/// Users u1 and u2 with one FCM device each (`<user>-phone`); the first `failures` lookups
/// fail as an unreachable database would.
#[derive(Default)]
struct FlakyDirectory {
    failures: AtomicUsize,
    lookups: AtomicUsize,
}

impl FlakyDirectory {
    fn failing(times: usize) -> Self {
        Self {
            failures: AtomicUsize::new(times),
            lookups: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl DeviceDirectory for FlakyDirectory {
    async fn user_devices(&self, app: &str, user: &str) -> Result<Vec<Device>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Unavailable("database is down (test)".into()));
        }
        if !matches!(user, "u1" | "u2") {
            return Ok(Vec::new());
        }
        let now = push_core::now();
        Ok(vec![Device {
            app_id: app.into(),
            device_id: format!("{user}-phone"),
            user_id: user.into(),
            channel: Channel::Fcm,
            token: Some(format!("tok-{user}")),
            apns_environment: None,
            status: DeviceStatus::Active,
            last_seen_at: now,
            created_at: now,
        }])
    }
}

// ---- an online core's shared state, without HTTP ------------------------------------------

struct NoSealer;

impl SecretSealer for NoSealer {
    fn seal(&self, _: uuid::Uuid, _: &str, _: &Secret) -> Result<SealedCredential, SealError> {
        Err(SealError("not in these tests".into()))
    }
    fn open(&self, _: uuid::Uuid, _: &str, _: &SealedCredential) -> Result<Secret, SealError> {
        Err(SealError("not in these tests".into()))
    }
}

struct NoAccess;

#[async_trait]
impl TenantAccess for NoAccess {
    async fn authorize(
        &self,
        _headers: &axum::http::HeaderMap,
        _app: &str,
    ) -> Result<(), RestError> {
        Err(RestError::unauthorized("not in these tests"))
    }
}

/// One online core instance (its shared state) over `store`, `broker` and `devices`.
fn instance(
    store: &OnlineStore,
    broker: &Arc<MemoryQueue>,
    devices: Arc<dyn DeviceDirectory>,
) -> Arc<Shared> {
    let queue: Arc<dyn Queue> = Arc::new(Handle(Arc::clone(broker)));
    Arc::new(Shared {
        config: OnlineConfig::default(),
        store: store.clone(),
        keys: Arc::new(ClientKeys::new(store.clone(), Arc::new(NoSealer))),
        hub: Arc::new(Hub::new(16)),
        cluster: None,
        offline: Offline::with_directory(devices, Arc::clone(&queue)),
        queue,
        access: Arc::new(NoAccess),
        closing: CancellationToken::new(),
        unreleased: std::sync::Mutex::new(Vec::new()),
    })
}

/// Runs the instance's hand-off workers until the returned token is cancelled.
fn start(shared: &Arc<Shared>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(Arc::clone(shared), stop.clone()));
    (stop, task)
}

async fn stop(running: (CancellationToken, tokio::task::JoinHandle<()>)) {
    running.0.cancel();
    running.1.await.unwrap();
}

/// Waits until a push is on the ingest queue and no hand-off is left unacked.
async fn handed_off(broker: &MemoryQueue) {
    broker
        .until("the push is on the ingest queue", |b| {
            !b.ingest_ids().is_empty()
        })
        .await;
    broker
        .until("every hand-off is acked", |b| {
            b.pending(&QueueName::Handoff) == 0
        })
        .await;
}

fn content(text: &str) -> Content {
    Content {
        text: text.into(),
        title: None,
        data: None,
    }
}

/// A job of message `msg_id` from u0 to `users`, each at sequence 1.
fn job(msg_id: &str, users: &[&str], grace: Duration) -> OfflineJob {
    OfflineJob::new(
        "chat",
        msg_id,
        "u0",
        &Recipient::User(users[0].into()),
        &content("are you coming?"),
        users.iter().map(|u| (u.to_string(), 1)).collect(),
        grace,
    )
}

/// The ingest id of message `msg_id`'s push to `device`.
fn push_id(msg_id: &str, device: &str) -> String {
    format!("online:{msg_id}:{}", short_hash(device))
}

// ---- the tests ----------------------------------------------------------------------------

#[test]
fn the_ingest_message_carries_title_body_and_badge() {
    let content = Content {
        text: "x".repeat(500),
        title: None,
        data: None,
    };
    let job = OfflineJob::new(
        "chat",
        "m1",
        "alice",
        &Recipient::User("bob".into()),
        &content,
        vec![("bob".into(), 3)],
        Duration::ZERO,
    );
    let m = ingest_message(&job, "bob", 3, "bob-phone", 2);
    let n = m.notification.as_ref().unwrap();
    assert_eq!(n.title.as_deref(), Some("alice"));
    assert_eq!(n.body.as_ref().unwrap().chars().count(), MAX_BODY_CHARS);
    assert_eq!(n.badge, Some(2));
    assert_eq!(m.to, Target::Devices(vec!["bob-phone".into()]));
    assert!(m.id.len() <= 128);
    let raw = serde_json::to_vec(&m).unwrap();
    let checked = push_core::validate_ingest(&raw, push_core::AppSource::Body, 64 * 1024);
    assert!(checked.is_ok(), "{checked:?}");
}

#[test]
fn retry_pauses_double_up_to_a_ceiling() {
    assert_eq!(retry_pause(1), RETRY_PAUSE);
    assert_eq!(retry_pause(2), RETRY_PAUSE * 2);
    assert_eq!(retry_pause(3), RETRY_PAUSE * 4);
    assert_eq!(retry_pause(40), MAX_RETRY_PAUSE);
    assert_eq!(retry_pause(u32::MAX), MAX_RETRY_PAUSE);
}

#[test]
fn a_job_from_an_older_version_without_attempts_still_reads() {
    let old = r#"{"app":"chat","msg_id":"m1","from":"u0","to":{"user":"u1"},"title":"u0","body":"hi","recipients":[["u1",1]]}"#;
    let job: OfflineJob = serde_json::from_str(old).unwrap();
    assert_eq!(job.attempts, 0);
    assert_eq!(job.recipients, vec![("u1".to_string(), 1)]);
}

#[tokio::test]
async fn a_zero_grace_hand_off_queued_before_a_stop_is_handed_off_by_the_next_instance() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let devices: Arc<dyn DeviceDirectory> = Arc::new(FlakyDirectory::default());

    // The first instance stops; a send still in flight then queues its hand-off (without
    // a worker left to take it, as after a crash right after the queueing).
    let first = instance(&store, &broker, Arc::clone(&devices));
    stop(start(&first)).await;
    first
        .offline
        .enqueue(job("m1", &["u1"], Duration::ZERO))
        .await;
    let queued = broker.published(&QueueName::Handoff);
    assert_eq!(queued.len(), 1, "the job is on the durable queue");
    assert_eq!(queued[0].1, None, "no grace window: no delay");
    drop(first);
    assert!(broker.ingest_ids().is_empty());

    // The next instance on the same queue and store hands it off.
    let second = instance(&store, &broker, devices);
    let running = start(&second);
    handed_off(&broker).await;
    stop(running).await;
    assert_eq!(broker.ingest_ids(), vec![push_id("m1", "u1-phone")]);
}

#[tokio::test]
async fn a_store_error_while_listing_devices_is_retried_until_the_push_is_queued() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let directory = Arc::new(FlakyDirectory::failing(2));
    let core = instance(
        &store,
        &broker,
        Arc::clone(&directory) as Arc<dyn DeviceDirectory>,
    );
    let running = start(&core);
    core.offline
        .enqueue(job("m1", &["u1"], Duration::ZERO))
        .await;
    handed_off(&broker).await;
    stop(running).await;

    assert_eq!(broker.ingest_ids(), vec![push_id("m1", "u1-phone")]);
    assert_eq!(
        directory.lookups.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    // Each failed attempt went back to the durable queue, delayed, before being acked.
    let attempts: Vec<(u32, Option<Duration>)> = broker
        .published(&QueueName::Handoff)
        .iter()
        .map(|(body, delay)| {
            let job: OfflineJob = serde_json::from_slice(body).unwrap();
            (job.attempts, *delay)
        })
        .collect();
    assert_eq!(
        attempts,
        vec![
            (0, None),
            (1, Some(retry_pause(1))),
            (2, Some(retry_pause(2)))
        ]
    );
    assert!(broker.lock().dead.is_empty());
}

#[tokio::test]
async fn only_the_recipients_left_unfinished_are_retried() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    // u1's lookup works, u2's (the second) fails once.
    let directory = Arc::new(FlakyDirectory::default());
    let core = instance(
        &store,
        &broker,
        Arc::clone(&directory) as Arc<dyn DeviceDirectory>,
    );
    let job = job("g1", &["u1", "u2"], Duration::ZERO);
    let pushes = pushes_for(&core, &job, "u1", 1).await.unwrap();
    assert_eq!(pushes.len(), 1);
    directory.failures.store(1, Ordering::SeqCst);
    // u1's devices are cached now; u2's lookup fails.
    let unfinished = hand_off(&core, &job).await.unwrap_err();
    assert_eq!(unfinished.recipients, vec![("u2".to_string(), 1)]);
    assert!(matches!(unfinished.error, HandOffError::Store(_)));
    assert_eq!(broker.ingest_ids(), vec![push_id("g1", "u1-phone")]);
    let retry = job.retry_for(unfinished.recipients);
    hand_off(&core, &retry).await.unwrap();
    assert_eq!(
        broker.ingest_ids(),
        vec![push_id("g1", "u1-phone"), push_id("g1", "u2-phone")]
    );
}

#[tokio::test]
async fn a_job_the_queue_refused_is_kept_in_memory_and_retried_when_ingest_fails() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    let running = start(&core);
    // The handoff queue is down for good; ingest refuses the first two publishes.
    broker.refuse(QueueName::Handoff, usize::MAX);
    broker.refuse(QueueName::Ingest, 2);
    core.offline
        .enqueue(job("m1", &["u1"], Duration::ZERO))
        .await;
    broker
        .until("the push is on the ingest queue", |b| {
            !b.ingest_ids().is_empty()
        })
        .await;
    stop(running).await;
    assert_eq!(broker.ingest_ids(), vec![push_id("m1", "u1-phone")]);
    assert!(broker.published(&QueueName::Handoff).is_empty());
}

#[tokio::test]
async fn an_in_memory_job_goes_back_to_the_durable_queue_once_it_takes_jobs_again() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    let running = start(&core);
    // Refused once (kept in memory), then ingest fails once: the retry goes to the queue.
    broker.refuse(QueueName::Handoff, 1);
    broker.refuse(QueueName::Ingest, 1);
    core.offline
        .enqueue(job("m1", &["u1"], Duration::ZERO))
        .await;
    handed_off(&broker).await;
    stop(running).await;
    let retried: Vec<OfflineJob> = broker
        .published(&QueueName::Handoff)
        .iter()
        .map(|(body, _)| serde_json::from_slice(body).unwrap())
        .collect();
    assert_eq!(retried.len(), 1, "the retry went to the durable queue");
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(broker.ingest_ids(), vec![push_id("m1", "u1-phone")]);
}

#[tokio::test]
async fn in_memory_jobs_still_waiting_are_offered_to_the_queue_at_shutdown() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    let running = start(&core);
    broker.refuse(QueueName::Handoff, 1);
    // A group grace window keeps it waiting in memory until the shutdown.
    core.offline
        .enqueue(job("g1", &["u1"], Duration::from_secs(600)))
        .await;
    assert!(broker.published(&QueueName::Handoff).is_empty());
    stop(running).await;
    let parked = broker.published(&QueueName::Handoff);
    assert_eq!(parked.len(), 1, "parked on the durable queue");
    let delay = parked[0]
        .1
        .expect("still delayed by the rest of its window");
    assert!(delay > Duration::from_secs(500), "{delay:?}");
    assert!(broker.ingest_ids().is_empty());
}

#[tokio::test]
async fn a_job_that_never_finishes_is_dead_lettered_after_its_attempts() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::failing(1)));
    let running = start(&core);
    let mut last = job("m1", &["u1"], Duration::ZERO);
    last.attempts = MAX_ATTEMPTS - 1;
    core.offline.enqueue(last).await;
    broker
        .until("the job is dead-lettered", |b| !b.lock().dead.is_empty())
        .await;
    stop(running).await;
    let dead = broker.lock().dead.pop().unwrap();
    assert!(dead.1.contains("unfinished after"), "{}", dead.1);
    assert_eq!(broker.pending(&QueueName::Handoff), 0);
    assert!(broker.ingest_ids().is_empty());
}

#[tokio::test]
async fn handing_off_again_pushes_the_same_ids_and_skips_acked_and_online_devices() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    let job = job("g1", &["u1", "u2"], Duration::ZERO);
    hand_off(&core, &job).await.unwrap();
    hand_off(&core, &job).await.unwrap();
    let first = vec![push_id("g1", "u1-phone"), push_id("g1", "u2-phone")];
    let twice: Vec<String> = first.iter().chain(&first).cloned().collect();
    assert_eq!(
        broker.ingest_ids(),
        twice,
        "the same push ids: ingest takes each once"
    );

    // u1's phone acks the message; u2's phone comes online.
    store
        .send(&Outgoing {
            app: "chat",
            sender: "u0",
            client_msg_id: "c1",
            to: &Recipient::User("u1".into()),
            content: &content("x"),
        })
        .await
        .unwrap();
    store.ack("chat", "u1", "u1-phone", 1).await.unwrap();
    let _online = core.hub.register("chat", "u2", "u2-phone");
    hand_off(&core, &job).await.unwrap();
    assert_eq!(broker.ingest_ids(), twice, "nothing more to push");
}

#[tokio::test]
async fn a_repeated_send_queues_the_hand_off_again() {
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let core = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    // Stored, then the process died before queueing the hand-off.
    let stored = store
        .send(&Outgoing {
            app: "chat",
            sender: "u0",
            client_msg_id: "c1",
            to: &Recipient::User("u1".into()),
            content: &content("are you there?"),
        })
        .await
        .unwrap();
    assert!(broker.published(&QueueName::Handoff).is_empty());
    crate::dispatch::hand_off_again(&core, "chat", "u0", &stored.msg_id)
        .await
        .unwrap();
    let queued = broker.published(&QueueName::Handoff);
    assert_eq!(queued.len(), 1);
    let job: OfflineJob = serde_json::from_slice(&queued[0].0).unwrap();
    assert_eq!(job.recipients, vec![("u1".to_string(), 1)]);
    assert_eq!(job.body, "are you there?");
    let running = start(&core);
    broker
        .until("the push is on the ingest queue", |b| {
            !b.ingest_ids().is_empty()
        })
        .await;
    stop(running).await;
    assert_eq!(
        broker.ingest_ids(),
        vec![push_id(&stored.msg_id, "u1-phone")]
    );
    // An unknown message id queues nothing.
    crate::dispatch::hand_off_again(&core, "chat", "u0", "no-such-message")
        .await
        .unwrap();
    assert_eq!(broker.published(&QueueName::Handoff).len(), 1);
}

#[tokio::test]
async fn a_presence_row_left_by_a_failed_removal_is_removed_at_the_next_heartbeat() {
    // Else the heartbeat's refresh would keep it fresh, and its device would count as online
    // — never pushed offline — for as long as this instance lives.
    let store = testing::sqlite().await;
    let broker = Arc::new(MemoryQueue::default());
    let shared = instance(&store, &broker, Arc::new(FlakyDirectory::default()));
    let conn = crate::store::presence::Connection {
        app: "chat",
        user: "u1",
        device: "d1",
        instance: "i1",
        conn_id: 7,
    };
    store
        .claim_presence(conn, crate::store::now_ms(), 0)
        .await
        .unwrap();
    shared
        .unreleased
        .lock()
        .unwrap()
        .push(crate::core::Unreleased {
            app: "chat".into(),
            user: "u1".into(),
            device: "d1".into(),
            conn_id: 7,
        });
    assert_eq!(store.locate("chat", &["u1"], 0).await.unwrap().len(), 1);
    crate::core::release_left_overs(&shared, "i1").await;
    assert!(store.locate("chat", &["u1"], 0).await.unwrap().is_empty());
    assert!(shared.unreleased.lock().unwrap().is_empty());
}
