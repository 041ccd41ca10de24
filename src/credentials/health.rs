//! The vendor's verdicts on each credential version's auth, gathered in memory and written
//! to the store at most once per [`HEALTH_WRITE_INTERVAL`] per version (sooner when the
//! verdict flips, but never more than once per [`HEALTH_MIN_INTERVAL`]), so a busy
//! credential does not cost a write per send. Writes run in the background.

use push_core::Store;
use push_core::store::AuthReport;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

/// Longest a verdict waits before it is written.
pub const HEALTH_WRITE_INTERVAL: Duration = Duration::from_secs(5);
/// Shortest gap between two writes of one version, even when the verdict flips.
pub const HEALTH_MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Pending {
    report: AuthReport,
    /// When this version was last written, and whether that write said "works".
    last_write: Option<(Instant, bool)>,
}

/// Verdicts not yet written, by credential version.
pub struct HealthRecorder {
    store: Arc<dyn Store>,
    pending: Mutex<HashMap<Uuid, Pending>>,
}

impl HealthRecorder {
    /// A recorder writing to `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Notes a verdict on version `id`: `Ok` when the vendor accepted its auth, `Err(reason)`
    /// when it refused it after a refresh.
    pub fn record(&self, id: Uuid, verdict: Result<(), &str>) {
        let now = OffsetDateTime::now_utc();
        let due = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = pending.entry(id).or_default();
            let works = verdict.is_ok();
            match verdict {
                Ok(()) => entry.report.success_at = Some(now),
                Err(reason) => entry.report.failure = Some((now, reason.to_string())),
            }
            let write = match entry.last_write {
                None => true,
                Some((at, wrote_works)) => {
                    let age = at.elapsed();
                    age >= HEALTH_WRITE_INTERVAL
                        || (wrote_works != works && age >= HEALTH_MIN_INTERVAL)
                }
            };
            if write {
                entry.last_write = Some((Instant::now(), works));
                Some(std::mem::take(&mut entry.report))
            } else {
                None
            }
        };
        if let Some(report) = due {
            let store = Arc::clone(&self.store);
            tokio::spawn(async move {
                if let Err(error) = store.record_credential_auth(id, &report).await {
                    tracing::warn!(%error, credential_id = %id, "credential health not recorded");
                }
            });
        }
    }
}
