//! A fixed-window request counter on the sim clock (flow control).

use crate::control::types::Throttle;

/// Counts requests in fixed windows.
#[derive(Debug, Default)]
pub(crate) struct Window {
    start_ms: i64,
    count: u64,
}

impl Window {
    /// Counts one request; true if it is over the budget of `throttle`.
    pub(crate) fn over(&mut self, throttle: Throttle, now_ms: i64) -> bool {
        let window_ms =
            i64::try_from(throttle.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        if now_ms.saturating_sub(self.start_ms) >= window_ms {
            self.start_ms = now_ms;
            self.count = 0;
        }
        self.count += 1;
        self.count > u64::from(throttle.max_requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_after_the_window() {
        let t = Throttle {
            max_requests: 1,
            window_secs: 1,
        };
        let mut w = Window::default();
        assert!(!w.over(t, 5_000));
        assert!(w.over(t, 5_500));
        assert!(!w.over(t, 6_000));
    }
}
