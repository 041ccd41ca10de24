//! Routing between instances: each instance consumes its own queue
//! (`<prefix>.instance.<id>` through the [`Queue`] port, RabbitMQ in production) and
//! applies what other instances send it to its own connections. With one instance (the
//! embedded default) nothing goes through here: delivery is in-process.

use crate::hub::Hub;
use push_core::queue::{Envelope, Queue, QueueError, QueueName};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Messages an instance consumes from its queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelayMessage {
    /// Deliver a stored message to the local connections of these users.
    Deliver {
        /// The app.
        app: String,
        /// The `msg` frame without `type` and `seq` (see [`crate::dispatch::msg_frame`]).
        tail: String,
        /// (user, that user's sequence).
        to: Vec<(String, i64)>,
    },
    /// A newer login elsewhere replaced this connection.
    Kick {
        /// The app.
        app: String,
        /// The user.
        user: String,
        /// The device.
        device: String,
        /// The replaced connection.
        conn_id: u64,
    },
}

/// This instance in a cluster: its id and the queue reaching the others.
#[derive(Clone)]
pub struct Cluster {
    /// The queue backend.
    pub queue: Arc<dyn Queue>,
    /// This instance's id.
    pub instance: String,
}

impl Cluster {
    /// Sends `message` to `instance`'s queue.
    pub async fn send(&self, instance: &str, message: &RelayMessage) -> Result<(), QueueError> {
        let body = serde_json::to_vec(message)
            .map_err(|e| QueueError::Refused(format!("unserialisable relay message: {e}")))?;
        self.queue
            .publish(
                &QueueName::Instance(instance.to_string()),
                vec![Envelope::new(body).with_header("content-type", "application/json")],
                None,
            )
            .await
    }

    /// Consumes this instance's queue until `stop`, applying each message to `hub`.
    pub async fn consume(&self, hub: Arc<Hub>, stop: CancellationToken) -> Result<(), QueueError> {
        let queue = QueueName::Instance(self.instance.clone());
        let (mut subscription, acker) = self.queue.subscribe(&queue, 256).await?;
        tracing::info!(instance = %self.instance, "online relay consuming");
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                next = subscription.next() => match next {
                    Some(r) => r,
                    None => return Ok(()),
                },
            };
            match serde_json::from_slice::<RelayMessage>(&received.envelope.body) {
                Ok(message) => apply(&hub, message),
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable relay message; dropping it");
                }
            }
            // Delivery to a live socket is best effort: the inbox holds the message.
            if let Err(e) = acker.ack(&[received.tag]).await {
                tracing::debug!(error = %e, "relay ack failed (redelivery is harmless)");
            }
        }
    }
}

/// Applies a relayed message to this instance's connections.
pub fn apply(hub: &Hub, message: RelayMessage) {
    match message {
        RelayMessage::Deliver { app, tail, to } => {
            for (user, seq) in to {
                hub.deliver(&app, &user, &crate::dispatch::msg_frame(seq, &tail), None);
            }
        }
        RelayMessage::Kick {
            app,
            user,
            device,
            conn_id,
        } => {
            hub.kick(&app, &user, &device, Some(conn_id));
        }
    }
}
