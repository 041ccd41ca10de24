//! What every HTTP adapter keeps between sends: its health as the last answer left it (a
//! change is logged once, never once per message), the credentials proven by an accepted
//! send (the guard that stops "every token invalid" from deactivating devices when the
//! credential is the likelier culprit), and the two ways a send's outcomes are handed back.

use crate::AuthError;
use push_core::adapter::{AdapterHealth, Outcome, SendTarget, TargetResult, same_outcome};
use std::collections::HashSet;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

/// The adapter's health as its last answer left it.
#[derive(Debug)]
pub struct HealthTracker {
    vendor: &'static str,
    current: Mutex<AdapterHealth>,
}

impl HealthTracker {
    /// A healthy start for `vendor` (named in the log lines).
    pub fn new(vendor: &'static str) -> Self {
        Self {
            vendor,
            current: Mutex::new(AdapterHealth::Healthy),
        }
    }

    /// Records what the last answer says: degraded with this reason, or healthy. Changes are
    /// logged (`<vendor> degraded` / `<vendor> healthy again`).
    pub fn note(&self, degraded: Option<&str>) {
        let health = match degraded {
            Some(reason) => AdapterHealth::Degraded {
                reason: reason.to_string(),
            },
            None => AdapterHealth::Healthy,
        };
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if *current != health {
            let vendor = self.vendor;
            match &health {
                AdapterHealth::Degraded { reason } => {
                    tracing::warn!(vendor, %reason, "{vendor} degraded");
                }
                AdapterHealth::Healthy => tracing::info!(vendor, "{vendor} healthy again"),
            }
        }
        *current = health;
    }

    /// The health now.
    pub fn get(&self) -> AdapterHealth {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Fails every target alike after an auth or credential problem before any send, and
    /// notes the adapter degraded by it.
    pub fn fail_all(&self, targets: &[SendTarget], error: AuthError) -> Vec<TargetResult> {
        let outcome = error.into_outcome();
        self.note(Some(outcome.reason()));
        same_outcome(targets, &outcome)
    }

    /// Fails every target with `AuthFailed` ("unusable credential: …") when the credential
    /// cannot even be read, and notes the adapter degraded by it.
    pub fn unusable_credential(
        &self,
        targets: &[SendTarget],
        why: impl Display,
    ) -> Vec<TargetResult> {
        let reason = format!("unusable credential: {why}");
        self.fail_all(targets, AuthError::Refused(reason))
    }
}

/// Credentials that have had a send accepted since start (the all-invalid guard).
#[derive(Debug, Default)]
pub struct ProvenCredentials {
    ids: Mutex<HashSet<Uuid>>,
}

impl ProvenCredentials {
    /// None proven yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a send with this credential has been accepted.
    pub fn is_proven(&self, credential_id: Uuid) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&credential_id)
    }

    /// Remembers that a send with this credential was accepted.
    pub fn prove(&self, credential_id: Uuid) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(credential_id);
    }
}

/// Sends `targets` in slices of at most `size` (one request each), the requests running
/// concurrently, and answers every slice's results in target order.
pub async fn send_in_slices<'t, F, Fut>(
    targets: &'t [SendTarget],
    size: usize,
    send: F,
) -> Vec<TargetResult>
where
    F: FnMut(&'t [SendTarget]) -> Fut,
    Fut: Future<Output = Vec<TargetResult>>,
{
    futures::future::join_all(targets.chunks(size).map(send))
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Pairs each target with its outcome, in order.
pub fn per_target(targets: &[SendTarget], outcomes: Vec<Outcome>) -> Vec<TargetResult> {
    targets
        .iter()
        .zip(outcomes)
        .map(|(target, outcome)| TargetResult {
            delivery_id: target.delivery_id,
            outcome,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_last_answer() {
        let health = HealthTracker::new("test");
        assert_eq!(health.get(), AdapterHealth::Healthy);
        health.note(Some("outage"));
        assert_eq!(
            health.get(),
            AdapterHealth::Degraded {
                reason: "outage".to_string()
            }
        );
        health.note(None);
        assert_eq!(health.get(), AdapterHealth::Healthy);
    }

    #[test]
    fn credentials_are_proven_one_by_one() {
        let proven = ProvenCredentials::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        proven.prove(a);
        assert!(proven.is_proven(a));
        assert!(!proven.is_proven(b));
    }
}
