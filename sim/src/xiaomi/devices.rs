//! Xiaomi registration ids: registered per package with a state (xiaomi.md §9.4), and
//! per-device daily counters for the default channel (1 per day) and public messages (5 per
//! day, §4).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::control::types::{ControlError, XiaomiTokenSpec, XiaomiTokenState};
use crate::record::lock;

/// Receipt type: delivered.
pub(crate) const DELIVERED: u32 = 1;
/// Receipt type: clicked.
pub(crate) const CLICKED: u32 = 2;
/// Receipt type: notifications off.
pub(crate) const NOTIFICATIONS_OFF: u32 = 32;
/// Receipt type: discarded, daily quota.
pub(crate) const QUOTA: u32 = 128;
/// The receipt types Xiaomi has.
pub(crate) const RECEIPT_TYPES: [u32; 7] = [1, 2, 16, 32, 64, 128, 1024];

/// Whether `regid` looks like a Xiaomi regid: 1..=512 characters of
/// `[A-Za-z0-9+/=_.:-]` (real ones are Base64-like, often 150+ characters). A regid whose
/// `+` arrived as a space (sent unencoded) is not one.
pub(crate) fn well_formed_regid(regid: &str) -> bool {
    (1..=512).contains(&regid.len())
        && regid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_.:-".contains(&b))
}

#[derive(Debug)]
struct Entry {
    package: String,
    state: XiaomiTokenState,
    receipt_type: Option<u32>,
    clicked: bool,
}

/// What a device will report for an accepted message, before daily limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fate {
    /// Receipt type (1 delivered, 32, 64, 1024 …).
    pub receipt_type: u32,
    /// A type-2 receipt follows.
    pub clicked: bool,
}

#[derive(Debug, Default)]
struct Day {
    day: i64,
    default_channel: u64,
    public: u64,
}

/// Registration ids and their daily counters.
#[derive(Debug, Default)]
pub(crate) struct DeviceRegistry {
    regids: Mutex<HashMap<String, Entry>>,
    days: Mutex<HashMap<(String, String), Day>>,
}

impl DeviceRegistry {
    /// Registers or updates a regid.
    pub(crate) fn set(&self, spec: &XiaomiTokenSpec) -> Result<(), ControlError> {
        if !well_formed_regid(&spec.regid) {
            return Err(ControlError::new(
                "regid must be 1..=512 characters of [A-Za-z0-9+/=_.:-]",
            ));
        }
        if spec.package_name.trim().is_empty() {
            return Err(ControlError::new("package_name must not be empty"));
        }
        if let Some(t) = spec.receipt_type
            && !RECEIPT_TYPES.contains(&t)
        {
            return Err(ControlError::new(
                "receipt_type must be one of 1, 2, 16, 32, 64, 128, 1024",
            ));
        }
        lock(&self.regids).insert(
            spec.regid.clone(),
            Entry {
                package: spec.package_name.clone(),
                state: spec.state,
                receipt_type: spec.receipt_type,
                clicked: spec.clicked,
            },
        );
        Ok(())
    }

    /// For a send of `package` to `regid`: `None` if it is a bad regid (malformed, another
    /// package's, uninstalled, or unknown while unknown tokens are refused).
    pub(crate) fn check(&self, package: &str, regid: &str, accept_unknown: bool) -> Option<Fate> {
        if !well_formed_regid(regid) {
            return None;
        }
        let regids = lock(&self.regids);
        let Some(e) = regids.get(regid) else {
            return accept_unknown.then_some(Fate {
                receipt_type: DELIVERED,
                clicked: false,
            });
        };
        if e.package != package {
            return None;
        }
        match e.state {
            XiaomiTokenState::Uninstalled => None,
            XiaomiTokenState::NotificationsOff => Some(Fate {
                receipt_type: NOTIFICATIONS_OFF,
                clicked: false,
            }),
            XiaomiTokenState::Active => Some(Fate {
                receipt_type: e.receipt_type.unwrap_or(DELIVERED),
                clicked: e.clicked,
            }),
        }
    }

    /// Counts a message to `regid` on `day`; whether it fits the device's daily limit for its
    /// class (`public`: `public_limit` per day; unclassified: 1 per day; private: no limit).
    pub(crate) fn count(
        &self,
        package: &str,
        regid: &str,
        day: i64,
        class: super::validate::Class,
        public_limit: u64,
    ) -> bool {
        use super::validate::Class;
        let mut days = lock(&self.days);
        let d = days
            .entry((package.to_string(), regid.to_string()))
            .or_default();
        if d.day != day {
            *d = Day {
                day,
                ..Day::default()
            };
        }
        match class {
            Class::Private => true,
            Class::Public => {
                d.public += 1;
                d.public <= public_limit
            }
            Class::Unclassified => {
                d.default_channel += 1;
                d.default_channel <= 1
            }
        }
    }

    /// Forgets every regid and counter.
    pub(crate) fn clear(&self) {
        lock(&self.regids).clear();
        lock(&self.days).clear();
    }
}
