//! OPPO registration ids: registered per app with a state (oppo.md §9.4), the host they
//! belong to, and the daily counters of the content & marketing quotas (§5, §9.5): per
//! device (2, or 5 for news apps) and per app (100,000 below 50,000 cumulative users, else
//! twice the users).

use std::collections::HashMap;
use std::sync::Mutex;

use super::Host;
use crate::control::types::{ControlError, OppoAppSpec, OppoRegIdSpec, OppoRegIdState};
use crate::record::lock;

/// Whether `id` looks like a registration id: 1..=128 characters of `[A-Za-z0-9_-]`.
pub(crate) fn well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The host a registration id belongs to, split on `_` (oppo.md §2).
pub(crate) fn host_of(id: &str) -> Host {
    let parts: Vec<&str> = id.split('_').collect();
    match parts.as_slice() {
        [_] | ["CN", _] | [_, "CN", _] => Host::China,
        _ => Host::Overseas,
    }
}

/// What a send finds for a registration id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Deliverable; the receipt event to report (`None`: `push_arrive`).
    Active(Option<String>),
    /// Illegal, of another app or host, uninstalled.
    Invalid,
    /// Push switched off.
    Unsubscribed,
}

#[derive(Debug)]
struct Entry {
    app_key: String,
    state: OppoRegIdState,
    receipt_event: Option<String>,
}

/// Registration ids and daily counters.
#[derive(Debug, Default)]
pub(crate) struct DeviceRegistry {
    ids: Mutex<HashMap<String, Entry>>,
    /// (app, regid) → (day, marketing messages).
    device_days: Mutex<HashMap<(String, String), (i64, u64)>>,
    /// app → (day, marketing messages).
    app_days: Mutex<HashMap<String, (i64, u64)>>,
}

impl DeviceRegistry {
    /// Registers or updates a registration id.
    pub(crate) fn set(&self, spec: &OppoRegIdSpec) -> Result<(), ControlError> {
        if !well_formed(&spec.registration_id) {
            return Err(ControlError::new(
                "registration_id must be 1..=128 characters of [A-Za-z0-9_-]",
            ));
        }
        if spec.app_key.is_empty() {
            return Err(ControlError::new("app_key must not be empty"));
        }
        lock(&self.ids).insert(
            spec.registration_id.clone(),
            Entry {
                app_key: spec.app_key.clone(),
                state: spec.state,
                receipt_event: spec.receipt_event.clone(),
            },
        );
        Ok(())
    }

    /// What a send of `app_key` on `host` finds for `id` (unknown well-formed ids are
    /// deliverable when `accept_unknown`).
    pub(crate) fn check(&self, app_key: &str, host: Host, id: &str, accept_unknown: bool) -> Found {
        if !well_formed(id) || host_of(id) != host {
            return Found::Invalid;
        }
        let ids = lock(&self.ids);
        let Some(e) = ids.get(id) else {
            return if accept_unknown {
                Found::Active(None)
            } else {
                Found::Invalid
            };
        };
        if e.app_key != app_key {
            return Found::Invalid;
        }
        match e.state {
            OppoRegIdState::Active => Found::Active(e.receipt_event.clone()),
            OppoRegIdState::Invalid => Found::Invalid,
            OppoRegIdState::Unsubscribed => Found::Unsubscribed,
        }
    }

    /// Counts a content & marketing message of `app` on sim day `day`; false when the app's
    /// daily quota is used up (the message is not counted then).
    pub(crate) fn count_app(&self, app: &OppoAppSpec, day: i64) -> bool {
        let quota = app.daily_quota.unwrap_or(if app.cumulative_users < 50_000 {
            100_000
        } else {
            app.cumulative_users.saturating_mul(2)
        });
        let mut days = lock(&self.app_days);
        let d = days.entry(app.app_key.clone()).or_insert((day, 0));
        if d.0 != day {
            *d = (day, 0);
        }
        if d.1 >= quota {
            return false;
        }
        d.1 += 1;
        true
    }

