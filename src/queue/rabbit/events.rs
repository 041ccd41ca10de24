//! Event subscriptions on RabbitMQ: an exclusive, auto-delete, server-named queue bound to
//! the topic exchange `<prefix>.receipts` with the subscriber's pattern, consumed without
//! acks. After a reconnect a new queue is declared and bound; events published while the
//! connection was down are not seen (events are notifications, receipts are durable in
//! the store).

use super::Inner;
use super::topology::short;
use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use push_core::queue::{EventStream, QueueError};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Pause before trying again after the queue could not be set up on a live connection.
const REOPEN_PAUSE: Duration = Duration::from_millis(500);

/// Events whose routing key matches a pattern.
pub struct RabbitEvents {
    inner: Arc<Inner>,
    pattern: String,
    current: Option<(Channel, Consumer)>,
}

/// Subscribes to events matching `pattern`, bound before this returns.
pub(super) async fn open(inner: Arc<Inner>, pattern: &str) -> Result<RabbitEvents, QueueError> {
    short(pattern)?;
    let mut events = RabbitEvents {
        inner,
        pattern: pattern.to_string(),
        current: None,
    };
    events.open_consumer().await?;
    Ok(events)
}

impl RabbitEvents {
    async fn open_consumer(&mut self) -> Result<(), QueueError> {
        let link = &self.inner.link;
        let live = link.live(None).await?;
        let fail = |e: lapin::Error| link.unavailable("subscribing to events", e);
        let channel = live.conn.create_channel().await.map_err(fail)?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions::exclusive().auto_delete(),
                FieldTable::default(),
            )
            .await
            .map_err(fail)?;
        channel
            .queue_bind(
                queue.name().clone(),
                self.inner.names.events_exchange().as_str().into(),
                self.pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(fail)?;
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(fail)?;
        self.current = Some((channel, consumer));
        Ok(())
    }
}

#[async_trait]
impl EventStream for RabbitEvents {
    async fn next(&mut self) -> Option<(String, Vec<u8>)> {
        let closed = self.inner.link.closed().clone();
        loop {
            if closed.is_cancelled() {
                return None;
            }
            if self.current.is_none()
                && let Err(e) = self.open_consumer().await
            {
                tracing::warn!(pattern = %self.pattern, error = %e, "cannot subscribe to events yet; retrying");
                self.inner
                    .link
                    .sleep_until(Instant::now() + REOPEN_PAUSE)
                    .await;
                continue;
            }
            let (_, consumer) = self.current.as_mut()?;
            let item = tokio::select! {
                item = consumer.next() => item,
                _ = closed.cancelled() => return None,
            };
            match item {
                Some(Ok(delivery)) => {
                    return Some((delivery.routing_key.as_str().to_string(), delivery.data));
                }
                Some(Err(_)) | None => {
                    tracing::warn!(pattern = %self.pattern, "event consumer ended; subscribing again");
                    self.current = None;
                }
            }
        }
    }
}

impl Drop for RabbitEvents {
    fn drop(&mut self) {
        let Some((channel, _)) = self.current.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = channel.close(200, "events dropped".into()).await;
            });
        }
    }
}
