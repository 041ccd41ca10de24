//! A vendor worker: takes jobs from its vendor queue, sends through the adapter behind a
//! per-app [`Guard`], and turns each outcome into a stored state change, a receipt event and,
//! for retries, a delayed job.
//!
//! Order of effects per delivery: the outcome is stored, a retry's delayed job is published
//! before the delivery goes back to `queued`, and only then is the job acked — so a crash
//! never acks work that is not recorded. A job redelivered after a crash (or a retry or
//! parked job marked `resume`) treats its deliveries still in `sending` as abandoned and
//! sends them again: the rare duplicate is the price of never losing one.

use super::credentials::{CredentialCache, CredentialError, auth_verdict};
use super::events::EventPublisher;
use super::job::VendorJob;
use push_core::adapter::{
    Adapter, AdapterExt, CredentialRef, Guard, GuardConfig, Outcome, RetryDecision, RetryPolicy,
    SendRequest, SendTarget, TargetResult,
};
use push_core::queue::{Queue, QueueError, QueueName};
use push_core::store::{JobContext, StoredNotification};
use push_core::{
    App, Channel, Delivery, DeliveryId, DeliveryState, Device, Store, StoreError, Transition,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A failure that leaves the job to be retried whole (release, not ack).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// One vendor's worker.
pub struct VendorWorker {
    vendor: &'static str,
    adapter: Arc<dyn Adapter>,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    credentials: Arc<CredentialCache>,
    events: EventPublisher,
    limits: WorkerLimits,
    guards: Mutex<HashMap<String, Arc<Guard>>>,
    /// Apps whose credential the vendor keeps refusing: their jobs are parked until then.
    parked: Mutex<HashMap<String, Instant>>,
    /// Per app: jobs being handled now, at most the guard's in-flight budget. Taken before
    /// a job starts, so a burst of one app's jobs cannot all slip past the check at once.
    admissions: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A worker's policies.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// When and how often failed deliveries are retried.
    pub retry: RetryPolicy,
    /// Timeout, in-flight cap and rate of each (app, vendor).
    pub guard: GuardConfig,
    /// How long a job waits for a slot of its app's in-flight budget before it is parked:
    /// the longest another app's job can wait behind a flood.
    pub admission_wait: Duration,
    /// How long an app's jobs wait when its in-flight budget for this vendor is used up.
    pub park_when_saturated: Duration,
    /// How long an app's jobs wait after its credential was refused even after a refresh
    /// (the circuit breaker: park instead of hammering the vendor).
    pub park_after_auth_failure: Duration,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            guard: GuardConfig::default(),
            admission_wait: Duration::from_millis(250),
            park_when_saturated: Duration::from_secs(1),
            park_after_auth_failure: Duration::from_secs(30),
        }
    }
}

/// A delivery on its way out, with what the outcome handling needs.
struct InFlight {
    delivery: Delivery,
    device: Device,
}

impl VendorWorker {
    /// A worker for `adapter`'s vendor.
    pub fn new(
        adapter: Arc<dyn Adapter>,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        credentials: Arc<CredentialCache>,
        limits: WorkerLimits,
    ) -> Self {
        let events = EventPublisher::new(Arc::clone(&queue));
        Self {
            vendor: adapter.info().vendor,
            adapter,
            store,
            queue,
            credentials,
            events,
            limits,
            guards: Mutex::new(HashMap::new()),
            parked: Mutex::new(HashMap::new()),
            admissions: Mutex::new(HashMap::new()),
        }
    }

    /// The vendor name (and queue).
    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// The app's own guard: one app's flood or slow credential cannot use up another's budget.
    /// Its rate is the app's `rate_limits` entry for this vendor, else the server default; a
    /// changed setting replaces the guard.
    fn guard(&self, app: &App) -> Arc<Guard> {
        let config = match app.settings.rate_limits.get(self.vendor) {
            Some(limit) => GuardConfig {
                rate_per_second: Some(f64::from(limit.per_second)),
                burst: limit.burst,
                ..self.limits.guard
            },
            None => self.limits.guard,
        };
        let mut guards = self.guards.lock().unwrap_or_else(PoisonError::into_inner);
        match guards.get(&app.id) {
            Some(guard) if guard.config() == config => Arc::clone(guard),
            _ => {
                let guard = Arc::new(Guard::new(Arc::clone(&self.adapter), config));
                guards.insert(app.id.clone(), Arc::clone(&guard));
                guard
            }
        }
    }

