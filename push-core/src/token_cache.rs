//! One generic cache for vendor auth tokens (APNs JWTs, OAuth access tokens, OPPO / vivo
//! auth tokens, WeChat access_tokens).
//!
//! Rules: a token is refreshed `margin` before it expires; under concurrency only one
//! refresh per key runs while the others wait for its result; readers of a fresh token never
//! wait; `invalidate` drops a token after the vendor refused it — unless it is younger than
//! `min_lifetime` (vendors such as APNs punish refreshing too often).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// A freshly fetched token and how long the vendor says it lives.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The token.
    pub value: T,
    /// Its lifetime from now.
    pub expires_in: Duration,
}

#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    fetched_at: Instant,
    refresh_at: Instant,
}

struct Slot<T> {
    current: RwLock<Option<Cached<T>>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }
}

/// Cached auth tokens by key (a credential id, or a (team, key id) pair).
pub struct TokenCache<K, T> {
    slots: Mutex<HashMap<K, Arc<Slot<T>>>>,
    margin: Duration,
    min_lifetime: Duration,
}

impl<K: Eq + Hash + Clone, T: Clone> TokenCache<K, T> {
    /// A cache refreshing tokens `margin` before they expire.
    pub fn new(margin: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            margin,
            min_lifetime: Duration::ZERO,
        }
    }

    /// Never drops a token younger than `min_lifetime` on [`TokenCache::invalidate`].
    pub fn with_min_lifetime(mut self, min_lifetime: Duration) -> Self {
        self.min_lifetime = min_lifetime;
        self
    }

    fn slot(&self, key: &K) -> Arc<Slot<T>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key.clone()).or_default())
    }

    fn fresh(slot: &Slot<T>) -> Option<T> {
        let current = slot.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.value.clone())
    }

    /// The cached token, or a new one from `fetch` when there is none or it is due for
    /// refresh. Concurrent callers for one key share a single `fetch`. A failed fetch is not
    /// cached: the next caller tries again.
    pub async fn get<F, Fut, E>(&self, key: &K, fetch: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched<T>, E>>,
    {
        let slot = self.slot(key);
        if let Some(value) = Self::fresh(&slot) {
            return Ok(value);
        }
        let _refreshing = slot.refreshing.lock().await;
        // Someone else may have refreshed while we waited.
        if let Some(value) = Self::fresh(&slot) {
            return Ok(value);
        }
        let fetched = fetch().await?;
        let now = Instant::now();
        // A token living shorter than the margin is refreshed halfway through its life.
        let lead = if fetched.expires_in > self.margin {
            self.margin
        } else {
            fetched.expires_in / 2
        };
        let cached = Cached {
            value: fetched.value.clone(),
            fetched_at: now,
            refresh_at: now + fetched.expires_in - lead,
        };
        *slot.current.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
        Ok(fetched.value)
    }

    /// Drops the token of `key` so the next `get` fetches a new one; true if it was dropped,
    /// false if there was none or it is younger than the minimum lifetime.
    pub fn invalidate(&self, key: &K) -> bool {
        let slot = self.slot(key);
        let mut current = slot.current.write().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some(c) if c.fetched_at.elapsed() >= self.min_lifetime => {
                *current = None;
                true
            }
            _ => false,
        }
    }

    /// Forgets every token.
    pub fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn fetcher(count: &AtomicUsize, life: Duration) -> Result<Fetched<usize>, String> {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(Fetched {
            value: n,
            expires_in: life,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_reused_until_the_margin_then_refreshed() {
        let cache = TokenCache::new(Duration::from_secs(300));
        let count = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        assert_eq!(cache.get(&"k", || fetcher(&count, hour)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(3000)).await;
        assert_eq!(cache.get(&"k", || fetcher(&count, hour)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(
            cache.get(&"k", || fetcher(&count, hour)).await,
            Ok(2),
            "refreshed 5 min before expiry"
        );
        assert_eq!(
            cache.get(&"other", || fetcher(&count, hour)).await,
            Ok(3),
            "keys are separate"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh() {
        let cache = Arc::new(TokenCache::new(Duration::from_secs(60)));
        let count = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, count) = (Arc::clone(&cache), Arc::clone(&count));
                tokio::spawn(async move {
                    cache
                        .get(&1u8, || fetcher(&count, Duration::from_secs(3600)))
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.ok(), Some(Ok(1)));
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_not_cached() {
        let cache: TokenCache<u8, usize> = TokenCache::new(Duration::from_secs(60));
        let failed: Result<usize, String> =
            cache.get(&1, || async { Err("refused".to_string()) }).await;
        assert_eq!(failed, Err("refused".to_string()));
        let count = AtomicUsize::new(0);
        assert_eq!(
            cache
                .get(&1, || fetcher(&count, Duration::from_secs(3600)))
                .await,
            Ok(1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn invalidation_respects_the_minimum_lifetime() {
        let cache =
            TokenCache::new(Duration::from_secs(60)).with_min_lifetime(Duration::from_secs(1200));
        let count = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        assert_eq!(cache.get(&"k", || fetcher(&count, hour)).await, Ok(1));
        assert!(!cache.invalidate(&"k"), "too young to drop");
        assert_eq!(cache.get(&"k", || fetcher(&count, hour)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(1200)).await;
        assert!(cache.invalidate(&"k"));
        assert_eq!(cache.get(&"k", || fetcher(&count, hour)).await, Ok(2));
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_tokens_refresh_halfway() {
        let cache = TokenCache::new(Duration::from_secs(300));
        let count = AtomicUsize::new(0);
        let short = Duration::from_secs(100);
        assert_eq!(cache.get(&"k", || fetcher(&count, short)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(49)).await;
        assert_eq!(cache.get(&"k", || fetcher(&count, short)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get(&"k", || fetcher(&count, short)).await, Ok(2));
    }
}
