//! The active credential of an (app, channel), opened from the vault and cached briefly, so
//! every instance picks up a new or restored version within seconds without reading the
//! store per send.
//!
//! Beside that, the cache is where the send path reports on credentials:
//! - [`CredentialCache::report`]: the vendor's verdict on a version's auth, persisted
//!   (throttled) as the version's health;
//! - [`CredentialCache::fallback_for`] / [`CredentialCache::confirm_fallback`]: when the
//!   vendor refuses the active version even after a refresh, the previously active healthy
//!   version is tried; if it works, it becomes active again (in the store, so every instance
//!   follows), the refused one is marked unhealthy, and a `<app>.credential` event is raised.
//!
//! An active certificate past its `not_after` is not handed out: [`CredentialError::Expired`]
//! says when it expired, and the worker fails the deliveries with that reason.

use crate::credentials::event::{self, CredentialEvent, CredentialEventKind, vendor_name};
use crate::credentials::health::HealthRecorder;
use crate::vault::Vault;
use push_core::adapter::{CredentialRef, Outcome};
use push_core::queue::Queue;
use push_core::store::{CredentialAction, CredentialAuditEntry, StoredCredential};
use push_core::{App, Channel, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

/// How long an opened credential is reused before the store is asked again.
pub const CREDENTIAL_REFRESH: Duration = Duration::from_secs(3);
/// How long after a fallback attempt for a refused version no other attempt is made (when
/// the older version failed too, or there was none).
pub const FALLBACK_RETRY: Duration = Duration::from_secs(10);

/// Why no credential could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The app has no active credential for the channel.
    #[error("no active {0} credential")]
    Missing(Channel),
    /// The active credential is a certificate past its expiry.
    #[error("the {} certificate expired on {}; upload a new one", vendor_name(*.0), .1.date())]
    Expired(Channel, OffsetDateTime),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed secret could not be opened (wrong master key, tampering).
    #[error("the {0} credential cannot be opened: {1}")]
    Sealed(Channel, String),
}

/// An opened credential, its expiry, and when it was read from the store.
#[derive(Clone)]
struct Entry {
    read_at: Instant,
    credential: Arc<CredentialRef>,
    not_after: Option<OffsetDateTime>,
}

/// Opened credentials by (app, channel).
pub struct CredentialCache {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    events: Option<Arc<dyn Queue>>,
    health: HealthRecorder,
    entries: Mutex<HashMap<(String, Channel), Entry>>,
    /// Refused versions whose fallback was tried recently.
    fallback_tried: Mutex<HashMap<Uuid, Instant>>,
    refresh: Duration,
}

