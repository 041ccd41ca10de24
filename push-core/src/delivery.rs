//! Deliveries (one notification to one device) and their state machine.
//!
//! ```text
//! queued ──▶ sending ──▶ accepted ──▶ delivered ──▶ opened
//!   │  ▲        │            │  └──────────────────────▲
//!   │  └─retry──┤            └──▶ failed
//!   ├──▶ failed ◀┤
//!   └──▶ expired◀┘
//! ```
//! `opened`, `failed` and `expired` are final. Receipt callbacks may skip `delivered`.

use crate::channel::Channel;
use crate::ids::DeliveryId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for a vendor worker (first try or a retry).
    Queued,
    /// A vendor worker is sending it.
    Sending,
    /// The vendor took it.
    Accepted,
    /// The vendor reported it reached the device.
    Delivered,
    /// The user opened it.
    Opened,
    /// It will not be delivered; the delivery's reason says why.
    Failed,
    /// Its ttl ran out before it could be sent.
    Expired,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 7] = [
        Self::Queued,
        Self::Sending,
        Self::Accepted,
        Self::Delivered,
        Self::Opened,
        Self::Failed,
        Self::Expired,
    ];

    /// The wire name, also the routing-key suffix of receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::Delivered => "delivered",
            Self::Opened => "opened",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Whether nothing can follow this state.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Opened | Self::Failed | Self::Expired)
    }

    /// The states from which `self` may be entered; the store uses it as its guard.
    pub fn predecessors(self) -> &'static [DeliveryState] {
        use DeliveryState::*;
        match self {
            Queued => &[Sending],
            Sending => &[Queued],
            Accepted => &[Sending],
            Delivered => &[Accepted],
            Opened => &[Accepted, Delivered],
            Failed => &[Queued, Sending, Accepted],
            Expired => &[Queued, Sending],
        }
    }

    /// Whether `self → next` is a legal move.
    pub fn can_become(self, next: DeliveryState) -> bool {
        next.predecessors().contains(&self)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown delivery state {s:?}"))
    }
}

/// A requested state change. Each variant carries exactly what its target state needs, so a
/// failure without a reason cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A worker picked it up.
    Sending,
    /// Back to the queue for another attempt, with why the last one did not work.
    Retry {
        /// Why the attempt must be repeated.
        reason: String,
    },
    /// The vendor took it.
    Accepted {
        /// The vendor's message id, when it gives one.
        vendor_message_id: Option<String>,
    },
    /// The vendor reported it reached the device.
    Delivered,
    /// The user opened it.
    Opened,
    /// Final failure.
    Failed {
        /// Why.
        reason: String,
    },
    /// The ttl ran out.
    Expired,
}

impl Transition {
    /// The state the delivery is in afterwards.
    pub fn target(&self) -> DeliveryState {
        match self {
            Self::Sending => DeliveryState::Sending,
            Self::Retry { .. } => DeliveryState::Queued,
            Self::Accepted { .. } => DeliveryState::Accepted,
            Self::Delivered => DeliveryState::Delivered,
            Self::Opened => DeliveryState::Opened,
            Self::Failed { .. } => DeliveryState::Failed,
            Self::Expired => DeliveryState::Expired,
        }
    }

