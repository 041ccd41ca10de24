//! Events of the embedded queue: a tokio broadcast channel, each subscriber filtering by its
//! AMQP topic pattern. Not durable; a subscriber that falls more than the buffer behind
//! skips what it missed (and logs how many).

use async_trait::async_trait;
use push_core::queue::{EventStream, topic_matches};
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// One published event: routing key and body.
type Event = Arc<(String, Vec<u8>)>;

/// The in-process event exchange.
#[derive(Debug)]
pub(super) struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    /// A bus keeping up to `buffer` events for slow subscribers.
    pub fn new(buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer);
        Self { sender }
    }

    /// Sends an event to every current subscriber (none is fine).
    pub fn publish(&self, routing_key: &str, body: Vec<u8>) {
        // An error only means nobody listens.
        let _ = self.sender.send(Arc::new((routing_key.to_string(), body)));
    }

    /// Events from now on whose routing key matches `pattern`.
    pub fn subscribe(&self, pattern: &str) -> EmbeddedEvents {
        EmbeddedEvents {
            receiver: self.sender.subscribe(),
            pattern: pattern.to_string(),
        }
    }
}

/// An event subscription of the embedded queue.
#[derive(Debug)]
pub struct EmbeddedEvents {
    receiver: broadcast::Receiver<Event>,
    pattern: String,
}

#[async_trait]
impl EventStream for EmbeddedEvents {
    async fn next(&mut self) -> Option<(String, Vec<u8>)> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if topic_matches(&self.pattern, &event.0) => {
                    return Some((event.0.clone(), event.1.clone()));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(pattern = %self.pattern, missed, "event subscriber fell behind; events skipped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
