//! A subscription of the embedded queue and its acker.
//!
//! The subscription leases rows in batches of at most `prefetch` minus what it already
//! holds, buffers them and hands them out one by one. Every leased row stays *held* until
//! its acker settles it (ack, release, dead-letter), so the subscription never holds more
//! than `prefetch` rows. A tag is (lease token, row id); a row the database no longer keeps
//! under that token (the lease ran out and someone else took it) makes the tag stale.
//! `next` is cancel-safe: leasing runs in a task of its own and fills a shared buffer, so
//! a timeout or `select!` around `next` loses nothing.

use super::sql::LeasedRow;
use super::{Core, ceil_ms, now_ms};
use async_trait::async_trait;
use push_core::queue::Subscription;
use push_core::queue::{AckTag, Acker, Envelope, QueueError, QueueName, REASON_HEADER, Received};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// The shortest wait between two leasing attempts while rows exist but none could be taken
/// (another consumer is leasing them right now).
const MIN_WAIT: Duration = Duration::from_millis(20);

/// What a subscription and its acker share.
#[derive(Debug)]
struct Shared {
    core: Arc<Core>,
    queue: String,
    prefetch: usize,
    /// Tags leased by this subscription and not settled yet (buffered or handed out).
    held: Mutex<HashSet<AckTag>>,
    /// Leased rows not handed out yet. Filled by leasing tasks, so a `next` cancelled while
    /// leasing loses nothing: the rows wait here for the next call.
    buffer: Mutex<VecDeque<Buffered>>,
    /// Notified whenever a held tag is settled, so a full subscription can lease again.
    settled: Notify,
}

impl Shared {
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<AckTag>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, VecDeque<Buffered>> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leases up to `room` rows into the buffer; false when none was ready.
    async fn lease(&self, room: usize) -> Result<bool, QueueError> {
        let token = new_token();
        let now = now_ms();
        let until = now.saturating_add(ceil_ms(self.core.options.lease));
        let limit = i64::try_from(room).unwrap_or(i64::MAX);
        let rows = self
            .core
            .rows
            .lease(&self.queue, token, now, until, limit)
            .await?;
        if rows.is_empty() {
            return Ok(false);
        }
        let mut held = self.held();
        let mut buffer = self.buffer();
        for row in rows {
            held.insert(tag_of(token, row.id));
            buffer.push_back(Buffered { token, row });
        }
        Ok(true)
    }
}

/// Opens a subscription of `queue` holding at most `prefetch` messages.
pub(super) fn open(
    core: Arc<Core>,
    queue: String,
    prefetch: usize,
) -> (EmbeddedSubscription, EmbeddedAcker) {
    let shared = Arc::new(Shared {
        core,
        queue,
        prefetch,
        held: Mutex::new(HashSet::new()),
        buffer: Mutex::new(VecDeque::new()),
        settled: Notify::new(),
    });
    (
        EmbeddedSubscription {
            shared: shared.clone(),
        },
        EmbeddedAcker { shared },
    )
}

/// A row leased by a subscription, waiting to be handed out.
#[derive(Debug)]
struct Buffered {
    token: i64,
    row: LeasedRow,
}

/// Messages of one queue of the embedded queue. Dropping it releases every message it
/// holds (handed out or not), so they are delivered again at once; acks of them then
/// report [`QueueError::StaleTag`].
#[derive(Debug)]
pub struct EmbeddedSubscription {
    shared: Arc<Shared>,
}

/// Settles messages of one [`EmbeddedSubscription`].
#[derive(Debug)]
pub struct EmbeddedAcker {
    shared: Arc<Shared>,
}

/// A fresh, positive lease token.
fn new_token() -> i64 {
    let (high, _) = Uuid::new_v4().as_u64_pair();
    i64::try_from(high >> 1).unwrap_or(1)
}

/// The tag of row `id` under `token`.
fn tag_of(token: i64, id: i64) -> AckTag {
    AckTag {
        generation: u64::try_from(token).unwrap_or(0),
        id: u64::try_from(id).unwrap_or(0),
    }
}

/// The (row id, token) a tag names.
fn row_of(tag: AckTag) -> (i64, i64) {
    (
        i64::try_from(tag.id).unwrap_or(-1),
        i64::try_from(tag.generation).unwrap_or(-1),
    )
}

impl EmbeddedSubscription {
    /// Hands out the first buffered row, renewing its lease first when less than half of it
    /// is left. `None` when the buffer is empty or that lease was lost meanwhile. The row
    /// leaves the buffer only after the renewal, so cancelling this loses nothing.
    async fn hand_out(&mut self) -> Option<Received> {
        let (token, id, leased_until) = {
            let buffer = self.shared.buffer();
            let first = buffer.front()?;
            (first.token, first.row.id, first.row.leased_until)
        };
        let tag = tag_of(token, id);
        let lease_ms = ceil_ms(self.shared.core.options.lease);
        let now = now_ms();
        let mut keep = true;
        if leased_until - now < lease_ms / 2 {
            let until = now.saturating_add(lease_ms);
            match self.shared.core.rows.renew(id, token, until).await {
                Ok(renewed) => keep = renewed,
                Err(e) => {
                    tracing::warn!(queue = %self.shared.queue, error = %e, "renewing a lease failed");
                    keep = leased_until > now;
                }
            }
        }
        let b = self.shared.buffer().pop_front()?;
        if !keep {
            self.shared.held().remove(&tag);
            self.shared.settled.notify_waiters();
            return None;
        }
        Some(Received {
            envelope: b.row.envelope,
            redelivered: b.row.deliveries > 1,
            tag,
        })
    }

