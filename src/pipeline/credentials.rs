//! The active credential of an (app, channel), opened from the vault and cached briefly, so
//! every instance picks up a new version within seconds without reading the store per send.

use crate::vault::Vault;
use push_core::adapter::CredentialRef;
use push_core::{Channel, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// How long an opened credential is reused before the store is asked again.
pub const CREDENTIAL_REFRESH: Duration = Duration::from_secs(3);

/// Why no credential could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The app has no active credential for the channel.
    #[error("no active {0} credential")]
    Missing(Channel),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed secret could not be opened (wrong master key, tampering).
    #[error("the {0} credential cannot be opened: {1}")]
    Sealed(Channel, String),
}

/// An opened credential and when it was read from the store.
type Entry = (Instant, Arc<CredentialRef>);

/// Opened credentials by (app, channel).
pub struct CredentialCache {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    entries: Mutex<HashMap<(String, Channel), Entry>>,
    refresh: Duration,
}

impl CredentialCache {
    /// A cache reading from `store` and opening with `vault`.
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>) -> Self {
        Self {
            store,
            vault,
            entries: Mutex::new(HashMap::new()),
            refresh: CREDENTIAL_REFRESH,
        }
    }

    /// The active credential, from the cache when it is younger than the refresh interval.
    pub async fn active(
        &self,
        app: &str,
        channel: Channel,
    ) -> Result<Arc<CredentialRef>, CredentialError> {
        let key = (app.to_string(), channel);
        if let Some((at, cred)) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < self.refresh
        {
            return Ok(Arc::clone(cred));
        }
        let stored = self
            .store
            .active_credential(app, channel)
            .await?
            .ok_or(CredentialError::Missing(channel))?;
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        // Same version as before: keep the opened one (adapters key their caches by its id).
        let cred = match cached {
            Some((_, cred)) if cred.id == stored.meta.id => cred,
            _ => {
                let secret = self
                    .vault
                    .open(stored.meta.id, app, channel, &stored.sealed)
                    .map_err(|e| CredentialError::Sealed(channel, e.to_string()))?;
                Arc::new(CredentialRef {
                    id: stored.meta.id,
                    version: stored.meta.version,
                    secret: Arc::new(secret),
                })
            }
        };
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (Instant::now(), Arc::clone(&cred)));
        Ok(cred)
    }
}
