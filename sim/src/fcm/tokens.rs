//! FCM registration tokens: registered per project with a state and an optional per-device
//! throttle; plus the per-project per-minute quota.

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

/// Registration tokens and quota windows.
#[derive(Debug, Default)]
pub(crate) struct TokenRegistry {
    tokens: Mutex<HashMap<String, Entry>>,
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

    /// Decides whether a message of `project_id` to `token` is delivered.
    pub(crate) fn check(
        &self,
        project_id: &str,
        token: &str,
        accept_unknown: bool,
        now_ms: i64,
    ) -> Result<(), FcmFailure> {
        let mut tokens = lock(&self.tokens);
        let Some(e) = tokens.get_mut(token) else {
            if accept_unknown {
                return Ok(());
            }
            return Err(FcmFailure::invalid("message.token", INVALID_TOKEN_MESSAGE));
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
                return Err(FcmFailure::invalid("message.token", INVALID_TOKEN_MESSAGE));
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
        }
        Ok(())
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
        assert!(reg.check("p", "tok-1", false, 0).is_ok());
        assert_eq!(reg.check("q", "tok-1", true, 0).unwrap_err().status, 403);
        assert!(reg.check("p", "other", true, 0).is_ok());
        assert_eq!(reg.check("p", "other", false, 0).unwrap_err().status, 400);
        reg.set(&spec("p", FcmTokenState::Unregistered), 0).unwrap();
        let f = reg.check("p", "tok-1", true, 0).unwrap_err();
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
}
