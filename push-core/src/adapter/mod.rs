//! The adapter port: how pushgate talks to one push vendor.
//!
//! An adapter turns deliveries plus a credential into the vendor's request and the vendor's
//! answer into one [`Outcome`] per target. Behaviour rules every adapter keeps:
//! - **every target gets exactly one outcome**, in any order, keyed by its delivery id;
//! - it **never sleeps, loops or retries**: waiting, retrying, timeouts and rate limits are
//!   the dispatcher's (see [`guard`] and [`retry`]), so one policy serves every vendor;
//! - it refuses what the vendor would refuse (payload too large, missing fields) with
//!   `Rejected` **before** any request is sent;
//! - its auth tokens go through [`crate::token_cache::TokenCache`]; after `AuthFailed` the
//!   dispatcher calls [`Adapter::forget_auth`] and tries once more;
//! - errors and outcomes never contain a secret (keys, passwords, access tokens).

pub mod callback;
pub mod guard;
pub mod registry;
pub mod retry;

use crate::app::{ApnsEnvironment, App};
use crate::channel::Channel;
use crate::credential::CredentialSecret;
use crate::ids::DeliveryId;
use crate::notification::IngestMessage;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

pub use callback::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest, CallbackSecrets,
};
pub use guard::{Guard, GuardConfig};
pub use registry::AdapterRegistry;
pub use retry::{RetryDecision, RetryPolicy};

/// What an adapter can do; the dispatcher splits batches and rejects early from it, and the
/// conformance suite picks its cases from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Most targets one `send` call may carry (1 = no batch API).
    pub max_batch: usize,
    /// Largest payload the vendor accepts, in bytes (as the vendor counts it).
    pub max_payload_bytes: usize,
    /// Whether `collapse_key` is passed on.
    pub collapse: bool,
    /// Whether `ttl` is passed on.
    pub ttl: bool,
    /// Whether `priority` is passed on.
    pub priority: bool,
    /// Whether a batch answer says which tokens failed (else a batch fails or succeeds whole).
    pub per_token_results: bool,
}

/// Who an adapter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Vendor name for logs and metrics (`apns`, `fcm`, `wechat`…).
    pub vendor: &'static str,
    /// The device channels it serves.
    pub channels: &'static [Channel],
    /// What it can do.
    pub capabilities: Capabilities,
}

/// An opened credential, as an adapter receives it.
#[derive(Debug, Clone)]
pub struct CredentialRef {
    /// The credential version's id: the key of cached auth tokens and pooled connections.
    pub id: Uuid,
    /// Its version number, for logs.
    pub version: i64,
    /// The secret material.
    pub secret: Arc<CredentialSecret>,
}

/// One device to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTarget {
    /// The delivery this send is for; its outcome is keyed by it. Adapters with an
    /// idempotency key (apns-id, vivo requestId…) derive it from this id.
    pub delivery_id: DeliveryId,
    /// The device, for logs.
    pub device_id: String,
    /// The device's channel.
    pub channel: Channel,
    /// The vendor token (an openid for WeChat).
    pub token: String,
    /// For APNs: which environment the token belongs to.
    pub apns_environment: Option<ApnsEnvironment>,
}

/// One `send` call: a notification to targets of one app and channel, with the credential.
#[derive(Debug, Clone, Copy)]
pub struct SendRequest<'a> {
    /// The app (bundle id, package name, WeChat settings).
    pub app: &'a App,
    /// The credential to authenticate with.
    pub credential: &'a CredentialRef,
    /// What to send.
    pub message: &'a IngestMessage,
    /// When pushgate accepted the message (ttl counts from here).
    pub accepted_at: OffsetDateTime,
    /// To whom; at most `capabilities.max_batch`.
    pub targets: &'a [SendTarget],
}

/// What became of one target. Every vendor answer maps to exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The vendor took it.
    Accepted {
        /// The vendor's id for the message, when it gives one.
        vendor_message_id: Option<String>,
    },
    /// Try again later (overload, 5xx, timeouts, network errors).
    Retry {
        /// The vendor's `Retry-After`, when it said one.
        after: Option<Duration>,
        /// The vendor's reason.
        reason: String,
    },
    /// The token is dead; deactivate the device and never retry.
    InvalidToken {
        /// The vendor's reason (`Unregistered`, `UNREGISTERED`…).
        reason: String,
        /// When the vendor says the token became invalid (APNs' 410 timestamp): a device
        /// that registered after it keeps its token.
        invalid_since: Option<OffsetDateTime>,
    },
    /// The credential or auth token was refused; refresh once, then mark it unhealthy.
    AuthFailed {
        /// The vendor's reason.
        reason: String,
    },
    /// Permanent failure of this message (payload too large, bad field): do not retry.
    Rejected {
        /// Why.
        reason: String,
    },
    /// The app's daily quota at the vendor is used up (vivo 10070, OPPO 33, Xiaomi 10034…):
    /// the app+vendor is parked and the delivery waits until `resets_at` instead of
    /// retrying into the wall.
    QuotaExhausted {
        /// The vendor's reason.
        reason: String,
        /// When the quota resets (for the Chinese vendors: the next midnight, China time).
        resets_at: OffsetDateTime,
    },
}

