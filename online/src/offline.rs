//! The offline hand-off: a recipient device with no live connection (on any instance) and a
//! registered push token gets an ingest message (contract 1) through the ingest queue, with
//! the message as title/body and its unread count as badge.
//!
//! A job waits out the grace window of its kind first (default: none for one-to-one, a few
//! seconds for groups); a device whose ack reached the message by then is not pushed.
//!
//! Every job goes to the durable `handoff` queue before the sender gets its `sent` frame: at
//! once when there is no grace window, else as a delayed message (on RabbitMQ the delay is
//! rounded up to a delay bucket). Any instance takes it when it is due, checks acks and
//! presence then, and acks it only once the pushes are on the ingest queue, so neither a
//! restart nor a crash loses the push. A job that cannot be finished (the device registry,
//! the ack positions or the ingest queue failed) goes back to the `handoff` queue, delayed
//! by a growing pause, for whichever instance is up then; only its unfinished recipients
//! do, and after 64 attempts (about an hour) it is dead-lettered with its reason. A sender
//! whose `send` was stored but never answered (a crash in between) repeats it, and the
//! repeat queues the job again (`dispatch::hand_off_again`); handing off twice is harmless,
//! as ingest accepts each push id once and acked or online devices are skipped.
//!
//! Only a job the `handoff` queue refuses (the broker is down) is kept in memory, worked
//! off by this instance and offered to the queue again after every failed attempt; on
//! shutdown what is still in memory is offered once more, and only what the queue refuses
//! then is lost (and logged).

use crate::core::Shared;
use crate::protocol::{Content, Recipient};
use push_core::queue::{Envelope, Queue, QueueError, QueueName, Received};
use push_core::{Device, IngestMessage, NotificationContent, Options, StoreError, Target};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Jobs the `handoff` queue refused, kept in memory before senders wait.
const QUEUE_CAPACITY: usize = 10_000;
/// Jobs worked on at once (per source: the `handoff` queue, memory).
const CONCURRENCY: usize = 16;
/// How long a user's device list is reused.
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(10);
/// Users in the device cache before it is emptied.
const DEVICE_CACHE_MAX: usize = 100_000;
/// Longest push body, in characters (vendors cap payloads at a few KiB).
const MAX_BODY_CHARS: usize = 200;
/// Seconds an offline push stays worth delivering.
pub const PUSH_TTL_SECONDS: u64 = 86_400;

/// Pause before the first retry of an unfinished hand-off, and before a failed consumer
/// start or settle is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Longest pause between retries of an unfinished hand-off (the pause doubles per attempt).
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(60);
/// Attempts after which a job that still cannot be finished is dead-lettered with its
/// reason instead of retried (about an hour of retries): something is permanently wrong,
/// and an operator sees it in the dead queue.
const MAX_ATTEMPTS: u32 = 64;
/// Longest time shutdown spends offering in-memory jobs to the `handoff` queue.
const PARK_TIMEOUT: Duration = Duration::from_secs(5);

/// One stored message whose recipients may need a push. Serialised as the body of a
/// `handoff` message; its timing is the message's delay then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfflineJob {
    app: String,
    msg_id: String,
    from: String,
    to: Recipient,
    title: String,
    body: String,
    recipients: Vec<(String, i64)>,
    /// Failed attempts so far (absent in jobs of older versions: none).
    #[serde(default)]
    attempts: u32,
    #[serde(skip)]
    grace: Duration,
    #[serde(skip, default = "Instant::now")]
    due: Instant,
}

impl OfflineJob {
    /// A job for `recipients` (user, sequence), due after `grace`.
    pub fn new(
        app: &str,
        msg_id: &str,
        from: &str,
        to: &Recipient,
        content: &Content,
        recipients: Vec<(String, i64)>,
        grace: Duration,
    ) -> Self {
        Self {
            app: app.into(),
            msg_id: msg_id.into(),
            from: from.into(),
            to: to.clone(),
            title: content.title.clone().unwrap_or_else(|| from.to_string()),
            body: content.text.chars().take(MAX_BODY_CHARS).collect(),
            recipients,
            attempts: 0,
            grace,
            due: Instant::now() + grace,
        }
    }

