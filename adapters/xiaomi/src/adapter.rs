//! The [`Adapter`] implementation: build the form once, POST one `/v3/message/regid`
//! carrying every registration id (comma-joined, up to 1000 per request; a longer slice is
//! split and its requests run concurrently), and turn Xiaomi's one answer into one outcome per
//! target.
//!
//! `extra.callback.param` (echoed in receipts as `param`): the delivery id when the request
//! carries one regid; for a batch, the notification's id (`IngestMessage::id`, when it fits
//! Xiaomi's 64 characters) — every accepted target also gets the answer's `data.id` as its
//! vendor message id, and Xiaomi's receipts carry that id and the `targets`, so a receipt
//! finds its delivery by (message id, regid).

use crate::auth::AppCredential;
use crate::callback;
use crate::client::FormClient;
use crate::error::{self, Action, Verdict};
use crate::payload::{self, Class, Inputs, MAX_CALLBACK_PARAM_CHARS, MAX_TOKENS};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, CallbackAnswer, CallbackContext, CallbackError,
    CallbackRequest, Capabilities, CheckError, CredentialFacts, CredentialRef, Outcome,
    SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::{App, Channel, CredentialSecret};
use pushgate_adapter_http::{HealthTracker, ProvenCredentials, per_target, send_in_slices};
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "xiaomi";

/// What MiPush can do. `priority` is false: Xiaomi has no per-message priority.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: MAX_TOKENS,
    max_payload_bytes: payload::MAX_PAYLOAD_BYTES,
    collapse: true,
    ttl: true,
    priority: false,
    per_token_results: true,
};

/// The Xiaomi MiPush adapter.
pub(crate) struct XiaomiAdapter {
    client: FormClient,
    /// Credentials that have had a send accepted since start (the `20301` guard).
    proven: ProvenCredentials,
    health: HealthTracker,
}

impl fmt::Debug for XiaomiAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XiaomiAdapter")
            .field("client", &self.client)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl XiaomiAdapter {
    /// An adapter over a built client.
    pub fn new(client: FormClient) -> Self {
        Self {
            client,
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
        let param = match targets {
            [one] => Some(one.delivery_id.to_string()),
            _ => Some(request.message.id.clone())
                .filter(|id| id.chars().count() <= MAX_CALLBACK_PARAM_CHARS),
        };
        let inputs = Inputs {
            message: request.message,
            app: request.app,
            package_name: &app.package_name,
            accepted_at: request.accepted_at,
            now: OffsetDateTime::now_utc(),
            callback_param: param.as_deref(),
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return same_outcome(targets, &Outcome::Rejected { reason }),
        };
        if let Some(note) = &prepared.note {
            // Sent anyway (the app's mapping is missing, not the message wrong), but the
            // operator should learn that chat is losing its private channel's display.
            tracing::warn!(
                vendor = VENDOR,
                app = %request.app.id,
                notification = %request.message.id,
                %note,
                "xiaomi message of a private kind sent without a private channel"
            );
        }
        let tokens: Vec<&str> = targets.iter().map(|t| t.token.as_str()).collect();
        let public = prepared.class == Class::Public;
        let verdict = match self
            .client
            .post_form(self.client.regid_url(), app, prepared.body_for(&tokens))
            .await
        {
            Ok(answer) => error::classify(&answer, &tokens, public, OffsetDateTime::now_utc()),
            Err(e) => error::network(&e.reason),
        };
        self.record(request, &verdict, targets, &tokens)
    }

    /// Turns a verdict into per-target results, learning and logging from it.
    fn record(
        &self,
        request: &SendRequest<'_>,
        verdict: &Verdict,
        targets: &[SendTarget],
        tokens: &[&str],
    ) -> Vec<TargetResult> {
        let credential_id = request.credential.id;
        let proven = self.proven.is_proven(credential_id);
        if let Some(quota) = verdict.public_quota.filter(error::PublicQuota::is_over) {
            // Side effect only: Xiaomi took the message (code 0) and reports the ones it
            // discards as receipt type 128, so nothing is held back or parked here.
            tracing::warn!(
                vendor = VENDOR,
                app = %request.app.id,
                notification = %request.message.id,
                message_id = verdict.message_id.as_deref().unwrap_or_default(),
                day_acked = quota.acked,
                day_quota = quota.quota,
                "xiaomi public-message quota used up for today; Xiaomi discards the excess (receipt type 128)"
            );
        }
        let outcomes = error::outcomes(verdict, tokens, proven, OffsetDateTime::now_utc());
        let degraded = error::degrades(verdict, tokens.len(), proven);
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
            message_id = verdict.message_id.as_deref().unwrap_or_default(),
            trace_id = verdict.trace_id.as_deref().unwrap_or_default(),
            action = ?verdict.action,
            "xiaomi send"
        );
        per_target(targets, outcomes)
    }
}

#[async_trait]
impl Adapter for XiaomiAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::Xiaomi],
            capabilities: CAPABILITIES,
        }
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        if request.targets.is_empty() {
            return Vec::new();
        }
        let app = match AppCredential::for_app(&request.credential.secret, request.app) {
            Ok(app) => app,
            Err(e) => return self.health.unusable_credential(request.targets, e),
        };
        send_in_slices(request.targets, MAX_TOKENS, |slice| {
            self.send_chunk(&request, &app, slice)
        })
        .await
    }

    /// Offline: the package name is a dotted Android package (and the app's, when the app
    /// names one in `settings.android.package_name`), the AppSecret is present.
    fn verify_credential(
        &self,
        app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        AppCredential::for_app(secret, app).map_err(CheckError::Invalid)?;
        Ok(CredentialFacts::default())
    }

    /// Xiaomi has no token endpoint, so the cheapest authenticated call is a send request
    /// **without a target**: Xiaomi checks the AppSecret (`21301`) and the package
    /// (`22022`) first and then refuses the missing `registration_id` (`10016`) — that
    /// refusal proves the credential, and nothing can be delivered.
    async fn check_credential(
        &self,
        app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        let mi = AppCredential::for_app(&credential.secret, app).map_err(CheckError::Invalid)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("restricted_package_name", &mi.package_name)
            .append_pair("pass_through", "1")
            .append_pair("payload", "{}")
            .finish();
        let answer = self
            .client
            .post_form(self.client.regid_url(), &mi, body)
            .await
            .map_err(|e| CheckError::Unreachable(format!("Xiaomi: {}", e.reason)))?;
        let verdict = error::classify(&answer, &[], false, OffsetDateTime::now_utc());
        let has_code = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("code").cloned())
            .is_some_and(|c| !c.is_null());
        match verdict.action {
            Action::AuthFailed | Action::AuthFailedConfig => {
                Err(CheckError::Refused(verdict.reason))
            }
            Action::Retry => Err(CheckError::Unreachable(verdict.reason)),
            _ if has_code => Ok(()),
            _ => Err(CheckError::Unreachable(verdict.reason)),
        }
    }

    /// Nothing is cached: Xiaomi's AppSecret is sent as is on every request.
    fn forget_auth(&self, _credential_id: Uuid) {}

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
