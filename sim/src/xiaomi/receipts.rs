//! Delivery receipts (xiaomi.md §7, §9.7): receipt URLs registered per app (the console's
//! default), and the batching poster: receipts are collected for `batch_ms` (about a second,
//! like Xiaomi) and posted as `application/x-www-form-urlencoded` with one field, `data`,
//! holding a JSON object keyed by message id — one POST per callback URL, a message id at
//! most once per POST (a second receipt of the same message goes into the next POST).
//!
//! The poster runs on the sim's callback poster (tracked, stopped at shutdown); a `reset`
//! drops receipts still pending.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::callbacks::CallbackPoster;
use crate::control::types::{
    ControlError, XiaomiCallbackSpec, XiaomiReceiptPost, XiaomiReceiptSettings,
};
use crate::record::lock;

/// Most messages per POST.
pub(crate) const MAX_PER_POST: usize = 100;
/// POST attempts per batch.
pub(crate) const ATTEMPTS: u32 = 3;

/// One receipt waiting to be posted.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pending {
    /// Where.
    pub url: String,
    /// The message id (the key in `data`).
    pub message_id: String,
    /// The receipt object.
    pub entry: Value,
}

#[derive(Debug, Default)]
struct Inner {
    pending: Mutex<Vec<(u64, Pending)>>,
    flushing: AtomicBool,
    sent: Mutex<Vec<XiaomiReceiptPost>>,
    generation: AtomicU64,
    settings: Mutex<XiaomiReceiptSettings>,
}

/// Registered receipt URLs, pending receipts and the log of posts.
#[derive(Debug, Default)]
pub(crate) struct ReceiptHub {
    callbacks: Mutex<HashMap<String, String>>,
    inner: Arc<Inner>,
}

impl ReceiptHub {
    /// Registers (or replaces) an app's receipt URL.
    pub(crate) fn add(&self, spec: &XiaomiCallbackSpec) -> Result<(), ControlError> {
        let url = url::Url::parse(&spec.url).map_err(|e| ControlError::new(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ControlError::new("url must be http or https"));
        }
        if spec.app_id.is_empty() {
            return Err(ControlError::new("app_id must not be empty"));
        }
        lock(&self.callbacks).insert(spec.app_id.clone(), spec.url.clone());
        Ok(())
    }

    /// Removes an app's receipt URL; whether it had one.
    pub(crate) fn remove(&self, app_id: &str) -> bool {
        lock(&self.callbacks).remove(app_id).is_some()
    }

    /// The app's registered receipt URL.
    pub(crate) fn callback_of(&self, app_id: &str) -> Option<String> {
        lock(&self.callbacks).get(app_id).cloned()
    }

    /// Receipt timing.
    pub(crate) fn settings(&self) -> XiaomiReceiptSettings {
        *lock(&self.inner.settings)
    }

    /// Changes receipt timing.
    pub(crate) fn set_settings(&self, s: XiaomiReceiptSettings) {
        *lock(&self.inner.settings) = s;
    }

    /// The posts made (or attempted) so far, oldest first.
    pub(crate) fn sent(&self) -> Vec<XiaomiReceiptPost> {
        lock(&self.inner.sent).clone()
    }

    /// Forgets URLs, pending receipts and the log; restores the timing.
    pub(crate) fn clear(&self) {
        self.inner.generation.fetch_add(1, Ordering::Relaxed);
        lock(&self.callbacks).clear();
        lock(&self.inner.pending).clear();
        lock(&self.inner.sent).clear();
        *lock(&self.inner.settings) = XiaomiReceiptSettings::default();
    }

    /// Queues receipts; a flush is scheduled `batch_ms` after the first of a batch.
    pub(crate) fn schedule(&self, callbacks: &CallbackPoster, receipts: Vec<Pending>) {
        if receipts.is_empty() {
            return;
        }
        let generation = self.inner.generation.load(Ordering::Relaxed);
        lock(&self.inner.pending).extend(receipts.into_iter().map(|p| (generation, p)));
        if self.inner.flushing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        let client = callbacks.client().clone();
        callbacks.spawn(async move {
            let batch_ms = lock(&inner.settings).batch_ms;
            tokio::time::sleep(Duration::from_millis(batch_ms)).await;
            inner.flushing.store(false, Ordering::Release);
            let now_generation = inner.generation.load(Ordering::Relaxed);
            let pending: Vec<Pending> = std::mem::take(&mut *lock(&inner.pending))
                .into_iter()
                .filter(|(g, _)| *g == now_generation)
                .map(|(_, p)| p)
                .collect();
            for (url, data) in posts(pending) {
                let record = post(&client, &url, data).await;
                if inner.generation.load(Ordering::Relaxed) == now_generation {
                    lock(&inner.sent).push(record);
                }
            }
        });
    }
}

/// Groups receipts into POSTs: per URL (first-seen order), each message id at most once and
/// at most [`MAX_PER_POST`] messages per POST.
pub(crate) fn posts(pending: Vec<Pending>) -> Vec<(String, Map<String, Value>)> {
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    for p in pending {
        let slot = out.iter_mut().find(|(url, data)| {
            *url == p.url && !data.contains_key(&p.message_id) && data.len() < MAX_PER_POST
        });
        match slot {
            Some((_, data)) => {
                data.insert(p.message_id, p.entry);
            }
            None => {
                let mut data = Map::new();
                data.insert(p.message_id, p.entry);
                out.push((p.url, data));
            }
        }
    }
    out
}

async fn post(client: &reqwest::Client, url: &str, data: Map<String, Value>) -> XiaomiReceiptPost {
    let text = Value::Object(data.clone()).to_string();
    let mut record = XiaomiReceiptPost {
        url: url.to_string(),
        data: Value::Object(data),
        attempts: 0,
        http_status: None,
        delivered: false,
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        record.attempts += 1;
        match client
            .post(url)
            .form(&[("data", text.as_str())])
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
                tracing::debug!(%url, error = %e, "xiaomi receipt callback failed");
            }
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(url: &str, id: &str, kind: u32) -> Pending {
        Pending {
            url: url.into(),
            message_id: id.into(),
            entry: json!({ "type": kind }),
        }
    }

    #[test]
    fn posts_group_per_url_with_each_message_once() {
        let out = posts(vec![
            p("http://a", "m1", 1),
            p("http://b", "m1", 1),
            p("http://a", "m2", 1),
            p("http://a", "m1", 2),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].0, "http://a");
        assert_eq!(out[0].1.len(), 2);
        assert_eq!(out[1].0, "http://b");
        assert_eq!(out[2].0, "http://a");
        assert_eq!(out[2].1["m1"]["type"], 2);
    }
}
