//! Delivery receipts (honor.md §7, §8.7): the receipt URL configured per app, and the poster
//! that POSTs `{"statuses": [...]}` batches (≤ 100) after the configured delay, retried a
//! few times when the callback is down. Receipts of messages sent between 00:00 and 06:00
//! Beijing time are held (honor.md §5) until the sim clock passes their release time, then
//! posted like any other. The poster has its own HTTP client and runs on spawned tasks; a
//! reset drops receipts still pending, held ones included.

use crate::callbacks::CallbackPoster;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::clock::SimClock;
use crate::control::types::{
    ControlError, HonorCallbackSpec, HonorReceiptBatch, HonorReceiptStatus,
};
use crate::record::lock;

/// Entries per POST.
pub(crate) const BATCH: usize = 100;
/// POST attempts per batch.
pub(crate) const ATTEMPTS: u32 = 4;

/// How often held receipts are checked against the sim clock. The clock is shifted by tests
/// in jumps, so polling (rather than sleeping until the release time) notices a shift soon.
pub(crate) const HOLD_POLL: Duration = Duration::from_millis(250);

/// Receipt configurations, held receipts and the log of posted batches. Cloning shares them,
/// so the background tasks can reach them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReceiptHub {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    configs: Mutex<Vec<HonorCallbackSpec>>,
    sent: Mutex<Vec<HonorReceiptBatch>>,
    /// Bumped by a reset, so tasks scheduled before it post nothing.
    generation: AtomicU64,
    /// Receipts of messages held overnight, in send order.
    held: Mutex<Vec<Held>>,
    /// The sim clock release times are measured on (set by the first hold).
    clock: OnceLock<SimClock>,
    /// Whether the task releasing held receipts runs.
    watching: AtomicBool,
}

/// A receipt held until `release_ms` on the sim clock.
#[derive(Debug)]
struct Held {
    release_ms: i64,
    app_id: String,
    status: HonorReceiptStatus,
}

impl ReceiptHub {
    /// Adds or replaces the receipt URL of an app.
    pub(crate) fn add(&self, spec: &HonorCallbackSpec) -> Result<(), ControlError> {
        let url = url::Url::parse(&spec.url).map_err(|e| ControlError::new(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ControlError::new("url must be http or https"));
        }
        if spec.app_id.is_empty() {
            return Err(ControlError::new("app_id must not be empty"));
        }
        let mut configs = lock(&self.shared.configs);
        configs.retain(|c| c.app_id != spec.app_id);
        configs.push(spec.clone());
        Ok(())
    }

    /// The receipt URL of an app.
    pub(crate) fn config(&self, app_id: &str) -> Option<HonorCallbackSpec> {
        lock(&self.shared.configs)
            .iter()
            .find(|c| c.app_id == app_id)
            .cloned()
    }

    /// Posted (or attempted) batches, oldest first.
    pub(crate) fn sent(&self) -> Vec<HonorReceiptBatch> {
        lock(&self.shared.sent).clone()
    }

    /// Holds the receipts of one send of `app_id` until `release_ms` on `clock`; they are
    /// posted (to the app's receipt URL at that time) once the clock passes it.
    pub(crate) fn hold(
        &self,
        clock: &SimClock,
        release_ms: i64,
        app_id: &str,
        statuses: Vec<HonorReceiptStatus>,
    ) {
        // Every part of the sim shares one clock, so the first one set is the one.
        let _ = self.shared.clock.get_or_init(|| clock.clone());
        lock(&self.shared.held).extend(statuses.into_iter().map(|status| Held {
            release_ms,
            app_id: app_id.to_string(),
            status,
        }));
    }

    /// How many receipts are held.
    pub(crate) fn held_count(&self) -> usize {
        lock(&self.shared.held).len()
    }

