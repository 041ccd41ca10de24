//! FCM registration tokens: registered per project with a state and an optional per-device
//! throttle; the default per-device per-minute limit every other token gets (fcm.md §8/§9:
//! 240 messages a minute to one device); plus the per-project per-minute quota.

use std::collections::HashMap;
use std::sync::Mutex;

use super::error::{FcmFailure, INVALID_TOKEN_MESSAGE};
use super::validate::well_formed_token;
use crate::control::types::{ControlError, FcmTokenSpec, FcmTokenState, Throttle};
use crate::record::lock;

#[derive(Debug)]
struct Entry {
    project_id: String,
    state: FcmTokenState,
    throttle: Option<Throttle>,
    window: Window,
}

/// A fixed window counter on the sim clock.
#[derive(Debug, Default)]
struct Window {
    start_ms: i64,
    count: u64,
}

impl Window {
    /// Counts one request; returns the ms left in the window if it is over `max`.
    fn hit(&mut self, max: u64, window_ms: i64, now_ms: i64) -> Option<i64> {
        if now_ms - self.start_ms >= window_ms {
            self.start_ms = now_ms;
            self.count = 0;
        }
        self.count += 1;
        (self.count > max).then(|| self.start_ms + window_ms - now_ms)
    }
}

/// The length of the default per-device window (fcm.md §8: "per minute").
const DEVICE_WINDOW_MS: i64 = 60_000;

/// Fewest device windows kept before expired ones are swept.
const MIN_DEVICE_SWEEP: usize = 1024;

/// The default per-device windows of tokens without an explicit throttle, keyed by token.
///
/// Any number of unregistered tokens may be addressed (`accept_unknown_tokens`), so windows
/// that ended are swept whenever the map has doubled since the last sweep: memory stays
/// within about twice the tokens addressed in the last minute, and sweeping costs O(1)
/// amortised per message. An ended window would restart on its next message anyway, so
/// dropping it changes no answer.
#[derive(Debug)]
struct DeviceWindows {
    windows: HashMap<String, Window>,
    sweep_at: usize,
}

impl Default for DeviceWindows {
    fn default() -> Self {
        DeviceWindows {
            windows: HashMap::new(),
            sweep_at: MIN_DEVICE_SWEEP,
        }
    }
}

impl DeviceWindows {
    /// Counts one message to `token`; returns the ms left in its window if it is over `max`.
    fn hit(&mut self, token: &str, max: u64, now_ms: i64) -> Option<i64> {
        if let Some(w) = self.windows.get_mut(token) {
            return w.hit(max, DEVICE_WINDOW_MS, now_ms);
        }
        if self.windows.len() >= self.sweep_at {
            self.windows
                .retain(|_, w| now_ms - w.start_ms < DEVICE_WINDOW_MS);
            self.sweep_at = (self.windows.len() * 2).max(MIN_DEVICE_SWEEP);
        }
        let mut w = Window {
            start_ms: now_ms,
            count: 0,
        };
        let over = w.hit(max, DEVICE_WINDOW_MS, now_ms);
        self.windows.insert(token.to_string(), w);
        over
    }
}

/// Registration tokens and quota windows.
#[derive(Debug, Default)]
pub(crate) struct TokenRegistry {
    tokens: Mutex<HashMap<String, Entry>>,
    devices: Mutex<DeviceWindows>,
    projects: Mutex<HashMap<String, Window>>,
}

impl TokenRegistry {
    /// Registers or updates a token.
    pub(crate) fn set(&self, spec: &FcmTokenSpec, now_ms: i64) -> Result<(), ControlError> {
        if !well_formed_token(&spec.token) {
            return Err(ControlError::new(
                "token must be 1..=4096 characters of [A-Za-z0-9_:.-]",
            ));
        }
        lock(&self.tokens).insert(
            spec.token.clone(),
            Entry {
                project_id: spec.project_id.clone(),
                state: spec.state,
                throttle: spec.throttle,
                window: Window {
                    start_ms: now_ms,
                    count: 0,
                },
            },
        );
        Ok(())
    }

