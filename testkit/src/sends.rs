//! What the adapters' own simulator tests share (adapters/<vendor>/tests/sim/helpers.rs):
//! a target for a token, and one request through an adapter read back as one outcome per
//! target, in the targets' order.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget};
use push_core::{App, Channel, DeliveryId, IngestMessage};
use time::OffsetDateTime;

/// A `channel` target for `token`: a fresh delivery id, device `device-{token}`.
pub fn target(channel: Channel, token: &str) -> SendTarget {
    SendTarget {
        delivery_id: DeliveryId::new(),
        device_id: format!("device-{token}"),
        channel,
        token: token.into(),
        apns_environment: None,
    }
}

/// Sends `message` to `targets` in one call and answers one outcome per target, in the
/// targets' order; panics unless every target got exactly one result.
pub async fn outcomes_in_order(
    adapter: &dyn Adapter,
    app: &App,
    credential: &CredentialRef,
    message: &IngestMessage,
    targets: &[SendTarget],
) -> Vec<Outcome> {
    let request = SendRequest {
        app,
        credential,
        message,
        accepted_at: OffsetDateTime::now_utc(),
        targets,
    };
    let results = adapter.send(request).await;
    assert_eq!(results.len(), targets.len(), "{results:?}");
    targets
        .iter()
        .map(|t| {
            results
                .iter()
                .find(|r| r.delivery_id == t.delivery_id)
                .expect("an outcome per target")
                .outcome
                .clone()
        })
        .collect()
}
