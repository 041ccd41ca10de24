//! The [`Adapter`] implementation: build the message once, get the access token through
//! the cache, POST one `sendMessage` carrying every token (with the `timestamp` header) (up to 1000 per request; a
//! longer slice is split and its requests run concurrently), and turn Honor's one answer
//! into one outcome per target.
//!
//! `bi_tag` (echoed in receipts as `biTag`): the delivery id when the request carries one
//! token; for a batch, the notification's id (`IngestMessage::id`) — every accepted target
//! also gets the request's `requestId` as its vendor message id, and Honor's receipts
//! carry `requestId` and `token`, so a receipt finds its delivery by (requestId, token).

use crate::auth::{AppCredential, Auth, AuthError};
use crate::client::{self, HttpClient};
use crate::error::{self, Action, Verdict};
use crate::payload::{self, Inputs, MAX_TOKENS};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, CallbackAnswer, CallbackContext, CallbackError,
    CallbackRequest, Capabilities, CheckError, CredentialFacts, CredentialRef, Outcome,
    SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::token_cache::SharedTokens;
use push_core::{App, Channel, CredentialSecret};
use pushgate_adapter_http::{HealthTracker, ProvenCredentials, per_target, send_in_slices};
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "honor";

/// What Honor Push can do.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: MAX_TOKENS,
    max_payload_bytes: payload::MAX_PAYLOAD_BYTES,
    // `tag`: a newer notification with the same tag replaces the shown one.
    collapse: true,
    ttl: true,
    // Honor has no urgency / priority field (honor.md §4).
    priority: false,
    per_token_results: true,
};

/// The Honor Push adapter.
pub(crate) struct HonorAdapter {
    client: HttpClient,
    auth: Auth,
    auth_url: Url,
    /// Credentials that have had a send accepted since start (the all-invalid guard).
    proven: ProvenCredentials,
    health: HealthTracker,
}

impl fmt::Debug for HonorAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HonorAdapter")
            .field("client", &self.client)
            .field("auth_url", &self.auth_url.as_str())
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl HonorAdapter {
    /// Shares auth tokens with other instances through `source`.
    pub(crate) fn share_tokens(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.auth = self.auth.shared(source);
        self
    }

    /// An adapter over a built client.
    pub fn new(client: HttpClient, auth_url: Url) -> Self {
        Self {
            client,
            auth: Auth::new(auth_url.clone()),
            auth_url,
            proven: ProvenCredentials::new(),
            health: HealthTracker::new(VENDOR),
        }
    }

    /// One request for up to [`MAX_TOKENS`] targets.
    async fn send_chunk(
        &self,
        request: &SendRequest<'_>,
        app: &AppCredential,
        targets: &[SendTarget],
    ) -> Vec<TargetResult> {
        let bi_tag = match targets {
            [one] => one.delivery_id.to_string(),
            _ => request.message.id.clone(),
        };
        let inputs = Inputs {
            message: request.message,
            app: request.app,
            accepted_at: request.accepted_at,
            now: OffsetDateTime::now_utc(),
            bi_tag: &bi_tag,
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return same_outcome(targets, &Outcome::Rejected { reason }),
        };
        let credential = request.credential;
        let access_token = match self.auth.access_token(&self.client, credential, app).await {
            Ok(token) => token,
            Err(e) => return self.health.fail_all(targets, e),
        };
        let tokens: Vec<&str> = targets.iter().map(|t| t.token.as_str()).collect();
        let url = client::send_url(&self.client, &app.app_id);
        let timestamp_ms =
            i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or_default();
        let body = prepared.body_for(&tokens);
        let verdict =
            match client::post_send(&self.client, url, &access_token, timestamp_ms, body).await {
                Ok(answer) => error::classify(&answer, &tokens, OffsetDateTime::now_utc()),
                Err(e) => error::network(&e.reason),
            };
        self.record(credential.id, &verdict, targets, &tokens)
    }

    /// Turns a verdict into per-target results, learning and logging from it.
    fn record(
        &self,
        credential_id: Uuid,
        verdict: &Verdict,
        targets: &[SendTarget],
        tokens: &[&str],
    ) -> Vec<TargetResult> {
        let proven = self.proven.is_proven(credential_id);
        let outcomes = error::outcomes(verdict, tokens, proven);
        let degraded = error::degrades(verdict, tokens, proven);
        self.health
            .note(degraded.then_some(verdict.reason.as_str()));
        let any_accepted = outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Accepted { .. }));
        if any_accepted && verdict.action == Action::Accepted {
            self.proven.prove(credential_id);
        }
        tracing::debug!(
            vendor = VENDOR,
            tokens = tokens.len(),
            request_id = verdict.request_id.as_deref().unwrap_or_default(),
            action = ?verdict.action,
            "honor send"
        );
        per_target(targets, outcomes)
    }
}

#[async_trait]
impl Adapter for HonorAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::Honor],
            capabilities: CAPABILITIES,
        }
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        if request.targets.is_empty() {
            return Vec::new();
        }
        let app = match AppCredential::from_secret(&request.credential.secret) {
            Ok(app) => app,
            Err(e) => return self.health.unusable_credential(request.targets, e),
        };
        send_in_slices(request.targets, MAX_TOKENS, |slice| {
            self.send_chunk(&request, &app, slice)
        })
        .await
    }

    /// Offline: the App ID is 1–64 digits, the Client ID and Client Secret are present.
    fn verify_credential(
        &self,
        _app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        AppCredential::from_secret(secret).map_err(CheckError::Invalid)?;
        Ok(CredentialFacts::default())
    }

    /// Obtains an access token (bypassing the cache). Success proves the Client ID / secret
    /// pair, not that the App ID is right (that shows at the first send). Nothing is sent.
    async fn check_credential(
        &self,
        _app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        let app = AppCredential::from_secret(&credential.secret).map_err(CheckError::Invalid)?;
        self.auth
            .exchange(&self.client, &app)
            .await
            .map(|_| ())
            .map_err(AuthError::into_check_error)
    }

    fn forget_auth(&self, credential_id: Uuid) {
        self.auth.forget(credential_id);
    }

    fn parse_callback(
        &self,
        request: &CallbackRequest,
        context: &CallbackContext<'_>,
    ) -> Result<CallbackAnswer, CallbackError> {
        crate::callback::parse(request, context)
    }

    fn health(&self) -> AdapterHealth {
        self.health.get()
    }
}
