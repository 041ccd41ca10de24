//! The ingest stage: validate, dedupe by (app, id), resolve recipients to devices, store one
//! delivery per device, and hand per-vendor jobs to the vendor queues.
//!
//! Every step is idempotent, so a message redelivered after a crash at any point resumes
//! without loss and without duplicate sends: the notification and its deliveries are
//! insert-if-absent, and jobs are (re)published only for deliveries never attempted — a
//! worker that finds a delivery no longer `queued` skips it.

use super::events::EventPublisher;
use super::job::VendorJob;
use push_core::adapter::{AdapterExt, AdapterRegistry};
use push_core::queue::{Envelope, Queue, QueueError, QueueName};
use push_core::validation::AppSource;
use push_core::{
    Delivery, DeliveryState, Device, IngestMessage, Problem, Store, StoreError, Target, Transition,
    validate_ingest,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a message was not ingested, and so what to do with it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The message breaks contract 1: answer 4xx / dead-letter, never retry.
    #[error("invalid message: {}", describe(.0))]
    Invalid(Vec<Problem>),
    /// No such app: answer 4xx / dead-letter.
    #[error("unknown app {0:?}")]
    UnknownApp(String),
    /// The store failed: retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed: retry later.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl IngestError {
    /// Whether retrying the same message can never help.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            IngestError::Invalid(_)
                | IngestError::UnknownApp(_)
                | IngestError::Store(StoreError::Refused(_))
        )
    }
}

fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            if p.field.is_empty() {
                p.reason.clone()
            } else {
                format!("{}: {}", p.field, p.reason)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What ingesting a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The app.
    pub app: String,
    /// The producer's id.
    pub id: String,
    /// False when the (app, id) had been accepted before (a duplicate or a redelivery).
    pub new: bool,
    /// Deliveries handed to vendor queues by this call.
    pub dispatched: usize,
}

/// Deliveries per vendor job at least. A job is one queue message and one store round of
/// the worker; the worker splits it into vendor requests of the adapter's batch size, so
/// vendors without a batch API (FCM: one token per request) still get few, large jobs.
pub const MIN_JOB_DELIVERIES: usize = 100;

/// Deliveries per job for an adapter with this batch size.
fn job_size(max_batch: usize) -> usize {
    max_batch.max(MIN_JOB_DELIVERIES)
}

/// The ingest stage.
#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    adapters: Arc<AdapterRegistry>,
    events: EventPublisher,
    max_message_bytes: usize,
    /// Apps known to exist. Apps are never deleted (the store has no way to), so a positive
    /// answer stays true and saves a read per message; unknown ids are asked every time.
    known_apps: Arc<Mutex<HashSet<String>>>,
}

/// Most app ids [`Ingestor`] remembers as existing (the set is emptied when full).
const KNOWN_APPS_MAX: usize = 10_000;

