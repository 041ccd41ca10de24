//! The offline delivery pipeline (DESIGN.md, data flow): the ingest consumer and one worker
//! per vendor, each reading its queue with bounded prefetch and explicit acks.
//!
//! Ack rules: a message is acked only after its effects are stored; a message that can never
//! be processed (invalid, unknown app, not a job) is dead-lettered with the reason, so it
//! never blocks the queue; a transient failure (store or broker down) releases it for
//! redelivery after a pause.

pub mod credentials;
pub mod deactivation;
pub mod events;
pub mod ingest;
pub mod job;
pub mod worker;

use futures::future::BoxFuture;
use ingest::Ingestor;
use job::VendorJob;
use push_core::queue::{AckTag, Acker, Envelope, Queue, QueueError, QueueName, Received};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use worker::VendorWorker;

/// Header with the publish time (Unix ms) of messages pushgate publishes itself; consumers
/// turn it into the queue-lag histogram.
pub const PUBLISHED_AT_HEADER: &str = "x-pushgate-published-at";

/// How often queue depths are sampled for `/metrics`.
const DEPTH_INTERVAL: Duration = Duration::from_secs(5);

/// Marks an envelope with its publish time.
pub fn stamp(envelope: Envelope) -> Envelope {
    let ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
    envelope.with_header(PUBLISHED_AT_HEADER, ms)
}

