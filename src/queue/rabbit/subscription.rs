//! A consumer of one RabbitMQ queue, and its acker.
//!
//! Each subscription has its own channel with `basic_qos(prefetch)` and manual acks. Every
//! channel it opens gets a fresh generation; a tag is (generation, delivery tag). When the
//! channel or connection fails, `next` opens a new channel (reconnecting if needed, with
//! backoff) and goes on; the broker redelivers what the old channel held, flagged
//! `redelivered`, and acks of old tags report [`QueueError::StaleTag`]. Deliveries the old
//! channel had prefetched but not handed out yet are dropped, not handed out: the broker
//! redelivers them anyway, so only messages a worker already held can arrive twice.
//! `next` is cancel-safe (a timeout or `select!` around it loses nothing).
//!
//! The acker remembers which delivery tags of the current channel are unsettled. An ack of
//! several tags that are exactly the oldest unsettled ones goes out as one `multiple` ack;
//! other tags are acked one by one. Acks are sent under one lock, in order, so a `multiple`
//! ack never overtakes a single one (a tag acked twice would close the channel). A tag
//! that is unknown, already settled or from an older channel is never sent.

use super::Inner;
use super::publish::envelope_of;
use super::topology::short;
use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use push_core::queue::{
    AckTag, Acker, Envelope, QueueError, QueueName, REASON_HEADER, Received, Subscription,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long sending one ack may take before the channel is considered gone.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before trying again after a consumer could not be opened on a live connection.
const REOPEN_PAUSE: Duration = Duration::from_millis(500);

/// The channel whose deliveries are being handed out.
#[derive(Default)]
struct AckState {
    generation: u64,
    channel: Option<Channel>,
    /// Delivery tags handed out on `channel` and not settled yet.
    unsettled: BTreeSet<u64>,
}

/// What a subscription and its acker share.
struct Shared {
    inner: Arc<Inner>,
    queue: QueueName,
    state: Mutex<AckState>,
}

/// Why a consumer could not be opened.
enum OpenError {
    /// The queue is gone or the link closed: the subscription ends.
    Gone(String),
    /// Try again later.
    Retry(String),
}

/// Messages of one queue from RabbitMQ. Dropping it closes its channel: the broker
/// requeues every message it held, and acks of them report [`QueueError::StaleTag`].
pub struct RabbitSubscription {
    shared: Arc<Shared>,
    name: String,
    prefetch: u16,
    consumer: Option<Consumer>,
}

/// Settles messages of one [`RabbitSubscription`].
pub struct RabbitAcker {
    shared: Arc<Shared>,
}

/// Opens a consumer of `queue` (declared already) holding at most `prefetch` messages.
pub(super) async fn open(
    inner: Arc<Inner>,
    queue: QueueName,
    prefetch: u16,
) -> Result<(RabbitSubscription, RabbitAcker), QueueError> {
    let name = inner.names.queue(&queue);
    short(&name)?;
    let shared = Arc::new(Shared {
        inner,
        queue,
        state: Mutex::new(AckState::default()),
    });
    let mut subscription = RabbitSubscription {
        shared: shared.clone(),
        name,
        prefetch: prefetch.max(1),
        consumer: None,
    };
    match subscription.open_consumer().await {
        Ok(()) => Ok((subscription, RabbitAcker { shared })),
        Err(OpenError::Gone(why) | OpenError::Retry(why)) => Err(QueueError::Unavailable(why)),
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl RabbitSubscription {
    /// Opens a channel and a consumer on the current connection.
    async fn open_consumer(&mut self) -> Result<(), OpenError> {
        let link = &self.shared.inner.link;
        let live = link
            .live(None)
            .await
            .map_err(|e| OpenError::Gone(e.to_string()))?;
        let channel = live
            .conn
            .create_channel()
            .await
            .map_err(|e| OpenError::Retry(link.scrub(&e.to_string())))?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| OpenError::Retry(link.scrub(&e.to_string())))?;
        let consumer = channel
            .basic_consume(
                self.name.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                let why = format!("consuming {}: {}", self.name, link.scrub(&e.to_string()));
                if e.is_amqp_soft_error() {
                    OpenError::Gone(why)
                } else {
                    OpenError::Retry(why)
                }
            })?;
        let mut state = self.shared.state.lock().await;
        state.generation = link.next_generation();
        state.channel = Some(channel);
        state.unsettled.clear();
        drop(state);
        self.consumer = Some(consumer);
        Ok(())
    }

    /// Forgets the current channel (its tags become stale).
    async fn drop_channel(&mut self) {
        self.consumer = None;
        let mut state = self.shared.state.lock().await;
        state.unsettled.clear();
        if let Some(channel) = state.channel.take()
            && channel.status().connected()
        {
            tokio::spawn(async move {
                let _ = channel.close(200, "consumer ended".into()).await;
            });
        }
    }

    /// A message that arrived before its [`NOT_BEFORE_HEADER`] time: publish it again for
    /// the rest of its delay, then ack it; if that fails, give it back.
    ///
    /// [`NOT_BEFORE_HEADER`]: super::topology::NOT_BEFORE_HEADER
    async fn defer(&self, tag: AckTag, envelope: Envelope, not_before: i64) {
        let acker = RabbitAcker {
            shared: self.shared.clone(),
        };
        let rest = Duration::from_millis(u64::try_from(not_before - now_ms()).unwrap_or(0));
        let queue = self.shared.queue.clone();
        match self
            .shared
            .inner
            .publish_delayed(&queue, vec![envelope], rest)
            .await
        {
            Ok(()) => {
                let _ = acker.ack(&[tag]).await;
            }
            Err(e) => {
                tracing::warn!(queue = %self.name, error = %e, "re-delaying a message failed; giving it back");
                let _ = acker.release(tag).await;
                tokio::time::sleep(REOPEN_PAUSE).await;
            }
        }
    }
}

#[async_trait]
impl Subscription for RabbitSubscription {
    async fn next(&mut self) -> Option<Received> {
        let closed = self.shared.inner.link.closed().clone();
        loop {
            if closed.is_cancelled() {
                return None;
            }
            if self.consumer.is_none() {
                match self.open_consumer().await {
                    Ok(()) => {
                        tracing::info!(queue = %self.name, "consuming again");
                    }
                    Err(OpenError::Gone(why)) => {
                        tracing::warn!(queue = %self.name, error = %why, "subscription ended");
                        return None;
                    }
                    Err(OpenError::Retry(why)) => {
                        tracing::warn!(queue = %self.name, error = %why, "cannot consume yet; retrying");
                        self.shared
                            .inner
                            .link
                            .sleep_until(Instant::now() + REOPEN_PAUSE)
                            .await;
                        continue;
                    }
                }
            }
            let consumer = self.consumer.as_mut()?;
            let item = tokio::select! {
                item = consumer.next() => item,
                _ = closed.cancelled() => return None,
            };
            match item {
                Some(Ok(delivery)) => {
                    let tag = {
                        let mut state = self.shared.state.lock().await;
                        // Buffered deliveries of a channel that is gone: the broker
                        // redelivers them, and their acks could not go through anyway.
                        if !state
                            .channel
                            .as_ref()
                            .is_some_and(|c| c.status().connected())
                        {
                            None
                        } else {
                            state.unsettled.insert(delivery.delivery_tag);
                            Some(AckTag {
                                generation: state.generation,
                                id: delivery.delivery_tag,
                            })
                        }
                    };
                    let Some(tag) = tag else {
                        tracing::warn!(queue = %self.name, "channel lost; reconnecting");
                        self.drop_channel().await;
                        continue;
                    };
                    let (envelope, not_before) = envelope_of(&delivery);
                    if let Some(not_before) = not_before.filter(|t| *t > now_ms()) {
                        self.defer(tag, envelope, not_before).await;
                        continue;
                    }
                    return Some(Received {
                        envelope,
                        redelivered: delivery.redelivered,
                        tag,
                    });
                }
                Some(Err(e)) => {
                    tracing::warn!(queue = %self.name, error = %self.shared.inner.link.scrub(&e.to_string()), "consumer failed; reconnecting");
                    self.drop_channel().await;
                }
                None => {
                    tracing::warn!(queue = %self.name, "consumer cancelled; consuming again");
                    self.drop_channel().await;
                }
            }
        }
    }
}

impl Drop for RabbitSubscription {
    fn drop(&mut self) {
        self.consumer = None;
        let shared = self.shared.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let channel = {
                let mut state = shared.state.lock().await;
                state.unsettled.clear();
                state.channel.take()
            };
            if let Some(channel) = channel {
                let _ = channel.close(200, "subscription dropped".into()).await;
            }
        });
    }
}

