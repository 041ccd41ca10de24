//! Delivery receipts (oppo.md §7, §9.7): the events of a request are POSTed to each
//! message's `call_back_url` as a JSON array (`Content-Type: application/json`), at most
//! `batch_size` events per POST, after `delay_ms`, tried up to 3 times when the callback is
//! down; `duplicate` and `drop` inject failures. OPPO signs nothing.

use crate::callbacks::CallbackPoster;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::control::types::{OppoReceiptEvent, OppoReceiptPost, OppoReceiptSettings};
use crate::record::lock;

/// POST attempts per batch.
pub(crate) const ATTEMPTS: u32 = 3;

/// The log of posted batches.
#[derive(Debug, Default)]
pub(crate) struct ReceiptLog {
    sent: Arc<Mutex<Vec<OppoReceiptPost>>>,
    /// Bumped by `clear`, so receipts of before a reset are dropped.
    generation: Arc<AtomicU64>,
}

impl ReceiptLog {
    /// Posted (or attempted) batches, oldest first.
    pub(crate) fn sent(&self) -> Vec<OppoReceiptPost> {
        lock(&self.sent).clone()
    }

    /// Forgets the log; receipts still pending are dropped.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        lock(&self.sent).clear();
    }
}

/// Posts receipts in the background.
#[derive(Clone, Debug)]
pub(crate) struct OppoReceiptSender {
    poster: CallbackPoster,
}

impl OppoReceiptSender {
    /// A sender posting through the sim's callback poster.
    pub(crate) fn new(poster: CallbackPoster) -> Self {
        OppoReceiptSender { poster }
    }

    /// Schedules the events of one request: grouped by URL, in batches.
    pub(crate) fn schedule(
        &self,
        log: &ReceiptLog,
        settings: OppoReceiptSettings,
        events: Vec<(String, OppoReceiptEvent)>,
    ) {
        if events.is_empty() {
            return;
        }
        let mut by_url: Vec<(String, Vec<OppoReceiptEvent>)> = Vec::new();
        for (url, event) in events {
            match by_url.iter_mut().find(|(u, _)| *u == url) {
                Some((_, list)) => list.push(event),
                None => by_url.push((url, vec![event])),
            }
        }
        let this = self.clone();
        let sent = log.sent.clone();
        let generation = log.generation.clone();
        let at_start = generation.load(Ordering::Relaxed);
        self.poster.spawn(async move {
            tokio::time::sleep(Duration::from_millis(settings.delay_ms)).await;
            for (url, list) in by_url {
                for batch in list.chunks(settings.batch_size.max(1)) {
                    let times = if settings.duplicate { 2 } else { 1 };
                    for _ in 0..times {
                        if generation.load(Ordering::Relaxed) != at_start {
                            return;
                        }
                        let record = if settings.drop {
                            OppoReceiptPost {
                                url: url.clone(),
                                events: batch.to_vec(),
                                attempts: 0,
                                http_status: None,
                                delivered: false,
                            }
                        } else {
                            this.post(&url, batch.to_vec()).await
                        };
                        if generation.load(Ordering::Relaxed) == at_start {
                            lock(&sent).push(record);
                        }
                    }
                }
            }
        });
    }

    async fn post(&self, url: &str, events: Vec<OppoReceiptEvent>) -> OppoReceiptPost {
        let mut record = OppoReceiptPost {
            url: url.to_string(),
            events,
            attempts: 0,
            http_status: None,
            delivered: false,
        };
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            record.attempts += 1;
            match self
                .poster
                .client()
                .post(url)
                .json(&record.events)
                .send()
                .await
            {
                Ok(resp) => {
                    record.http_status = Some(resp.status().as_u16());
                    if resp.status().is_success() {
                        record.delivered = true;
                        break;
                    }
                }
                Err(e) => {
                    record.http_status = None;
                    tracing::debug!(%url, error = %e, "oppo receipt callback failed");
                }
            }
        }
        record
    }
}