/// Records how long a message waited in its queue, when it says when it was published.
fn record_lag(queue: &QueueName, envelope: &Envelope) {
    let Some(published) = envelope
        .headers
        .get(PUBLISHED_AT_HEADER)
        .and_then(|v| v.parse::<i128>().ok())
    else {
        return;
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let lag = (now - published).max(0) as f64 / 1000.0;
    metrics::histogram!("pushgate_queue_lag_seconds", "queue" => queue.full_name("").trim_start_matches('.').to_string()).record(lag);
}

/// Samples the depth of `queues` into the `pushgate_queue_depth` gauge until `shutdown`.
async fn sample_depths(
    queue: Arc<dyn Queue>,
    queues: Vec<QueueName>,
    shutdown: CancellationToken,
) -> Result<(), QueueError> {
    loop {
        for name in &queues {
            if let Ok(depth) = queue.depth(name).await {
                metrics::gauge!("pushgate_queue_depth", "queue" => name.full_name("").trim_start_matches('.').to_string())
                    .set(depth as f64);
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(DEPTH_INTERVAL) => {}
        }
    }
}

/// Pause before a message that failed transiently is released for redelivery, so an outage
/// does not turn into a hot loop.
const TRANSIENT_PAUSE: Duration = Duration::from_millis(500);

/// Ingest messages handled together at most, by default (see [`Pipeline::with_ingest_batch`]).
pub const DEFAULT_INGEST_BATCH: u16 = 128;

/// The running stages.
pub struct Pipeline {
    queue: Arc<dyn Queue>,
    ingestor: Ingestor,
    workers: Vec<Arc<VendorWorker>>,
    prefetch: u16,
    ingest_batch: u16,
    ingest_linger: Duration,
}

/// What one consumed message came to.
#[derive(Debug, Clone)]
enum Settle {
    Ack,
    Dead(String),
    Release,
}

impl Pipeline {
    /// The pipeline over an ingest stage and vendor workers.
    pub fn new(
        queue: Arc<dyn Queue>,
        ingestor: Ingestor,
        workers: Vec<Arc<VendorWorker>>,
        prefetch: u16,
    ) -> Self {
        Self {
            queue,
            ingestor,
            workers,
            prefetch,
            ingest_batch: DEFAULT_INGEST_BATCH,
            ingest_linger: DEFAULT_INGEST_LINGER,
        }
    }

    /// Sets how long an ingest batch that is not full waits for more messages (zero: not
    /// at all). It waits only within a stream (more than one message arrived, or the
    /// previous batch began less than this long ago), so a lone message is not delayed. The
    /// wait adds at most this much latency and saves a store round per message a batch
    /// gathers, which keeps a moderate stream from costing nearly as much CPU as a full one.
    pub fn with_ingest_linger(mut self, linger: Duration) -> Self {
        self.ingest_linger = linger;
        self
    }

    /// Sets how many ingest messages are handled together at most. Whatever is waiting
    /// when a batch starts goes in it (up to this many), so a trickle is handled message by
    /// message and a stream in large batches. The ingest consumer holds at least twice this
    /// many messages unacked, so the next batch gathers while one is in work.
    pub fn with_ingest_batch(mut self, batch: u16) -> Self {
        self.ingest_batch = batch.max(1);
        self
    }

    /// Consumes every queue until `shutdown`, then lets in-flight messages finish.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), QueueError> {
        let vendors: Vec<String> = self
            .workers
            .iter()
            .map(|w| w.vendor().to_string())
            .collect();
        self.queue.prepare(&vendors).await?;
        let mut loops = JoinSet::new();
        // The online core's delayed hand-offs too: a backlog there is pushes held back.
        let mut sampled = vec![QueueName::Ingest, QueueName::Dead, QueueName::Handoff];
        sampled.extend(vendors.iter().map(|v| QueueName::Vendor(v.clone())));
        loops.spawn(sample_depths(
            Arc::clone(&self.queue),
            sampled,
            shutdown.clone(),
        ));
        let ingestor = self.ingestor.clone();
        let ingest_prefetch = self.prefetch.max(self.ingest_batch.saturating_mul(2));
        loops.spawn(consume(
            Arc::clone(&self.queue),
            QueueName::Ingest,
            Limits {
                prefetch: ingest_prefetch,
                batch: usize::from(self.ingest_batch),
                batches: INGEST_BATCHES_IN_WORK,
                linger: self.ingest_linger,
            },
            shutdown.clone(),
            Arc::new(move |batch: Arc<Vec<Received>>| {
                let ingestor = ingestor.clone();
                Box::pin(async move {
                    let bodies: Vec<&[u8]> =
                        batch.iter().map(|m| m.envelope.body.as_slice()).collect();
                    match ingestor.process_batch(&bodies).await {
                        Ok(results) => results
                            .into_iter()
                            .map(|result| match result {
                                Ok(done) => {
                                    tracing::debug!(app = %done.app, notification = %done.id, new = done.new, deliveries = done.dispatched, "ingested");
                                    Settle::Ack
                                }
                                Err(e) if e.is_permanent() => Settle::Dead(e.to_string()),
                                Err(e) => {
                                    tracing::warn!(error = %e, "ingest failed; will retry");
                                    Settle::Release
                                }
                            })
                            .collect(),
                        Err(e) => {
                            tracing::warn!(error = %e, messages = batch.len(), "ingest failed; will retry");
                            vec![Settle::Release; batch.len()]
                        }
                    }
                }) as BoxFuture<'static, Vec<Settle>>
            }),
        ));
        for worker in self.workers {
            let queue_name = QueueName::Vendor(worker.vendor().to_string());
            loops.spawn(consume(
                Arc::clone(&self.queue),
                queue_name,
                Limits {
                    prefetch: self.prefetch,
                    batch: 1,
                    batches: usize::from(self.prefetch.max(1)),
                    linger: Duration::ZERO,
                },
                shutdown.clone(),
                Arc::new(move |batch: Arc<Vec<Received>>| {
                    let worker = Arc::clone(&worker);
                    Box::pin(async move {
                        let mut settled = Vec::with_capacity(batch.len());
                        for msg in batch.iter() {
                            let Some(job) = VendorJob::from_envelope(&msg.envelope) else {
                                settled.push(Settle::Dead("not a vendor job".into()));
                                continue;
                            };
                            settled.push(match worker.handle(&job, msg.redelivered).await {
                                Ok(()) => Settle::Ack,
                                Err(e) => {
                                    tracing::warn!(error = %e, vendor = worker.vendor(), "job failed; will retry");
                                    Settle::Release
                                }
                            });
                        }
                        settled
                    }) as BoxFuture<'static, Vec<Settle>>
                }),
            ));
        }
        let mut result = Ok(());
        while let Some(joined) = loops.join_next().await {
            if let Ok(Err(e)) = joined {
                tracing::error!(error = %e, "a queue consumer stopped");
                result = Err(e);
            }
        }
        result
    }
}

/// Handles a batch of messages (shared, not copied: the loop settles them afterwards);
/// answers one outcome per message, in order.
type Handler = Arc<dyn Fn(Arc<Vec<Received>>) -> BoxFuture<'static, Vec<Settle>> + Send + Sync>;

/// Most tags one ack call carries.
const MAX_ACK_BATCH: usize = 256;

/// How much one consumer loop takes on.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Messages unacked at once.
    prefetch: u16,
    /// Messages handed to the handler together at most.
    batch: usize,
    /// Batches in work at once. While they are all busy, arriving messages wait in line and
    /// the next batch takes them together: batches grow with the load instead of many
    /// small batches competing for the store.
    batches: usize,
    /// How long a batch that is not full waits for more messages, when messages are
    /// coming as a stream (a lone message does not wait).
    linger: Duration,
}