impl Ingestor {
    /// An ingest stage over these ports.
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        adapters: Arc<AdapterRegistry>,
        max_message_bytes: usize,
    ) -> Self {
        let events = EventPublisher::new(Arc::clone(&queue));
        Self {
            store,
            queue,
            adapters,
            events,
            max_message_bytes,
            known_apps: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Whether the app exists, from memory when it was seen before.
    async fn app_exists(&self, app: &str) -> Result<bool, StoreError> {
        if self
            .known_apps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(app)
        {
            return Ok(true);
        }
        if self.store.get_app(app).await?.is_none() {
            return Ok(false);
        }
        let mut known = self
            .known_apps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if known.len() >= KNOWN_APPS_MAX {
            known.clear();
        }
        known.insert(app.to_string());
        Ok(true)
    }

    /// Checks a REST body for `app` and enqueues it on the ingest queue; the ingest consumer
    /// does the rest. Answers the validated message once it is durably enqueued.
    pub async fn enqueue(&self, app: &str, raw: &[u8]) -> Result<IngestMessage, IngestError> {
        let message = validate_ingest(raw, AppSource::Path(app), self.max_message_bytes)
            .map_err(IngestError::Invalid)?;
        let body = serde_json::to_vec(&message).map_err(|e| {
            IngestError::Invalid(vec![Problem {
                field: String::new(),
                reason: e.to_string(),
            }])
        })?;
        // The queued form names the app and spells out the options' defaults, so it can be a
        // little longer than the body; the consumer checks the limit again, and a message it
        // would dead-letter must be refused here rather than answered 202.
        if body.len() > self.max_message_bytes {
            return Err(IngestError::Invalid(vec![Problem {
                field: String::new(),
                reason: format!(
                    "message is {} bytes once its app and default options are added; the limit is {}",
                    body.len(),
                    self.max_message_bytes
                ),
            }]));
        }
        self.queue
            .publish(
                &QueueName::Ingest,
                vec![super::stamp(
                    Envelope::new(body).with_header("content-type", "application/json"),
                )],
                None,
            )
            .await?;
        Ok(message)
    }

    /// Processes messages from the ingest queue together: one result per message, in
    /// order, where `Err` is a permanent problem of that message (dead-letter it). The outer
    /// `Err` is a transient failure of the whole batch (store or broker): release them all;
    /// every step is idempotent, so the redelivered batch resumes where this one stopped.
    ///
    /// A batch costs a fixed number of store statements (notifications, recipients per app,
    /// deliveries) and one publish per vendor queue, however many messages it holds: that is
    /// what lets a stream of 1:1 messages move at the broker's pace.
    pub async fn process_batch(
        &self,
        raws: &[&[u8]],
    ) -> Result<Vec<Result<Ingested, IngestError>>, IngestError> {
        let mut results: Vec<Option<Result<Ingested, IngestError>>> =
            raws.iter().map(|_| None).collect();
        let mut valid: Vec<(usize, IngestMessage)> = Vec::with_capacity(raws.len());
        for (i, raw) in raws.iter().enumerate() {
            match validate_ingest(raw, AppSource::Body, self.max_message_bytes) {
                Ok(message) => valid.push((i, message)),
                Err(problems) => results[i] = Some(Err(IngestError::Invalid(problems))),
            }
        }
        let mut known: HashMap<String, bool> = HashMap::new();
        for (_, message) in &valid {
            if !known.contains_key(&message.app) {
                let exists = self.app_exists(&message.app).await?;
                known.insert(message.app.clone(), exists);
            }
        }
        let (accepted, unknown): (Vec<_>, Vec<_>) = valid
            .into_iter()
            .partition(|(_, m)| known.get(&m.app).copied().unwrap_or(false));
        for (i, message) in unknown {
            results[i] = Some(Err(IngestError::UnknownApp(message.app)));
        }
        let messages: Vec<&IngestMessage> = accepted.iter().map(|(_, m)| m).collect();
        let answers =
            one_by_one_if_refused(&messages, |part| async move { self.ingest(&part).await })
                .await?;
        for ((i, _), answer) in accepted.iter().zip(answers) {
            results[*i] = Some(answer);
        }
        // Every message has its answer by now; should one not, it is retried, never dropped.
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(IngestError::Store(StoreError::Unavailable(
                        "the batch gave this message no result".into(),
                    )))
                })
            })
            .collect())
    }

    /// Stores and dispatches valid messages of existing apps; one answer per message. Fails
    /// as a whole: see [`one_by_one_if_refused`] for a batch the database refuses.
    async fn ingest(&self, messages: &[&IngestMessage]) -> Result<Vec<Ingested>, IngestError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let now = push_core::now();
        let new = self.store.insert_notifications(messages, now).await?;
        if new.len() != messages.len() {
            return Err(IngestError::Store(StoreError::Corrupt(format!(
                "{} answers for {} notifications",
                new.len(),
                messages.len()
            ))));
        }
        // A repeat of an (app, id) earlier in the batch is left to that first occurrence.
        let mut firsts = HashSet::new();
        let repeat: Vec<bool> = messages
            .iter()
            .map(|m| !firsts.insert((m.app.as_str(), m.id.as_str())))
            .collect();
        // A notification stored before (a redelivery after a crash, or a producer's repeat)
        // keeps the deliveries it has: a repeat naming other recipients sends nothing more.
        // Only one whose deliveries were never written (a crash between the two inserts)
        // gets them now, from the stored message — the one accepted — not from the repeat.
        let mut existing: Vec<Option<Vec<Delivery>>> = vec![None; messages.len()];
        let mut stored: Vec<Option<IngestMessage>> = vec![None; messages.len()];
        for (i, m) in messages.iter().enumerate() {
            if new[i] || repeat[i] {
                continue;
            }
            let have = self.store.deliveries_of(&m.app, &m.id).await?;
            if !have.is_empty() {
                existing[i] = Some(have);
            } else if let Some(first) = self.store.get_notification(&m.app, &m.id).await? {
                stored[i] = Some(first.message);
            }
        }
        let basis: Vec<&IngestMessage> = messages
            .iter()
            .zip(&stored)
            .map(|(m, first)| first.as_ref().unwrap_or(m))
            .collect();
        let recipients = self.resolve(&basis).await?;
        let fresh: Vec<Vec<Delivery>> = messages
            .iter()
            .enumerate()
            .zip(&recipients)
            .map(|((i, m), devices)| {
                if repeat[i] || existing[i].is_some() {
                    return Vec::new();
                }
                devices
                    .iter()
                    .map(|d| Delivery::queued(&m.app, &m.id, &d.device_id, d.channel, now))
                    .collect()
            })
            .collect();
        let all: Vec<Delivery> = fresh.iter().flatten().cloned().collect();
        let inserted = self.store.insert_deliveries(&all).await?;
        // A new notification whose deliveries all went in has exactly its fresh ones.
        // Otherwise (a redelivery, or a duplicate ingested concurrently elsewhere) some
        // existed already: read them back rather than trust `fresh`.
        let all_in = inserted == all.len();
        let mut deliveries: Vec<Vec<Delivery>> = Vec::with_capacity(messages.len());
        for (i, (m, fresh)) in messages.iter().zip(fresh).enumerate() {
            deliveries.push(if repeat[i] {
                Vec::new()
            } else if let Some(have) = existing[i].take() {
                have
            } else if new[i] && all_in {
                fresh
            } else {
                self.store.deliveries_of(&m.app, &m.id).await?
            });
        }
        let dispatched = self.dispatch(&deliveries, &new).await?;
        Ok(messages
            .iter()
            .zip(new)
            .zip(dispatched)
            .map(|((m, new), dispatched)| Ingested {
                app: m.app.clone(),
                id: m.id.clone(),
                new,
                dispatched,
            })
            .collect())
    }

    /// Each message's recipients: users → their active devices, device ids → those devices
    /// that are active; one query per app and target kind for the whole batch.
    async fn resolve(&self, messages: &[&IngestMessage]) -> Result<Vec<Vec<Device>>, StoreError> {
        let mut users: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        let mut ids: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for m in messages {
            match &m.to {
                Target::Users(list) => users
                    .entry(&m.app)
                    .or_default()
                    .extend(list.iter().cloned()),
                Target::Devices(list) => {
                    ids.entry(&m.app).or_default().extend(list.iter().cloned())
                }
            }
        }
        // Per app, then per user / device id: looked up by borrowed keys, no copy per recipient.
        let mut by_user: HashMap<&str, HashMap<String, Vec<Device>>> = HashMap::new();
        for (app, list) in users {
            let list: Vec<String> = list.into_iter().collect();
            let of_app = by_user.entry(app).or_default();
            for device in self.store.list_users_devices(app, &list).await? {
                of_app
                    .entry(device.user_id.clone())
                    .or_default()
                    .push(device);
            }
        }
        let mut by_id: HashMap<&str, HashMap<String, Device>> = HashMap::new();
        for (app, list) in ids {
            let list: Vec<String> = list.into_iter().collect();
            let of_app = by_id.entry(app).or_default();
            for device in self.store.get_devices(app, &list).await? {
                if device.is_active() {
                    of_app.insert(device.device_id.clone(), device);
                }
            }
        }
        Ok(messages
            .iter()
            .map(|m| {
                let mut devices: Vec<Device> = match &m.to {
                    Target::Users(list) => by_user
                        .get(m.app.as_str())
                        .map(|of_app| {
                            list.iter()
                                .filter_map(|u| of_app.get(u))
                                .flatten()
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default(),
                    Target::Devices(list) => by_id
                        .get(m.app.as_str())
                        .map(|of_app| list.iter().filter_map(|d| of_app.get(d)).cloned().collect())
                        .unwrap_or_default(),
                };
                devices.sort_by(|a, b| a.device_id.cmp(&b.device_id));
                devices.dedup_by(|a, b| a.device_id == b.device_id);
                devices
            })
            .collect())
    }

    /// Publishes jobs for the never-attempted deliveries of every message, grouped by app
    /// and vendor into jobs of [`job_size`] deliveries (of one notification or of many),
    /// one publish per vendor queue; then the `queued` events of new notifications. Answers
    /// how many deliveries of each message were dispatched.
    async fn dispatch(
        &self,
        deliveries: &[Vec<Delivery>],
        new: &[bool],
    ) -> Result<Vec<usize>, IngestError> {
        type Group<'a> = (usize, Vec<&'a Delivery>);
        let mut groups: BTreeMap<(&'static str, &str), Group<'_>> = BTreeMap::new();
        let mut dispatched = vec![0; deliveries.len()];
        // The `queued` events are those of new notifications' dispatched deliveries.
        let mut queued: Vec<Delivery> = Vec::new();
        for (i, list) in deliveries.iter().enumerate() {
            for d in list
                .iter()
                .filter(|d| d.state == DeliveryState::Queued && d.attempts == 0)
            {
                match self.adapters.get(d.channel) {
                    Some(adapter) => {
                        groups
                            .entry((adapter.vendor(), d.app_id.as_str()))
                            .or_insert_with(|| {
                                (job_size(adapter.capabilities().max_batch), Vec::new())
                            })
                            .1
                            .push(d);
                        dispatched[i] += 1;
                        if new[i] {
                            queued.push(d.clone());
                        }
                    }
                    None => {
                        let reason =
                            format!("vendor {} is not enabled on this pushgate", d.channel);
                        self.settle(d, Transition::Failed { reason }).await?;
                    }
                }
            }
        }
        let mut by_queue: BTreeMap<&'static str, Vec<Envelope>> = BTreeMap::new();
        for ((vendor, app), (size, list)) in &groups {
            by_queue
                .entry(vendor)
                .or_default()
                .extend(list.chunks(*size).map(|chunk| {
                    VendorJob::new(app, chunk.iter().map(|d| d.id).collect()).to_envelope()
                }));
        }
        // The jobs (one publish per vendor queue) and the `queued` events go out together.
        let jobs = futures::future::try_join_all(by_queue.into_iter().map(|(vendor, jobs)| {
            let queue = QueueName::Vendor(vendor.to_string());
            async move { self.queue.publish(&queue, jobs, None).await }
        }));
        let (published, ()) = futures::future::join(jobs, self.events.receipts(&queued)).await;
        published?;
        Ok(dispatched)
    }

    async fn settle(&self, d: &Delivery, t: Transition) -> Result<(), StoreError> {
        match self
            .store
            .transition_delivery(d.id, &t, push_core::now())
            .await
        {
            Ok(updated) => {
                self.events.receipt(&updated).await;
                Ok(())
            }
            Err(StoreError::IllegalTransition { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Runs `ingest` over the whole batch; when the database refuses a value of it
/// ([`StoreError::Refused`], the same every time), runs it again one message at a time, so
/// only the message holding that value is dead-lettered and it cannot hold back the others
/// on every redelivery. Any other failure fails the whole batch (released and retried).
async fn one_by_one_if_refused<'a, F, Fut>(
    messages: &[&'a IngestMessage],
    ingest: F,
) -> Result<Vec<Result<Ingested, IngestError>>, IngestError>
where
    F: Fn(Vec<&'a IngestMessage>) -> Fut,
    Fut: Future<Output = Result<Vec<Ingested>, IngestError>>,
{
    match ingest(messages.to_vec()).await {
        Ok(done) => return Ok(done.into_iter().map(Ok).collect()),
        Err(IngestError::Store(StoreError::Refused(reason))) if messages.len() == 1 => {
            return Ok(vec![Err(IngestError::Store(StoreError::Refused(reason)))]);
        }
        Err(IngestError::Store(StoreError::Refused(_))) => {}
        Err(e) => return Err(e),
    }
    let mut answers = Vec::with_capacity(messages.len());
    for message in messages {
        match ingest(vec![*message]).await {
            Ok(mut done) if done.len() == 1 => answers.push(Ok(done.remove(0))),
            Ok(done) => {
                return Err(IngestError::Store(StoreError::Corrupt(format!(
                    "{} answers for 1 notification",
                    done.len()
                ))));
            }
            Err(e @ IngestError::Store(StoreError::Refused(_))) => answers.push(Err(e)),
            Err(e) => return Err(e),
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use push_core::validation::validate_ingest;

    fn message(id: &str) -> IngestMessage {
        let raw = format!(r#"{{"id":"{id}","app":"a","to":{{"users":["u"]}},"data":{{"k":"v"}}}}"#);
        validate_ingest(raw.as_bytes(), AppSource::Body, 4096).expect("a valid message")
    }

    fn done(m: &IngestMessage) -> Ingested {
        Ingested {
            app: m.app.clone(),
            id: m.id.clone(),
            new: true,
            dispatched: 1,
        }
    }

    /// A store that refuses any batch holding the message `poison`.
    async fn refusing(part: Vec<&IngestMessage>) -> Result<Vec<Ingested>, IngestError> {
        if part.iter().any(|m| m.id == "poison") {
            return Err(IngestError::Store(StoreError::Refused("bad value".into())));
        }
        Ok(part.iter().map(|m| done(m)).collect())
    }

    #[tokio::test]
    async fn a_refused_value_fails_only_its_own_message() {
        let (a, poison, b) = (message("a"), message("poison"), message("b"));
        let answers = one_by_one_if_refused(&[&a, &poison, &b], refusing)
            .await
            .expect("no batch failure");
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0].as_ref().ok(), Some(&done(&a)));
        let refused = answers[1].as_ref().expect_err("the poison is refused");
        assert!(refused.is_permanent(), "dead-lettered, not retried");
        assert_eq!(answers[2].as_ref().ok(), Some(&done(&b)));
    }

    #[tokio::test]
    async fn other_failures_fail_the_whole_batch() {
        let (a, b) = (message("a"), message("b"));
        let result = one_by_one_if_refused(&[&a, &b], |_| async {
            Err(IngestError::Store(StoreError::Unavailable("down".into())))
        })
        .await;
        match result {
            Err(e) => assert!(!e.is_permanent(), "released and retried"),
            Ok(_) => panic!("an unavailable store must fail the batch"),
        }
    }
}
