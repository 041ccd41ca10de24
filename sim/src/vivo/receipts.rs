//! Delivery receipts (vivo.md §7, §9.6): receipt configurations per (app, receipt id), and the
//! poster that POSTs `{taskId: {targets, ackTime, param, ackType, subAckType}, ...}` to the
//! configured URL (`callback.id`) or the message's own `callback` URL, after the configured
//! delay, retried a few times when the callback is down.
//!
//! Batching: receipts to the same (app, URL, settings) falling due within the configuration's
//! collect window of the first are posted together, packed into POSTs of at most
//! `batch_size` regIds with each taskId once per POST (an object cannot repeat a key), so
//! receipts of several sends share a POST the way §7's map keyed by taskId allows.
//!
//! The poster has its own HTTP client and runs on spawned tasks (the vivo endpoint is built
//! from the shared state only); a reset drops receipts still pending.

use crate::callbacks::CallbackPoster;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::control::types::{ControlError, VivoReceiptConfig, VivoReceiptEntry, VivoReceiptPost};
use crate::record::lock;

/// POST attempts per receipt (one try and three retries).
pub(crate) const ATTEMPTS: u32 = 4;

/// How the receipts of one configuration are posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PostSettings {
    /// Where.
    pub url: String,
    /// Delay before posting, ms.
    pub delay_ms: u64,
    /// Post every POST twice.
    pub duplicate: bool,
    /// Most regIds per POST (at least 1).
    pub batch_size: usize,
    /// Collect window, ms.
    pub collect_ms: u64,
}

impl PostSettings {
    /// The settings of a console configuration.
    pub(crate) fn of(config: &VivoReceiptConfig) -> Self {
        PostSettings {
            url: config.url.clone(),
            delay_ms: config.delay_ms,
            duplicate: config.duplicate,
            batch_size: config.batch_size.max(1),
            collect_ms: config.collect_ms,
        }
    }

    /// The defaults of a configuration, for an old-style URL no configuration names.
    pub(crate) fn defaults(url: &str) -> Self {
        PostSettings::of(&VivoReceiptConfig {
            url: url.to_string(),
            ..VivoReceiptConfig::default()
        })
    }
}

/// One receipt entry to post.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The app.
    pub app_id: String,
    /// Where and how.
    pub settings: PostSettings,
    /// The key of the entry in the posted object.
    pub task_id: String,
    /// The entry (at most `batch_size` targets).
    pub entry: VivoReceiptEntry,
}

impl Planned {
    fn targets(&self) -> usize {
        self.entry
            .targets
            .split(',')
            .filter(|t| !t.is_empty())
            .count()
    }
}

/// Receipts waiting for their collect window to close.
#[derive(Debug)]
struct Batch {
    id: u64,
    app_id: String,
    settings: PostSettings,
    /// When the first entry fell due.
    opens: Instant,
    /// When the batch is posted.
    closes: Instant,
    entries: Vec<Planned>,
}

