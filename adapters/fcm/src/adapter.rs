//! The [`Adapter`] implementation: build the message once, get the access token through
//! the cache, POST one `messages:send` per token, classify each answer.
//!
//! Batching: FCM v1 has no batch API (fcm.md §7), so `max_batch` is 1 — the dispatcher's
//! guard then caps concurrent requests, rate and the per-call timeout per message, and
//! HTTP/2 multiplexes the requests over one connection. A longer slice is still served,
//! each token its own request, concurrently, each with its own outcome.

use crate::auth::{Auth, AuthError, ServiceAccount};
use crate::client::HttpClient;
use crate::error;
use crate::payload::{self, Inputs, Prepared};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, Capabilities, CheckError, CredentialFacts, CredentialRef,
    Outcome, SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::{App, Channel, CredentialSecret, Secret};
use pushgate_adapter_http::HealthTracker;
use std::fmt;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "fcm";
/// The topic of `check_credential`'s dry run (nothing is delivered with `validate_only`).
const CHECK_TOPIC: &str = "pushgate-credential-check";

/// What FCM v1 can do.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: 1,
    max_payload_bytes: payload::MAX_PAYLOAD_BYTES,
    collapse: true,
    ttl: true,
    priority: true,
    per_token_results: true,
};

/// The FCM HTTP v1 adapter.
pub(crate) struct FcmAdapter {
    client: HttpClient,
    auth: Auth,
    auth_url: Option<Url>,
    channel_id: String,
    check_with_dry_run: bool,
    health: HealthTracker,
}

impl fmt::Debug for FcmAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmAdapter")
            .field("client", &self.client)
            .field("auth_url", &self.auth_url.as_ref().map(Url::as_str))
            .field("channel_id", &self.channel_id)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl FcmAdapter {
    /// An adapter over a built client.
    pub fn new(
        client: HttpClient,
        auth_url: Option<Url>,
        channel_id: String,
        check_with_dry_run: bool,
    ) -> Self {
        Self {
            client,
            auth: Auth::new(auth_url.clone()),
            auth_url,
            channel_id,
            check_with_dry_run,
            health: HealthTracker::new(VENDOR),
        }
    }

    async fn send_one(
        &self,
        url: Url,
        access_token: &Secret,
        prepared: &Prepared,
        target: &SendTarget,
    ) -> TargetResult {
        let body = prepared.body_for(&target.token);
        let verdict = match self.client.post_json(url, access_token, body).await {
            Ok(answer) => error::classify(&answer, &target.token, OffsetDateTime::now_utc()),
            Err(e) => error::network(&e.reason),
        };
        self.health
            .note(verdict.degrades.then(|| verdict.outcome.reason()));
        tracing::debug!(
            vendor = VENDOR,
            delivery_id = %target.delivery_id,
            device_id = %target.device_id,
            outcome = verdict.outcome.kind(),
            "fcm send"
        );
        TargetResult {
            delivery_id: target.delivery_id,
            outcome: verdict.outcome,
        }
    }
}

/// A token-endpoint or credential failure as a verdict for every target.
#[async_trait]
impl Adapter for FcmAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::Fcm],
            capabilities: CAPABILITIES,
        }
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        if request.targets.is_empty() {
            return Vec::new();
        }
        let inputs = Inputs {
            message: request.message,
            app: request.app,
            accepted_at: request.accepted_at,
            now: OffsetDateTime::now_utc(),
            channel_id: &self.channel_id,
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return same_outcome(request.targets, &Outcome::Rejected { reason }),
        };
        let account = match self.auth.account(request.credential) {
            Ok(account) => account,
            Err(e) => return self.health.fail_all(request.targets, e),
        };
        let access_token = match self
            .auth
            .access_token(&self.client, request.credential, &account)
            .await
        {
            Ok(token) => token,
            Err(e) => return self.health.fail_all(request.targets, e),
        };
        let url = crate::client::send_url(&self.client, &account.project_id);
        let sends = request
            .targets
            .iter()
            .map(|t| self.send_one(url.clone(), &access_token, &prepared, t));
        futures::future::join_all(sends).await
    }

    fn verify_credential(
        &self,
        _app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        let account = ServiceAccount::from_secret(secret).map_err(CheckError::Invalid)?;
        account
            .token_url(self.auth_url.as_ref())
            .map_err(CheckError::Invalid)?;
        Ok(CredentialFacts::default())
    }

    /// Exchanges an assertion for an access token (proving the key is live), then — unless
    /// `check_with_dry_run` is off — makes a `validate_only` send to a topic, proving the
    /// project id and the messaging permission. Nothing is delivered. A 400 from the dry
    /// run still proves the credential (FCM authorises before it validates).
    async fn check_credential(
        &self,
        _app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        let account =
            ServiceAccount::from_secret(&credential.secret).map_err(CheckError::Invalid)?;
        let fetched = self
            .auth
            .exchange(&self.client, &account)
            .await
            .map_err(AuthError::into_check_error)?;
        if !self.check_with_dry_run {
            return Ok(());
        }
        let url = crate::client::send_url(&self.client, &account.project_id);
        let body = payload::dry_run_body(CHECK_TOPIC);
        let answer = self
            .client
            .post_json(url, &fetched.value, body)
            .await
            .map_err(|e| CheckError::Unreachable(format!("FCM: {}", e.reason)))?;
        match error::classify(&answer, "", OffsetDateTime::now_utc()).outcome {
            Outcome::Accepted { .. } | Outcome::Rejected { .. } | Outcome::InvalidToken { .. } => {
                Ok(())
            }
            Outcome::AuthFailed { reason } => Err(CheckError::Refused(reason)),
            Outcome::Retry { reason, .. } | Outcome::QuotaExhausted { reason, .. } => {
                Err(CheckError::Unreachable(reason))
            }
        }
    }

    fn forget_auth(&self, credential_id: Uuid) {
        self.auth.forget(credential_id);
    }

    fn health(&self) -> AdapterHealth {
        self.health.get()
    }
}

#[cfg(test)]
mod tests;
