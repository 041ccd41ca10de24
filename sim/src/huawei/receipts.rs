//! Delivery receipts (huawei.md §8, §9.7): receipt configurations per app, and the task that
//! posts `{"statuses": [...]}` batches (≤ 100) to the callback URL, signed with
//! `X-HUAWEI-CALLBACK-ID`, retried a few times when the callback is down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use crate::callbacks::CallbackPoster;
use crate::clock::SimClock;
use crate::control::types::{
    ControlError, HuaweiCallbackSpec, HuaweiReceiptBatch, HuaweiReceiptStatus,
};
use crate::record::lock;

/// Entries per POST.
pub(crate) const BATCH: usize = 100;
/// POST attempts per batch (one try and three retries).
pub(crate) const ATTEMPTS: u32 = 4;

/// Receipt configurations and the log of posted batches.
#[derive(Debug, Default)]
pub(crate) struct ReceiptHub {
    configs: Mutex<Vec<HuaweiCallbackSpec>>,
    sent: Arc<Mutex<Vec<HuaweiReceiptBatch>>>,
    /// Bumped by `clear`, so receipts of before a reset are dropped.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl ReceiptHub {
    /// Adds or replaces the configuration of (`app_id`, `receipt_id`).
    pub(crate) fn add(&self, spec: &HuaweiCallbackSpec) -> Result<(), ControlError> {
        let url = url::Url::parse(&spec.url).map_err(|e| ControlError::new(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ControlError::new("url must be http or https"));
        }
        if spec.app_id.is_empty() {
            return Err(ControlError::new("app_id must not be empty"));
        }
        let mut configs = lock(&self.configs);
        configs.retain(|c| !(c.app_id == spec.app_id && c.receipt_id == spec.receipt_id));
        configs.push(spec.clone());
        Ok(())
    }

    /// Removes every configuration of `app_id`; returns how many there were.
    pub(crate) fn remove(&self, app_id: &str) -> usize {
        let mut configs = lock(&self.configs);
        let before = configs.len();
        configs.retain(|c| c.app_id != app_id);
        before - configs.len()
    }

    /// The configuration a message of `app_id` with `receipt_id` uses: the one with that
    /// receipt ID, or the app's default one for a message without `receipt_id`.
    pub(crate) fn config(
        &self,
        app_id: &str,
        receipt_id: Option<&str>,
    ) -> Option<HuaweiCallbackSpec> {
        lock(&self.configs)
            .iter()
            .find(|c| c.app_id == app_id && c.receipt_id.as_deref() == receipt_id)
            .cloned()
    }

    /// Posted (or attempted) batches, oldest first.
    pub(crate) fn sent(&self) -> Vec<HuaweiReceiptBatch> {
        lock(&self.sent).clone()
    }

    /// Forgets configurations and the log; receipts still pending are dropped.
    pub(crate) fn clear(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&self.configs).clear();
        lock(&self.sent).clear();
    }
}

/// Posts receipts in the background.
#[derive(Clone, Debug)]
pub(crate) struct ReceiptSender {
    poster: CallbackPoster,
    clock: SimClock,
}

impl ReceiptSender {
    /// A sender posting through the sim's callback poster, signing with `clock`'s time.
    pub(crate) fn new(poster: CallbackPoster, clock: SimClock) -> Self {
        ReceiptSender { poster, clock }
    }

    /// Schedules the receipts of one send for `spec`'s callback.
    pub(crate) fn schedule(
        &self,
        hub: &ReceiptHub,
        spec: HuaweiCallbackSpec,
        statuses: Vec<HuaweiReceiptStatus>,
    ) {
        if statuses.is_empty() {
            return;
        }
        let mut batches: Vec<Vec<HuaweiReceiptStatus>> =
            statuses.chunks(BATCH).map(<[_]>::to_vec).collect();
        if spec.reverse_order {
            batches.reverse();
        }
        let this = self.clone();
        let log = hub.sent.clone();
        let generation = hub.generation.clone();
        let gen_now = generation.load(std::sync::atomic::Ordering::Relaxed);
        self.poster.spawn(async move {
            tokio::time::sleep(Duration::from_millis(spec.delay_ms)).await;
            for batch in batches {
                for _ in 0..if spec.duplicate { 2 } else { 1 } {
                    if generation.load(std::sync::atomic::Ordering::Relaxed) != gen_now {
                        return;
                    }
                    let record = this.post(&spec, batch.clone()).await;
                    if generation.load(std::sync::atomic::Ordering::Relaxed) == gen_now {
                        lock(&log).push(record);
                    }
                }
            }
        });
    }

    async fn post(
        &self,
        spec: &HuaweiCallbackSpec,
        statuses: Vec<HuaweiReceiptStatus>,
    ) -> HuaweiReceiptBatch {
        let body = serde_json::json!({ "statuses": statuses });
        let mut record = HuaweiReceiptBatch {
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
            let mut req = self.poster.client().post(&spec.url).json(&body);
            if let Some(key) = &spec.secret_key {
                let header = callback_id(
                    key,
                    self.clock.now_ms(),
                    &uuid::Uuid::new_v4().simple().to_string(),
                    spec.username.as_deref().unwrap_or_default(),
                );
                req = req.header("X-HUAWEI-CALLBACK-ID", header);
            }
            match req.send().await {
                Ok(resp) => {
                    record.http_status = Some(resp.status().as_u16());
                    if resp.status().is_success() {
                        record.delivered = true;
                        break;
                    }
                }
                Err(e) => {
                    record.http_status = None;
                    tracing::debug!(url = %spec.url, error = %e, "receipt callback failed");
                }
            }
        }
        record
    }
}

/// The `X-HUAWEI-CALLBACK-ID` value:
/// `timestamp=<ms>;nonce=<nonce>;value=<Base64(HMAC-SHA256(key, timestamp + nonce + username))>`.
pub(crate) fn callback_id(key: &str, timestamp_ms: i64, nonce: &str, username: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    let data = format!("{timestamp_ms}{nonce}{username}");
    let tag = aws_lc_rs::hmac::sign(&key, data.as_bytes());
    let value = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    format!("timestamp={timestamp_ms};nonce={nonce};value={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_id_is_hmac_of_timestamp_nonce_username() {
        let h = callback_id("k", 1700000000000, "abc123", "user");
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"k");
        let tag = aws_lc_rs::hmac::sign(&key, b"1700000000000abc123user");
        let want = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
        assert_eq!(
            h,
            format!("timestamp=1700000000000;nonce=abc123;value={want}")
        );
    }
}