    /// How long an app's jobs should wait because its credential keeps failing (the circuit
    /// is open), if it does.
    fn circuit_open_for(&self, app: &str) -> Option<Duration> {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        let left = parked.get(app)?.saturating_duration_since(Instant::now());
        if left.is_zero() {
            parked.remove(app);
            return None;
        }
        Some(left)
    }

    /// A slot of the app's in-flight budget, waiting up to `admission_wait` for one; `None`
    /// when it stays used up (the bulkhead: the caller parks the job).
    async fn admit(&self, app: &str) -> Option<OwnedSemaphorePermit> {
        let budget = self.limits.guard.max_in_flight.max(1);
        let slots = Arc::clone(
            self.admissions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(app.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(budget))),
        );
        tokio::time::timeout(self.limits.admission_wait, slots.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
    }

    fn open_circuit(&self, app: &str) {
        self.park_app(app, self.limits.park_after_auth_failure);
    }

    /// Parks every job of `app` on this vendor for `wait` (auth failure, used-up quota).
    fn park_app(&self, app: &str, wait: Duration) {
        let until = Instant::now() + wait;
        self.parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(app.to_string(), until);
    }

    /// Handles one job. `Ok` means every delivery of it is settled or rescheduled: ack it.
    pub async fn handle(&self, job: &VendorJob, redelivered: bool) -> Result<(), WorkerError> {
        let resume = redelivered || job.resume;
        let admitted = match self.circuit_open_for(&job.app) {
            Some(wait) => Err(wait),
            None => self
                .admit(&job.app)
                .await
                .ok_or(self.limits.park_when_saturated),
        };
        let _slot = match admitted {
            Ok(slot) => slot,
            Err(wait) => {
                // Hand the job back for later instead of holding a consumer slot, so other
                // apps' jobs behind it keep moving. Nothing of it was started.
                metrics::counter!("pushgate_jobs_parked_total", "vendor" => self.vendor, "app" => job.app.clone())
                    .increment(1);
                let queue = QueueName::Vendor(self.vendor.to_string());
                let parked = VendorJob {
                    resume,
                    ..job.clone()
                };
                self.queue
                    .publish(&queue, vec![parked.to_envelope()], Some(wait))
                    .await?;
                return Ok(());
            }
        };
        let Some(JobContext {
            app,
            notifications,
            deliveries,
        }) = self.store.load_job(&job.app, &job.deliveries).await?
        else {
            tracing::warn!(app = %job.app, deliveries = job.deliveries.len(), "job for an unknown app or deliveries dropped");
            return Ok(());
        };
        // One send per (notification, channel): a message's payload is built once and
        // batch vendors get its tokens together. The sends of a job run concurrently; the
        // app's guard bounds how many vendor calls are in flight.
        type Group<'a> = (&'a StoredNotification, Vec<InFlight>);
        let mut groups: BTreeMap<(&str, Channel), Group<'_>> = BTreeMap::new();
        let (flights, moved) = self.prepare(&notifications, deliveries, resume).await?;
        for flight in flights {
            // `prepare` sends only deliveries whose notification it found.
            let Some((id, n)) = notifications.get_key_value(&flight.delivery.notification_id)
            else {
                continue;
            };
            groups
                .entry((id.as_str(), flight.delivery.channel))
                .or_insert_with(|| (n, Vec::new()))
                .1
                .push(flight);
        }
        let app = &app;
        let sends = groups
            .into_iter()
            .map(|((_, channel), (n, flights))| async move {
                let outcomes = self.send(app, channel, n, &flights).await;
                (n, flights, outcomes)
            });
        // The `sending` events go out while the sends run (the events of a delivery stay in
        // order: its outcome's event is published after this).
        let (sent, ()) = futures::future::join(
            futures::future::join_all(sends),
            self.events.receipts(&moved),
        )
        .await;
        let mut moves = Vec::new();
        for (n, flights, outcomes) in sent {
            for flight in flights {
                let outcome =
                    outcomes
                        .get(&flight.delivery.id)
                        .cloned()
                        .unwrap_or(Outcome::Retry {
                            after: None,
                            reason: "the adapter gave no outcome for this target".into(),
                        });
                moves.push(self.apply(n, flight, outcome).await?);
            }
        }
        // Every outcome of the job in one write (one statement per resulting state).
        self.transition_all(moves).await?;
        Ok(())
    }

    /// Moves the job's deliveries that are `queued` to `sending`, settles those that can no
    /// longer be sent (expired, device gone) and skips the rest (another worker has them, or
    /// they are done), all in one write. With `resume`, deliveries still in `sending` were
    /// abandoned by a worker that stopped mid-send: they go back to `queued` first.
    /// Answers the deliveries to send and every delivery this write moved, whose receipt
    /// events the caller publishes.
    async fn prepare(
        &self,
        notifications: &HashMap<String, StoredNotification>,
        loaded: Vec<(Delivery, Option<Device>)>,
        resume: bool,
    ) -> Result<(Vec<InFlight>, Vec<Delivery>), WorkerError> {
        let mut loaded = loaded;
        if resume {
            let abandoned: Vec<(DeliveryId, Transition)> = loaded
                .iter()
                .filter(|(d, _)| d.state == DeliveryState::Sending)
                .map(|(d, _)| {
                    let reason = "resent after a worker stopped mid-send".to_string();
                    (d.id, Transition::Retry { reason })
                })
                .collect();
            if !abandoned.is_empty() {
                let mut requeued: HashMap<DeliveryId, Delivery> = self
                    .transition_all(abandoned)
                    .await?
                    .into_iter()
                    .map(|d| (d.id, d))
                    .collect();
                for (d, _) in &mut loaded {
                    if let Some(now_queued) = requeued.remove(&d.id) {
                        *d = now_queued;
                    }
                }
            }
        }
        let now = push_core::now();
        let expired = |n: &StoredNotification| {
            n.message
                .options
                .ttl
                .is_some_and(|ttl| now >= n.accepted_at + Duration::from_secs(ttl))
        };
        let mut moves = Vec::with_capacity(loaded.len());
        let mut devices = HashMap::with_capacity(loaded.len());
        for (delivery, device) in loaded {
            if delivery.state != DeliveryState::Queued {
                continue;
            }
            let t = match notifications.get(&delivery.notification_id) {
                // Deliveries reference their notification, so it cannot be missing; should
                // it be, the delivery is failed rather than left in `sending` for ever.
                None => Transition::Failed {
                    reason: "notification not found".into(),
                },
                Some(n) if expired(n) => Transition::Expired,
                Some(_) => match device {
                    Some(device) if device.is_active() => {
                        devices.insert(delivery.id, device);
                        Transition::Sending
                    }
                    Some(_) => Transition::Failed {
                        reason: "device deactivated".into(),
                    },
                    None => Transition::Failed {
                        reason: "device deleted".into(),
                    },
                },
            };
            moves.push((delivery.id, t));
        }
        let moved = self.record(moves).await?;
        let flights = moved
            .iter()
            .filter(|d| d.state == DeliveryState::Sending)
            .filter_map(|delivery| {
                let device = devices.remove(&delivery.id)?;
                Some(InFlight {
                    delivery: delivery.clone(),
                    device,
                })
            })
            .collect();
        Ok((flights, moved))
    }

    /// Sends to one channel's targets; every target gets an outcome. An `AuthFailed` answer
    /// makes the adapter forget its auth token, and those targets are tried once more.
    async fn send(
        &self,
        app: &App,
        channel: Channel,
        n: &StoredNotification,
        flights: &[InFlight],
    ) -> HashMap<DeliveryId, Outcome> {
        let targets: Vec<SendTarget> = flights
            .iter()
            .map(|f| SendTarget {
                delivery_id: f.delivery.id,
                device_id: f.device.device_id.clone(),
                channel,
                token: f.device.token.clone().unwrap_or_default(),
                apns_environment: f.device.apns_environment,
            })
            .collect();
        let credential = match self.credentials.active(&app.id, channel).await {
            Ok(c) => c,
            // Permanent until a new certificate is uploaded: fail, never retry.
            Err(e @ CredentialError::Expired(..)) => {
                let outcome = Outcome::Rejected {
                    reason: e.to_string(),
                };
                return targets
                    .iter()
                    .map(|t| (t.delivery_id, outcome.clone()))
                    .collect();
            }
            Err(e) => {
                let reason = match &e {
                    CredentialError::Missing(_)
                    | CredentialError::Sealed(..)
                    | CredentialError::Expired(..) => e.to_string(),
                    CredentialError::Store(_) => {
                        "storage unavailable while loading the credential".into()
                    }
                };
                return targets
                    .iter()
                    .map(|t| {
                        (
                            t.delivery_id,
                            Outcome::Retry {
                                after: None,
                                reason: reason.clone(),
                            },
                        )
                    })
                    .collect();
            }
        };
        let guard = self.guard(app);
        let mut outcomes = self.call(&guard, app, &credential, n, &targets).await;
        let refused: Vec<SendTarget> = targets
            .iter()
            .filter(|t| {
                matches!(
                    outcomes.get(&t.delivery_id),
                    Some(Outcome::AuthFailed { .. })
                )
            })
            .cloned()
            .collect();
        if !refused.is_empty() {
            tracing::warn!(app = %app.id, vendor = self.vendor, version = credential.version, "vendor refused auth; refreshing once");
            guard.forget_auth(credential.id);
            outcomes.extend(self.call(&guard, app, &credential, n, &refused).await);
        }
        let verdict = auth_verdict(targets.iter().filter_map(|t| outcomes.get(&t.delivery_id)));
        if let Some(verdict) = &verdict {
            self.credentials.report(
                &credential,
                verdict.as_ref().map(|_| ()).map_err(String::as_str),
            );
        }
        // Refused even after the refresh: try the previously active version once.
        if let Some(Err(reason)) = verdict
            && let Some(previous) = self
                .credentials
                .fallback_for(&app.id, channel, &credential)
                .await
        {
            let still: Vec<SendTarget> = targets
                .iter()
                .filter(|t| {
                    matches!(
                        outcomes.get(&t.delivery_id),
                        Some(Outcome::AuthFailed { .. })
                    )
                })
                .cloned()
                .collect();
            let retried = self.call(&guard, app, &previous, n, &still).await;
            if let Some(Ok(())) = auth_verdict(retried.values()) {
                self.credentials
                    .confirm_fallback(app, channel, &credential, &previous, &reason)
                    .await;
                self.credentials.report(&previous, Ok(()));
            }
            outcomes.extend(retried);
        }
        outcomes
    }

    /// Sends `targets` through the guard, in requests of at most the adapter's batch size
    /// run concurrently (a job may carry more deliveries than one vendor request takes; the
    /// guard's in-flight budget and rate still apply per request).
    async fn call(
        &self,
        guard: &Guard,
        app: &App,
        credential: &CredentialRef,
        n: &StoredNotification,
        targets: &[SendTarget],
    ) -> HashMap<DeliveryId, Outcome> {
        let batch = self.adapter.capabilities().max_batch.max(1);
        let in_flight = metrics::gauge!("pushgate_sends_in_flight", "vendor" => self.vendor);
        let requests = targets.chunks(batch).map(|chunk| {
            let request = SendRequest {
                app,
                credential,
                message: &n.message,
                accepted_at: n.accepted_at,
                targets: chunk,
            };
            let in_flight = in_flight.clone();
            async move {
                in_flight.increment(chunk.len() as f64);
                let started = std::time::Instant::now();
                let results: Vec<TargetResult> = guard.send(request).await;
                in_flight.decrement(chunk.len() as f64);
                metrics::histogram!("pushgate_vendor_send_seconds", "vendor" => self.vendor)
                    .record(started.elapsed().as_secs_f64());
                results
            }
        });
        futures::future::join_all(requests)
            .await
            .into_iter()
            .flatten()
            .map(|r| (r.delivery_id, r.outcome))
            .collect()
    }

    /// Works out the state change one outcome leads to, doing its side effects first
    /// (deactivating the device, publishing a retry's delayed job, parking the app); the
    /// caller writes the changes of a whole job together.
    async fn apply(
        &self,
        n: &StoredNotification,
        flight: InFlight,
        outcome: Outcome,
    ) -> Result<(DeliveryId, Transition), WorkerError> {
        let InFlight { delivery, device } = flight;
        metrics::counter!("pushgate_deliveries_total", "vendor" => self.vendor, "app" => delivery.app_id.clone(), "outcome" => outcome.kind())
            .increment(1);
        let id = delivery.id;
        let t = match outcome {
            Outcome::Accepted { vendor_message_id } => Transition::Accepted { vendor_message_id },
            Outcome::Rejected { reason } => Transition::Failed { reason },
            Outcome::InvalidToken {
                reason,
                invalid_since,
            } => {
                // A token registered again after the vendor declared it dead is kept.
                let re_registered = invalid_since.is_some_and(|since| device.last_seen_at > since);
                if !re_registered {
                    self.deactivate(&device, &reason).await?;
                }
                Transition::Failed {
                    reason: format!("invalid token: {reason}"),
                }
            }
            Outcome::AuthFailed { reason } => {
                self.open_circuit(&delivery.app_id);
                tracing::error!(app = %delivery.app_id, vendor = self.vendor, %reason, "credential refused after a refresh; deliveries wait");
                metrics::counter!("pushgate_credential_auth_failures_total", "vendor" => self.vendor, "app" => delivery.app_id.clone()).increment(1);
                self.reschedule(n, &delivery, None, format!("auth failed: {reason}"))
                    .await?
            }
            Outcome::Retry { after, reason } => {
                self.reschedule(n, &delivery, after, reason).await?
            }
            Outcome::QuotaExhausted { reason, resets_at } => {
                // Waiting for the quota is not a failed attempt: the retry policy's attempt
                // budget is left alone and only the ttl can end the wait.
                let wait = Duration::try_from(resets_at - OffsetDateTime::now_utc())
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_secs(1));
                self.park_app(&delivery.app_id, wait);
                tracing::warn!(app = %delivery.app_id, vendor = self.vendor, %reason, resets_at = %resets_at, "daily quota used up; the app's deliveries wait for the reset");
                metrics::counter!("pushgate_quota_exhausted_total", "vendor" => self.vendor, "app" => delivery.app_id.clone()).increment(1);
                if remaining_ttl(n).is_some_and(|left| wait >= left) {
                    Transition::Expired
                } else {
                    self.defer(&delivery, wait, format!("daily quota used up: {reason}"))
                        .await?
                }
            }
        };
        Ok((id, t))
    }

    /// What a failed attempt leads to: a retry after a backoff (its delayed job published
    /// now), or the end the policy says.
    async fn reschedule(
        &self,
        n: &StoredNotification,
        d: &Delivery,
        after: Option<Duration>,
        reason: String,
    ) -> Result<Transition, WorkerError> {
        Ok(
            match self
                .limits
                .retry
                .decide(d.attempts, after, remaining_ttl(n), jitter())
            {
                RetryDecision::After(delay) => self.defer(d, delay, reason).await?,
                RetryDecision::AttemptsExhausted => Transition::Failed {
                    reason: format!("gave up after {} attempts: {reason}", d.attempts),
                },
                RetryDecision::WouldExpire => Transition::Expired,
            },
        )
    }

    /// Publishes the job that sends a delivery again after `delay`; answers the change that
    /// puts the delivery back to `queued`.
    async fn defer(
        &self,
        d: &Delivery,
        delay: Duration,
        reason: String,
    ) -> Result<Transition, WorkerError> {
        // The retry job is durable before the delivery leaves `sending`: a crash in between
        // leaves a job marked `resume`, which sends the abandoned delivery.
        let job = VendorJob {
            resume: true,
            ..VendorJob::new(&d.app_id, vec![d.id])
        };
        self.queue
            .publish(
                &QueueName::Vendor(self.vendor.to_string()),
                vec![job.to_envelope()],
                Some(delay),
            )
            .await?;
        Ok(Transition::Retry { reason })
    }

    async fn deactivate(&self, device: &Device, reason: &str) -> Result<(), WorkerError> {
        super::deactivation::deactivate(&*self.store, &self.events, self.vendor, device, reason)
            .await?;
        Ok(())
    }

    /// Applies state changes with their receipts in one write, then publishes their receipt
    /// events together (their confirms awaited at once). Changes the state machine refuses
    /// (someone else moved the delivery first) are skipped. Answers the deliveries moved.
    async fn transition_all(
        &self,
        moves: Vec<(DeliveryId, Transition)>,
    ) -> Result<Vec<Delivery>, WorkerError> {
        let moved = self.record(moves).await?;
        self.events.receipts(&moved).await;
        Ok(moved)
    }

    /// Applies state changes with their receipts in one write, counting them; their events
    /// are the caller's to publish.
    async fn record(
        &self,
        moves: Vec<(DeliveryId, Transition)>,
    ) -> Result<Vec<Delivery>, WorkerError> {
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        let moved = self
            .store
            .transition_deliveries(&moves, push_core::now())
            .await?;
        for d in &moved {
            metrics::counter!(
                "pushgate_delivery_transitions_total",
                "vendor" => self.vendor,
                "app" => d.app_id.clone(),
                "state" => d.state.as_str()
            )
            .increment(1);
        }
        Ok(moved)
    }
}

/// A number in `[0, 1)` for retry jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// How long the notification's ttl (counted from acceptance) has left; `None` without a ttl.
fn remaining_ttl(n: &StoredNotification) -> Option<Duration> {
    n.message.options.ttl.map(|ttl| {
        let deadline = n.accepted_at + Duration::from_secs(ttl);
        Duration::try_from(deadline - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
    })
}