/// How long an ingest batch that is not full waits for more messages, by default (see
/// [`Pipeline::with_ingest_linger`]).
pub const DEFAULT_INGEST_LINGER: Duration = Duration::from_millis(10);

/// Ingest batches in work at once: one can be in the store while another waits for the
/// broker's confirms.
const INGEST_BATCHES_IN_WORK: usize = 2;

/// A received message with its consumer slot.
type Slotted = (Received, OwnedSemaphorePermit);

/// One consumer loop: at most `prefetch` messages in work at once; on shutdown it stops
/// taking messages and waits for those in work.
///
/// A feeder task takes messages off the subscription, each holding a slot, so `next` is
/// never cancelled halfway by the batching. The loop hands the handler whatever has
/// arrived, up to `batch` messages: one at a time when they trickle in, many when they
/// queue up. Up to `batches` batches run concurrently.
///
/// Acks are batched: a handler that is done hands its tags to one ack task, which acks
/// whatever tags have gathered since its last ack in one call (contiguous oldest tags go as
/// one `multiple` ack on RabbitMQ, one `DELETE` on the embedded queue). A tag reaches that
/// task only after its handler returned, i.e. after the message's effects are stored, so
/// batching never acks anything early; it only stops acks from trickling out one by one.
/// A message's slot is freed once its ack is sent.
async fn consume(
    queue: Arc<dyn Queue>,
    name: QueueName,
    limits: Limits,
    shutdown: CancellationToken,
    handler: Handler,
) -> Result<(), QueueError> {
    let (subscription, acker) = queue.subscribe(&name, limits.prefetch).await?;
    let slots = Arc::new(Semaphore::new(usize::from(limits.prefetch.max(1))));
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<Slotted>();
    let feeder = tokio::spawn(feed(subscription, slots, arrived_tx, shutdown));
    let (done_tx, done_rx) = mpsc::unbounded_channel::<(AckTag, OwnedSemaphorePermit)>();
    let acks = tokio::spawn(ack_batches(Arc::clone(&acker), done_rx));
    let mut in_work = JoinSet::new();
    let mut batch: Vec<Slotted> = Vec::with_capacity(limits.batch);
    let batch_slots = Arc::new(Semaphore::new(limits.batches.max(1)));
    let mut previous_start: Option<tokio::time::Instant> = None;
    loop {
        let Ok(batch_slot) = Arc::clone(&batch_slots).acquire_owned().await else {
            break;
        };
        if arrived.recv_many(&mut batch, limits.batch.max(1)).await == 0 {
            break;
        }
        let started = tokio::time::Instant::now();
        let linger = should_linger(&limits, batch.len(), previous_start, started);
        previous_start = Some(started);
        if linger {
            // A short wait for more, so a moderate stream still makes batches of a few
            // messages instead of one store round per message.
            let until = started + limits.linger;
            while batch.len() < limits.batch {
                let room = limits.batch - batch.len();
                match tokio::time::timeout_at(until, arrived.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        for (message, _) in &batch {
            record_lag(&name, &message.envelope);
        }
        let taken = std::mem::replace(&mut batch, Vec::with_capacity(limits.batch));
        let (handler, acker, done) = (Arc::clone(&handler), Arc::clone(&acker), done_tx.clone());
        in_work.spawn(async move {
            let (messages, permits): (Vec<Received>, Vec<OwnedSemaphorePermit>) =
                taken.into_iter().unzip();
            let messages = Arc::new(messages);
            let outcomes = handler(Arc::clone(&messages)).await;
            drop(batch_slot);
            // The handler's future is done, so this is the only reference left.
            let messages = Arc::try_unwrap(messages).unwrap_or_else(|shared| (*shared).clone());
            let mut released = Vec::new();
            for (i, (message, permit)) in messages.into_iter().zip(permits).enumerate() {
                // A handler that answered too few outcomes: retry the rest, never drop them.
                match outcomes.get(i).cloned().unwrap_or(Settle::Release) {
                    Settle::Ack => {
                        // The ack task outlives every handler (it ends when the last sender
                        // is dropped), so this send fails only if it panicked; then ack here.
                        if let Err(mpsc::error::SendError((tag, _permit))) =
                            done.send((message.tag, permit))
                            && let Err(e) = acker.ack(&[tag]).await
                        {
                            tracing::warn!(error = %e, "could not ack a message; it will be redelivered");
                        }
                    }
                    Settle::Release => released.push((message, permit)),
                    dead => {
                        let _permit = permit;
                        settle(&*acker, message, dead).await;
                    }
                }
            }
            if !released.is_empty() {
                // One pause for the batch, so an outage does not turn into a hot loop.
                tokio::time::sleep(TRANSIENT_PAUSE).await;
                for (message, _permit) in released {
                    settle(&*acker, message, Settle::Release).await;
                }
            }
        });
        while in_work.try_join_next().is_some() {}
    }
    tracing::info!(queue = %name, in_work = in_work.len(), "consumer stopping; draining");
    while in_work.join_next().await.is_some() {}
    drop(done_tx);
    if acks.await.is_err() {
        tracing::warn!(queue = %name, "the ack task failed; unacked messages will be redelivered");
    }
    // The subscription is dropped only now: its channel must stay open for the acks.
    drop(feeder.await);
    Ok(())
}

/// Whether a batch of `taken` messages, begun at `started`, waits for more: only when the
/// linger is on, the batch has room, and messages are coming as a stream (more than one
/// arrived, or the previous batch began less than a linger ago). A lone message after a
/// quiet spell goes at once.
fn should_linger(
    limits: &Limits,
    taken: usize,
    previous_start: Option<tokio::time::Instant>,
    started: tokio::time::Instant,
) -> bool {
    let stream =
        taken > 1 || previous_start.is_some_and(|previous| started - previous < limits.linger);
    stream && !limits.linger.is_zero() && taken < limits.batch
}

/// Takes messages off `subscription` while a slot is free, until `shutdown` or the end of
/// the subscription; answers the subscription so the caller decides when it closes.
async fn feed(
    mut subscription: Box<dyn push_core::queue::Subscription>,
    slots: Arc<Semaphore>,
    arrived: mpsc::UnboundedSender<Slotted>,
    shutdown: CancellationToken,
) -> Box<dyn push_core::queue::Subscription> {
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let next = tokio::select! {
            () = shutdown.cancelled() => None,
            next = subscription.next() => next,
        };
        let Some(message) = next else { break };
        if arrived.send((message, permit)).is_err() {
            break;
        }
    }
    subscription
}

/// Acks the tags handlers hand in, as many per call as have gathered, until every sender
/// is gone. The permits ride along and are freed after their tag's ack.
async fn ack_batches(
    acker: Arc<dyn Acker>,
    mut done: mpsc::UnboundedReceiver<(AckTag, OwnedSemaphorePermit)>,
) {
    let mut batch = Vec::with_capacity(MAX_ACK_BATCH);
    let mut tags = Vec::with_capacity(MAX_ACK_BATCH);
    while done.recv_many(&mut batch, MAX_ACK_BATCH).await > 0 {
        tags.clear();
        tags.extend(batch.iter().map(|(tag, _)| *tag));
        metrics::histogram!("pushgate_ack_batch_size").record(tags.len() as f64);
        if let Err(e) = acker.ack(&tags).await {
            // A stale tag after a reconnect: the broker redelivers the message.
            tracing::warn!(error = %e, "could not ack some messages; they will be redelivered");
        }
        batch.clear();
    }
}

async fn settle(acker: &dyn Acker, message: Received, outcome: Settle) {
    let result = match outcome {
        Settle::Ack => acker.ack(&[message.tag]).await,
        Settle::Dead(reason) => {
            tracing::warn!(%reason, "message dead-lettered");
            acker
                .dead_letter(message.tag, &message.envelope, &reason)
                .await
        }
        Settle::Release => acker.release(message.tag).await,
    };
    if let Err(e) = result {
        // A stale tag after a reconnect: the broker redelivers the message.
        tracing::warn!(error = %e, "could not settle a message; it will be redelivered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn only_a_stream_waits_for_more() {
        let limits = Limits {
            prefetch: 256,
            batch: 128,
            batches: 2,
            linger: Duration::from_millis(10),
        };
        let now = Instant::now();
        let recent = Some(now - Duration::from_millis(3));
        let long_ago = Some(now - Duration::from_millis(500));
        assert!(
            !should_linger(&limits, 1, None, now),
            "the first, lone message"
        );
        assert!(
            !should_linger(&limits, 1, long_ago, now),
            "a lone message after a quiet spell"
        );
        assert!(
            should_linger(&limits, 1, recent, now),
            "right after the previous batch"
        );
        assert!(should_linger(&limits, 2, long_ago, now), "two at once");
        assert!(
            !should_linger(&limits, 128, recent, now),
            "a full batch goes"
        );
        let off = Limits {
            linger: Duration::ZERO,
            ..limits
        };
        assert!(!should_linger(&off, 5, recent, now), "linger switched off");
    }
}
