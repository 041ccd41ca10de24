//! Token invalidation, conservative and visible: a device the vendor declared dead keeps its
//! row and the reason (registering the token again revives it), the deactivation is counted,
//! and it is announced on `<app>.token_invalid` so the IM core learns of it. Both the vendor
//! workers (a send answered "invalid token") and the receipt callbacks use it.

use super::events::{EventPublisher, TokenInvalidEvent};
use push_core::{Device, Store, StoreResult};

/// Deactivates `device` for `reason`, counting it under `vendor` and publishing the event;
/// answers false when it was not active (nothing is counted or published then).
pub async fn deactivate(
    store: &dyn Store,
    events: &EventPublisher,
    vendor: &'static str,
    device: &Device,
    reason: &str,
) -> StoreResult<bool> {
    let now = push_core::now();
    let done = store
        .deactivate_device(&device.app_id, &device.device_id, reason, now)
        .await?;
    if done {
        metrics::counter!("pushgate_tokens_invalidated_total", "vendor" => vendor, "app" => device.app_id.clone()).increment(1);
        tracing::info!(app = %device.app_id, device = %device.device_id, vendor, reason, "device deactivated");
        events
            .token_invalid(&TokenInvalidEvent {
                app: &device.app_id,
                device_id: &device.device_id,
                user_id: &device.user_id,
                vendor: device.channel,
                reason,
                at: now,
            })
            .await;
    }
    Ok(done)
}
