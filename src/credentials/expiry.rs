//! The expiry monitor: a periodic task that looks at every active credential with an expiry
//! (APNs .p12 certificates) and
//! - sets the gauge `pushgate_credential_expiry_seconds{app,vendor}` (negative once expired);
//! - raises a warning when a certificate comes within 30, 7 and 1 days of its expiry, and
//!   when it has expired: a log line, and a `<app>.credential` event. Each threshold warns
//!   once per version across all instances (the store's compare-and-set decides who).
//!
//! Sends with an expired certificate are stopped by the credential cache, not here.

use super::event::{self, CredentialEvent, CredentialEventKind, vendor_name};
use push_core::queue::Queue;
use push_core::{CredentialMeta, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// The warning thresholds, in days before expiry, largest first.
pub const THRESHOLDS_DAYS: [i64; 3] = [30, 7, 1];
/// How often the monitor looks, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// One warning raised by [`ExpiryMonitor::check_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryWarning {
    /// The app.
    pub app: String,
    /// The credential version.
    pub version: i64,
    /// The threshold crossed: 30, 7, 1, or 0 once expired.
    pub threshold_days: i64,
}

/// Watches certificate expiry; see the module documentation.
pub struct ExpiryMonitor {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    interval: Duration,
}

impl ExpiryMonitor {
    /// A monitor looking every [`DEFAULT_INTERVAL`].
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>) -> Self {
        Self {
            store,
            queue,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// Looks every `interval` instead.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Checks now, then every interval, until `shutdown`. A failed check is logged and
    /// tried again at the next interval.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.check_once(OffsetDateTime::now_utc()).await {
                tracing::warn!(%error, "credential expiry check failed; trying again later");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One look at `now`: updates the gauges and raises the warnings due; answers the
    /// warnings this call raised.
    pub async fn check_once(&self, now: OffsetDateTime) -> Result<Vec<ExpiryWarning>, StoreError> {
        let mut raised = Vec::new();
        for meta in self.store.active_expiring_credentials().await? {
            let Some(not_after) = meta.not_after else {
                continue;
            };
            let left = (not_after - now).whole_seconds();
            metrics::gauge!("pushgate_credential_expiry_seconds",
                "app" => meta.app_id.clone(), "vendor" => meta.channel.as_str())
            .set(left as f64);
            let Some(threshold) = threshold(left) else {
                continue;
            };
            if self.store.mark_expiry_warned(meta.id, threshold).await? {
                self.warn(&meta, not_after, threshold, now).await;
                raised.push(ExpiryWarning {
                    app: meta.app_id.clone(),
                    version: meta.version,
                    threshold_days: threshold,
                });
            }
        }
        Ok(raised)
    }

    async fn warn(
        &self,
        meta: &CredentialMeta,
        not_after: OffsetDateTime,
        days: i64,
        now: OffsetDateTime,
    ) {
        let vendor = vendor_name(meta.channel);
        let (kind, reason) = if days == 0 {
            (
                CredentialEventKind::Expired,
                format!(
                    "the {vendor} certificate (version {}) expired on {}; sends stop until a new one is uploaded",
                    meta.version,
                    not_after.date()
                ),
            )
        } else {
            (
                CredentialEventKind::Expiring,
                format!(
                    "the {vendor} certificate (version {}) expires on {}, within {days} day{}; upload a new one",
                    meta.version,
                    not_after.date(),
                    if days == 1 { "" } else { "s" }
                ),
            )
        };
        tracing::warn!(app = %meta.app_id, vendor = %meta.channel, version = meta.version,
            threshold_days = days, not_after = %not_after, "{reason}");
        let event = CredentialEvent {
            app: meta.app_id.clone(),
            vendor: meta.channel,
            kind,
            version: meta.version,
            fallback_version: None,
            not_after: Some(not_after),
            threshold_days: Some(days),
            reason,
            at: now,
        };
        event::publish(self.queue.as_ref(), &event).await;
    }
}

/// The smallest threshold (days) that `seconds_left` is within: 0 when expired, `None` when
/// more than the largest threshold is left.
pub fn threshold(seconds_left: i64) -> Option<i64> {
    if seconds_left <= 0 {
        return Some(0);
    }
    THRESHOLDS_DAYS
        .iter()
        .rev()
        .copied()
        .find(|days| seconds_left <= days * 86_400)
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn thresholds_pick_the_smallest_window() {
        const DAY: i64 = 86_400;
        assert_eq!(threshold(31 * DAY), None);
        assert_eq!(threshold(30 * DAY), Some(30));
        assert_eq!(threshold(8 * DAY), Some(30));
        assert_eq!(threshold(7 * DAY), Some(7));
        assert_eq!(threshold(DAY + 1), Some(7));
        assert_eq!(threshold(DAY), Some(1));
        assert_eq!(threshold(1), Some(1));
        assert_eq!(threshold(0), Some(0));
        assert_eq!(threshold(-5), Some(0));
    }
}
