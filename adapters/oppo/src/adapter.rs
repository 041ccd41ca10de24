//! The [`Adapter`] implementation: build the notification once, split the targets by host
//! (China / overseas, from the registration id), get each host's auth token through the
//! cache, and send one `unicast` for a single target or `unicast_batch` (up to 1000
//! messages, each with its own `app_message_id`) for several; OPPO's answer becomes one
//! outcome per target.

use crate::auth::{AppCredential, Auth, AuthError};
use crate::callback;
use crate::client::{Hosts, Region};
use crate::error::{self, Verdict};
use crate::payload::{self, Inputs, MAX_BATCH, Prepared};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, CallbackAnswer, CallbackContext, CallbackError,
    CallbackRequest, Capabilities, CheckError, CredentialFacts, CredentialRef, Outcome,
    SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::token_cache::SharedTokens;
use push_core::{App, Channel, CredentialSecret};
use pushgate_adapter_http::{HealthTracker, ProvenCredentials, per_target};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "oppo";

/// What OPPO push can do.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: MAX_BATCH,
    max_payload_bytes: payload::MAX_PAYLOAD_CHARS,
    collapse: true,
    ttl: true,
    priority: false,
    per_token_results: true,
};

/// The OPPO push adapter.
pub(crate) struct OppoAdapter {
    hosts: Hosts,
    auth: Auth,
    /// Credentials that have had a send accepted since start (the all-invalid guard).
    proven: ProvenCredentials,
    health: HealthTracker,
}

impl fmt::Debug for OppoAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OppoAdapter")
            .field("hosts", &self.hosts)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl OppoAdapter {
    /// Shares auth tokens with other instances through `source`.
    pub(crate) fn share_tokens(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.auth = self.auth.shared(source);
        self
    }

    /// An adapter over built clients.
    pub fn new(hosts: Hosts) -> Self {
        Self {
            hosts,
            auth: Auth::new(),
            proven: ProvenCredentials::new(),
            health: HealthTracker::new(VENDOR),
        }
    }

    /// One request for up to [`MAX_BATCH`] targets of one host.
    async fn send_chunk(
        &self,
        credential: &CredentialRef,
        app: &AppCredential,
        prepared: &Prepared,
        region: Region,
        targets: &[SendTarget],
    ) -> Vec<TargetResult> {
        let auth_token = match self
            .auth
            .auth_token(&self.hosts, credential.id, region, app)
            .await
        {
            Ok(token) => token,
            Err(e) => return self.health.fail_all(targets, e),
        };
        let batch = targets.len() > 1;
        let messages: Vec<Value> = targets
            .iter()
            .map(|t| prepared.message_for(&t.token, t.delivery_id))
            .collect();
        let (field, json) = if batch {
            ("messages", Value::Array(messages).to_string())
        } else {
            let one = messages.into_iter().next().unwrap_or(Value::Null);
            ("message", one.to_string())
        };
        let form = [("auth_token", auth_token.expose()), (field, json.as_str())];
        let tokens: Vec<&str> = targets.iter().map(|t| t.token.as_str()).collect();
        let url = self.hosts.send_url(region, batch);
        let verdict = match self.hosts.host(region).post_form(url, &form).await {
            Ok(answer) => error::classify(&answer, &tokens, OffsetDateTime::now_utc()),
            Err(e) => error::network(&e.reason),
        };
        self.record(credential.id, &verdict, targets, &tokens, batch, region)
    }

    /// Turns a verdict into per-target results, learning and logging from it.
    fn record(
        &self,
        credential_id: Uuid,
        verdict: &Verdict,
        targets: &[SendTarget],
        tokens: &[&str],
        batch: bool,
        region: Region,
    ) -> Vec<TargetResult> {
        let proven = self.proven.is_proven(credential_id);
        let now = OffsetDateTime::now_utc();
        let outcomes = error::outcomes(verdict, tokens, batch, proven, now);
        self.health
            .note(error::degraded(verdict, &outcomes).as_deref());
        if outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Accepted { .. }))
        {
            self.proven.prove(credential_id);
        }
        tracing::debug!(
            vendor = VENDOR,
            host = region.as_str(),
            tokens = tokens.len(),
            action = ?verdict.action,
            "oppo send"
        );
        per_target(targets, outcomes)
    }
}

#[async_trait]
impl Adapter for OppoAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::Oppo],
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
        let inputs = Inputs {
            message: request.message,
            app: request.app,
            accepted_at: request.accepted_at,
            now: OffsetDateTime::now_utc(),
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return same_outcome(request.targets, &Outcome::Rejected { reason }),
        };
        let mut by_region: Vec<(Region, Vec<SendTarget>)> = Vec::new();
        for target in request.targets {
            let region = Region::of(&target.token);
            match by_region.iter_mut().find(|(r, _)| *r == region) {
                Some((_, group)) => group.push(target.clone()),
                None => by_region.push((region, vec![target.clone()])),
            }
        }
        let chunks = by_region.iter().flat_map(|(region, group)| {
            group
                .chunks(MAX_BATCH)
                .map(|chunk| self.send_chunk(request.credential, &app, &prepared, *region, chunk))
        });
        futures::future::join_all(chunks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Offline: the AppKey is well formed and the MasterSecret is present.
    fn verify_credential(
        &self,
        _app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        AppCredential::from_secret(secret).map_err(CheckError::Invalid)?;
        Ok(CredentialFacts::default())
    }

    /// Obtains an auth token on the China host (bypassing the cache). Success proves the
    /// AppKey / MasterSecret pair, not the app's push permission (that shows later as code
    /// 30). Nothing is sent.
    async fn check_credential(
        &self,
        _app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        let app = AppCredential::from_secret(&credential.secret).map_err(CheckError::Invalid)?;
        self.auth
            .exchange(&self.hosts, Region::China, &app)
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

    fn parse_callback(
        &self,
        request: &CallbackRequest,
        context: &CallbackContext<'_>,
    ) -> Result<CallbackAnswer, CallbackError> {
        callback::parse(request, context)
    }
}
