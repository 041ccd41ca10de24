//! Delivery receipts (honor.md §7, §8.7): the receipt URL configured per app, and the poster
//! that POSTs `{"statuses": [...]}` batches (≤ 100) after the configured delay, retried a
//! few times when the callback is down. The poster has its own HTTP client and runs on
//! spawned tasks; a reset drops receipts still pending.

use crate::callbacks::CallbackPoster;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::control::types::{
    ControlError, HonorCallbackSpec, HonorReceiptBatch, HonorReceiptStatus,
};
use crate::record::lock;

/// Entries per POST.
pub(crate) const BATCH: usize = 100;
/// POST attempts per batch.
pub(crate) const ATTEMPTS: u32 = 4;

/// Receipt configurations and the log of posted batches.
#[derive(Debug, Default)]
pub(crate) struct ReceiptHub {
    configs: Mutex<Vec<HonorCallbackSpec>>,
    sent: Arc<Mutex<Vec<HonorReceiptBatch>>>,
    generation: Arc<AtomicU64>,
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
        let mut configs = lock(&self.configs);
        configs.retain(|c| c.app_id != spec.app_id);
        configs.push(spec.clone());
        Ok(())
    }

    /// The receipt URL of an app.
    pub(crate) fn config(&self, app_id: &str) -> Option<HonorCallbackSpec> {
        lock(&self.configs)
            .iter()
            .find(|c| c.app_id == app_id)
            .cloned()
    }

    /// Posted (or attempted) batches, oldest first.
    pub(crate) fn sent(&self) -> Vec<HonorReceiptBatch> {
        lock(&self.sent).clone()
    }

    /// Forgets configurations and the log; pending receipts are dropped.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        lock(&self.configs).clear();
        lock(&self.sent).clear();
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

    /// Schedules the receipts of one send for the app's receipt URL (if it has one).
    pub(crate) fn schedule(
        &self,
        hub: &ReceiptHub,
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
        let log = hub.sent.clone();
        let generation = hub.generation.clone();
        let at = generation.load(Ordering::Relaxed);
        self.callbacks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(spec.delay_ms)).await;
            for batch in statuses.chunks(BATCH) {
                for _ in 0..if spec.duplicate { 2 } else { 1 } {
                    if generation.load(Ordering::Relaxed) != at {
                        return;
                    }
                    let record = post(&client, &spec, batch.to_vec()).await;
                    if generation.load(Ordering::Relaxed) == at {
                        lock(&log).push(record);
                    }
                }
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
