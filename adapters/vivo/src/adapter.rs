//! The [`Adapter`] implementation: build the message once, get the auth token through the
//! cache, then one `/message/send` for a single regId, or `/message/saveListPayload` followed
//! by `/message/pushToList` for 2 to 1000 regIds (a longer slice is split and its requests
//! run concurrently), and turn vivo's answers into one outcome per target.
//!
//! Idempotency: vivo de-duplicates on `requestId`. A single send uses the delivery id; a list
//! send a digest of its targets' delivery ids (one prefix per call), so a retry of the same
//! targets is never delivered twice.
//!
//! `callback.param` (echoed in receipts as `param`): the delivery id for a single send, the
//! notification id (`IngestMessage::id`) for a list send — every accepted regId also gets
//! the `taskId` as its vendor message id, and receipts carry `taskId` and the regIds, so a
//! receipt finds its delivery by (taskId, regId).

use crate::auth::{AppCredential, Auth, AuthError};
use crate::callback;
use crate::client::{PUSH_TO_LIST, SAVE_LIST_PAYLOAD, SEND, VivoClient};
use crate::error::{self, Action, Verdict};
use crate::payload::{self, Inputs, MAX_LIST, Prepared};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, CallbackAnswer, CallbackContext, CallbackError,
    CallbackRequest, Capabilities, CheckError, CredentialFacts, CredentialRef, Outcome,
    SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::token_cache::SharedTokens;
use push_core::{App, Channel, CredentialSecret, Secret};
use pushgate_adapter_http::{HealthTracker, ProvenCredentials, per_target, send_in_slices};
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "vivo";

/// What vivo push can do.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: MAX_LIST,
    max_payload_bytes: payload::MAX_CUSTOM_CHARS,
    collapse: false,
    ttl: true,
    priority: false,
    per_token_results: true,
};

/// The vivo push adapter.
pub(crate) struct VivoAdapter {
    client: VivoClient,
    auth: Auth,
    /// Credentials that have had a send accepted since start (the all-invalid guard).
    proven: ProvenCredentials,
    health: HealthTracker,
}

impl fmt::Debug for VivoAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VivoAdapter")
            .field("client", &self.client)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl VivoAdapter {
    /// Shares auth tokens with other instances through `source`.
    pub(crate) fn share_tokens(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.auth = self.auth.shared(source);
        self
    }

    /// An adapter over a built client.
    pub fn new(client: VivoClient) -> Self {
        Self {
            client,
            auth: Auth::new(),
            proven: ProvenCredentials::new(),
            health: HealthTracker::new(VENDOR),
        }
    }

    /// One single send or one list send for up to [`MAX_LIST`] targets.
    async fn send_chunk(
        &self,
        request: &SendRequest<'_>,
        app: &AppCredential,
        targets: &[SendTarget],
    ) -> Vec<TargetResult> {
        let tag = match targets {
            [one] => one.delivery_id.to_string(),
            _ => request.message.id.clone(),
        };
        let inputs = Inputs {
            message: request.message,
            app: request.app,
            accepted_at: request.accepted_at,
            now: OffsetDateTime::now_utc(),
            tag: &tag,
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return same_outcome(targets, &Outcome::Rejected { reason }),
        };
        let credential = request.credential;
        let token = match self.auth.auth_token(&self.client, credential, app).await {
            Ok(token) => token,
            Err(e) => return self.health.fail_all(targets, e),
        };
        let tokens: Vec<&str> = targets.iter().map(|t| t.token.as_str()).collect();
        let verdict = match targets {
            [one] => {
                let body = prepared.single(&one.token, &one.delivery_id.to_string());
                self.call(SEND, &token, body, &tokens).await
            }
            _ => self.send_list(&prepared, &token, targets, &tokens).await,
        };
        self.record(credential.id, &verdict, targets, &tokens)
    }

    /// `saveListPayload` then `pushToList`.
    async fn send_list(
        &self,
        prepared: &Prepared,
        token: &Secret,
        targets: &[SendTarget],
        tokens: &[&str],
    ) -> Verdict {
        let ids: Vec<String> = targets.iter().map(|t| t.delivery_id.to_string()).collect();
        let save_id = payload::list_request_id("p", &ids);
        let saved = self
            .call(
                SAVE_LIST_PAYLOAD,
                token,
                prepared.list_payload(&save_id),
                &[],
            )
            .await;
        let task_id = match (&saved.action, &saved.task_id) {
            (Action::Accepted, Some(task_id)) => task_id.clone(),
            (Action::Accepted, None) => {
                return Verdict {
                    action: Action::Retry,
                    reason: "vivo saveListPayload answered success without a taskId".into(),
                    ..saved
                };
            }
            _ => return saved,
        };
        let push_id = payload::list_request_id("l", &ids);
        let body = payload::push_to_list(tokens, &task_id, &push_id);
        let mut pushed = self.call(PUSH_TO_LIST, token, body, tokens).await;
        if pushed.task_id.is_none() {
            pushed.task_id = Some(task_id);
        }
        pushed
    }

    /// One POST, classified.
    async fn call(&self, api: &str, token: &Secret, body: Vec<u8>, tokens: &[&str]) -> Verdict {
        match self.client.post(api, Some(token), body).await {
            Ok(answer) => error::classify(&answer, tokens, OffsetDateTime::now_utc()),
            Err(e) => error::network(&e.reason),
        }
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
        let outcomes = error::outcomes(verdict, tokens, proven, OffsetDateTime::now_utc());
        let degraded = error::degrades(verdict, tokens, proven);
        self.health
            .note(degraded.then_some(verdict.reason.as_str()));
        if outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Accepted { .. }))
        {
            self.proven.prove(credential_id);
        }
        tracing::debug!(
            vendor = VENDOR,
            tokens = tokens.len(),
            task_id = verdict.task_id.as_deref().unwrap_or_default(),
            action = ?verdict.action,
            "vivo send"
        );
        per_target(targets, outcomes)
    }
}

#[async_trait]
impl Adapter for VivoAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::Vivo],
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
        send_in_slices(request.targets, MAX_LIST, |slice| {
            self.send_chunk(&request, &app, slice)
        })
        .await
    }

    /// Offline: the AppID is 1–20 digits, the AppKey and AppSecret are present.
    fn verify_credential(
        &self,
        _app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        AppCredential::from_secret(secret).map_err(CheckError::Invalid)?;
        Ok(CredentialFacts::default())
    }

    /// Obtains an auth token (bypassing the cache): proves the AppID / AppKey / AppSecret
    /// triple. Nothing is sent.
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

    fn health(&self) -> AdapterHealth {
        self.health.get()
    }

    /// vivo's receipts, keyed by taskId; accepted only with the app's secret path token.
    fn parse_callback(
        &self,
        request: &CallbackRequest,
        context: &CallbackContext<'_>,
    ) -> Result<CallbackAnswer, CallbackError> {
        callback::parse(request, context)
    }
}