    /// Removes the held receipts that are due on the sim clock, grouped per app in send
    /// order, with the reset generation they belong to.
    fn take_due(&self) -> (u64, Vec<(String, Vec<HonorReceiptStatus>)>) {
        let mut held = lock(&self.shared.held);
        // Read under the `held` lock: `clear` bumps the generation under it too, so these
        // entries and this generation belong together.
        let at = self.shared.generation.load(Ordering::Relaxed);
        let Some(now) = self.shared.clock.get().map(SimClock::now_ms) else {
            return (at, Vec::new());
        };
        let mut due: Vec<(String, Vec<HonorReceiptStatus>)> = Vec::new();
        let mut kept = Vec::with_capacity(held.len());
        for h in held.drain(..) {
            if h.release_ms > now {
                kept.push(h);
            } else if let Some((_, statuses)) = due.iter_mut().find(|(a, _)| *a == h.app_id) {
                statuses.push(h.status);
            } else {
                due.push((h.app_id, vec![h.status]));
            }
        }
        *held = kept;
        (at, due)
    }

    /// Forgets configurations, held receipts and the log; pending receipts are dropped.
    pub(crate) fn clear(&self) {
        {
            let mut held = lock(&self.shared.held);
            held.clear();
            self.shared.generation.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.shared.configs).clear();
        lock(&self.shared.sent).clear();
    }
}

/// Posts receipts in the background.
#[derive(Clone, Debug)]
pub(crate) struct Poster {
    callbacks: CallbackPoster,
}

impl Poster {
    /// A poster sending through the sim's callback poster.
    pub(crate) fn new(callbacks: CallbackPoster) -> Self {
        Poster { callbacks }
    }

    /// Schedules the receipts of one send for the app's receipt URL (if it has one), and
    /// starts releasing held receipts if the send left some.
    pub(crate) fn schedule(
        &self,
        hub: &ReceiptHub,
        app_id: &str,
        statuses: Vec<HonorReceiptStatus>,
    ) {
        self.watch_held(hub);
        let at = hub.shared.generation.load(Ordering::Relaxed);
        self.post_later(hub, at, app_id, statuses);
    }

    /// Posts `statuses` after the app's delay unless a reset after generation `at` came
    /// first.
    fn post_later(
        &self,
        hub: &ReceiptHub,
        at: u64,
        app_id: &str,
        statuses: Vec<HonorReceiptStatus>,
    ) {
        let Some(spec) = hub.config(app_id) else {
            return;
        };
        if statuses.is_empty() {
            return;
        }
        let client = self.callbacks.client().clone();
        let hub = hub.clone();
        self.callbacks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(spec.delay_ms)).await;
            let generation = &hub.shared.generation;
            for batch in statuses.chunks(BATCH) {
                for _ in 0..if spec.duplicate { 2 } else { 1 } {
                    if generation.load(Ordering::Relaxed) != at {
                        return;
                    }
                    let record = post(&client, &spec, batch.to_vec()).await;
                    if generation.load(Ordering::Relaxed) == at {
                        lock(&hub.shared.sent).push(record);
                    }
                }
            }
        });
    }

    /// Starts, once per hub, the task that posts held receipts when the sim clock passes
    /// their release time. It runs until shutdown; resets only empty the hold.
    fn watch_held(&self, hub: &ReceiptHub) {
        if hub.held_count() == 0 || hub.shared.watching.swap(true, Ordering::Relaxed) {
            return;
        }
        let poster = self.clone();
        let hub = hub.clone();
        self.callbacks.spawn(async move {
            loop {
                let (at, due) = hub.take_due();
                for (app_id, statuses) in due {
                    poster.post_later(&hub, at, &app_id, statuses);
                }
                tokio::time::sleep(HOLD_POLL).await;
            }
        });
    }
}

async fn post(
    client: &reqwest::Client,
    spec: &HonorCallbackSpec,
    statuses: Vec<HonorReceiptStatus>,
) -> HonorReceiptBatch {
    let body = serde_json::json!({ "statuses": statuses });
    let mut record = HonorReceiptBatch {
        app_id: spec.app_id.clone(),
        url: spec.url.clone(),
        statuses,
        attempts: 0,
        http_status: None,
        delivered: false,
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        record.attempts += 1;
        match client.post(&spec.url).json(&body).send().await {
            Ok(resp) => {
                record.http_status = Some(resp.status().as_u16());
                if resp.status().is_success() {
                    record.delivered = true;
                    break;
                }
            }
            Err(e) => {
                record.http_status = None;
                tracing::debug!(url = %spec.url, error = %e, "honor receipt callback failed");
            }
        }
    }
    record
}
