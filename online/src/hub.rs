//! The connection hub: every live WebSocket connection of this instance, by app and user.
//!
//! Each connection has a bounded outbound buffer. Delivering never waits: a connection
//! whose buffer is full is evicted as too slow (its messages stay in the inbox, to pull on
//! reconnect), so one slow client never holds back the others. A second login of the same
//! (app, user, device) evicts the first as kicked.

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Lock shards; a power of two.
const SHARDS: usize = 64;

/// Why a connection was told to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Eviction {
    /// Not evicted.
    None = 0,
    /// Replaced by a newer login of the same device.
    Kicked = 1,
    /// Its outbound buffer overflowed.
    TooSlow = 2,
}

/// Shared between the hub and one connection: the signal to close, and why.
#[derive(Debug, Default)]
pub struct Control {
    cancel: CancellationToken,
    reason: AtomicU8,
}

impl Control {
    /// Resolves once the hub evicted the connection.
    pub async fn evicted(&self) {
        self.cancel.cancelled().await
    }

    /// Why it was evicted.
    pub fn reason(&self) -> Eviction {
        match self.reason.load(Ordering::Acquire) {
            1 => Eviction::Kicked,
            2 => Eviction::TooSlow,
            _ => Eviction::None,
        }
    }

    fn evict(&self, why: Eviction) {
        // The first reason wins.
        let _ = self.reason.compare_exchange(
            Eviction::None as u8,
            why as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.cancel.cancel();
    }
}

struct Entry {
    device: Box<str>,
    id: u64,
    tx: mpsc::Sender<Utf8Bytes>,
    control: Arc<Control>,
}

/// One lock shard: connections by `app \n user`.
type Shard = Mutex<HashMap<String, Vec<Entry>>>;

/// A registered connection's end of the hub.
pub struct Registration {
    /// Its id on this instance.
    pub id: u64,
    /// Frames to write to the socket.
    pub outbound: mpsc::Receiver<Utf8Bytes>,
    /// Eviction signal.
    pub control: Arc<Control>,
    /// Whether it replaced a live connection of the same device on this instance.
    pub replaced: bool,
}

/// The live connections of this instance.
pub struct Hub {
    shards: Box<[Shard]>,
    next_id: AtomicU64,
    buffer: usize,
    live: AtomicUsize,
}

fn key(app: &str, user: &str) -> String {
    let mut k = String::with_capacity(app.len() + user.len() + 1);
    k.push_str(app);
    k.push('\n');
    k.push_str(user);
    k
}

impl Hub {
    /// An empty hub whose connections buffer up to `buffer` frames each.
    pub fn new(buffer: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            next_id: AtomicU64::new(1),
            buffer: buffer.max(1),
            live: AtomicUsize::new(0),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Vec<Entry>>> {
        // FNV-1a: stable and cheap for short keys.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.as_bytes() {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let index = (hash as usize) & (SHARDS - 1);
        // A panic while holding a shard leaves consistent entries behind: keep using it.
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection; a live connection of the same device is evicted as kicked.
    pub fn register(&self, app: &str, user: &str, device: &str) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, outbound) = mpsc::channel(self.buffer);
        let control = Arc::new(Control::default());
        let mut replaced = false;
        let k = key(app, user);
        let mut shard = self.shard(&k);
        let entries = shard.entry(k).or_default();
        entries.retain(|e| {
            if &*e.device == device {
                e.control.evict(Eviction::Kicked);
                replaced = true;
                false
            } else {
                true
            }
        });
        entries.push(Entry {
            device: device.into(),
            id,
            tx,
            control: Arc::clone(&control),
        });
        if !replaced {
            self.live.fetch_add(1, Ordering::Relaxed);
        }
        Registration {
            id,
            outbound,
            control,
            replaced,
        }
    }

    /// Removes connection `id` (if it is still registered; a newer login stays).
    pub fn unregister(&self, app: &str, user: &str, id: u64) {
        let k = key(app, user);
        let mut shard = self.shard(&k);
        if let Some(entries) = shard.get_mut(&k) {
            let before = entries.len();
            entries.retain(|e| e.id != id);
            if entries.len() < before {
                self.live.fetch_sub(1, Ordering::Relaxed);
            }
            if entries.is_empty() {
                shard.remove(&k);
            }
        }
    }