impl RabbitAcker {
    /// Whether `tag` is unsettled on the current channel.
    async fn holds(&self, tag: AckTag) -> bool {
        let state = self.shared.state.lock().await;
        state.channel.is_some()
            && state.generation == tag.generation
            && state.unsettled.contains(&tag.id)
    }
}

#[async_trait]
impl Acker for RabbitAcker {
    async fn ack(&self, tags: &[AckTag]) -> Result<(), QueueError> {
        let mut state = self.shared.state.lock().await;
        let mut stale = false;
        let mut ids = Vec::with_capacity(tags.len());
        for tag in tags {
            if state.channel.is_some()
                && tag.generation == state.generation
                && state.unsettled.contains(&tag.id)
                && !ids.contains(&tag.id)
            {
                ids.push(tag.id);
            } else {
                stale = true;
            }
        }
        ids.sort_unstable();
        // The oldest unsettled tags, if all are acked here, go as one `multiple` ack.
        let oldest = state
            .unsettled
            .iter()
            .zip(&ids)
            .take_while(|(a, b)| a == b)
            .count();
        for id in &ids {
            state.unsettled.remove(id);
        }
        let Some(channel) = state.channel.clone() else {
            return Err(QueueError::StaleTag);
        };
        let mut sends = Vec::new();
        if oldest >= 2 {
            sends.push((ids[oldest - 1], true));
            sends.extend(ids[oldest..].iter().map(|id| (*id, false)));
        } else {
            sends.extend(ids.iter().map(|id| (*id, false)));
        }
        for (id, multiple) in sends {
            let sent = tokio::time::timeout(
                ACK_TIMEOUT,
                channel.basic_ack(id, BasicAckOptions { multiple }),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                // The channel is gone: the broker redelivers these messages.
                stale = true;
                break;
            }
        }
        drop(state);
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
        if !self.holds(tag).await {
            return Err(QueueError::StaleTag);
        }
        let dead = envelope.clone().with_header(REASON_HEADER, reason);
        self.shared
            .inner
            .publish_now(&QueueName::Dead, &[dead])
            .await?;
        self.ack(&[tag]).await
    }

    async fn release(&self, tag: AckTag) -> Result<(), QueueError> {
        let mut state = self.shared.state.lock().await;
        let held = state.generation == tag.generation && state.unsettled.remove(&tag.id);
        let Some(channel) = state.channel.clone().filter(|_| held) else {
            return Err(QueueError::StaleTag);
        };
        let options = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        match tokio::time::timeout(ACK_TIMEOUT, channel.basic_nack(tag.id, options)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(QueueError::StaleTag),
        }
    }
}
