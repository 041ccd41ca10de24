//! One generic cache for vendor auth tokens (APNs JWTs, OAuth access tokens, OPPO / vivo
//! auth tokens, WeChat access_tokens).
//!
//! Rules: a token is refreshed `margin` before it expires; under concurrency only one
//! refresh per key runs while the others wait for its result; readers of a fresh token never
//! wait; `invalidate` drops a token after the vendor refused it — unless it is younger than
//! `min_lifetime` (vendors such as APNs punish refreshing too often). A refresh that fails
//! while the current token is still valid keeps that token in use (retrying the refresh at
//! most every [`REFRESH_RETRY`]): the vendor references ask for it (fcm.md §2.3, huawei.md
//! §2), and it turns a token-endpoint outage shorter than the margin into no failed send. With a
//! [`SharedTokens`] source ([`TokenCache::shared`]) the rules hold across every pushgate
//! instance, not only within one (see [`shared`]).

pub mod shared;

pub use shared::{SharedToken, SharedTokenError, SharedTokens};

use crate::credential::Secret;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

/// A freshly fetched token and how long the vendor says it lives.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The token.
    pub value: T,
    /// Its lifetime from now.
    pub expires_in: Duration,
}

/// How long a still-valid token is used after a failed refresh before the next refresh is
/// tried: one fetch per key per interval, not one per send, while the endpoint is down.
pub const REFRESH_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    fetched_at: Instant,
    refresh_at: Instant,
    /// When the vendor stops taking it.
    expires_at: Instant,
    /// `fetched_at` by the wall clock: the token's identity in the shared store.
    fetched_wall: OffsetDateTime,
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

/// How a cache reaches the shared store: its source, its lease owner name, and how keys and
/// tokens are written there.
struct Sharing<K, T> {
    source: Arc<dyn SharedTokens>,
    owner: String,
    key_name: Box<dyn Fn(&K) -> String + Send + Sync>,
    encode: fn(&T) -> Secret,
    decode: fn(&Secret) -> Option<T>,
}

/// What the shared store said.
enum FromShared<T> {
    /// Use this token.
    Use(Cached<T>),
    /// This instance holds the lease: fetch and store.
    Leased,
    /// The store cannot be used: fetch for this instance only.
    Unavailable,
}

/// A token read from the shared store.
struct Stored<T> {
    value: T,
    remaining: Duration,
    lead: Duration,
    age: Duration,
    fetched_wall: OffsetDateTime,
}

impl<T: Clone> Stored<T> {
    fn cached(&self, refresh_in: Duration) -> Cached<T> {
        let now = Instant::now();
        Cached {
            value: self.value.clone(),
            fetched_at: now.checked_sub(self.age).unwrap_or(now),
            refresh_at: now + refresh_in,
            expires_at: now + self.remaining,
            fetched_wall: self.fetched_wall,
        }
    }

    /// Cached until its refresh time, if it is not due yet.
    fn fresh(&self) -> Option<Cached<T>> {
        (self.remaining > self.lead).then(|| self.cached(self.remaining - self.lead))
    }

    /// Cached for a moment only: it is due, and another instance is refreshing it.
    fn until_soon(&self) -> Cached<T> {
        self.cached(self.remaining.min(Duration::from_secs(1)))
    }
}

/// Cached auth tokens by key (a credential id, or a (team, key id) pair).
pub struct TokenCache<K, T> {
    slots: Mutex<HashMap<K, Arc<Slot<T>>>>,
    margin: Duration,
    min_lifetime: Duration,
    sharing: Option<Sharing<K, T>>,
}

impl<K: Eq + Hash + Clone> TokenCache<K, Secret> {
    /// [`TokenCache::shared`] for a cache of plain secret tokens (access tokens), stored as
    /// they are.
    pub fn shared_secrets(
        self,
        source: Option<Arc<dyn SharedTokens>>,
        key_name: impl Fn(&K) -> String + Send + Sync + 'static,
    ) -> Self {
        self.shared(source, key_name, Secret::clone, |s| Some(s.clone()))
    }
}

