//! The vendor job: what the ingest stage hands a vendor worker through its queue.

use push_core::DeliveryId;
use push_core::queue::Envelope;
use serde::{Deserialize, Serialize};

/// Deliveries of one app for one vendor, of one notification or of many (the ingest stage
/// puts the deliveries of a whole batch of notifications into one job, so a stream of 1:1
/// messages costs one job and one round of store work per batch, not per message). The
/// worker sends each notification's deliveries in requests of the adapter's batch size.
///
/// Version 1 jobs also named their one notification; they are still read (the field is
/// ignored: each delivery row names its notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorJob {
    /// Format version.
    pub v: u8,
    /// The app.
    pub app: String,
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
    pub const VERSION: u8 = 2;

    /// A job for these deliveries of `app`.
    pub fn new(app: &str, deliveries: Vec<DeliveryId>) -> Self {
        Self {
            v: Self::VERSION,
            app: app.to_string(),
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
            .filter(|j| (1..=Self::VERSION).contains(&j.v) && !j.deliveries.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_garbage_is_refused() {
        let job = VendorJob::new("app", vec![DeliveryId::new(), DeliveryId::new()]);
        assert_eq!(VendorJob::from_envelope(&job.to_envelope()), Some(job));
        assert_eq!(VendorJob::from_envelope(&Envelope::new("{}")), None);
        assert_eq!(VendorJob::from_envelope(&Envelope::new("not json")), None);
        let empty = VendorJob::new("app", vec![]);
        assert_eq!(VendorJob::from_envelope(&empty.to_envelope()), None);
        let future = serde_json::json!({"v": 3, "app": "app", "deliveries": [DeliveryId::new()]});
        assert_eq!(
            VendorJob::from_envelope(&Envelope::new(future.to_string())),
            None
        );
    }

    #[test]
    fn version_1_jobs_left_in_a_queue_are_still_read() {
        let id = DeliveryId::new();
        let old =
            serde_json::json!({"v": 1, "app": "chat", "notification": "n1", "deliveries": [id]});
        let job = VendorJob::from_envelope(&Envelope::new(old.to_string()));
        assert_eq!(
            job.map(|j| (j.app, j.deliveries)),
            Some(("chat".to_string(), vec![id]))
        );
    }
}
