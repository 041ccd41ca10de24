//! Receipt events on the events exchange (contract 2): routing key `<app>.<state>`, and
//! `<app>.token_invalid` when a device is deactivated. Events are notifications for the IM
//! core; the durable record is the store's receipts, so a failed publish is logged, not fatal.

use push_core::queue::Queue;
use push_core::{Channel, Delivery, ReceiptEvent};
use serde::Serialize;
use std::sync::Arc;
use time::OffsetDateTime;

/// Publishes receipt and token events.
#[derive(Clone)]
pub struct EventPublisher {
    queue: Arc<dyn Queue>,
}

/// Body of a `<app>.token_invalid` event.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInvalidEvent<'a> {
    /// The app.
    pub app: &'a str,
    /// The deactivated device.
    pub device_id: &'a str,
    /// Its user.
    pub user_id: &'a str,
    /// Its vendor.
    pub vendor: Channel,
    /// The vendor's reason.
    pub reason: &'a str,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl EventPublisher {
    /// Publishes through `queue`.
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }

    /// The receipt of a delivery's current state.
    pub async fn receipt(&self, d: &Delivery) {
        let event = ReceiptEvent {
            delivery_id: d.id,
            app: d.app_id.clone(),
            notification_id: d.notification_id.clone(),
            device_id: d.device_id.clone(),
            vendor: d.channel,
            state: d.state,
            reason: d.reason.clone(),
            vendor_message_id: d.vendor_message_id.clone(),
            at: d.updated_at,
        };
        self.publish(&event.routing_key(), &event).await;
    }

    /// The receipts of several deliveries' current states, published together: their
    /// confirms are awaited at once, not one after another.
    pub async fn receipts(&self, deliveries: &[Delivery]) {
        futures::future::join_all(deliveries.iter().map(|d| self.receipt(d))).await;
    }

    /// A device deactivation.
    pub async fn token_invalid(&self, event: &TokenInvalidEvent<'_>) {
        self.publish(&format!("{}.token_invalid", event.app), event)
            .await;
    }

    async fn publish(&self, routing_key: &str, body: &impl Serialize) {
        let Ok(body) = serde_json::to_vec(body) else {
            return;
        };
        if let Err(error) = self.queue.publish_event(routing_key, body).await {
            tracing::warn!(%error, routing_key, "receipt event not published (the receipt is stored)");
        }
    }
}
