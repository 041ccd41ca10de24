//! Fault injection, vendor-neutral: latency, a share of error answers, outages, and for the
//! HTTP/2-only APNs listeners GOAWAYs and idle closure. Each vendor renders an error fault in
//! its own error format; a `refuse` outage, GOAWAYs and idle closure are carried out by the
//! listener (see `server.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::control::types::{ErrorFault, FaultSpec, GoawayFault, Outage, Vendor};
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

/// One vendor's faults and how often the counted ones fired.
#[derive(Debug, Default)]
struct Slot {
    spec: FaultSpec,
    errors: u64,
    goaways: u64,
}

/// The faults of every vendor.
#[derive(Debug)]
pub(crate) struct Faults {
    specs: Mutex<HashMap<Vendor, Slot>>,
    refuse: HashMap<Vendor, watch::Sender<bool>>,
    idle: HashMap<Vendor, watch::Sender<Option<Duration>>>,
}

impl Default for Faults {
    fn default() -> Self {
        let refuse = Vendor::ALL
            .into_iter()
            .map(|v| (v, watch::channel(false).0))
            .collect();
        let idle = Vendor::ALL
            .into_iter()
            .map(|v| (v, watch::channel(None).0))
            .collect();
        Faults {
            specs: Mutex::new(HashMap::new()),
            refuse,
            idle,
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
        // Only the APNs listeners are HTTP/2-only, where the server can follow the frames.
        if vendor != Vendor::Apns && (spec.goaway.is_some() || spec.idle_timeout_ms.is_some()) {
            return Err("goaway and idle_timeout_ms are APNs faults".into());
        }
        if let Some(g) = &spec.goaway
            && !(0.0..=1.0).contains(&g.rate)
        {
            return Err("goaway.rate must be between 0 and 1".into());
        }
        if spec.idle_timeout_ms == Some(0) {
            return Err("idle_timeout_ms must be positive (absent: no idle closure)".into());
        }
        let refusing = spec.outage == Some(Outage::Refuse);
        let idle = spec.idle_timeout_ms.map(Duration::from_millis);
        lock(&self.specs).insert(
            vendor,
            Slot {
                spec,
                ..Slot::default()
            },
        );
        if let Some(tx) = self.refuse.get(&vendor) {
            tx.send_if_modified(|v| std::mem::replace(v, refusing) != refusing);
        }
        if let Some(tx) = self.idle.get(&vendor) {
            tx.send_if_modified(|v| std::mem::replace(v, idle) != idle);
        }
        Ok(())
    }

    /// The faults of `vendor` (default: none).
    pub(crate) fn get(&self, vendor: Vendor) -> FaultSpec {
        lock(&self.specs)
            .get(&vendor)
            .map(|s| s.spec.clone())
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

    /// Watches the idle timeout of `vendor`'s connections (`None`: never closed for idleness).
    pub(crate) fn idle_watch(&self, vendor: Vendor) -> watch::Receiver<Option<Duration>> {
        match self.idle.get(&vendor) {
            Some(tx) => tx.subscribe(),
            None => watch::channel(None).1,
        }
    }

    /// The latency to add to a request of `vendor`.
    pub(crate) fn latency(&self, vendor: Vendor) -> Duration {
        lock(&self.specs)
            .get(&vendor)
            .map(|s| Duration::from_millis(s.spec.latency_ms))
            .unwrap_or_default()
    }

    /// Whether `vendor` is in an `unavailable` outage. Its auth endpoints ask only this: error
    /// faults are for the send paths, and a counted one must not be spent on a token fetch.
    pub(crate) fn unavailable(&self, vendor: Vendor) -> bool {
        lock(&self.specs)
            .get(&vendor)
            .is_some_and(|s| s.spec.outage == Some(Outage::Unavailable))
    }

    /// Decides the fault for one request of `vendor` (counts it against `count`).
    pub(crate) fn decide(&self, vendor: Vendor) -> FaultAction {
        let mut specs = lock(&self.specs);
        let Some(slot) = specs.get_mut(&vendor) else {
            return FaultAction::None;
        };
        if slot.spec.outage == Some(Outage::Unavailable) {
            return FaultAction::Unavailable;
        }
        let Some(err) = &slot.spec.error else {
            return FaultAction::None;
        };
        if err.count.is_some_and(|c| slot.errors >= c) {
            return FaultAction::None;
        }
        if err.rate >= 1.0 || random_unit() < err.rate {
            slot.errors += 1;
            return FaultAction::Error(err.clone());
        }
        FaultAction::None
    }

    /// Whether a request of `vendor` that just arrived is to be answered with a GOAWAY
    /// instead (counts it against `count`).
    pub(crate) fn goaway(&self, vendor: Vendor) -> Option<GoawayFault> {
        let mut specs = lock(&self.specs);
        let slot = specs.get_mut(&vendor)?;
        let g = slot.spec.goaway.as_ref()?;
        if g.count.is_some_and(|c| slot.goaways >= c) {
            return None;
        }
        if g.rate >= 1.0 || random_unit() < g.rate {
            slot.goaways += 1;
            return Some(g.clone());
        }
        None
    }
}

impl Faults {
    /// Whether to reset the connection instead of answering this request of `vendor`.
    pub(crate) fn reset_now(&self, vendor: Vendor) -> bool {
        let rate = lock(&self.specs)
            .get(&vendor)
            .map_or(0.0, |s| s.spec.reset_rate);
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
    fn goaway_counts_separately_and_is_apns_only() {
        let f = Faults::default();
        let spec = FaultSpec {
            goaway: Some(GoawayFault {
                reason: "Shutdown".into(),
                count: Some(1),
                ..Default::default()
            }),
            ..error(1.0, Some(1))
        };
        f.set(Vendor::Apns, spec.clone()).unwrap();
        assert_eq!(f.goaway(Vendor::Apns).unwrap().reason, "Shutdown");
        assert_eq!(f.goaway(Vendor::Apns), None, "count: 1");
        assert!(
            matches!(f.decide(Vendor::Apns), FaultAction::Error(_)),
            "the error fault has its own count"
        );
        assert!(f.set(Vendor::Fcm, spec).is_err());
        let bad_rate = FaultSpec {
            goaway: Some(GoawayFault {
                rate: 2.0,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(f.set(Vendor::Apns, bad_rate).is_err());
    }

    #[test]
    fn idle_timeout_flips_the_watch() {
        let f = Faults::default();
        let rx = f.idle_watch(Vendor::Apns);
        let idle = |ms| FaultSpec {
            idle_timeout_ms: ms,
            ..Default::default()
        };
        f.set(Vendor::Apns, idle(Some(250))).unwrap();
        assert_eq!(*rx.borrow(), Some(Duration::from_millis(250)));
        assert!(f.set(Vendor::Apns, idle(Some(0))).is_err());
        assert!(f.set(Vendor::Huawei, idle(Some(250))).is_err());
        f.clear_all();
        assert_eq!(*rx.borrow(), None);
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
