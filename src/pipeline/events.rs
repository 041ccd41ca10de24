//! Receipt events on the events exchange (contract 2): routing key `<app>.<state>`, and
//! `<app>.token_invalid` when a device is deactivated. Events are notifications for the IM
//! core; the durable record is the store's receipts, so a failed publish is logged, not fatal.

use push_core::queue::Queue;
use push_core::{Channel, Delivery, DeliveryState, ReceiptEvent};
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

/// The contract-2 event of a delivery's current state. Its reason is this state's: the
/// delivery keeps the reason of its last retry or failure, which says nothing about a later
/// `sending`, `accepted`, `delivered` or `opened`.
fn receipt_event(d: &Delivery) -> ReceiptEvent {
    let reason = match d.state {
        DeliveryState::Queued | DeliveryState::Failed | DeliveryState::Expired => d.reason.clone(),
        DeliveryState::Sending
        | DeliveryState::Accepted
        | DeliveryState::Delivered
        | DeliveryState::Opened => None,
    };
    ReceiptEvent {
        delivery_id: d.id,
        app: d.app_id.clone(),
        notification_id: d.notification_id.clone(),
        device_id: d.device_id.clone(),
        vendor: d.channel,
        state: d.state,
        reason,
        vendor_message_id: d.vendor_message_id.clone(),
        at: d.updated_at,
    }
}

impl EventPublisher {
    /// Publishes through `queue`.
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }

    /// The receipt of a delivery's current state.
    pub async fn receipt(&self, d: &Delivery) {
        self.receipts(std::slice::from_ref(d)).await;
    }

    /// The receipts of several deliveries' current states, published as one batch: written
    /// together and their confirms awaited at once.
    pub async fn receipts(&self, deliveries: &[Delivery]) {
        let events: Vec<(String, Vec<u8>)> = deliveries
            .iter()
            .filter_map(|d| {
                let event = receipt_event(d);
                let body = serde_json::to_vec(&event).ok()?;
                Some((event.routing_key(), body))
            })
            .collect();
        if events.is_empty() {
            return;
        }
        let count = events.len();
        if let Err(error) = self.queue.publish_events(events).await {
            tracing::warn!(%error, events = count, "receipt events not published (the receipts are stored)");
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_carries_its_own_states_reason_not_an_earlier_one() {
        let mut d = Delivery::queued("chat", "n1", "pixel", Channel::Fcm, push_core::now());
        d.reason = Some("FCM UNAVAILABLE: retry".into());
        for (state, kept) in [
            (DeliveryState::Queued, true),
            (DeliveryState::Accepted, false),
            (DeliveryState::Delivered, false),
            (DeliveryState::Failed, true),
        ] {
            d.state = state;
            assert_eq!(receipt_event(&d).reason.is_some(), kept, "{state:?}");
        }
    }
}
