//! The sim clock: the host clock plus an offset that the control API can shift, so tests can
//! make provider tokens and access tokens old without waiting an hour.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::control::types::ClockState;

/// A shiftable clock shared by every part of the sim. Cloning shares the offset.
#[derive(Clone, Debug, Default)]
pub struct SimClock {
    offset_ms: Arc<AtomicI64>,
}

impl SimClock {
    /// Now on the sim clock, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        host_now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now on the sim clock, Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock by `ms` (negative moves it back).
    pub fn shift_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Puts the clock back on the host clock.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    /// The clock as the control API shows it.
    pub fn state(&self) -> ClockState {
        ClockState {
            now_ms: self.now_ms(),
            offset_ms: self.offset_ms.load(Ordering::Relaxed),
        }
    }
}

fn host_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_now_and_reset_restores_it() {
        let clock = SimClock::default();
        let before = clock.now_secs();
        clock.shift_ms(3_600_000);
        assert!(clock.now_secs() >= before + 3600);
        clock.reset();
        assert!(clock.now_secs() < before + 10);
    }
}
