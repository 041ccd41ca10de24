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
use std::collections::{BTreeMap, HashSet};
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
        matches!(self, IngestError::Invalid(_) | IngestError::UnknownApp(_))
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

    /// Processes one message from the ingest queue.
    pub async fn process(&self, raw: &[u8]) -> Result<Ingested, IngestError> {
        let message = validate_ingest(raw, AppSource::Body, self.max_message_bytes)
            .map_err(IngestError::Invalid)?;
        if !self.app_exists(&message.app).await? {
            return Err(IngestError::UnknownApp(message.app));
        }
        let now = push_core::now();
        let new = self.store.insert_notification(&message, now).await?;
        let devices = self.resolve(&message).await?;
        let fresh: Vec<Delivery> = devices
            .iter()
            .map(|d| Delivery::queued(&message.app, &message.id, &d.device_id, d.channel, now))
            .collect();
        let inserted = self.store.insert_deliveries(&fresh).await?;
        // A new notification whose deliveries all went in has exactly `fresh`. Otherwise
        // (a redelivery, or a duplicate ingested concurrently) some existed already: read
        // them back rather than trust `fresh`.
        let deliveries = if new && inserted == fresh.len() {
            fresh
        } else {
            self.store.deliveries_of(&message.app, &message.id).await?
        };
        let dispatched = self.dispatch(&message, &deliveries, new).await?;
        Ok(Ingested {
            app: message.app,
            id: message.id,
            new,
            dispatched,
        })
    }

    /// Users → their active devices; device ids → those devices that are active.
    async fn resolve(&self, message: &IngestMessage) -> Result<Vec<Device>, StoreError> {
        let mut devices = match &message.to {
            Target::Users(users) => self.store.list_users_devices(&message.app, users).await?,
            Target::Devices(ids) => {
                let mut devices = self.store.get_devices(&message.app, ids).await?;
                devices.retain(Device::is_active);
                devices
            }
        };
        let mut seen = HashSet::new();
        devices.retain(|d| seen.insert(d.device_id.clone()));
        Ok(devices)
    }

    /// Publishes jobs for never-attempted deliveries, in jobs of [`job_size`] deliveries.
    async fn dispatch(
        &self,
        message: &IngestMessage,
        deliveries: &[Delivery],
        new: bool,
    ) -> Result<usize, IngestError> {
        let mut by_vendor: BTreeMap<&'static str, (usize, Vec<&Delivery>)> = BTreeMap::new();
        for d in deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Queued && d.attempts == 0)
        {
            match self.adapters.get(d.channel) {
                Some(adapter) => by_vendor
                    .entry(adapter.vendor())
                    .or_insert_with(|| (job_size(adapter.capabilities().max_batch), Vec::new()))
                    .1
                    .push(d),
                None => {
                    let reason = format!("vendor {} is not enabled on this pushgate", d.channel);
                    self.settle(d, Transition::Failed { reason }).await?;
                }
            }
        }
        let mut dispatched = 0;
        for (vendor, (batch, list)) in by_vendor {
            let jobs: Vec<Envelope> = list
                .chunks(batch)
                .map(|chunk| {
                    VendorJob::new(
                        &message.app,
                        &message.id,
                        chunk.iter().map(|d| d.id).collect(),
                    )
                    .to_envelope()
                })
                .collect();
            self.queue
                .publish(&QueueName::Vendor(vendor.to_string()), jobs, None)
                .await?;
            dispatched += list.len();
            if new {
                let queued: Vec<Delivery> = list.into_iter().cloned().collect();
                self.events.receipts(&queued).await;
            }
        }
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