impl CredentialCache {
    /// A cache reading from `store` and opening with `vault`.
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>) -> Self {
        Self {
            health: HealthRecorder::new(Arc::clone(&store)),
            store,
            vault,
            events: None,
            entries: Mutex::new(HashMap::new()),
            fallback_tried: Mutex::new(HashMap::new()),
            refresh: CREDENTIAL_REFRESH,
        }
    }

    /// Raises `<app>.credential` events (fallbacks) through `queue`.
    pub fn with_events(mut self, queue: Arc<dyn Queue>) -> Self {
        self.events = Some(queue);
        self
    }

    fn cached(&self, key: &(String, Channel)) -> Option<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// The active credential, from the cache when it is younger than the refresh interval.
    pub async fn active(
        &self,
        app: &str,
        channel: Channel,
    ) -> Result<Arc<CredentialRef>, CredentialError> {
        let key = (app.to_string(), channel);
        let entry = match self.cached(&key) {
            Some(entry) if entry.read_at.elapsed() < self.refresh => entry,
            cached => {
                let stored = self
                    .store
                    .active_credential(app, channel)
                    .await?
                    .ok_or(CredentialError::Missing(channel))?;
                let entry = match cached {
                    // Same version as before: keep the opened one (adapters key their caches
                    // by its id).
                    Some(entry) if entry.credential.id == stored.meta.id => Entry {
                        read_at: Instant::now(),
                        ..entry
                    },
                    _ => self.open(app, channel, &stored)?,
                };
                self.entries
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, entry.clone());
                entry
            }
        };
        match entry.not_after {
            Some(at) if at <= OffsetDateTime::now_utc() => {
                Err(CredentialError::Expired(channel, at))
            }
            _ => Ok(entry.credential),
        }
    }

    fn open(
        &self,
        app: &str,
        channel: Channel,
        stored: &StoredCredential,
    ) -> Result<Entry, CredentialError> {
        let secret = self
            .vault
            .open(stored.meta.id, app, channel, &stored.sealed)
            .map_err(|e| CredentialError::Sealed(channel, e.to_string()))?;
        Ok(Entry {
            read_at: Instant::now(),
            credential: Arc::new(CredentialRef {
                id: stored.meta.id,
                version: stored.meta.version,
                secret: Arc::new(secret),
            }),
            not_after: stored.meta.not_after,
        })
    }

    /// Notes the vendor's verdict on a version's auth: `Ok` when a send was not refused for
    /// auth, `Err(reason)` when it was refused even after a refresh. Persisted throttled.
    pub fn report(&self, credential: &CredentialRef, verdict: Result<(), &str>) {
        self.health.record(credential.id, verdict);
    }

    /// The version to try when `refused` (the active version) was refused after a refresh:
    /// the most recently active healthy, unexpired older version, opened. `None` when there
    /// is none, or a fallback from `refused` was tried within [`FALLBACK_RETRY`].
    pub async fn fallback_for(
        &self,
        app: &str,
        channel: Channel,
        refused: &CredentialRef,
    ) -> Option<Arc<CredentialRef>> {
        {
            let mut tried = self
                .fallback_tried
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            tried.retain(|_, at| at.elapsed() < FALLBACK_RETRY);
            if tried.contains_key(&refused.id) {
                return None;
            }
            tried.insert(refused.id, Instant::now());
        }
        let stored = match self
            .store
            .fallback_candidate(app, channel, refused.id)
            .await
        {
            Ok(Some(stored)) => stored,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, app, vendor = %channel, "no fallback credential: store failed");
                return None;
            }
        };
        if stored
            .meta
            .not_after
            .is_some_and(|at| at <= OffsetDateTime::now_utc())
        {
            return None;
        }
        match self.open(app, channel, &stored) {
            Ok(entry) => Some(entry.credential),
            Err(error) => {
                tracing::warn!(%error, app, vendor = %channel, "fallback credential cannot be opened");
                None
            }
        }
    }

    /// Makes `previous` (which just worked) active instead of `refused` (which the vendor
    /// refused), for every instance: marks `refused` unhealthy with `reason`, writes the
    /// audit log and raises a `<app>.credential` event — once, by whichever instance makes
    /// the switch.
    pub async fn confirm_fallback(
        &self,
        app: &App,
        channel: Channel,
        refused: &CredentialRef,
        previous: &Arc<CredentialRef>,
        reason: &str,
    ) {
        let now = OffsetDateTime::now_utc();
        let unhealthy = format!("refused by the vendor: {reason}");
        let switched = match self
            .store
            .fall_back_credential(refused.id, previous.id, &unhealthy, now)
            .await
        {
            Ok(switched) => switched,
            Err(error) => {
                tracing::error!(%error, app = %app.id, vendor = %channel, "fallback not recorded");
                false
            }
        };
        let key = (app.id.clone(), channel);
        {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if switched {
                // Its expiry (in the future: expired versions are no candidates) is read
                // with the next refresh.
                entries.insert(
                    key,
                    Entry {
                        read_at: Instant::now(),
                        credential: Arc::clone(previous),
                        not_after: None,
                    },
                );
            } else {
                // Someone else switched (or changed the active version): read it afresh.
                entries.remove(&key);
            }
        }
        if !switched {
            return;
        }
        tracing::error!(app = %app.id, vendor = %channel, refused_version = refused.version,
            version = previous.version, %reason,
            "vendor refused the active credential; fell back to the previous version");
        let audit = CredentialAuditEntry {
            id: Uuid::now_v7(),
            tenant_id: app.tenant_id,
            api_key_id: None,
            app_id: app.id.clone(),
            channel,
            version: previous.version,
            action: CredentialAction::Fallback,
            at: now,
        };
        if let Err(error) = self.store.insert_credential_audit(&audit).await {
            tracing::error!(%error, app = %app.id, "credential audit entry not written");
        }
        if let Some(queue) = &self.events {
            let event = CredentialEvent {
                app: app.id.clone(),
                vendor: channel,
                kind: CredentialEventKind::Fallback,
                version: refused.version,
                fallback_version: Some(previous.version),
                not_after: None,
                threshold_days: None,
                reason: format!(
                    "{} refused version {} ({reason}); version {} is active again",
                    vendor_name(channel),
                    refused.version,
                    previous.version
                ),
                at: now,
            };
            event::publish(queue.as_ref(), &event).await;
        }
    }
}

/// What a send's outcomes say about the credential: `Ok` when the vendor accepted its auth
/// for any target, else `Err(reason)` when it refused it, else nothing (only retries).
pub fn auth_verdict<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Option<Result<(), String>> {
    let mut refused = None;
    for outcome in outcomes {
        match outcome {
            Outcome::Accepted { .. } | Outcome::InvalidToken { .. } | Outcome::Rejected { .. } => {
                return Some(Ok(()));
            }
            Outcome::AuthFailed { reason } => refused = Some(reason.clone()),
            Outcome::Retry { .. } | Outcome::QuotaExhausted { .. } => {}
        }
    }
    refused.map(Err)
}
