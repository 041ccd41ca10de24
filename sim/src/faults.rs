//! Fault injection, vendor-neutral: latency, a share of error answers, outages. Each vendor
//! renders an error fault in its own error format; a `refuse` outage is carried out by the
//! listener (see `server.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::control::types::{ErrorFault, FaultSpec, Outage, Vendor};
use crate::record::lock;

/// What to do with one request, decided before the vendor processes it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FaultAction {
    /// Process the request normally.
    None,
    /// Answer 503 in the vendor's words (outage `unavailable`).
    Unavailable,
    /// Answer this error instead of processing.
    Error(ErrorFault),
}

/// The faults of every vendor.
#[derive(Debug)]
pub(crate) struct Faults {
    specs: Mutex<HashMap<Vendor, (FaultSpec, u64)>>,
    refuse: HashMap<Vendor, watch::Sender<bool>>,
}

impl Default for Faults {
    fn default() -> Self {
        let refuse = Vendor::ALL
            .into_iter()
            .map(|v| (v, watch::channel(false).0))
            .collect();
        Faults {
            specs: Mutex::new(HashMap::new()),
            refuse,
        }
    }
}

impl Faults {
    /// Replaces the faults of `vendor`.
    pub(crate) fn set(&self, vendor: Vendor, spec: FaultSpec) -> Result<(), String> {
        if let Some(e) = &spec.error {
            if !(0.0..=1.0).contains(&e.rate) {
                return Err("error.rate must be between 0 and 1".into());
            }
            if !(200..=599).contains(&e.status) {
                return Err("error.status must be a final HTTP status (200..=599)".into());
            }
        }
        if !(0.0..=1.0).contains(&spec.reset_rate) {
            return Err("reset_rate must be between 0 and 1".into());
        }
        let refusing = spec.outage == Some(Outage::Refuse);
        lock(&self.specs).insert(vendor, (spec, 0));
        if let Some(tx) = self.refuse.get(&vendor) {
            tx.send_if_modified(|v| std::mem::replace(v, refusing) != refusing);
        }
        Ok(())
    }

    /// The faults of `vendor` (default: none).
    pub(crate) fn get(&self, vendor: Vendor) -> FaultSpec {
        lock(&self.specs)
            .get(&vendor)
            .map(|(s, _)| s.clone())
            .unwrap_or_default()
    }

    /// Clears every vendor's faults.
    pub(crate) fn clear_all(&self) {
        for v in Vendor::ALL {
            // A default spec is always valid.
            let _ = self.set(v, FaultSpec::default());
        }
    }

    /// Watches whether `vendor`'s listeners must refuse connections.
    pub(crate) fn refuse_watch(&self, vendor: Vendor) -> watch::Receiver<bool> {
        match self.refuse.get(&vendor) {
            Some(tx) => tx.subscribe(),
            None => watch::channel(false).1,
        }
    }

    /// The latency to add to a request of `vendor`.
    pub(crate) fn latency(&self, vendor: Vendor) -> Duration {
        lock(&self.specs)
            .get(&vendor)
            .map(|(s, _)| Duration::from_millis(s.latency_ms))
            .unwrap_or_default()
    }

    /// Whether `vendor` is in an `unavailable` outage. Its auth endpoints ask only this: error
    /// faults are for the send paths, and a counted one must not be spent on a token fetch.
    pub(crate) fn unavailable(&self, vendor: Vendor) -> bool {
        lock(&self.specs)
            .get(&vendor)
            .is_some_and(|(s, _)| s.outage == Some(Outage::Unavailable))
    }

    /// Decides the fault for one request of `vendor` (counts it against `count`).
    pub(crate) fn decide(&self, vendor: Vendor) -> FaultAction {
        let mut specs = lock(&self.specs);
        let Some((spec, fired)) = specs.get_mut(&vendor) else {
            return FaultAction::None;
        };
        if spec.outage == Some(Outage::Unavailable) {
            return FaultAction::Unavailable;
        }
        let Some(err) = &spec.error else {
            return FaultAction::None;
        };
        if err.count.is_some_and(|c| *fired >= c) {
            return FaultAction::None;
        }
        if err.rate >= 1.0 || random_unit() < err.rate {
            *fired += 1;
            return FaultAction::Error(err.clone());
        }
        FaultAction::None
    }
}

impl Faults {
    /// Whether to reset the connection instead of answering this request of `vendor`.
    pub(crate) fn reset_now(&self, vendor: Vendor) -> bool {
        let rate = lock(&self.specs)
            .get(&vendor)
            .map_or(0.0, |(s, _)| s.reset_rate);
        rate > 0.0 && (rate >= 1.0 || random_unit() < rate)
    }
}

/// A random number in [0, 1).
fn random_unit() -> f64 {
    let bits = (uuid::Uuid::new_v4().as_u128() >> 75) as u64; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(rate: f64, count: Option<u64>) -> FaultSpec {
        FaultSpec {
            error: Some(ErrorFault {
                rate,
                status: 503,
                reason: "ServiceUnavailable".into(),
                retry_after: None,
                count,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn count_limits_scripted_errors() {
        let f = Faults::default();
        f.set(Vendor::Apns, error(1.0, Some(2))).unwrap();
        assert!(matches!(f.decide(Vendor::Apns), FaultAction::Error(_)));
        assert!(matches!(f.decide(Vendor::Apns), FaultAction::Error(_)));
        assert_eq!(f.decide(Vendor::Apns), FaultAction::None);
        assert_eq!(f.decide(Vendor::Fcm), FaultAction::None);
        assert!(!f.unavailable(Vendor::Apns), "an error fault is no outage");
    }

    #[test]
    fn rate_zero_never_fires_and_bad_rate_is_refused() {
        let f = Faults::default();
        f.set(Vendor::Fcm, error(0.0, None)).unwrap();
        assert!((0..100).all(|_| f.decide(Vendor::Fcm) == FaultAction::None));
        assert!(f.set(Vendor::Fcm, error(1.5, None)).is_err());
    }

    #[test]
    fn refuse_outage_flips_the_watch() {
        let f = Faults::default();
        let rx = f.refuse_watch(Vendor::Apns);
        f.set(
            Vendor::Apns,
            FaultSpec {
                outage: Some(Outage::Refuse),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(*rx.borrow());
        f.clear_all();
        assert!(!*rx.borrow());
    }
}
