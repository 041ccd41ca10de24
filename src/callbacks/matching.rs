//! Which delivery a receipt is about. Vendors identify messages differently: by the echo
//! field pushgate set (a delivery id for single sends, the notification id for batch sends),
//! by their own message id (one id for a whole batch), and by the device token. A receipt
//! that does not lead to exactly one delivery of this app and channel is ignored: a
//! guess could mark the wrong user's message.

use push_core::adapter::CallbackReceipt;
use push_core::{Channel, Delivery, DeliveryId, Device, Store, StoreResult};
use std::time::Duration;

/// How long a receipt known only by the vendor's message id waits for the worker to record
/// that id: a vendor may post the receipt before pushgate has stored its own answer.
const OVERTAKE_WAIT: Duration = Duration::from_secs(2);
const OVERTAKE_POLL: Duration = Duration::from_millis(100);

/// The delivery `receipt` is about, with its device when it still exists.
pub(super) async fn find(
    store: &dyn Store,
    app: &str,
    channel: Channel,
    receipt: &CallbackReceipt,
) -> StoreResult<Option<(Delivery, Option<Device>)>> {
    let deadline = tokio::time::Instant::now() + OVERTAKE_WAIT;
    loop {
        let found = find_once(store, app, channel, receipt).await?;
        // Only a receipt with nothing but a vendor message id can be early: one with pushgate's
        // own tag finds its delivery at once.
        let may_be_early = found.is_none()
            && receipt.vendor_message_id.is_some()
            && receipt.tag.is_none()
            && tokio::time::Instant::now() < deadline;
        if !may_be_early {
            return Ok(found);
        }
        tokio::time::sleep(OVERTAKE_POLL).await;
    }
}

async fn find_once(
    store: &dyn Store,
    app: &str,
    channel: Channel,
    receipt: &CallbackReceipt,
) -> StoreResult<Option<(Delivery, Option<Device>)>> {
    let mut candidates = Vec::new();
    if let Some(id) = receipt
        .tag
        .as_deref()
        .and_then(|t| t.parse::<DeliveryId>().ok())
        && let Some(d) = store.get_delivery(id).await?
        && d.app_id == app
    {
        candidates.push(d);
    }
    if candidates.is_empty() {
        // Both sources: a batch's deliveries get the vendor message id one by one as the
        // worker records them, so a fast receipt may find only some of them by it.
        if let Some(id) = &receipt.vendor_message_id {
            candidates = store.deliveries_by_vendor_message(app, id).await?;
        }
        if let Some(tag) = &receipt.tag {
            for d in store.deliveries_of(app, tag).await? {
                if !candidates.iter().any(|c| c.id == d.id) {
                    candidates.push(d);
                }
            }
        }
    }
    candidates.retain(|d| d.channel == channel);
    if candidates.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = candidates.iter().map(|d| d.device_id.clone()).collect();
    let devices = store.get_devices(app, &ids).await?;
    let device_of = |d: &Delivery| devices.iter().find(|v| v.device_id == d.device_id).cloned();
    match &receipt.token {
        Some(token) => Ok(candidates.into_iter().find_map(|d| {
            let device = device_of(&d)?;
            (device.token.as_deref() == Some(token.as_str())).then_some((d, Some(device)))
        })),
        None if candidates.len() == 1 => {
            let d = candidates.remove(0);
            let device = device_of(&d);
            Ok(Some((d, device)))
        }
        None => Ok(None),
    }
}
