//! Client acks: the app on a device (or the tenant's backend on its behalf) reports that a
//! notification reached the device or was opened there. APNs and FCM send no receipts, so
//! this is the only way their deliveries get past `accepted`. An ack is a receipt without a
//! vendor: it takes the same guarded path as receipt callbacks ([`CallbackService`]) — a
//! delivery still in `sending` is first recorded `accepted`, `opened` may skip `delivered`
//! (as a vendor's click receipt does), and a duplicate or late ack (after `opened`, `failed`
//! or `expired`) changes nothing — and every move is stored and published the same way.

use super::{Applied, CallbackService};
use push_core::{DeliveryState, StoreError, Transition};
use std::fmt;
use std::str::FromStr;

/// What a client reports of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAck {
    /// The notification reached the device.
    Delivered,
    /// The user opened it.
    Opened,
}

impl ClientAck {
    /// The wire name, the same as the delivery state it leads to.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Opened => "opened",
        }
    }

    fn transition(self) -> Transition {
        match self {
            Self::Delivered => Transition::Delivered,
            Self::Opened => Transition::Opened,
        }
    }
}

impl fmt::Display for ClientAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientAck {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "delivered" => Ok(Self::Delivered),
            "opened" => Ok(Self::Opened),
            _ => Err("must be delivered or opened"),
        }
    }
}

/// What an ack did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The delivery moved; `to` is where it stands now.
    Moved {
        /// Its state afterwards.
        to: DeliveryState,
    },
    /// Nothing changed: the delivery is already there or past it, or in a state no ack can
    /// move (`queued`, `failed`, `expired`). `state` is the one the ack found.
    Unchanged {
        /// The state the delivery was in.
        state: DeliveryState,
    },
    /// The app has no delivery of that notification to that device.
    UnknownDelivery,
}

impl CallbackService {
    /// Applies a client's `ack` to the delivery of `notification_id` to `device_id` of
    /// `app`. The caller has checked that it may speak for the app (and the device).
    pub async fn acknowledge(
        &self,
        app: &str,
        notification_id: &str,
        device_id: &str,
        ack: ClientAck,
    ) -> Result<AckOutcome, StoreError> {
        // One delivery per (app, notification, device): the store keeps that unique.
        let Some(delivery) = self
            .store
            .deliveries_of(app, notification_id)
            .await?
            .into_iter()
            .find(|d| d.device_id == device_id)
        else {
            count(ack, "unknown");
            return Ok(AckOutcome::UnknownDelivery);
        };
        self.accept_if_sending(&delivery, None).await?;
        let mut applied = Applied::default();
        self.transition(&delivery, ack.transition(), &mut applied)
            .await?;
        let outcome = if applied.moved > 0 {
            AckOutcome::Moved {
                to: ack.transition().target(),
            }
        } else {
            AckOutcome::Unchanged {
                state: delivery.state,
            }
        };
        count(
            ack,
            match outcome {
                AckOutcome::Moved { .. } => "moved",
                _ => "unchanged",
            },
        );
        tracing::debug!(
            app,
            notification = notification_id,
            device = device_id,
            vendor = %delivery.channel,
            ack = %ack,
            ?outcome,
            "client ack"
        );
        Ok(outcome)
    }
}

fn count(ack: ClientAck, result: &'static str) {
    metrics::counter!("pushgate_client_acks_total", "state" => ack.as_str(), "result" => result)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_delivered_and_opened_are_acks() {
        assert_eq!("delivered".parse(), Ok(ClientAck::Delivered));
        assert_eq!("opened".parse(), Ok(ClientAck::Opened));
        for other in ["accepted", "failed", "Opened", "", "read"] {
            assert!(other.parse::<ClientAck>().is_err(), "{other}");
        }
        assert_eq!(
            ClientAck::Opened.transition().target(),
            DeliveryState::Opened
        );
        assert_eq!(
            ClientAck::Delivered.transition().target(),
            DeliveryState::Delivered
        );
    }
}