    /// Counts a content & marketing message to a device; false when over the device's
    /// daily limit (2, or 5 for news apps).
    pub(crate) fn count_device(&self, app: &OppoAppSpec, id: &str, day: i64) -> bool {
        let limit = if app.news_app { 5 } else { 2 };
        let mut days = lock(&self.device_days);
        let d = days
            .entry((app.app_key.clone(), id.to_string()))
            .or_insert((day, 0));
        if d.0 != day {
            *d = (day, 0);
        }
        d.1 += 1;
        d.1 <= limit
    }

    /// Forgets every registration id and counter.
    pub(crate) fn clear(&self) {
        lock(&self.ids).clear();
        lock(&self.device_days).clear();
        lock(&self.app_days).clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(state: OppoRegIdState) -> OppoRegIdSpec {
        OppoRegIdSpec {
            app_key: "k1".into(),
            registration_id: "CN_abc".into(),
            state,
            receipt_event: None,
        }
    }

    #[test]
    fn hosts_follow_the_underscore_rule() {
        assert_eq!(host_of("b6bbd94b"), Host::China);
        assert_eq!(host_of("CN_b6bb"), Host::China);
        assert_eq!(host_of("OPPO_CN_b6bb"), Host::China);
        assert_eq!(host_of("IN_b6bb"), Host::Overseas);
        assert_eq!(host_of("OPPO_EU_b6bb"), Host::Overseas);
        assert_eq!(host_of("a_CN_b_c"), Host::Overseas);
    }

    #[test]
    fn states_apps_hosts_and_unknown_ids() {
        let reg = DeviceRegistry::default();
        reg.set(&spec(OppoRegIdState::Active)).unwrap();
        assert_eq!(
            reg.check("k1", Host::China, "CN_abc", false),
            Found::Active(None)
        );
        assert_eq!(reg.check("k2", Host::China, "CN_abc", true), Found::Invalid);
        assert_eq!(
            reg.check("k1", Host::Overseas, "CN_abc", true),
            Found::Invalid
        );
        assert_eq!(
            reg.check("k1", Host::Overseas, "EU_x", true),
            Found::Active(None)
        );
        assert_eq!(
            reg.check("k1", Host::China, "CN_other", false),
            Found::Invalid
        );
        assert_eq!(reg.check("k1", Host::China, "CN bad", true), Found::Invalid);
        reg.set(&spec(OppoRegIdState::Unsubscribed)).unwrap();
        assert_eq!(
            reg.check("k1", Host::China, "CN_abc", true),
            Found::Unsubscribed
        );
        reg.set(&spec(OppoRegIdState::Invalid)).unwrap();
        assert_eq!(reg.check("k1", Host::China, "CN_abc", true), Found::Invalid);
        assert!(
            reg.set(&OppoRegIdSpec {
                registration_id: "a b".into(),
                ..spec(OppoRegIdState::Active)
            })
            .is_err()
        );
    }

    #[test]
    fn daily_quotas_per_device_and_app() {
        let reg = DeviceRegistry::default();
        let app = OppoAppSpec {
            app_key: "k1".into(),
            daily_quota: Some(3),
            ..OppoAppSpec::default()
        };
        assert!(reg.count_device(&app, "CN_a", 7));
        assert!(reg.count_device(&app, "CN_a", 7));
        assert!(!reg.count_device(&app, "CN_a", 7));
        assert!(reg.count_device(&app, "CN_a", 8));
        let news = OppoAppSpec {
            news_app: true,
            ..app.clone()
        };
        for _ in 0..5 {
            assert!(reg.count_device(&news, "CN_b", 7));
        }
        assert!(!reg.count_device(&news, "CN_b", 7));
        assert!(reg.count_app(&app, 7) && reg.count_app(&app, 7) && reg.count_app(&app, 7));
        assert!(!reg.count_app(&app, 7));
        assert!(reg.count_app(&app, 8));
    }
}