    /// Time left until the job is due.
    fn delay_left(&self) -> Duration {
        self.due.saturating_duration_since(Instant::now())
    }

    /// The next attempt of this job, for `recipients` only (those left unfinished), due
    /// after the pause of its attempt.
    fn retry_for(&self, recipients: Vec<(String, i64)>) -> Self {
        let attempts = self.attempts.saturating_add(1);
        let grace = retry_pause(attempts);
        Self {
            recipients,
            attempts,
            grace,
            due: Instant::now() + grace,
            ..self.clone()
        }
    }
}

/// The pause before attempt `attempts + 1`: [`RETRY_PAUSE`] doubled per failed attempt,
/// at most [`MAX_RETRY_PAUSE`].
fn retry_pause(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    RETRY_PAUSE
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_PAUSE)
}

/// Where the hand-off finds a user's devices: pushgate's device registry (a seam, so tests
/// can make it fail).
#[async_trait::async_trait]
pub(crate) trait DeviceDirectory: Send + Sync {
    /// The user's active devices.
    async fn user_devices(&self, app: &str, user: &str) -> Result<Vec<Device>, StoreError>;
}

/// [`DeviceDirectory`] over pushgate's store.
struct Registry(Arc<dyn push_core::Store>);

#[async_trait::async_trait]
impl DeviceDirectory for Registry {
    async fn user_devices(&self, app: &str, user: &str) -> Result<Vec<Device>, StoreError> {
        let list = self.0.list_user_devices(app, user, false).await?;
        Ok(list.into_iter().filter(Device::is_active).collect())
    }
}

type DeviceCache = HashMap<(String, String), (Instant, Arc<Vec<Device>>)>;

/// The hand-off queues and the device cache.
pub struct Offline {
    tx: mpsc::Sender<OfflineJob>,
    rx: Mutex<Option<mpsc::Receiver<OfflineJob>>>,
    devices: Arc<dyn DeviceDirectory>,
    queue: Arc<dyn Queue>,
    cache: Mutex<DeviceCache>,
}

impl Offline {
    /// Hand-offs that find devices through `devices` (pushgate's device registry) and wait
    /// in the durable `handoff` queue of `queue`.
    pub fn new(devices: Arc<dyn push_core::Store>, queue: Arc<dyn Queue>) -> Self {
        Self::with_directory(Arc::new(Registry(devices)), queue)
    }

    /// As [`Offline::new`], with devices from any directory.
    pub(crate) fn with_directory(devices: Arc<dyn DeviceDirectory>, queue: Arc<dyn Queue>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            devices,
            queue,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Queues a job durably on the `handoff` queue (delayed by its grace window); when the
    /// queue refuses it, in memory, waiting when that is full.
    pub async fn enqueue(&self, job: OfflineJob) {
        match self.publish(&job, job.delay_left()).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, app = %job.app, msg_id = %job.msg_id, "cannot queue an offline hand-off durably; keeping it in memory");
                if self.tx.send(job).await.is_err() {
                    tracing::error!("offline hand-off stopped; a push was not queued");
                }
            }
        }
    }

    /// Publishes `job` on the `handoff` queue, delivered after `delay`.
    async fn publish(&self, job: &OfflineJob, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_vec(job)
            .map_err(|e| QueueError::Refused(format!("unserialisable hand-off: {e}")))?;
        let envelope = Envelope::new(body).with_header("content-type", "application/json");
        let delay = (!delay.is_zero()).then_some(delay);
        self.queue
            .publish(&QueueName::Handoff, vec![envelope], delay)
            .await
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, DeviceCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user's active devices, from the cache while fresh. A failed lookup is an error,
    /// not an empty list: the job must be retried, not counted as done.
    async fn devices_of(&self, app: &str, user: &str) -> Result<Arc<Vec<Device>>, StoreError> {
        let key = (app.to_string(), user.to_string());
        if let Some((at, list)) = self.lock_cache().get(&key)
            && at.elapsed() < DEVICE_CACHE_TTL
        {
            return Ok(Arc::clone(list));
        }
        let list = Arc::new(self.devices.user_devices(app, user).await?);
        let mut cache = self.lock_cache();
        if cache.len() >= DEVICE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), Arc::clone(&list)));
        Ok(list)
    }
}