/// Receipt configurations and the log of posted receipts.
#[derive(Debug, Default)]
pub(crate) struct ReceiptHub {
    configs: Mutex<Vec<VivoReceiptConfig>>,
    sent: Arc<Mutex<Vec<VivoReceiptPost>>>,
    pending: Arc<Mutex<Vec<Batch>>>,
    next_id: Arc<AtomicU64>,
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
        if spec.batch_size == 0 {
            return Err(ControlError::new("batch_size must be at least 1"));
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

    /// The configuration of `app_id` naming exactly `url`, which old-style (`callback` URL)
    /// receipts to that URL follow.
    pub(crate) fn config_for_url(&self, app_id: &str, url: &str) -> Option<VivoReceiptConfig> {
        lock(&self.configs)
            .iter()
            .find(|c| c.app_id == app_id && c.url == url)
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
        lock(&self.pending).clear();
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

    /// Schedules the receipts of one send: each joins a batch of the same app and settings
    /// whose collect window covers when it falls due, or opens one.
    pub(crate) fn schedule(&self, hub: &ReceiptHub, planned: Vec<Planned>) {
        let now = Instant::now();
        for p in planned {
            let due = now + Duration::from_millis(p.settings.delay_ms);
            let mut pending = lock(&hub.pending);
            if let Some(batch) = pending.iter_mut().find(|b| {
                b.app_id == p.app_id
                    && b.settings == p.settings
                    && b.opens <= due
                    && due <= b.closes
            }) {
                batch.entries.push(p);
                continue;
            }
            let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
            let closes = due + Duration::from_millis(p.settings.collect_ms);
            pending.push(Batch {
                id,
                app_id: p.app_id.clone(),
                settings: p.settings.clone(),
                opens: due,
                closes,
                entries: vec![p],
            });
            drop(pending);
            self.flush_at(hub, id, closes);
        }
    }

    /// Posts batch `id` when its window closes.
    fn flush_at(&self, hub: &ReceiptHub, id: u64, closes: Instant) {
        let client = self.callbacks.client().clone();
        let log = hub.sent.clone();
        let pending = hub.pending.clone();
        let next_id = hub.next_id.clone();
        let generation = hub.generation.clone();
        let at = generation.load(Ordering::Relaxed);
        self.callbacks.spawn(async move {
            tokio::time::sleep_until(closes).await;
            let batch = {
                let mut pending = lock(&pending);
                let Some(i) = pending.iter().position(|b| b.id == id) else {
                    // Dropped by a reset.
                    return;
                };
                pending.swap_remove(i)
            };
            let copies = if batch.settings.duplicate { 2 } else { 1 };
            for post_entries in pack(batch.entries, batch.settings.batch_size) {
                for _ in 0..copies {
                    if generation.load(Ordering::Relaxed) != at {
                        return;
                    }
                    let post_id = next_id.fetch_add(1, Ordering::Relaxed);
                    let records = post(&client, &batch.settings.url, &post_entries, post_id).await;
                    if generation.load(Ordering::Relaxed) == at {
                        lock(&log).extend(records);
                    }
                }
            }
        });
    }
}

/// Packs entries into POSTs of at most `batch_size` regIds, each taskId once per POST (first
/// fit, keeping the entries' order within a POST).
fn pack(entries: Vec<Planned>, batch_size: usize) -> Vec<Vec<Planned>> {
    let mut posts: Vec<(usize, Vec<Planned>)> = Vec::new();
    for p in entries {
        let n = p.targets();
        let fits = |(total, ps): &&mut (usize, Vec<Planned>)| {
            *total + n <= batch_size && !ps.iter().any(|q| q.task_id == p.task_id)
        };
        match posts.iter_mut().find(fits) {
            Some((total, ps)) => {
                *total += n;
                ps.push(p);
            }
            None => posts.push((n, vec![p])),
        }
    }
    posts.into_iter().map(|(_, ps)| ps).collect()
}

/// Makes one POST of `entries` (retried), one record per entry.
async fn post(
    client: &reqwest::Client,
    url: &str,
    entries: &[Planned],
    post_id: u64,
) -> Vec<VivoReceiptPost> {
    let mut body = Map::new();
    for p in entries {
        body.insert(
            p.task_id.clone(),
            serde_json::to_value(&p.entry).unwrap_or(Value::Null),
        );
    }
    let mut attempts = 0;
    let mut http_status = None;
    let mut delivered = false;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        attempts += 1;
        match client.post(url).json(&body).send().await {
            Ok(resp) => {
                http_status = Some(resp.status().as_u16());
                if resp.status().is_success() {
                    delivered = true;
                    break;
                }
            }
            Err(e) => {
                http_status = None;
                tracing::debug!(url = %url, error = %e, "vivo receipt callback failed");
            }
        }
    }
    entries
        .iter()
        .map(|p| VivoReceiptPost {
            post_id,
            app_id: p.app_id.clone(),
            url: url.to_string(),
            task_id: p.task_id.clone(),
            entry: p.entry.clone(),
            attempts,
            http_status,
            delivered,
        })
        .collect()
}
