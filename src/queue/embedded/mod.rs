//! The embedded queue: durable messages as rows of `queue_messages` in the store's own
//! database (SQLite by default, PostgreSQL alike), so `cargo run` needs no broker.
//!
//! - **publish** inserts the batch in one transaction, ready at `now + delay` (to the
//!   millisecond, never earlier), and wakes this process's subscribers of that queue.
//! - **subscribe** leases up to `prefetch` ready rows at a time in one atomic statement
//!   (SQLite: `BEGIN IMMEDIATE` + `UPDATE … RETURNING`; PostgreSQL: the same with
//!   `FOR UPDATE SKIP LOCKED`), so competing consumers, in one process or many, never hold
//!   the same row. When nothing is ready it sleeps until the next row's time, a publish in
//!   this process, or [`EmbeddedOptions::poll_interval`] (publishes by other processes).
//! - **leases** last [`EmbeddedOptions::lease`]: a consumer that crashes (or never settles)
//!   loses its rows when the lease runs out and they are handed out again with
//!   `redelivered = true`. A lease is renewed when its message is handed to the consumer
//!   with less than half of it left. Dropping a subscription releases its rows at once.
//! - **ack** deletes the rows; **release** ends the lease (ready now, still counted as
//!   delivered); **dead_letter** moves the row to the dead queue with the reason header.
//!   Each only acts while the row still carries the caller's lease; otherwise the tag is
//!   stale ([`QueueError::StaleTag`]) and someone else holds or has handled the message.
//! - **events** are an in-process broadcast filtered with
//!   [`topic_matches`](push_core::queue::topic_matches). They are *not*
//!   durable and reach only subscribers of this [`EmbeddedQueue`] (and its clones): events
//!   are notifications, the receipts themselves are durable in the store.
//! - **depth** counts ready rows (not delayed, not leased).

mod events;
mod sql;
mod subscription;

use crate::store::SqlStore;
use async_trait::async_trait;
use events::EventBus;
use push_core::queue::{Acker, Envelope, EventStream, Queue, QueueError, QueueName, Subscription};
use sql::Rows;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Settings of the embedded queue.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Starts every queue name (`pushgate` → `pushgate.ingest`). Default `pushgate`.
    pub prefix: String,
    /// How long a consumer holds a message before it is handed out again. Default 60 s.
    pub lease: Duration,
    /// How often an idle subscription looks for messages published by other processes.
    /// Default 500 ms. (Publishes in this process wake it at once.)
    pub poll_interval: Duration,
    /// Events a slow event subscriber may fall behind before it misses some. Default 1024.
    pub event_buffer: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            prefix: "pushgate".to_string(),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            event_buffer: 1024,
        }
    }
}

/// The embedded queue over a [`SqlStore`]'s database. Cloning is cheap and shares the
/// in-process wake-ups and events.
#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    core: Arc<Core>,
}

/// What an embedded queue, its subscriptions and ackers share.
#[derive(Debug)]
struct Core {
    rows: Rows,
    options: EmbeddedOptions,
    /// One wake-up per queue name, notified on every publish to it in this process.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    events: EventBus,
}

impl Core {
    /// The wake-up of queue `name`.
    fn waker(&self, name: &str) -> Arc<Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        wakers.entry(name.to_string()).or_default().clone()
    }

    /// The full name of `queue`.
    fn name(&self, queue: &QueueName) -> String {
        queue.full_name(&self.options.prefix)
    }
}

impl EmbeddedQueue {
    /// An embedded queue in `store`'s database with default settings. The store must be
    /// migrated (the `queue_messages` table comes with its migrations).
    pub fn new(store: &SqlStore) -> EmbeddedQueue {
        Self::with_options(store, EmbeddedOptions::default())
    }

    /// An embedded queue with `options`.
    pub fn with_options(store: &SqlStore, options: EmbeddedOptions) -> EmbeddedQueue {
        let events = EventBus::new(options.event_buffer.max(1));
        EmbeddedQueue {
            core: Arc::new(Core {
                rows: Rows::new(store.pool().clone(), store.backend()),
                options,
                wakers: Mutex::new(HashMap::new()),
                events,
            }),
        }
    }
}

/// Now as unix milliseconds.
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `d` in whole milliseconds, rounded up (a delay is never shortened).
fn ceil_ms(d: Duration) -> i64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[async_trait]
impl Queue for EmbeddedQueue {
    /// Nothing to declare: every queue is rows of one table.
    async fn prepare(&self, _vendors: &[String]) -> Result<(), QueueError> {
        Ok(())
    }

    async fn publish(
        &self,
        queue: &QueueName,
        messages: Vec<Envelope>,
        delay: Option<Duration>,
    ) -> Result<(), QueueError> {
        if messages.is_empty() {
            return Ok(());
        }
        let name = self.core.name(queue);
        let now = now_ms();
        let available_at = now.saturating_add(delay.map_or(0, ceil_ms));
        self.core
            .rows
            .insert(&name, &messages, available_at, now)
            .await?;
        self.core.waker(&name).notify_waiters();
        Ok(())
    }

    async fn subscribe(
        &self,
        queue: &QueueName,
        prefetch: u16,
    ) -> Result<(Box<dyn Subscription>, Arc<dyn Acker>), QueueError> {
        let name = self.core.name(queue);
        let (subscription, acker) =
            subscription::open(self.core.clone(), name, usize::from(prefetch.max(1)));
        Ok((Box::new(subscription), Arc::new(acker)))
    }

    async fn publish_event(&self, routing_key: &str, body: Vec<u8>) -> Result<(), QueueError> {
        self.core.events.publish(routing_key, body);
        Ok(())
    }

    async fn subscribe_events(&self, pattern: &str) -> Result<Box<dyn EventStream>, QueueError> {
        Ok(Box::new(self.core.events.subscribe(pattern)))
    }

    async fn depth(&self, queue: &QueueName) -> Result<u64, QueueError> {
        self.core.rows.depth(&self.core.name(queue), now_ms()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_the_millisecond() {
        assert_eq!(ceil_ms(Duration::from_micros(1)), 1);
        assert_eq!(ceil_ms(Duration::from_millis(250)), 250);
        assert_eq!(ceil_ms(Duration::from_micros(250_001)), 251);
        assert_eq!(ceil_ms(Duration::ZERO), 0);
    }
}