    /// How long to sleep when nothing is ready: until the next row's time, at most the poll
    /// interval.
    async fn idle_wait(&self) -> Duration {
        let poll = self.shared.core.options.poll_interval;
        match self.shared.core.rows.next_ready(&self.shared.queue).await {
            Ok(Some(at)) => {
                let ms = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                Duration::from_millis(ms).clamp(MIN_WAIT, poll.max(MIN_WAIT))
            }
            _ => poll,
        }
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next(&mut self) -> Option<Received> {
        loop {
            if self.shared.core.rows.is_closed() {
                return None;
            }
            if !self.shared.buffer().is_empty() {
                match self.hand_out().await {
                    Some(received) => return Some(received),
                    None => continue,
                }
            }
            let shared = self.shared.clone();
            let settled = shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            let room = shared.prefetch.saturating_sub(shared.held().len());
            if room == 0 {
                settled.await;
                continue;
            }
            let waker = shared.core.waker(&shared.queue);
            let published = waker.notified();
            tokio::pin!(published);
            published.as_mut().enable();
            // In a task of its own, so a cancelled `next` cannot lose leased rows.
            let leasing = tokio::spawn({
                let shared = shared.clone();
                async move { shared.lease(room).await }
            });
            let leased = match leasing.await {
                Ok(result) => result,
                Err(e) => Err(QueueError::Unavailable(format!("leasing task failed: {e}"))),
            };
            match leased {
                Ok(true) => {}
                Ok(false) => {
                    let wait = self.idle_wait().await;
                    tokio::select! {
                        _ = published => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => {
                    if self.shared.core.rows.is_closed() {
                        return None;
                    }
                    tracing::warn!(queue = %self.shared.queue, error = %e, "leasing messages failed; retrying");
                    tokio::time::sleep(self.shared.core.options.poll_interval).await;
                }
            }
        }
    }
}

impl Drop for EmbeddedSubscription {
    fn drop(&mut self) {
        self.shared.buffer().clear();
        let held: Vec<AckTag> = self.shared.held().drain().collect();
        self.shared.settled.notify_waiters();
        if held.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // Shutting down: the leases run out instead.
        };
        let core = self.shared.core.clone();
        let queue = self.shared.queue.clone();
        runtime.spawn(async move {
            for tag in held {
                let (id, token) = row_of(tag);
                if let Err(e) = core.rows.release(id, token, now_ms()).await {
                    tracing::debug!(queue = %queue, error = %e, "releasing on drop failed; the lease will run out");
                }
            }
            core.waker(&queue).notify_waiters();
        });
    }
}

impl EmbeddedAcker {
    /// Removes `tag` from the held set; false when this subscription does not hold it.
    fn take(&self, tag: AckTag) -> bool {
        let taken = self.shared.held().remove(&tag);
        self.shared.settled.notify_waiters();
        taken
    }
}

#[async_trait]
impl Acker for EmbeddedAcker {
    async fn ack(&self, tags: &[AckTag]) -> Result<(), QueueError> {
        let mut mine = Vec::with_capacity(tags.len());
        let mut stale = false;
        {
            let mut held = self.shared.held();
            for tag in tags {
                if held.remove(tag) {
                    mine.push(*tag);
                } else {
                    stale = true;
                }
            }
        }
        if !mine.is_empty() {
            let rows: Vec<(i64, i64)> = mine.iter().map(|t| row_of(*t)).collect();
            match self.shared.core.rows.delete(&rows).await {
                Ok(deleted) => stale |= deleted < rows.len(),
                Err(e) => {
                    // Still held: the caller may ack again.
                    self.shared.held().extend(mine);
                    return Err(e);
                }
            }
        }
        self.shared.settled.notify_waiters();
        if stale {
            Err(QueueError::StaleTag)
        } else {
            Ok(())
        }
    }

    async fn dead_letter(
        &self,
        tag: AckTag,
        envelope: &Envelope,
        reason: &str,
    ) -> Result<(), QueueError> {
        if !self.shared.held().contains(&tag) {
            return Err(QueueError::StaleTag);
        }
        let dead = self.shared.core.name(&QueueName::Dead);
        let moved = envelope.clone().with_header(REASON_HEADER, reason);
        let (id, token) = row_of(tag);
        let done = self
            .shared
            .core
            .rows
            .move_to(id, token, &dead, &moved, now_ms())
            .await?;
        self.take(tag);
        if done {
            self.shared.core.waker(&dead).notify_waiters();
            Ok(())
        } else {
            Err(QueueError::StaleTag)
        }
    }

    async fn release(&self, tag: AckTag) -> Result<(), QueueError> {
        if !self.shared.held().contains(&tag) {
            return Err(QueueError::StaleTag);
        }
        let (id, token) = row_of(tag);
        let done = self.shared.core.rows.release(id, token, now_ms()).await?;
        self.take(tag);
        self.shared.core.waker(&self.shared.queue).notify_waiters();
        if done {
            Ok(())
        } else {
            Err(QueueError::StaleTag)
        }
    }
}
