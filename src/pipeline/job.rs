//! The vendor job: what the ingest stage hands a vendor worker through its queue.

use push_core::DeliveryId;
use push_core::queue::Envelope;
use serde::{Deserialize, Serialize};

/// Deliveries of one notification for one vendor. A job carries up to the adapter's batch
/// size, so vendors with batch APIs get one request per job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorJob {
    /// Format version.
    pub v: u8,
    /// The app.
    pub app: String,
    /// The producer's notification id.
    pub notification: String,
    /// The deliveries to send.
    pub deliveries: Vec<DeliveryId>,
    /// Set when the job was handed back after a crash and then parked: its deliveries still
    /// in `sending` were abandoned and must be sent again (a parked copy is a new message,
    /// so the broker's redelivered flag no longer says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

impl VendorJob {
    /// The current format version.
    pub const VERSION: u8 = 1;

    /// A job for these deliveries.
    pub fn new(app: &str, notification: &str, deliveries: Vec<DeliveryId>) -> Self {
        Self {
            v: Self::VERSION,
            app: app.to_string(),
            notification: notification.to_string(),
            deliveries,
            resume: false,
        }
    }

    /// The queue message carrying it.
    pub fn to_envelope(&self) -> Envelope {
        // Serialising plain strings and UUIDs cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        super::stamp(Envelope::new(body).with_header("content-type", "application/json"))
    }

    /// Reads a job back; `None` for a message that is not one (it goes to the dead queue).
    pub fn from_envelope(envelope: &Envelope) -> Option<Self> {
        serde_json::from_slice::<Self>(&envelope.body)
            .ok()
            .filter(|j| j.v == Self::VERSION && !j.deliveries.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_garbage_is_refused() {
        let job = VendorJob::new("app", "n1", vec![DeliveryId::new(), DeliveryId::new()]);
        assert_eq!(VendorJob::from_envelope(&job.to_envelope()), Some(job));
        assert_eq!(VendorJob::from_envelope(&Envelope::new("{}")), None);
        assert_eq!(VendorJob::from_envelope(&Envelope::new("not json")), None);
        let empty = VendorJob::new("app", "n1", vec![]);
        assert_eq!(VendorJob::from_envelope(&empty.to_envelope()), None);
    }
}
