//! Delivery receipts (vivo.md §7, §9.6): receipt configurations per (app, receipt id), and the
//! poster that POSTs `{taskId: {targets, ackTime, param, ackType, subAckType}}` to the
//! configured URL (`callback.id`) or the message's own `callback` URL, after the configured
//! delay, retried a few times when the callback is down.
//!
//! The poster has its own HTTP client and runs on spawned tasks (the vivo endpoint is built
//! from the shared state only); a reset drops receipts still pending.

use crate::callbacks::CallbackPoster;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::control::types::{ControlError, VivoReceiptConfig, VivoReceiptEntry, VivoReceiptPost};
use crate::record::lock;

/// POST attempts per receipt (one try and three retries).
pub(crate) const ATTEMPTS: u32 = 4;

/// One receipt POST to make.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The app.
    pub app_id: String,
    /// Where.
    pub url: String,
    /// Delay before posting, ms.
    pub delay_ms: u64,
    /// Post it twice.
    pub duplicate: bool,
    /// The key of the posted object.
    pub task_id: String,
    /// The entry.
    pub entry: VivoReceiptEntry,
}

/// Receipt configurations and the log of posted receipts.
#[derive(Debug, Default)]
pub(crate) struct ReceiptHub {
    configs: Mutex<Vec<VivoReceiptConfig>>,
    sent: Arc<Mutex<Vec<VivoReceiptPost>>>,
    generation: Arc<AtomicU64>,
}

impl ReceiptHub {
    /// Adds or replaces the configuration of (`app_id`, `receipt_id`).
    pub(crate) fn add(&self, spec: &VivoReceiptConfig) -> Result<(), ControlError> {
        let url = url::Url::parse(&spec.url).map_err(|e| ControlError::new(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ControlError::new("url must be http or https"));
        }
        if spec.app_id.is_empty()
            || spec.receipt_id.is_empty()
            || !spec.receipt_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ControlError::new(
                "app_id must not be empty and receipt_id must be digits",
            ));
        }
        let mut configs = lock(&self.configs);
        configs.retain(|c| !(c.app_id == spec.app_id && c.receipt_id == spec.receipt_id));
        configs.push(spec.clone());
        Ok(())
    }

    /// The configuration of (`app_id`, `receipt_id`).
    pub(crate) fn config(&self, app_id: &str, receipt_id: &str) -> Option<VivoReceiptConfig> {
        lock(&self.configs)
            .iter()
            .find(|c| c.app_id == app_id && c.receipt_id == receipt_id)
            .cloned()
    }

    /// Posted (or attempted) receipts, oldest first.
    pub(crate) fn sent(&self) -> Vec<VivoReceiptPost> {
        lock(&self.sent).clone()
    }

    /// Forgets configurations and the log; receipts still pending are dropped.
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

    /// Schedules the receipts of one send.
    pub(crate) fn schedule(&self, hub: &ReceiptHub, planned: Vec<Planned>) {
        if planned.is_empty() {
            return;
        }
        let client = self.callbacks.client().clone();
        let log = hub.sent.clone();
        let generation = hub.generation.clone();
        let at = generation.load(Ordering::Relaxed);
        self.callbacks.spawn(async move {
            let delay = planned.iter().map(|p| p.delay_ms).max().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            for p in planned {
                for _ in 0..if p.duplicate { 2 } else { 1 } {
                    if generation.load(Ordering::Relaxed) != at {
                        return;
                    }
                    let record = post(&client, &p).await;
                    if generation.load(Ordering::Relaxed) == at {
                        lock(&log).push(record);
                    }
                }
            }
        });
    }
}

async fn post(client: &reqwest::Client, p: &Planned) -> VivoReceiptPost {
    let body = serde_json::json!({ p.task_id.clone(): p.entry });
    let mut record = VivoReceiptPost {
        app_id: p.app_id.clone(),
        url: p.url.clone(),
        task_id: p.task_id.clone(),
        entry: p.entry.clone(),
        attempts: 0,
        http_status: None,
        delivered: false,
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        record.attempts += 1;
        match client.post(&p.url).json(&body).send().await {
            Ok(resp) => {
                record.http_status = Some(resp.status().as_u16());
                if resp.status().is_success() {
                    record.delivered = true;
                    break;
                }
            }
            Err(e) => {
                record.http_status = None;
                tracing::debug!(url = %p.url, error = %e, "vivo receipt callback failed");
            }
        }
    }
    record
}
