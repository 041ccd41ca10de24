//! The offline hand-off: a recipient device with no live connection (on any instance) and a
//! registered push token gets an ingest message (contract 1) through the ingest queue, with
//! the message as title/body and its unread count as badge.
//!
//! A job waits out the grace window of its kind first (default: none for one-to-one, a few
//! seconds for groups); a device whose ack reached the message by then is not pushed.
//!
//! A job with a grace window waits in the durable `handoff` queue as a delayed message (on
//! RabbitMQ the delay is rounded up to a delay bucket), so a restart or a crash inside the
//! window does not lose the push: any instance takes it when it is due, checks acks and
//! presence then, and acks it only once the pushes are on the ingest queue. A job without a
//! grace window goes straight to the in-memory workers (nothing to wait for; a crash loses
//! only what is being handed over at that moment), as does a delayed job the queue refused.

use crate::core::Shared;
use crate::protocol::{Content, Recipient};
use push_core::queue::{Envelope, Queue, QueueError, QueueName, Received};
use push_core::{Device, IngestMessage, NotificationContent, Options, Target};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Jobs waiting for their grace window before senders wait.
const QUEUE_CAPACITY: usize = 10_000;
/// Jobs worked on at once.
const CONCURRENCY: usize = 16;
/// How long a user's device list is reused.
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(10);
/// Users in the device cache before it is emptied.
const DEVICE_CACHE_MAX: usize = 100_000;
/// Longest push body, in characters (vendors cap payloads at a few KiB).
const MAX_BODY_CHARS: usize = 200;
/// Seconds an offline push stays worth delivering.
const PUSH_TTL_SECONDS: u64 = 86_400;

/// Pause before a hand-off that could not be queued for ingest is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// One stored message whose recipients may need a push. Serialised as the body of a
/// delayed `handoff` message; its timing is the message's delay then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfflineJob {
    app: String,
    msg_id: String,
    from: String,
    to: Recipient,
    title: String,
    body: String,
    recipients: Vec<(String, i64)>,
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
            grace,
            due: Instant::now() + grace,
        }
    }
}

type DeviceCache = HashMap<(String, String), (Instant, Arc<Vec<Device>>)>;

/// The hand-off queues and the device cache.
pub struct Offline {
    tx: mpsc::Sender<OfflineJob>,
    rx: Mutex<Option<mpsc::Receiver<OfflineJob>>>,
    devices: Arc<dyn push_core::Store>,
    queue: Arc<dyn Queue>,
    cache: Mutex<DeviceCache>,
}

impl Offline {
    /// Hand-offs that find devices through `devices` (pushgate's device registry) and wait
    /// out grace windows in `queue`.
    pub fn new(devices: Arc<dyn push_core::Store>, queue: Arc<dyn Queue>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            devices,
            queue,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Queues a job: with a grace window as a delayed `handoff` message, else (or when the
    /// queue refuses it) in memory, waiting when that is full.
    pub async fn enqueue(&self, job: OfflineJob) {
        if !job.grace.is_zero() {
            let queued = match serde_json::to_vec(&job) {
                Ok(body) => {
                    let envelope =
                        Envelope::new(body).with_header("content-type", "application/json");
                    self.queue
                        .publish(&QueueName::Handoff, vec![envelope], Some(job.grace))
                        .await
                }
                Err(e) => Err(QueueError::Refused(format!("unserialisable hand-off: {e}"))),
            };
            match queued {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, msg_id = %job.msg_id, "cannot queue an offline hand-off durably; keeping it in memory");
                }
            }
        }
        if self.tx.send(job).await.is_err() {
            tracing::warn!("offline hand-off stopped; a push was not queued");
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, DeviceCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn devices_of(&self, app: &str, user: &str) -> Arc<Vec<Device>> {
        let key = (app.to_string(), user.to_string());
        if let Some((at, list)) = self.lock_cache().get(&key)
            && at.elapsed() < DEVICE_CACHE_TTL
        {
            return Arc::clone(list);
        }
        let list = match self.devices.list_user_devices(app, user, false).await {
            Ok(list) => Arc::new(list.into_iter().filter(Device::is_active).collect()),
            Err(e) => {
                tracing::warn!(error = %e, app, user, "cannot list devices for an offline push");
                return Arc::new(Vec::new());
            }
        };
        let mut cache = self.lock_cache();
        if cache.len() >= DEVICE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), Arc::clone(&list)));
        list
    }
}

/// Works off queued jobs, in memory and from the `handoff` queue, until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    tokio::join!(
        run_in_memory(Arc::clone(&shared), stop.clone()),
        run_delayed(shared, stop)
    );
}

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
    loop {
        let job = tokio::select! {
            () = stop.cancelled() => return,
            job = rx.recv() => match job { Some(job) => job, None => return },
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(job.due) => {}
        }
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            if let Err(e) = hand_off(&shared, &job).await {
                tracing::warn!(error = %e, app = %job.app, msg_id = %job.msg_id, "cannot queue offline pushes");
            }
            drop(permit);
        });
    }
}

/// Takes due jobs off the `handoff` queue; each is acked once its pushes are queued for
/// ingest, released (for any instance) when that failed, dead-lettered when unreadable.
async fn run_delayed(shared: Arc<Shared>, stop: CancellationToken) {
    let queue = Arc::clone(&shared.offline.queue);
    let (mut jobs, acker) = loop {
        match queue
            .subscribe(&QueueName::Handoff, CONCURRENCY as u16)
            .await
        {
            Ok(subscribed) => break subscribed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot consume delayed offline hand-offs yet; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
        }
    };
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_work = tokio::task::JoinSet::new();
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
                    Err(e) => {
                        tracing::warn!(error = %e, msg_id = %job.msg_id, "cannot queue offline pushes; will retry");
                        tokio::time::sleep(RETRY_PAUSE).await;
                        acker.release(received.tag).await
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

/// Queues the pushes `job` still needs (offline devices that have not acked the message)
/// on the ingest queue.
async fn hand_off(shared: &Shared, job: &OfflineJob) -> Result<(), QueueError> {
    let mut envelopes = Vec::new();
    for (user, seq) in &job.recipients {
        let devices = shared.offline.devices_of(&job.app, user).await;
        if devices.is_empty() {
            continue;
        }
        let online = online_devices(shared, &job.app, user).await;
        let offline: Vec<&Device> = devices
            .iter()
            .filter(|d| !online.contains(&d.device_id))
            .collect();
        if offline.is_empty() {
            continue;
        }
        let acks: HashMap<String, i64> = match shared.store.acks_of_user(&job.app, user).await {
            Ok(acks) => acks.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read ack positions; pushing with a guessed badge");
                HashMap::new()
            }
        };
        for device in offline {
            let acked = acks.get(&device.device_id).copied().unwrap_or(0);
            if acked >= *seq {
                continue; // acked within the grace window
            }
            let badge = u32::try_from(seq - acked).unwrap_or(u32::MAX);
            let message = ingest_message(job, user, *seq, &device.device_id, badge);
            match serde_json::to_vec(&message) {
                Ok(body) => envelopes
                    .push(Envelope::new(body).with_header("content-type", "application/json")),
                Err(e) => tracing::warn!(error = %e, "cannot serialise an offline push"),
            }
        }
    }
    if envelopes.is_empty() {
        return Ok(());
    }
    let count = envelopes.len();
    shared
        .queue
        .publish(&QueueName::Ingest, envelopes, None)
        .await?;
    tracing::debug!(app = %job.app, msg_id = %job.msg_id, count, "offline pushes queued");
    Ok(())
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
mod tests {
    use super::*;

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
}
