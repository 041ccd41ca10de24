//! The load driver: `in_flight` workers each send one request at a time, back to back, for
//! a warm-up and then a measured window; what they saw, merged.
//!
//! A request counts in the window when it *started* inside it, so the rate is
//! `counted / window` (requests still running at the end are waited for, not cut off).
//! Every failure counts, warm-up included: a benchmark of errors is worthless.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long to warm up and how long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Requests before the window opens, not counted (connections, caches, tokens).
    pub warmup: Duration,
    /// The measured window.
    pub measure: Duration,
}

/// What one run saw.
#[derive(Debug, Default)]
pub struct Measured {
    /// Successful requests that started in the window.
    pub ok: u64,
    /// Every request that finished, warm-up and tail included (for CPU per request).
    pub done: u64,
    /// Failed requests (any time), by what went wrong.
    pub failures: BTreeMap<String, u64>,
    /// Latency of every counted request, in microseconds (sorted once all workers are done).
    latencies_us: Vec<u32>,
    /// The window's length in seconds.
    secs: f64,
}

impl Measured {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    /// All failures.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_us.len() - 1;
        let i = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[i.min(last)]) / 1000.0
    }

    /// Adds another run (or another worker's share) to this one.
    pub fn merge(&mut self, other: Measured) {
        self.secs += other.secs;
        self.ok += other.ok;
        self.done += other.done;
        for (reason, n) in other.failures {
            *self.failures.entry(reason).or_default() += n;
        }
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
    }

    fn fail(&mut self, reason: String) {
        // Keep the table short: one entry per distinct reason, reasons cut to one line.
        let reason: String = reason.chars().take(200).collect();
        *self.failures.entry(reason).or_default() += 1;
    }
}

/// Runs `op(worker)` back to back on `in_flight` tasks (so `in_flight` requests are always
/// outstanding) for `window.warmup + window.measure`; `op` answers `Err(reason)` for
/// anything but a success.
pub async fn drive<F, Fut>(in_flight: usize, window: Window, op: &Arc<F>) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let opens = Instant::now() + window.warmup;
    let closes = opens + window.measure;
    let workers: Vec<_> = (0..in_flight)
        .map(|worker| {
            let op = Arc::clone(op);
            tokio::spawn(async move {
                let mut seen = Measured::default();
                loop {
                    let started = Instant::now();
                    if started >= closes {
                        break;
                    }
                    let result = op(worker).await;
                    seen.done += 1;
                    let counted = started >= opens;
                    match result {
                        Ok(()) if counted => {
                            seen.ok += 1;
                            let us = started.elapsed().as_micros();
                            seen.latencies_us
                                .push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        Ok(()) => {}
                        Err(reason) => seen.fail(reason),
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = Measured {
        secs: window.measure.as_secs_f64(),
        ..Measured::default()
    };
    for worker in workers {
        match worker.await {
            Ok(seen) => {
                all.ok += seen.ok;
                all.done += seen.done;
                for (reason, n) in seen.failures {
                    *all.failures.entry(reason).or_default() += n;
                }
                all.latencies_us.extend(seen.latencies_us);
            }
            Err(e) => all.fail(format!("a worker task failed: {e}")),
        }
    }
    all.latencies_us.sort_unstable();
    all
}
