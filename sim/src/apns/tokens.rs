//! APNs device tokens: one namespace per environment; registered tokens carry a topic (bundle
//! id), a state and an optional throttle. Unknown well-formed tokens are accepted or refused
//! per `accept_unknown_tokens`.

use std::collections::HashMap;
use std::sync::Mutex;

use super::reason::Reason;
use crate::control::types::{
    ApnsEnvironment, ApnsTokenSpec, ApnsTokenState, ControlError, Throttle,
};
use crate::record::lock;

/// Shortest token the sim takes as well-formed, in hex digits (8 bytes; Apple's are 32 bytes
/// today but Apple says not to assume a length).
pub(crate) const MIN_TOKEN_HEX: usize = 16;
/// Longest, in hex digits (200 bytes).
pub(crate) const MAX_TOKEN_HEX: usize = 400;

/// Whether a path token is well-formed hex (APNs answers `BadDeviceToken` otherwise).
pub(crate) fn well_formed(token: &str) -> bool {
    (MIN_TOKEN_HEX..=MAX_TOKEN_HEX).contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug)]
struct Entry {
    bundle: String,
    state: ApnsTokenState,
    unregistered_at_ms: i64,
    throttle: Option<Throttle>,
    window_start_ms: i64,
    window_count: u32,
}

/// The device-token registry of both environments.
#[derive(Debug, Default)]
pub(crate) struct DeviceRegistry {
    entries: Mutex<HashMap<(ApnsEnvironment, String), Entry>>,
}

/// A refusal: the reason and, for `Unregistered`, the 410 `timestamp` in ms.
pub(crate) type Refusal = (Reason, Option<i64>);

impl DeviceRegistry {
    /// Registers or updates a token.
    pub(crate) fn set(&self, spec: &ApnsTokenSpec, now_ms: i64) -> Result<(), ControlError> {
        let token = spec.token.to_ascii_lowercase();
        if !well_formed(&token) {
            return Err(ControlError::new(format!(
                "token must be {MIN_TOKEN_HEX}..={MAX_TOKEN_HEX} hex digits, an even number"
            )));
        }
        let mut map = lock(&self.entries);
        let key = (spec.environment, token);
        let bundle = match (&spec.topic, map.get(&key)) {
            (Some(t), _) => t.clone(),
            (None, Some(e)) => e.bundle.clone(),
            (None, None) => return Err(ControlError::new("topic is required for a new token")),
        };
        map.insert(
            key,
            Entry {
                bundle,
                state: spec.state,
                unregistered_at_ms: spec.unregistered_at_ms.unwrap_or(now_ms),
                throttle: spec.throttle,
                window_start_ms: now_ms,
                window_count: 0,
            },
        );
        Ok(())
    }

    /// Decides whether a push of `bundle` to `token` in `env` is delivered.
    pub(crate) fn check(
        &self,
        env: ApnsEnvironment,
        token: &str,
        bundle: &str,
        accept_unknown: bool,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        if !well_formed(token) {
            return Err((Reason::BadDeviceToken, None));
        }
        let token = token.to_ascii_lowercase();
        let mut map = lock(&self.entries);
        let Some(e) = map.get_mut(&(env, token.clone())) else {
            let other = match env {
                ApnsEnvironment::Production => ApnsEnvironment::Sandbox,
                ApnsEnvironment::Sandbox => ApnsEnvironment::Production,
            };
            if !accept_unknown || map.contains_key(&(other, token)) {
                return Err((Reason::BadDeviceToken, None));
            }
            return Ok(());
        };
        if e.bundle != bundle {
            return Err((Reason::DeviceTokenNotForTopic, None));
        }
        match e.state {
            ApnsTokenState::Unregistered => {
                return Err((Reason::Unregistered, Some(e.unregistered_at_ms)));
            }
            ApnsTokenState::Expired => return Err((Reason::ExpiredToken, None)),
            ApnsTokenState::Active => {}
        }
        if let Some(t) = e.throttle {
            let window_ms = i64::try_from(t.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            if now_ms - e.window_start_ms >= window_ms {
                e.window_start_ms = now_ms;
                e.window_count = 0;
            }
            e.window_count = e.window_count.saturating_add(1);
            if e.window_count > t.max_requests {
                return Err((Reason::TooManyRequests, None));
            }
        }
        Ok(())
    }

    /// Forgets every token.
    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TOKEN: &str = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";

    fn spec(state: ApnsTokenState) -> ApnsTokenSpec {
        ApnsTokenSpec {
            environment: ApnsEnvironment::Sandbox,
            token: TOKEN.to_uppercase(),
            topic: Some("com.example.chat".into()),
            state,
            unregistered_at_ms: None,
            throttle: None,
        }
    }

    #[test]
    fn namespaces_states_and_unknown_tokens() {
        let reg = DeviceRegistry::default();
        let (sb, prod) = (ApnsEnvironment::Sandbox, ApnsEnvironment::Production);
        reg.set(&spec(ApnsTokenState::Active), 1000).unwrap();
        assert_eq!(reg.check(sb, TOKEN, "com.example.chat", false, 0), Ok(()));
        assert_eq!(
            reg.check(prod, TOKEN, "com.example.chat", true, 0),
            Err((Reason::BadDeviceToken, None))
        );
        assert_eq!(
            reg.check(sb, TOKEN, "com.other", true, 0),
            Err((Reason::DeviceTokenNotForTopic, None))
        );
        assert_eq!(reg.check(prod, &"ab".repeat(32), "x", true, 0), Ok(()));
        assert_eq!(
            reg.check(prod, &"ab".repeat(32), "x", false, 0),
            Err((Reason::BadDeviceToken, None))
        );
        assert_eq!(
            reg.check(sb, "xyz", "x", true, 0),
            Err((Reason::BadDeviceToken, None))
        );
        reg.set(&spec(ApnsTokenState::Unregistered), 1234).unwrap();
        assert_eq!(
            reg.check(sb, TOKEN, "com.example.chat", true, 0),
            Err((Reason::Unregistered, Some(1234)))
        );
    }

    #[test]
    fn throttle_allows_n_per_window() {
        let reg = DeviceRegistry::default();
        let mut s = spec(ApnsTokenState::Active);
        s.throttle = Some(Throttle {
            max_requests: 2,
            window_secs: 60,
        });
        reg.set(&s, 0).unwrap();
        let check = |now| {
            reg.check(
                ApnsEnvironment::Sandbox,
                TOKEN,
                "com.example.chat",
                true,
                now,
            )
        };
        assert_eq!(check(1), Ok(()));
        assert_eq!(check(2), Ok(()));
        assert_eq!(check(3), Err((Reason::TooManyRequests, None)));
        assert_eq!(check(60_001), Ok(()));
    }
}