impl<K: Eq + Hash + Clone, T: Clone> TokenCache<K, T> {
    /// A cache refreshing tokens `margin` before they expire.
    pub fn new(margin: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            margin,
            min_lifetime: Duration::ZERO,
            sharing: None,
        }
    }

    /// Shares tokens with other instances through `source` (nothing changes when `None`):
    /// `key_name` names a key in the store (prefix it with the vendor), `encode` / `decode`
    /// turn a token into the secret string stored and back.
    pub fn shared(
        mut self,
        source: Option<Arc<dyn SharedTokens>>,
        key_name: impl Fn(&K) -> String + Send + Sync + 'static,
        encode: fn(&T) -> Secret,
        decode: fn(&Secret) -> Option<T>,
    ) -> Self {
        self.sharing = source.map(|source| Sharing {
            source,
            owner: uuid::Uuid::new_v4().to_string(),
            key_name: Box::new(key_name),
            encode,
            decode,
        });
        self
    }

    /// How long before expiry a token of `lifetime` is refreshed: the margin, or half the
    /// life of a token living shorter than the margin.
    fn lead(&self, lifetime: Duration) -> Duration {
        if lifetime > self.margin {
            self.margin
        } else {
            lifetime / 2
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
    /// cached: while the current token is still valid it stays in use and the refresh is
    /// tried again after [`REFRESH_RETRY`]; without one, the error is returned and the next
    /// caller tries again.
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
        let mut leased = None;
        if let Some(sharing) = &self.sharing {
            let name = (sharing.key_name)(key);
            match self.read_shared(sharing, &name).await {
                FromShared::Use(cached) => {
                    let value = cached.value.clone();
                    *slot.current.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
                    return Ok(value);
                }
                FromShared::Leased => leased = Some((sharing, name)),
                FromShared::Unavailable => {}
            }
        }
        let fetched = match fetch().await {
            Ok(fetched) => fetched,
            Err(e) => {
                if let Some((sharing, name)) = &leased {
                    // Best effort: an unreleased lease expires by itself.
                    let _ = sharing.source.release(name, &sharing.owner).await;
                }
                return Self::still_valid(&slot).ok_or(e);
            }
        };
        let now = Instant::now();
        let wall = OffsetDateTime::now_utc();
        let cached = Cached {
            value: fetched.value.clone(),
            fetched_at: now,
            refresh_at: now + fetched.expires_in - self.lead(fetched.expires_in),
            expires_at: now + fetched.expires_in,
            fetched_wall: wall,
        };
        if let Some((sharing, name)) = &leased {
            let token = SharedToken {
                value: (sharing.encode)(&fetched.value),
                expires_at: wall + fetched.expires_in,
                fetched_at: wall,
            };
            // Best effort: if the store fails, the others fetch when the lease runs out.
            let _ = sharing.source.store(name, &sharing.owner, &token).await;
        }
        *slot.current.write().unwrap_or_else(PoisonError::into_inner) = Some(cached);
        Ok(fetched.value)
    }

    /// The current token if it has not expired yet, postponing its next refresh by
    /// [`REFRESH_RETRY`] (never past its expiry): called after a refresh failed.
    fn still_valid(slot: &Slot<T>) -> Option<T> {
        let mut current = slot.current.write().unwrap_or_else(PoisonError::into_inner);
        let cached = current.as_mut()?;
        let now = Instant::now();
        if now >= cached.expires_at {
            return None;
        }
        cached.refresh_at = (now + REFRESH_RETRY).min(cached.expires_at);
        Some(cached.value.clone())
    }

    /// The shared store's token if it is fresh; else the lease to refresh it; else, while
    /// another instance refreshes, its current token (or, once that expired, the new one
    /// when it arrives, waiting at most one lease).
    async fn read_shared(&self, sharing: &Sharing<K, T>, name: &str) -> FromShared<T> {
        let deadline = Instant::now() + shared::LEASE;
        loop {
            let Ok(row) = sharing.source.load(name).await else {
                return FromShared::Unavailable;
            };
            let current = row.and_then(|row| self.stored(sharing, &row));
            if let Some(fresh) = current.as_ref().and_then(Stored::fresh) {
                return FromShared::Use(fresh);
            }
            let until = OffsetDateTime::now_utc() + shared::LEASE;
            match sharing.source.try_lease(name, &sharing.owner, until).await {
                Ok(true) => {
                    // The previous holder may have stored its token between the read above
                    // and this lease: use that rather than fetch another.
                    let stored = sharing.source.load(name).await.ok().flatten();
                    if let Some(fresh) = stored
                        .and_then(|row| self.stored(sharing, &row))
                        .as_ref()
                        .and_then(Stored::fresh)
                    {
                        let _ = sharing.source.release(name, &sharing.owner).await;
                        return FromShared::Use(fresh);
                    }
                    return FromShared::Leased;
                }
                Ok(false) => {}
                Err(_) => return FromShared::Unavailable,
            }
            // Another instance is refreshing; its current token works until it expires.
            if let Some(current) = current {
                return FromShared::Use(current.until_soon());
            }
            if Instant::now() >= deadline {
                return FromShared::Unavailable;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A stored token as this cache sees it now; `None` if it cannot be decoded or expired.
    fn stored(&self, sharing: &Sharing<K, T>, row: &SharedToken) -> Option<Stored<T>> {
        let wall = OffsetDateTime::now_utc();
        let value = (sharing.decode)(&row.value)?;
        let remaining = Duration::try_from(row.expires_at - wall).ok()?;
        let lifetime = Duration::try_from(row.expires_at - row.fetched_at).unwrap_or(remaining);
        Some(Stored {
            value,
            remaining,
            lead: self.lead(lifetime),
            age: Duration::try_from(wall - row.fetched_at).unwrap_or(Duration::ZERO),
            fetched_wall: row.fetched_at,
        })
    }

    /// Drops the token of `key` so the next `get` fetches a new one; true if it was dropped,
    /// false if there was none or it is younger than the minimum lifetime.
    /// With a shared store, the stored token is dropped too — if it is still the one this
    /// instance used (compare-and-set), in the background.
    pub fn invalidate(&self, key: &K) -> bool {
        let slot = self.slot(key);
        let mut current = slot.current.write().unwrap_or_else(PoisonError::into_inner);
        let dropped = match current.as_ref() {
            Some(c) if c.fetched_at.elapsed() >= self.min_lifetime => current.take(),
            _ => None,
        };
        if let (Some(dropped), Some(sharing)) = (&dropped, &self.sharing)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let source = Arc::clone(&sharing.source);
            let name = (sharing.key_name)(key);
            let fetched_at = dropped.fetched_wall;
            runtime.spawn(async move {
                let _ = source.invalidate(&name, fetched_at).await;
            });
        }
        dropped.is_some()
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
    async fn a_failed_refresh_keeps_the_valid_token_until_it_expires() {
        let cache: TokenCache<u8, usize> = TokenCache::new(Duration::from_secs(300));
        let count = AtomicUsize::new(0);
        let hour = Duration::from_secs(3600);
        assert_eq!(cache.get(&1, || fetcher(&count, hour)).await, Ok(1));
        tokio::time::advance(Duration::from_secs(3400)).await; // due: 200 s left
        let attempts = AtomicUsize::new(0);
        let down = || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err::<Fetched<usize>, _>("503".to_string())
        };
        assert_eq!(cache.get(&1, down).await, Ok(1), "still valid: kept");
        assert_eq!(cache.get(&1, down).await, Ok(1));
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "no second refresh within REFRESH_RETRY"
        );
        tokio::time::advance(REFRESH_RETRY).await;
        assert_eq!(cache.get(&1, down).await, Ok(1));
        assert_eq!(attempts.load(Ordering::SeqCst), 2, "tried again after it");
        tokio::time::advance(Duration::from_secs(200)).await; // expired now
        assert_eq!(cache.get(&1, down).await, Err("503".to_string()));
        assert_eq!(cache.get(&1, || fetcher(&count, hour)).await, Ok(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_not_kept_when_its_refresh_fails() {
        let cache: TokenCache<u8, usize> = TokenCache::new(Duration::from_secs(300));
        let count = AtomicUsize::new(0);
        assert_eq!(
            cache
                .get(&1, || fetcher(&count, Duration::from_secs(3600)))
                .await,
            Ok(1)
        );
        assert!(cache.invalidate(&1));
        let down = || async { Err::<Fetched<usize>, _>("503".to_string()) };
        assert_eq!(cache.get(&1, down).await, Err("503".to_string()));
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

#[cfg(test)]
#[path = "token_cache/shared_tests.rs"]
mod shared_tests;
