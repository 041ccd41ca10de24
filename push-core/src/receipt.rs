//! Receipt events: one per state change of a delivery (contract 2 of DESIGN.md).

use crate::channel::Channel;
use crate::delivery::DeliveryState;
use crate::ids::DeliveryId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One recorded state change, as stored and as published on `pushgate.receipts`
/// (routing key `<app>.<state>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEvent {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// The app.
    pub app: String,
    /// The producer's notification id.
    pub notification_id: String,
    /// The device.
    pub device_id: String,
    /// The vendor channel.
    pub vendor: Channel,
    /// The state entered.
    pub state: DeliveryState,
    /// Why (failures and retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The vendor's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_message_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl ReceiptEvent {
    /// The routing key on the receipts exchange.
    pub fn routing_key(&self) -> String {
        format!("{}.{}", self.app, self.state)
    }
}
