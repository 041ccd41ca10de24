//! The policies that wrap every adapter: a timeout per call, a concurrency cap and a rate
//! limit. Adapters never wait; a [`Guard`] does it for them, so one tested implementation
//! serves every vendor. The dispatcher keeps one guard per (app, vendor), which is what
//! keeps one app's flood from starving the others.

use super::{
    Adapter, AdapterHealth, AdapterInfo, CheckError, CredentialFacts, CredentialRef, Outcome,
    SendRequest, TargetResult, same_outcome,
};
use crate::app::App;
use crate::credential::CredentialSecret;
use async_trait::async_trait;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use uuid::Uuid;

/// The limits of one guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardConfig {
    /// Longest a `send` may take; past it every target gets `Retry`.
    pub timeout: Duration,
    /// Most `send` calls in flight at once.
    pub max_in_flight: usize,
    /// Targets per second allowed on average; `None` = unlimited.
    pub rate_per_second: Option<f64>,
    /// Targets that may go at once after a quiet period.
    pub burst: u32,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_in_flight: 64,
            rate_per_second: None,
            burst: 1,
        }
    }
}

/// An adapter behind a timeout, a concurrency cap and a rate limit.
pub struct Guard {
    inner: Arc<dyn Adapter>,
    config: GuardConfig,
    in_flight: Semaphore,
    rate: Option<Mutex<RateState>>,
}

/// Generic cell rate algorithm: `next_free` is when the next unit would be on schedule.
struct RateState {
    next_free: Instant,
    interval: Duration,
    tolerance: Duration,
}

impl RateState {
    /// Books `units` and returns how long the caller must wait before going.
    fn book(&mut self, units: u32, now: Instant) -> Duration {
        let start = self.next_free.max(now);
        self.next_free = start + self.interval * units;
        (self.next_free - self.tolerance).saturating_duration_since(now)
    }
}

impl Guard {
    /// Wraps `inner` with `config`.
    pub fn new(inner: Arc<dyn Adapter>, config: GuardConfig) -> Self {
        let rate = config
            .rate_per_second
            .filter(|r| *r > 0.0)
            .map(|per_second| {
                let interval = Duration::from_secs_f64(1.0 / per_second);
                Mutex::new(RateState {
                    next_free: Instant::now(),
                    interval,
                    tolerance: interval * config.burst.max(1),
                })
            });
        Self {
            inner,
            config,
            in_flight: Semaphore::new(config.max_in_flight.max(1)),
            rate,
        }
    }

    /// The limits it applies.
    pub fn config(&self) -> GuardConfig {
        self.config
    }

    async fn wait_for_rate(&self, units: usize) {
        let Some(rate) = &self.rate else { return };
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        let wait = rate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .book(units, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl Adapter for Guard {
    fn info(&self) -> AdapterInfo {
        self.inner.info()
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        let Ok(_permit) = self.in_flight.acquire().await else {
            let outcome = Outcome::Retry {
                after: None,
                reason: "adapter is shutting down".into(),
            };
            return same_outcome(request.targets, &outcome);
        };
        self.wait_for_rate(request.targets.len()).await;
        match tokio::time::timeout(self.config.timeout, self.inner.send(request)).await {
            Ok(results) => results,
            Err(_) => {
                let reason = format!("no answer within {} ms", self.config.timeout.as_millis());
                same_outcome(
                    request.targets,
                    &Outcome::Retry {
                        after: None,
                        reason,
                    },
                )
            }
        }
    }

    fn verify_credential(
        &self,
        app: &App,
        secret: &CredentialSecret,
        now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        self.inner.verify_credential(app, secret, now)
    }

    async fn check_credential(
        &self,
        app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        match tokio::time::timeout(
            self.config.timeout,
            self.inner.check_credential(app, credential),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(CheckError::Unreachable(
                "the vendor did not answer in time".into(),
            )),
        }
    }

    fn forget_auth(&self, credential_id: Uuid) {
        self.inner.forget_auth(credential_id);
    }

    fn health(&self) -> AdapterHealth {
        self.inner.health()
    }
}

#[cfg(test)]
mod tests;