    /// The reason recorded with it, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Retry { reason } | Self::Failed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The vendor message id recorded with it, if any.
    pub fn vendor_message_id(&self) -> Option<&str> {
        match self {
            Self::Accepted { vendor_message_id } => vendor_message_id.as_deref(),
            _ => None,
        }
    }
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a delivery cannot go from {from} to {to}")]
pub struct IllegalTransition {
    /// The state it was in.
    pub from: DeliveryState,
    /// The state that was asked for.
    pub to: DeliveryState,
}

/// One notification to one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The app.
    pub app_id: String,
    /// The producer's notification id.
    pub notification_id: String,
    /// The device.
    pub device_id: String,
    /// The channel used. Named `vendor` in JSON, as in the API and receipts.
    #[serde(rename = "vendor", alias = "channel")]
    pub channel: Channel,
    /// Where it stands.
    pub state: DeliveryState,
    /// The reason of the last failure or retry.
    pub reason: Option<String>,
    /// The vendor's message id, once accepted.
    pub vendor_message_id: Option<String>,
    /// How many times a worker started sending it.
    pub attempts: u32,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its state last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Delivery {
    /// A new queued delivery.
    pub fn queued(
        app_id: &str,
        notification_id: &str,
        device_id: &str,
        channel: Channel,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: DeliveryId::new(),
            app_id: app_id.to_string(),
            notification_id: notification_id.to_string(),
            device_id: device_id.to_string(),
            channel,
            state: DeliveryState::Queued,
            reason: None,
            vendor_message_id: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// Applies a transition in memory, refusing illegal moves. The store applies the same
    /// rule atomically in the database.
    pub fn apply(&mut self, t: &Transition, now: OffsetDateTime) -> Result<(), IllegalTransition> {
        let to = t.target();
        if !self.state.can_become(to) {
            return Err(IllegalTransition {
                from: self.state,
                to,
            });
        }
        self.state = to;
        if let Some(reason) = t.reason() {
            self.reason = Some(reason.to_string());
        }
        if let Some(id) = t.vendor_message_id() {
            self.vendor_message_id = Some(id.to_string());
        }
        if to == DeliveryState::Sending {
            self.attempts += 1;
        }
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryState::*;

    fn fresh() -> Delivery {
        Delivery::queued("app", "n1", "d1", Channel::Fcm, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn happy_path_reaches_opened() {
        let mut d = fresh();
        for t in [
            Transition::Sending,
            Transition::Accepted {
                vendor_message_id: Some("m1".into()),
            },
            Transition::Delivered,
            Transition::Opened,
        ] {
            d.apply(&t, OffsetDateTime::UNIX_EPOCH).unwrap();
        }
        assert_eq!(d.state, Opened);
        assert_eq!(d.vendor_message_id.as_deref(), Some("m1"));
        assert_eq!(d.attempts, 1);
    }

    #[test]
    fn retry_returns_to_queue_and_counts_attempts() {
        let mut d = fresh();
        let now = OffsetDateTime::UNIX_EPOCH;
        d.apply(&Transition::Sending, now).unwrap();
        d.apply(
            &Transition::Retry {
                reason: "503".into(),
            },
            now,
        )
        .unwrap();
        assert_eq!((d.state, d.reason.as_deref()), (Queued, Some("503")));
        d.apply(&Transition::Sending, now).unwrap();
        assert_eq!(d.attempts, 2);
    }

    #[test]
    fn final_states_accept_nothing() {
        for last in [Opened, Failed, Expired] {
            assert!(last.is_final());
            for next in DeliveryState::ALL {
                assert!(!last.can_become(next), "{last} -> {next} must be illegal");
            }
        }
    }

    #[test]
    fn illegal_moves_are_rejected_and_leave_the_delivery_unchanged() {
        let mut d = fresh();
        let before = d.clone();
        let err = d
            .apply(&Transition::Delivered, OffsetDateTime::UNIX_EPOCH)
            .unwrap_err();
        assert_eq!(
            err,
            IllegalTransition {
                from: Queued,
                to: Delivered
            }
        );
        assert_eq!(d, before);
        assert!(
            d.apply(
                &Transition::Accepted {
                    vendor_message_id: None
                },
                OffsetDateTime::UNIX_EPOCH
            )
            .is_err()
        );
        assert!(
            d.apply(&Transition::Opened, OffsetDateTime::UNIX_EPOCH)
                .is_err()
        );
    }

    #[test]
    fn the_whole_table_is_as_designed() {
        let legal: &[(DeliveryState, DeliveryState)] = &[
            (Queued, Sending),
            (Queued, Failed),
            (Queued, Expired),
            (Sending, Queued),
            (Sending, Accepted),
            (Sending, Failed),
            (Sending, Expired),
            (Accepted, Delivered),
            (Accepted, Opened),
            (Accepted, Failed),
            (Delivered, Opened),
        ];
        for from in DeliveryState::ALL {
            for to in DeliveryState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn states_round_trip_as_strings() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>(), Ok(s));
        }
    }
}