impl Outcome {
    /// A short stable name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Retry { .. } => "retry",
            Outcome::InvalidToken { .. } => "invalid_token",
            Outcome::AuthFailed { .. } => "auth_failed",
            Outcome::Rejected { .. } => "rejected",
            Outcome::QuotaExhausted { .. } => "quota_exhausted",
        }
    }

    /// The vendor's reason (empty for `Accepted`).
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Accepted { .. } => "",
            Outcome::Retry { reason, .. }
            | Outcome::InvalidToken { reason, .. }
            | Outcome::AuthFailed { reason }
            | Outcome::Rejected { reason }
            | Outcome::QuotaExhausted { reason, .. } => reason,
        }
    }
}

/// The outcome of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    /// The target's delivery.
    pub delivery_id: DeliveryId,
    /// What became of it.
    pub outcome: Outcome,
}

/// Whether an adapter currently works, as far as it can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterHealth {
    /// Its last calls went through (or it has made none).
    Healthy,
    /// Its last call failed for a reason that is not the message's fault.
    Degraded {
        /// The last such reason.
        reason: String,
    },
}

/// What an offline credential check learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFacts {
    /// When the credential stops working (certificates).
    pub not_after: Option<OffsetDateTime>,
    /// The topics (bundle ids) a certificate may push to.
    pub topics: Vec<String>,
}

/// The error of a credential check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The credential itself is wrong (does not parse, wrong key type, bad password, wrong
    /// topics, expired); the message says which, without any secret.
    #[error("{0}")]
    Invalid(String),
    /// The vendor refused the credential.
    #[error("the vendor refused the credential: {0}")]
    Refused(String),
    /// The vendor could not be reached or answered garbage; the credential is unproven.
    #[error("the vendor could not be asked: {0}")]
    Unreachable(String),
}

/// One push vendor. See the module documentation for the rules.
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// Who it is and what it can do.
    fn info(&self) -> AdapterInfo;

    /// Sends one message to up to `max_batch` targets. Returns exactly one result per target;
    /// never sleeps or retries.
    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult>;

    /// Checks a credential offline, before it is stored: it parses, the key type is right, a
    /// .p12 opens with its password, a certificate's topics include the app's bundle id, it
    /// is not expired at `now`. Answers what it learnt (certificate expiry, topics).
    fn verify_credential(
        &self,
        app: &App,
        secret: &CredentialSecret,
        now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError>;

    /// Obtains a vendor auth token (or makes the cheapest authenticated call) with this
    /// credential, to prove it works. Never sends a notification.
    async fn check_credential(
        &self,
        app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError>;

    /// Drops cached auth tokens and connections of a credential after `AuthFailed`, so the
    /// next send authenticates afresh.
    fn forget_auth(&self, credential_id: Uuid);

    /// Its current health.
    fn health(&self) -> AdapterHealth;

    /// Reads a receipt callback the vendor posted (see [`callback`]): authenticates it where
    /// the vendor signs callbacks, decodes it, maps every status to one [`CallbackEvent`].
    /// Adapters of vendors without callbacks keep the default, [`CallbackError::Unsupported`].
    fn parse_callback(
        &self,
        request: &CallbackRequest,
        context: &CallbackContext<'_>,
    ) -> Result<CallbackAnswer, CallbackError> {
        let _ = (request, context);
        Err(CallbackError::Unsupported)
    }
}

/// The next midnight in China (UTC+8, no daylight saving) after `now`: when the Chinese
/// vendors' daily quotas reset.
pub fn next_china_midnight(now: OffsetDateTime) -> OffsetDateTime {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let local = now.to_offset(offset);
    let next_day = local.date().next_day().unwrap_or(local.date());
    next_day
        .midnight()
        .assume_offset(offset)
        .to_offset(time::UtcOffset::UTC)
}

/// Conveniences for callers of [`Adapter`].
pub trait AdapterExt: Adapter {
    /// The vendor name.
    fn vendor(&self) -> &'static str {
        self.info().vendor
    }

    /// Its capabilities.
    fn capabilities(&self) -> Capabilities {
        self.info().capabilities
    }

    /// Whether it serves a channel.
    fn serves(&self, channel: Channel) -> bool {
        self.info().channels.contains(&channel)
    }
}

impl<A: Adapter + ?Sized> AdapterExt for A {}

/// Results for every target, all with the same outcome: what an adapter answers when the
/// whole request failed (auth, network, a batch-level error).
pub fn same_outcome(targets: &[SendTarget], outcome: &Outcome) -> Vec<TargetResult> {
    targets
        .iter()
        .map(|t| TargetResult {
            delivery_id: t.delivery_id,
            outcome: outcome.clone(),
        })
        .collect()
}
