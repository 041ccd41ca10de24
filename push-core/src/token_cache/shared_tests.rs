//! Two caches (two "instances") over one in-memory shared store.

use super::*;
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A row: the token, and the lease (owner, until).
type Row = (Option<SharedToken>, Option<(String, OffsetDateTime)>);

#[derive(Default)]
struct MemoryTokens {
    rows: Mutex<HashMap<String, Row>>,
}

#[async_trait]
impl SharedTokens for MemoryTokens {
    async fn load(&self, key: &str) -> Result<Option<SharedToken>, SharedTokenError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.get(key).and_then(|(t, _)| t.clone()))
    }
    async fn try_lease(
        &self,
        key: &str,
        owner: &str,
        until: OffsetDateTime,
    ) -> Result<bool, SharedTokenError> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows.entry(key.to_string()).or_default();
        match &row.1 {
            Some((other, held_until))
                if other != owner && *held_until > OffsetDateTime::now_utc() =>
            {
                Ok(false)
            }
            _ => {
                row.1 = Some((owner.to_string(), until));
                Ok(true)
            }
        }
    }
    async fn store(
        &self,
        key: &str,
        owner: &str,
        token: &SharedToken,
    ) -> Result<(), SharedTokenError> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows.entry(key.to_string()).or_default();
        row.0 = Some(token.clone());
        if row.1.as_ref().is_some_and(|(o, _)| o == owner) {
            row.1 = None;
        }
        Ok(())
    }
    async fn release(&self, key: &str, owner: &str) -> Result<(), SharedTokenError> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get_mut(key)
            && row.1.as_ref().is_some_and(|(o, _)| o == owner)
        {
            row.1 = None;
        }
        Ok(())
    }
    async fn invalidate(
        &self,
        key: &str,
        fetched_at: OffsetDateTime,
    ) -> Result<bool, SharedTokenError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(key) {
            Some(row) if row.0.as_ref().is_some_and(|t| t.fetched_at == fetched_at) => {
                row.0 = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn cache(source: &Arc<MemoryTokens>) -> TokenCache<u8, Secret> {
    let source: Arc<dyn SharedTokens> = source.clone();
    TokenCache::new(Duration::from_secs(300)).shared(
        Some(source),
        |k| format!("test/{k}"),
        Secret::clone,
        |s| Some(s.clone()),
    )
}

async fn fetch(count: &AtomicUsize) -> Result<Fetched<Secret>, String> {
    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(Fetched {
        value: Secret::new(format!("token-{n}")),
        expires_in: Duration::from_secs(3600),
    })
}

#[tokio::test]
async fn two_instances_fetch_once_and_use_the_same_token() {
    let store = Arc::new(MemoryTokens::default());
    let (a, b) = (Arc::new(cache(&store)), Arc::new(cache(&store)));
    let count = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let c = if i % 2 == 0 { a.clone() } else { b.clone() };
            let count = count.clone();
            tokio::spawn(async move { c.get(&1, || fetch(&count)).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().expose(), "token-1");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one fetch for both instances"
    );
}

#[tokio::test]
async fn an_invalidated_token_is_replaced_once_for_everyone() {
    let store = Arc::new(MemoryTokens::default());
    let (a, b) = (cache(&store), cache(&store));
    let count = AtomicUsize::new(0);
    assert_eq!(
        a.get(&1, || fetch(&count)).await.unwrap().expose(),
        "token-1"
    );
    assert_eq!(
        b.get(&1, || fetch(&count)).await.unwrap().expose(),
        "token-1"
    );
    // A's vendor refuses the token: A drops it here and in the store.
    assert!(a.invalidate(&1));
    for _ in 0..50 {
        if store.load("test/1").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.load("test/1").await.unwrap().is_none());
    assert_eq!(
        a.get(&1, || fetch(&count)).await.unwrap().expose(),
        "token-2"
    );
    // B's refusal of the old token no longer drops the new one (compare-and-set).
    assert!(b.invalidate(&1));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        b.get(&1, || fetch(&count)).await.unwrap().expose(),
        "token-2"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_fetch_releases_the_lease() {
    let store = Arc::new(MemoryTokens::default());
    let (a, b) = (cache(&store), cache(&store));
    let failed: Result<Secret, String> = a.get(&1, || async { Err("down".to_string()) }).await;
    assert!(failed.is_err());
    let count = AtomicUsize::new(0);
    // B does not wait for A's lease: it was released.
    let got = tokio::time::timeout(Duration::from_secs(2), b.get(&1, || fetch(&count)))
        .await
        .expect("no wait for a released lease");
    assert_eq!(got.unwrap().expose(), "token-1");
}