    /// Queues `frame` to every connection of the user except `skip`; answers how many
    /// took it. A connection whose buffer is full is evicted as too slow.
    pub fn deliver(&self, app: &str, user: &str, frame: &Utf8Bytes, skip: Option<u64>) -> usize {
        let k = key(app, user);
        let mut shard = self.shard(&k);
        let Some(entries) = shard.get_mut(&k) else {
            return 0;
        };
        let mut delivered = 0;
        let before = entries.len();
        entries.retain(|e| {
            if Some(e.id) == skip {
                return true;
            }
            match e.tx.try_send(frame.clone()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(app, user, device = %e.device, "connection too slow; closing it");
                    e.control.evict(Eviction::TooSlow);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        let removed = before - entries.len();
        if removed > 0 {
            self.live.fetch_sub(removed, Ordering::Relaxed);
        }
        if entries.is_empty() {
            shard.remove(&k);
        }
        delivered
    }

    /// Evicts the device's connection `id` (or any, when `None`) as kicked; true if found.
    pub fn kick(&self, app: &str, user: &str, device: &str, id: Option<u64>) -> bool {
        let k = key(app, user);
        let mut shard = self.shard(&k);
        let Some(entries) = shard.get_mut(&k) else {
            return false;
        };
        let mut found = false;
        entries.retain(|e| {
            if &*e.device == device && id.is_none_or(|id| id == e.id) {
                e.control.evict(Eviction::Kicked);
                found = true;
                false
            } else {
                true
            }
        });
        if found {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        if entries.is_empty() {
            shard.remove(&k);
        }
        found
    }

    /// The devices of `user` connected here.
    pub fn devices(&self, app: &str, user: &str) -> Vec<String> {
        let k = key(app, user);
        let shard = self.shard(&k);
        shard
            .get(&k)
            .map(|entries| entries.iter().map(|e| e.device.to_string()).collect())
            .unwrap_or_default()
    }

    /// Live connections.
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether no connection is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    #[tokio::test]
    async fn a_second_login_of_the_same_device_kicks_the_first() {
        let hub = Hub::new(8);
        let first = hub.register("app", "alice", "phone");
        let other_device = hub.register("app", "alice", "laptop");
        let second = hub.register("app", "alice", "phone");
        assert!(second.replaced);
        assert_eq!(first.control.reason(), Eviction::Kicked);
        first.control.evicted().await;
        assert_eq!(other_device.control.reason(), Eviction::None);
        assert_eq!(hub.len(), 2);
        let mut devices = hub.devices("app", "alice");
        devices.sort();
        assert_eq!(devices, ["laptop", "phone"]);
        // The kicked connection's late unregister leaves the new one in place.
        hub.unregister("app", "alice", first.id);
        assert_eq!(hub.len(), 2);
    }

    #[tokio::test]
    async fn a_slow_connection_is_evicted_and_the_others_still_receive() {
        let hub = Hub::new(2);
        let slow = hub.register("app", "bob", "phone");
        let mut fast = hub.register("app", "bob", "tablet");
        for i in 0..2 {
            assert_eq!(hub.deliver("app", "bob", &frame(&i.to_string()), None), 2);
            fast.outbound.recv().await.unwrap();
        }
        // The slow one never reads: its buffer (2) is full now.
        assert_eq!(hub.deliver("app", "bob", &frame("x"), None), 1);
        assert_eq!(slow.control.reason(), Eviction::TooSlow);
        assert_eq!(fast.outbound.recv().await.unwrap().as_str(), "x");
        assert_eq!(hub.len(), 1);
        assert_eq!(hub.deliver("app", "bob", &frame("y"), None), 1);
    }

    #[tokio::test]
    async fn delivery_skips_the_sending_connection_and_other_apps() {
        let hub = Hub::new(4);
        let sender = hub.register("app", "carol", "phone");
        let mut desk = hub.register("app", "carol", "desk");
        let _elsewhere = hub.register("other", "carol", "phone");
        assert_eq!(hub.deliver("app", "carol", &frame("m"), Some(sender.id)), 1);
        assert_eq!(desk.outbound.recv().await.unwrap().as_str(), "m");
        assert_eq!(hub.deliver("app", "nobody", &frame("m"), None), 0);
    }

    #[tokio::test]
    async fn a_remote_kick_names_the_connection() {
        let hub = Hub::new(4);
        let a = hub.register("app", "dave", "phone");
        assert!(!hub.kick("app", "dave", "phone", Some(a.id + 100)));
        assert!(hub.kick("app", "dave", "phone", Some(a.id)));
        assert_eq!(a.control.reason(), Eviction::Kicked);
        assert!(hub.is_empty());
    }
}
