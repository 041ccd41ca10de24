//! Xiaomi apps (AppSecret, packages, channels, templates, quotas) and their daily counters
//! on the sim clock (China days).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::control::types::{ControlError, XiaomiAppSpec, XiaomiAppUpdate};
use crate::record::lock;

/// Beijing time (UTC+8) days, for the per-day limits.
pub(crate) fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

#[derive(Debug, Default, Clone, Copy)]
struct Day {
    day: i64,
    requests: u64,
    public: u64,
}

/// The registered apps and their daily counters.
#[derive(Debug, Default)]
pub(crate) struct AppRegistry {
    apps: Mutex<HashMap<String, XiaomiAppSpec>>,
    days: Mutex<HashMap<String, Day>>,
}

impl AppRegistry {
    /// Registers or replaces an app.
    pub(crate) fn add(&self, spec: &XiaomiAppSpec) -> Result<(), ControlError> {
        if spec.app_id.trim().is_empty() {
            return Err(ControlError::new("app_id must not be empty"));
        }
        if spec.app_secret.is_empty()
            || spec
                .app_secret
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ControlError::new(
                "app_secret must be one word without spaces",
            ));
        }
        if spec.package_names.is_empty() || spec.package_names.iter().any(|p| p.trim().is_empty()) {
            return Err(ControlError::new(
                "package_names must name the app's packages",
            ));
        }
        if spec.templates.iter().any(|t| !(1..=9).contains(&t.params)) {
            return Err(ControlError::new("a template has 1 to 9 variables"));
        }
        let mut apps = lock(&self.apps);
        if apps
            .values()
            .any(|a| a.app_secret == spec.app_secret && a.app_id != spec.app_id)
        {
            return Err(ControlError::new("another app has this app_secret"));
        }
        apps.insert(spec.app_id.clone(), spec.clone());
        Ok(())
    }

    /// Changes some settings of an app; `None` if it is unknown.
    pub(crate) fn update(&self, app_id: &str, update: &XiaomiAppUpdate) -> Option<XiaomiAppSpec> {
        let mut apps = lock(&self.apps);
        let app = apps.get_mut(app_id)?;
        if let Some(v) = update.templates_required {
            app.templates_required = v;
        }
        if let Some(v) = update.public_daily_quota {
            app.public_daily_quota = v;
        }
        if let Some(v) = update.daily_request_limit {
            app.daily_request_limit = (v > 0).then_some(v);
        }
        if let Some(v) = update.blacklisted {
            app.blacklisted = v;
        }
        if let Some(v) = update.forbidden {
            app.forbidden = v;
        }
        Some(app.clone())
    }

    /// The app whose AppSecret is `secret`.
    pub(crate) fn by_secret(&self, secret: &str) -> Option<XiaomiAppSpec> {
        lock(&self.apps)
            .values()
            .find(|a| a.app_secret == secret)
            .cloned()
    }

    fn today(&self, app_id: &str, day: i64) -> std::sync::MutexGuard<'_, HashMap<String, Day>> {
        let mut days = lock(&self.days);
        let d = days.entry(app_id.to_string()).or_default();
        if d.day != day {
            *d = Day {
                day,
                ..Day::default()
            };
        }
        days
    }

    /// Counts one send request of the app on `day`; false when it is over `limit`.
    pub(crate) fn count_request(&self, app_id: &str, day: i64, limit: Option<u64>) -> bool {
        let mut days = self.today(app_id, day);
        let Some(d) = days.get_mut(app_id) else {
            return true;
        };
        d.requests += 1;
        limit.is_none_or(|l| d.requests <= l)
    }

    /// Counts `n` public messages of the app on `day`; returns the count before.
    pub(crate) fn count_public(&self, app_id: &str, day: i64, n: u64) -> u64 {
        let mut days = self.today(app_id, day);
        let Some(d) = days.get_mut(app_id) else {
            return 0;
        };
        let before = d.public;
        d.public += n;
        before
    }

    /// Forgets every app and counter.
    pub(crate) fn clear(&self) {
        lock(&self.apps).clear();
        lock(&self.days).clear();
    }
}
