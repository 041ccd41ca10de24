//! Huawei device tokens: registered per app with a state (huawei.md §9.4), and per-device
//! daily counters for the classification limits (§5, §9.5).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::control::types::{ControlError, HuaweiTokenSpec, HuaweiTokenState};
use crate::record::lock;

/// Receipt status: delivered.
pub(crate) const DELIVERED: u16 = 0;
/// Receipt status: app not installed.
pub(crate) const UNINSTALLED: u16 = 2;
/// Receipt status: discarded by the ~3000 per app per device per day cap.
pub(crate) const FREQUENCY_CONTROL: u16 = 102;
/// Receipt status: marketing daily limit reached.
pub(crate) const MARKETING_LIMIT: u16 = 256;
/// Messages per app per device per day before status 102.
pub(crate) const DAILY_CAP: u64 = 3000;

/// Whether `token` looks like a Push Kit token: 1..=512 characters of
/// `[A-Za-z0-9+/=_.:-]` (real tokens are long base64-like strings such as `IQAAAACy0…`).
pub(crate) fn well_formed_token(token: &str) -> bool {
    (1..=512).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_.:-".contains(&b))
}

#[derive(Debug)]
struct Entry {
    app_id: String,
    state: HuaweiTokenState,
    receipt_status: Option<u16>,
}

#[derive(Debug, Default)]
struct Day {
    day: i64,
    total: u64,
    marketing: u64,
}

/// Device tokens and their daily counters.
#[derive(Debug, Default)]
pub(crate) struct DeviceRegistry {
    tokens: Mutex<HashMap<String, Entry>>,
    days: Mutex<HashMap<(String, String), Day>>,
}

impl DeviceRegistry {
    /// Registers or updates a token.
    pub(crate) fn set(&self, spec: &HuaweiTokenSpec) -> Result<(), ControlError> {
        if !well_formed_token(&spec.token) {
            return Err(ControlError::new(
                "token must be 1..=512 characters of [A-Za-z0-9+/=_.:-]",
            ));
        }
        if spec.app_id.is_empty() {
            return Err(ControlError::new("app_id must not be empty"));
        }
        lock(&self.tokens).insert(
            spec.token.clone(),
            Entry {
                app_id: spec.app_id.clone(),
                state: spec.state,
                receipt_status: spec.receipt_status,
            },
        );
        Ok(())
    }

    /// For a send of `app_id` to `token`: `None` if the token is illegal (malformed, another
    /// app's, `invalid`, or unknown while unknown tokens are refused), else the receipt
    /// status the device will report before daily limits.
    pub(crate) fn check(&self, app_id: &str, token: &str, accept_unknown: bool) -> Option<u16> {
        if !well_formed_token(token) {
            return None;
        }
        let tokens = lock(&self.tokens);
        let Some(e) = tokens.get(token) else {
            return accept_unknown.then_some(DELIVERED);
        };
        if e.app_id != app_id {
            return None;
        }
        match e.state {
            HuaweiTokenState::Invalid => None,
            HuaweiTokenState::Uninstalled => Some(UNINSTALLED),
            HuaweiTokenState::Active => Some(e.receipt_status.unwrap_or(DELIVERED)),
        }
    }

    /// Counts a delivered message to `token` on sim day `day`; returns the receipt status
    /// after the daily limits (`marketing_limit`: marketing messages allowed per day, `None`
    /// for a service & communication message).
    pub(crate) fn count(
        &self,
        app_id: &str,
        token: &str,
        day: i64,
        marketing_limit: Option<u64>,
    ) -> u16 {
        let mut days = lock(&self.days);
        let d = days
            .entry((app_id.to_string(), token.to_string()))
            .or_default();
        if d.day != day {
            *d = Day {
                day,
                ..Day::default()
            };
        }
        d.total += 1;
        if d.total > DAILY_CAP {
            return FREQUENCY_CONTROL;
        }
        if let Some(limit) = marketing_limit {
            d.marketing += 1;
            if d.marketing > limit {
                return MARKETING_LIMIT;
            }
        }
        DELIVERED
    }

    /// Forgets every token and counter.
    pub(crate) fn clear(&self) {
        lock(&self.tokens).clear();
        lock(&self.days).clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn states_apps_and_unknown_tokens() {
        let reg = DeviceRegistry::default();
        let spec = |state| HuaweiTokenSpec {
            app_id: "1".into(),
            token: "IQAAAA-tok".into(),
            state,
            receipt_status: None,
        };
        reg.set(&spec(HuaweiTokenState::Active)).unwrap();
        assert_eq!(reg.check("1", "IQAAAA-tok", false), Some(0));
        assert_eq!(reg.check("2", "IQAAAA-tok", true), None);
        assert_eq!(reg.check("1", "other", true), Some(0));
        assert_eq!(reg.check("1", "other", false), None);
        assert_eq!(reg.check("1", "not a token", true), None);
        reg.set(&spec(HuaweiTokenState::Uninstalled)).unwrap();
        assert_eq!(reg.check("1", "IQAAAA-tok", true), Some(2));
        reg.set(&spec(HuaweiTokenState::Invalid)).unwrap();
        assert_eq!(reg.check("1", "IQAAAA-tok", true), None);
    }

    #[test]
    fn marketing_limit_per_day() {
        let reg = DeviceRegistry::default();
        assert_eq!(reg.count("1", "t", 7, Some(2)), 0);
        assert_eq!(reg.count("1", "t", 7, None), 0);
        assert_eq!(reg.count("1", "t", 7, Some(2)), 0);
        assert_eq!(reg.count("1", "t", 7, Some(2)), 256);
        assert_eq!(reg.count("1", "t", 8, Some(2)), 0);
    }
}