    /// Decides whether a message of `project_id` to `token` is delivered. `field` is the
    /// message field that named the target (`message.token` or `message.fid`): an unknown
    /// (with `accept_unknown` false) or malformed target is a violation of that field.
    ///
    /// A deliverable message counts against the token's explicit throttle if it has one,
    /// else against the default per-device limit of `device_per_minute` messages a minute
    /// (`None`: unlimited); beyond either it gets 429 `QUOTA_EXCEEDED`.
    pub(crate) fn check(
        &self,
        project_id: &str,
        token: &str,
        field: &str,
        accept_unknown: bool,
        device_per_minute: Option<u32>,
        now_ms: i64,
    ) -> Result<(), FcmFailure> {
        let mut tokens = lock(&self.tokens);
        let Some(e) = tokens.get_mut(token) else {
            if !accept_unknown {
                return Err(FcmFailure::invalid(field, INVALID_TOKEN_MESSAGE));
            }
            drop(tokens);
            return self.device_limit(token, device_per_minute, now_ms);
        };
        let state = if e.project_id != project_id {
            FcmTokenState::SenderIdMismatch
        } else {
            e.state
        };
        match state {
            FcmTokenState::Active => {}
            FcmTokenState::Unregistered => {
                return Err(
                    FcmFailure::new(404, "Requested entity was not found.").code("UNREGISTERED")
                );
            }
            FcmTokenState::SenderIdMismatch => {
                return Err(FcmFailure::new(403, "SenderId mismatch").code("SENDER_ID_MISMATCH"));
            }
            FcmTokenState::Malformed => {
                return Err(FcmFailure::invalid(field, INVALID_TOKEN_MESSAGE));
            }
            FcmTokenState::ThirdPartyAuthError => {
                return Err(
                    FcmFailure::new(401, "Auth error from APNS or Web Push Service")
                        .code("THIRD_PARTY_AUTH_ERROR"),
                );
            }
        }
        if let Some(t) = e.throttle {
            let window_ms = i64::try_from(t.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            if let Some(left) = e.window.hit(u64::from(t.max_requests), window_ms, now_ms) {
                return Err(quota_exceeded("device", left));
            }
            return Ok(());
        }
        drop(tokens);
        self.device_limit(token, device_per_minute, now_ms)
    }

    /// Counts a message against the default per-device limit (`None`: unlimited).
    fn device_limit(
        &self,
        token: &str,
        per_minute: Option<u32>,
        now_ms: i64,
    ) -> Result<(), FcmFailure> {
        let Some(max) = per_minute else {
            return Ok(());
        };
        match lock(&self.devices).hit(token, u64::from(max), now_ms) {
            Some(left) => Err(quota_exceeded("device", left)),
            None => Ok(()),
        }
    }

    /// Counts a message against its project's per-minute quota.
    pub(crate) fn project_quota(
        &self,
        project_id: &str,
        per_minute: u64,
        now_ms: i64,
    ) -> Result<(), FcmFailure> {
        let mut projects = lock(&self.projects);
        let w = projects.entry(project_id.to_string()).or_default();
        match w.hit(per_minute, 60_000, now_ms) {
            Some(left) => Err(quota_exceeded(&format!("projects/{project_id}"), left)),
            None => Ok(()),
        }
    }

    /// Forgets every token and quota window.
    pub(crate) fn clear(&self) {
        lock(&self.tokens).clear();
        *lock(&self.devices) = DeviceWindows::default();
        lock(&self.projects).clear();
    }
}

/// 429 `RESOURCE_EXHAUSTED` with FcmError `QUOTA_EXCEEDED`, a `QuotaFailure` detail and a
/// `Retry-After` of the rest of the window.
fn quota_exceeded(subject: &str, left_ms: i64) -> FcmFailure {
    let mut f = FcmFailure::new(429, "Quota exceeded.").code("QUOTA_EXCEEDED");
    f.details.quota = Some((subject.to_string(), "Message rate exceeded.".to_string()));
    f.details.retry_after = Some(((left_ms.max(0) + 999) / 1000).max(1).to_string());
    f
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(project: &str, state: FcmTokenState) -> FcmTokenSpec {
        FcmTokenSpec {
            project_id: project.into(),
            token: "tok-1".into(),
            state,
            throttle: None,
        }
    }

    #[test]
    fn states_and_other_projects() {
        let reg = TokenRegistry::default();
        reg.set(&spec("p", FcmTokenState::Active), 0).unwrap();
        assert!(
            reg.check("p", "tok-1", "message.token", false, None, 0)
                .is_ok()
        );
        assert_eq!(
            reg.check("q", "tok-1", "message.token", true, None, 0)
                .unwrap_err()
                .status,
            403
        );
        assert!(
            reg.check("p", "other", "message.token", true, None, 0)
                .is_ok()
        );
        assert_eq!(
            reg.check("p", "other", "message.token", false, None, 0)
                .unwrap_err()
                .status,
            400
        );
        let f = reg
            .check("p", "other", "message.fid", false, None, 0)
            .unwrap_err();
        assert_eq!(f.status, 400);
        assert_eq!(
            f.details
                .violations
                .iter()
                .map(|(field, _)| field.as_str())
                .collect::<Vec<_>>(),
            ["message.fid"],
            "an unknown fid is a violation of message.fid"
        );
        reg.set(&spec("p", FcmTokenState::Unregistered), 0).unwrap();
        let f = reg
            .check("p", "tok-1", "message.token", true, None, 0)
            .unwrap_err();
        assert_eq!(
            (f.status, f.details.error_code.as_deref()),
            (404, Some("UNREGISTERED"))
        );
    }

    #[test]
    fn project_quota_refills_each_minute() {
        let reg = TokenRegistry::default();
        assert!(reg.project_quota("p", 1, 0).is_ok());
        let f = reg.project_quota("p", 1, 10_000).unwrap_err();
        assert_eq!(
            (f.status, f.details.retry_after.as_deref()),
            (429, Some("50"))
        );
        assert!(reg.project_quota("p", 1, 60_000).is_ok());
    }

    #[test]
    fn default_device_limit_per_token_and_minute() {
        let reg = TokenRegistry::default();
        reg.set(&spec("p", FcmTokenState::Active), 0).unwrap();
        for token in ["tok-1", "unknown"] {
            for _ in 0..3 {
                assert!(
                    reg.check("p", token, "message.token", true, Some(3), 1_000)
                        .is_ok()
                );
            }
            let f = reg
                .check("p", token, "message.token", true, Some(3), 21_000)
                .unwrap_err();
            assert_eq!(
                (
                    f.status,
                    f.details.error_code.as_deref(),
                    f.details.retry_after.as_deref()
                ),
                (429, Some("QUOTA_EXCEEDED"), Some("40"))
            );
            assert!(
                reg.check("p", token, "message.token", true, None, 21_000)
                    .is_ok()
            );
            assert!(
                reg.check("p", token, "message.token", true, Some(3), 61_000)
                    .is_ok()
            );
        }
    }

    #[test]
    fn explicit_throttle_wins_over_the_default() {
        let reg = TokenRegistry::default();
        let mut s = spec("p", FcmTokenState::Active);
        s.throttle = Some(Throttle {
            max_requests: 5,
            window_secs: 1,
        });
        reg.set(&s, 0).unwrap();
        for _ in 0..5 {
            assert!(
                reg.check("p", "tok-1", "message.token", true, Some(1), 0)
                    .is_ok()
            );
        }
        assert_eq!(
            reg.check("p", "tok-1", "message.token", true, Some(1), 0)
                .unwrap_err()
                .status,
            429
        );
        assert!(
            reg.check("p", "tok-1", "message.token", true, Some(1), 1_000)
                .is_ok()
        );
    }

    #[test]
    fn ended_device_windows_are_swept() {
        let reg = TokenRegistry::default();
        for i in 0..MIN_DEVICE_SWEEP * 4 {
            let now = i64::try_from(i).unwrap() * 1_000;
            assert!(
                reg.check("p", &format!("t{i}"), "message.token", true, Some(1), now)
                    .is_ok()
            );
        }
        // One token a second: only the last minute's windows may be left, plus what
        // accumulated since the last sweep (at most about twice the floor).
        assert!(lock(&reg.devices).windows.len() <= MIN_DEVICE_SWEEP * 2);
    }
}
