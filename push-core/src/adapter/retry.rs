//! The one retry policy for every vendor: exponential backoff with jitter, bounded by a
//! number of attempts and by the message's ttl, never sooner than the vendor's Retry-After.

use std::time::Duration;

/// How retries are spaced and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter). Default 1 s.
    pub base: Duration,
    /// Longest delay between two attempts. Default 10 min.
    pub max_delay: Duration,
    /// Most attempts in all (the first send included). Default 8.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

/// What to do after a `Retry` outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay.
    After(Duration),
    /// Stop: attempts are used up.
    AttemptsExhausted,
    /// Stop: the message would be past its ttl before the next attempt.
    WouldExpire,
}

impl RetryPolicy {
    /// Decides after attempt number `attempts` (1 = the first send) failed with a retryable
    /// outcome. `vendor_after` is the vendor's Retry-After, `remaining` the time left before
    /// the message's ttl runs out (`None`: no ttl), `random` a number in `[0, 1)` for jitter
    /// (given by the caller so the policy stays deterministic and testable).
    pub fn decide(
        &self,
        attempts: u32,
        vendor_after: Option<Duration>,
        remaining: Option<Duration>,
        random: f64,
    ) -> RetryDecision {
        if attempts >= self.max_attempts {
            return RetryDecision::AttemptsExhausted;
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let backoff = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // "Equal jitter": half fixed, half random, so retries of a burst spread out but
        // never collapse to zero.
        let jittered = backoff / 2 + backoff.mul_f64(random.clamp(0.0, 1.0) / 2.0);
        let delay = vendor_after.map_or(jittered, |after| after.max(jittered));
        match remaining {
            Some(left) if delay >= left => RetryDecision::WouldExpire,
            _ => RetryDecision::After(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn backoff_doubles_within_jitter_bounds() {
        let p = RetryPolicy::default();
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8)] {
            assert_eq!(
                p.decide(attempt, None, None, 0.0),
                RetryDecision::After(S(full) / 2)
            );
            let RetryDecision::After(top) = p.decide(attempt, None, None, 0.999) else {
                panic!("attempt {attempt} should retry");
            };
            assert!(top <= S(full) && top >= S(full).mul_f64(0.999), "{top:?}");
        }
    }

    #[test]
    fn delay_is_capped() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        assert_eq!(p.decide(40, None, None, 1.0), RetryDecision::After(S(600)));
    }

    #[test]
    fn vendor_retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, Some(S(60)), None, 0.5),
            RetryDecision::After(S(60))
        );
        assert_eq!(
            p.decide(5, Some(S(1)), None, 0.0),
            RetryDecision::After(S(8))
        );
    }

    #[test]
    fn attempts_run_out() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(matches!(
            p.decide(2, None, None, 0.0),
            RetryDecision::After(_)
        ));
        assert_eq!(
            p.decide(3, None, None, 0.0),
            RetryDecision::AttemptsExhausted
        );
    }

    #[test]
    fn a_retry_past_the_ttl_is_not_scheduled() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, Some(S(120)), Some(S(60)), 0.0),
            RetryDecision::WouldExpire
        );
        assert_eq!(
            p.decide(1, None, Some(S(60)), 0.0),
            RetryDecision::After(Duration::from_millis(500))
        );
    }
}