/// Works off jobs from the `handoff` queue and from memory until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    tokio::join!(
        run_in_memory(Arc::clone(&shared), stop.clone()),
        run_queued(shared, stop)
    );
}

/// Why a hand-off attempt did not finish.
#[derive(Debug, thiserror::Error)]
enum HandOffError {
    /// The device registry or the online store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ingest queue refused the pushes.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What a hand-off attempt left to do: the recipients to try again, and why.
#[derive(Debug)]
struct Unfinished {
    recipients: Vec<(String, i64)>,
    error: HandOffError,
}

/// Takes jobs off the `handoff` queue as they fall due. A finished job is acked; an
/// unfinished one is published again (its unfinished recipients, after a growing pause)
/// and then acked, or released when even that fails; an unreadable or exhausted one is
/// dead-lettered.
async fn run_queued(shared: Arc<Shared>, stop: CancellationToken) {
    let queue = Arc::clone(&shared.offline.queue);
    let (mut jobs, acker) = loop {
        match queue
            .subscribe(&QueueName::Handoff, CONCURRENCY as u16)
            .await
        {
            Ok(subscribed) => break subscribed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot consume offline hand-offs yet; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
        }
    };
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_work = JoinSet::new();
    loop {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let received: Received = tokio::select! {
            () = stop.cancelled() => break,
            next = jobs.next() => match next { Some(r) => r, None => break },
        };
        let (shared, acker) = (Arc::clone(&shared), Arc::clone(&acker));
        in_work.spawn(async move {
            let settled = match serde_json::from_slice::<OfflineJob>(&received.envelope.body) {
                Err(e) => {
                    let reason = format!("not an offline hand-off: {e}");
                    acker.dead_letter(received.tag, &received.envelope, &reason).await
                }
                Ok(job) => match hand_off(&shared, &job).await {
                    Ok(()) => acker.ack(&[received.tag]).await,
                    Err(unfinished) if job.attempts + 1 >= MAX_ATTEMPTS => {
                        let reason = format!(
                            "offline hand-off unfinished after {} attempts: {}",
                            job.attempts + 1,
                            unfinished.error
                        );
                        tracing::error!(app = %job.app, msg_id = %job.msg_id, "{reason}; dead-lettered");
                        acker.dead_letter(received.tag, &received.envelope, &reason).await
                    }
                    Err(unfinished) => {
                        let next = job.retry_for(unfinished.recipients);
                        tracing::warn!(error = %unfinished.error, app = %job.app, msg_id = %job.msg_id, attempt = next.attempts, retry_in = ?next.grace, "cannot finish an offline hand-off; will retry");
                        // The retry is durable before this delivery is acked.
                        match shared.offline.publish(&next, next.grace).await {
                            Ok(()) => acker.ack(&[received.tag]).await,
                            Err(e) => {
                                tracing::warn!(error = %e, msg_id = %job.msg_id, "cannot queue the retry; giving the hand-off back");
                                tokio::time::sleep(RETRY_PAUSE).await;
                                acker.release(received.tag).await
                            }
                        }
                    }
                },
            };
            if let Err(e) = settled {
                tracing::warn!(error = %e, "cannot settle an offline hand-off; it will come again");
            }
            drop(permit);
        });
        while in_work.try_join_next().is_some() {}
    }
    while in_work.join_next().await.is_some() {}
    drop(jobs);
}

/// Works off the jobs the `handoff` queue refused, each when due. On `stop`, what has not
/// been started is offered to the queue once more.
async fn run_in_memory(shared: Arc<Shared>, stop: CancellationToken) {
    let Some(mut rx) = shared
        .offline
        .rx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    else {
        return;
    };
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_work = JoinSet::new();
    let mut left = Vec::new();
    loop {
        let job = tokio::select! {
            () = stop.cancelled() => break,
            job = rx.recv() => match job { Some(job) => job, None => break },
        };
        let due = job.due;
        let permit = tokio::select! {
            () = stop.cancelled() => None,
            permit = async {
                tokio::time::sleep_until(due).await;
                Arc::clone(&limit).acquire_owned().await.ok()
            } => permit,
        };
        let Some(permit) = permit else {
            left.push(job);
            break;
        };
        in_work.spawn(work_in_memory(
            Arc::clone(&shared),
            job,
            stop.clone(),
            permit,
        ));
        while in_work.try_join_next().is_some() {}
    }
    rx.close();
    while let Ok(job) = rx.try_recv() {
        left.push(job);
    }
    park(&shared, left).await;
    while in_work.join_next().await.is_some() {}
}

/// Hands `job` off from memory until it is done, offering it back to the `handoff` queue
/// after every failed attempt (once the queue takes it, it survives a restart).
async fn work_in_memory(
    shared: Arc<Shared>,
    mut job: OfflineJob,
    stop: CancellationToken,
    permit: OwnedSemaphorePermit,
) {
    loop {
        let unfinished = match hand_off(&shared, &job).await {
            Ok(()) => break,
            Err(unfinished) => unfinished,
        };
        job = job.retry_for(unfinished.recipients);
        tracing::warn!(error = %unfinished.error, app = %job.app, msg_id = %job.msg_id, attempt = job.attempts, retry_in = ?job.grace, "cannot finish an offline hand-off; will retry");
        if shared.offline.publish(&job, job.grace).await.is_ok() {
            break;
        }
        tokio::select! {
            () = stop.cancelled() => {
                park(&shared, vec![job]).await;
                break;
            }
            () = tokio::time::sleep_until(job.due) => {}
        }
    }
    drop(permit);
}

/// Offers in-memory jobs to the `handoff` queue at shutdown, for at most
/// [`PARK_TIMEOUT`]; logs what is lost.
async fn park(shared: &Shared, jobs: Vec<OfflineJob>) {
    if jobs.is_empty() {
        return;
    }
    let deadline = Instant::now() + PARK_TIMEOUT;
    let mut lost = 0usize;
    for job in jobs {
        let published =
            tokio::time::timeout_at(deadline, shared.offline.publish(&job, job.delay_left())).await;
        if !matches!(published, Ok(Ok(()))) {
            lost += 1;
            tracing::error!(app = %job.app, msg_id = %job.msg_id, "offline hand-off lost at shutdown: the handoff queue refused it");
        }
    }
    if lost > 0 {
        tracing::error!(lost, "offline hand-offs lost at shutdown");
    }
}

/// Queues the pushes `job` still needs (offline devices that have not acked the message)
/// on the ingest queue. Answers what is left to do when the store or the queue failed:
/// the store failing for one recipient leaves that one and every later one (the others'
/// pushes are queued); the queue failing leaves them all.
async fn hand_off(shared: &Shared, job: &OfflineJob) -> Result<(), Unfinished> {
    let mut envelopes = Vec::new();
    let mut store_failed = None;
    for (i, (user, seq)) in job.recipients.iter().enumerate() {
        match pushes_for(shared, job, user, *seq).await {
            Ok(mut list) => envelopes.append(&mut list),
            Err(e) => {
                // A failing store mostly fails for everyone: stop asking.
                store_failed = Some((i, e));
                break;
            }
        }
    }
    if !envelopes.is_empty() {
        let count = envelopes.len();
        if let Err(e) = shared
            .queue
            .publish(&QueueName::Ingest, envelopes, None)
            .await
        {
            return Err(Unfinished {
                recipients: job.recipients.clone(),
                error: e.into(),
            });
        }
        tracing::debug!(app = %job.app, msg_id = %job.msg_id, count, "offline pushes queued");
    }
    match store_failed {
        None => Ok(()),
        Some((i, e)) => Err(Unfinished {
            recipients: job.recipients[i..].to_vec(),
            error: e.into(),
        }),
    }
}

/// The ingest messages of `user`'s offline devices that have not acked `seq`.
async fn pushes_for(
    shared: &Shared,
    job: &OfflineJob,
    user: &str,
    seq: i64,
) -> Result<Vec<Envelope>, StoreError> {
    let devices = shared.offline.devices_of(&job.app, user).await?;
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    let online = online_devices(shared, &job.app, user).await;
    let offline: Vec<&Device> = devices
        .iter()
        .filter(|d| !online.contains(&d.device_id))
        .collect();
    if offline.is_empty() {
        return Ok(Vec::new());
    }
    // Without the ack positions a device that already read the message would be pushed:
    // retry rather than guess.
    let acks: HashMap<String, i64> = shared
        .store
        .acks_of_user(&job.app, user)
        .await?
        .into_iter()
        .collect();
    let mut envelopes = Vec::with_capacity(offline.len());
    for device in offline {
        let acked = acks.get(&device.device_id).copied().unwrap_or(0);
        if acked >= seq {
            continue; // acked within the grace window
        }
        let badge = u32::try_from(seq - acked).unwrap_or(u32::MAX);
        let message = ingest_message(job, user, seq, &device.device_id, badge);
        match serde_json::to_vec(&message) {
            Ok(body) => {
                envelopes.push(Envelope::new(body).with_header("content-type", "application/json"))
            }
            Err(e) => tracing::warn!(error = %e, "cannot serialise an offline push"),
        }
    }
    Ok(envelopes)
}

/// Devices of `user` with a live connection on any instance.
async fn online_devices(shared: &Shared, app: &str, user: &str) -> HashSet<String> {
    let mut online: HashSet<String> = shared.hub.devices(app, user).into_iter().collect();
    if shared.cluster.is_some() {
        match shared
            .store
            .locate(app, &[user], shared.presence_fresh_since())
            .await
        {
            Ok(found) => online.extend(found.into_iter().map(|l| l.device)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read presence; treating devices as offline")
            }
        }
    }
    online
}

/// The contract-1 message for one device.
fn ingest_message(
    job: &OfflineJob,
    user: &str,
    seq: i64,
    device: &str,
    badge: u32,
) -> IngestMessage {
    let data = BTreeMap::from([
        ("online_msg_id".to_string(), job.msg_id.clone()),
        ("online_seq".to_string(), seq.to_string()),
        ("online_from".to_string(), job.from.clone()),
        (
            "online_to".to_string(),
            format!("{}:{}", job.to.kind(), job.to.id()),
        ),
        ("online_user".to_string(), user.to_string()),
    ]);
    IngestMessage {
        id: format!("online:{}:{}", job.msg_id, short_hash(device)),
        app: job.app.clone(),
        to: Target::Devices(vec![device.to_string()]),
        notification: Some(NotificationContent {
            title: Some(job.title.clone()),
            body: Some(job.body.clone()),
            badge: Some(badge),
            sound: Some("default".into()),
            image: None,
            click: None,
        }),
        data,
        options: Options {
            ttl: Some(PUSH_TTL_SECONDS),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

/// 16 hex digits of SHA-256: keeps ingest ids short whatever the device id's length.
fn short_hash(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
