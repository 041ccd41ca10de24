//! The adapter conformance suite (STYLE.md §9): one set of named cases that every vendor
//! adapter runs against the simulator. A vendor plugs in through [`VendorHooks`] (how to make
//! a live token, uninstall one, expire auth…); the cases branch only on the adapter's
//! [`Capabilities`](push_core::adapter::Capabilities) and on what the hooks declare.
//!
//! Each vendor's test file lists every case with [`conformance_cases!`](crate::conformance_cases);
//! a case that does not apply to a vendor is left out of that list by name with a comment,
//! never skipped silently at run time.

mod cases;

pub use cases::*;

use async_trait::async_trait;
use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget, TargetResult};
use push_core::{App, Channel, DeliveryId, IngestMessage};
use push_sim::Sim;
use push_sim::types::{ErrorFault, RequestFilter, RequestRecord, Vendor};
use std::sync::Arc;
use time::OffsetDateTime;

/// What a vendor must tell the suite.
#[async_trait]
pub trait VendorHooks: Send + Sync {
    /// A well-formed device token the vendor accepts; distinct per `n`.
    fn live_token(&self, n: u32) -> String;
    /// Makes the simulator report `token` as uninstalled.
    async fn uninstall(&self, sim: &Sim, token: &str);
    /// Makes the vendor refuse the adapter's current auth token (once).
    async fn expire_auth(&self, sim: &Sim);
    /// How many distinct auth tokens the vendor has seen from the adapter so far.
    fn auth_tokens_seen(&self, sim: &Sim) -> usize;
    /// New auth tokens a refresh after [`VendorHooks::expire_auth`] must produce: 1 for OAuth
    /// vendors; 0 for APNs, whose 20-minute rule forbids minting a new provider token for a
    /// young one (the retry reuses it).
    fn refreshes_after_expiry(&self) -> usize;
    /// A 429 fault telling the client to come back after `seconds`.
    fn rate_limited(&self, seconds: u64) -> ErrorFault;
    /// A 5xx fault.
    fn server_error(&self) -> ErrorFault;
    /// A message the adapter must refuse locally as malformed, when the vendor has such a
    /// rule beyond size.
    fn malformed(&self) -> Option<IngestMessage>;
    /// Strings that must never appear in outcomes, errors or Debug output (key material).
    fn secrets(&self) -> Vec<String>;
    /// Whether a recorded request is a send (not an auth call).
    fn is_send(&self, record: &RequestRecord) -> bool;
}

/// A simulator, an adapter pointed at it, and the vendor's hooks.
pub struct Harness {
    /// The running simulator.
    pub sim: Sim,
    /// The adapter under test, configured for the simulator only.
    pub adapter: Arc<dyn Adapter>,
    /// The app the sends are for.
    pub app: App,
    /// A working credential.
    pub credential: CredentialRef,
    /// The device channel.
    pub channel: Channel,
    /// The simulator's name for the vendor.
    pub vendor: Vendor,
    /// The vendor specifics.
    pub hooks: Box<dyn VendorHooks>,
}

impl Harness {
    /// A target for `token`.
    pub fn target(&self, token: &str) -> SendTarget {
        SendTarget {
            delivery_id: DeliveryId::new(),
            device_id: format!("device-{}", token.chars().take(8).collect::<String>()),
            channel: self.channel,
            token: token.to_string(),
            apns_environment: None,
        }
    }

    /// Sends `message` to `targets` with the harness credential.
    pub async fn send(&self, message: &IngestMessage, targets: &[SendTarget]) -> Vec<TargetResult> {
        let request = SendRequest {
            app: &self.app,
            credential: &self.credential,
            message,
            accepted_at: OffsetDateTime::now_utc(),
            targets,
        };
        self.adapter.send(request).await
    }

    /// Sends to one token and answers its outcome.
    pub async fn send_one(&self, message: &IngestMessage, token: &str) -> Outcome {
        let target = self.target(token);
        let results = self.send(message, std::slice::from_ref(&target)).await;
        assert_eq!(results.len(), 1, "one target, one outcome: {results:?}");
        assert_eq!(results[0].delivery_id, target.delivery_id);
        results[0].outcome.clone()
    }

    /// Send requests the simulator received for `token`.
    pub fn sends_to(&self, token: &str) -> Vec<RequestRecord> {
        let filter = RequestFilter {
            vendor: Some(self.vendor),
            ..RequestFilter::default()
        };
        self.sim
            .control()
            .requests(filter)
            .into_iter()
            .filter(|r| {
                self.hooks.is_send(r)
                    && r.token
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(token))
            })
            .collect()
    }
}

/// A fault answering every request with `status`, the vendor's error `reason` (empty for
/// none) and, when given, `Retry-After: retry_after` seconds — what the hooks'
/// `rate_limited` and `server_error` return.
pub fn error_fault(status: u16, reason: &str, retry_after: Option<u64>) -> ErrorFault {
    ErrorFault {
        rate: 1.0,
        status,
        reason: reason.into(),
        retry_after: retry_after.map(|s| s.to_string()),
        count: None,
    }
}

/// Generates one `#[tokio::test]` per named case for a harness constructor:
/// `conformance_cases!(spawn_harness; success, unregistered_token_is_invalid, …);`
#[macro_export]
macro_rules! conformance_cases {
    ($harness:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $harness().await;
                $crate::conformance::$case(&harness).await;
            }
        )+
    };
}
