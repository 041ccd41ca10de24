//! The [`Adapter`] implementation: build the body, get the access token through the cache,
//! POST one message per openid (WeChat has no batch API) to the template-send
//! (official account) or subscribe-send (mini program) endpoint, and turn each answer into
//! one outcome; read the official account's event callbacks.

use crate::auth::{AppCredential, Auth, AuthError};
use crate::callback::{self, Trust};
use crate::client::{HttpClient, SUBSCRIBE_SEND, TEMPLATE_SEND};
use crate::crypt::ServerKeys;
use crate::error;
use crate::payload::{self, Inputs};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, CallbackAnswer, CallbackContext, CallbackError,
    CallbackRequest, CallbackSecrets, Capabilities, CheckError, CredentialFacts, CredentialRef,
    Outcome, SendRequest, SendTarget, TargetResult, next_china_midnight,
};
use push_core::app::WechatSettings;
use push_core::token_cache::SharedTokens;
use push_core::{App, Channel, CredentialSecret};
use pushgate_adapter_http::HealthTracker;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

/// The vendor name in logs and metrics.
pub(crate) const VENDOR: &str = "wechat";

/// What WeChat can do: one openid per request, no collapse / ttl / priority.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    max_batch: 1,
    max_payload_bytes: payload::MAX_PAYLOAD_BYTES,
    collapse: false,
    ttl: false,
    priority: false,
    per_token_results: true,
};

/// The WeChat adapter (official-account template and mini-program subscribe messages).
pub(crate) struct WechatAdapter {
    client: HttpClient,
    auth: Auth,
    auth_url: Url,
    health: HealthTracker,
}

impl fmt::Debug for WechatAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatAdapter")
            .field("client", &self.client)
            .field("auth_url", &self.auth_url.as_str())
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

/// The server keys of an app's official account: its callback secrets' token and AES key
/// (a malformed AES key leaves plain mode working).
fn server_keys(secrets: Option<&CallbackSecrets>) -> Option<ServerKeys> {
    let secrets = secrets?;
    let token = secrets.token.expose();
    ServerKeys::new(token, Some(secrets.aes_key.expose()))
        .or_else(|_| ServerKeys::new(token, None))
        .ok()
}

impl WechatAdapter {
    /// An adapter over a built client.
    pub fn new(
        client: HttpClient,
        auth_url: Url,
        shared_tokens: Option<Arc<dyn SharedTokens>>,
    ) -> Self {
        Self {
            client,
            auth: Auth::new(auth_url.clone(), shared_tokens),
            auth_url,
            health: HealthTracker::new(VENDOR),
        }
    }

    fn auth_outcome(&self, error: AuthError) -> Outcome {
        let outcome = match error {
            AuthError::Refused(reason) => Outcome::AuthFailed { reason },
            AuthError::Unreachable(reason, after) => Outcome::Retry { after, reason },
            AuthError::Quota(reason) => Outcome::QuotaExhausted {
                reason,
                resets_at: next_china_midnight(OffsetDateTime::now_utc()),
            },
        };
        self.health.note(Some(outcome.reason()));
        outcome
    }

    /// One message to one openid.
    async fn send_one(
        &self,
        request: &SendRequest<'_>,
        settings: &WechatSettings,
        target: &SendTarget,
    ) -> Outcome {
        let inputs = Inputs {
            message: request.message,
            settings,
            channel: target.channel,
            accepted_at: request.accepted_at,
        };
        let prepared = match payload::build(&inputs) {
            Ok(prepared) => prepared,
            Err(reason) => return Outcome::Rejected { reason },
        };
        let openid = target.token.trim();
        if openid.is_empty() {
            return Outcome::InvalidToken {
                reason: "the openid is empty".to_string(),
                invalid_since: None,
            };
        }
        let app = match AppCredential::from_secret(&request.credential.secret) {
            Ok(app) => app,
            Err(e) => {
                return self.auth_outcome(AuthError::Refused(format!("unusable credential: {e}")));
            }
        };
        let access_token = match self
            .auth
            .access_token(&self.client, request.credential, &app)
            .await
        {
            Ok(token) => token,
            Err(e) => return self.auth_outcome(e),
        };
        let path = match target.channel {
            Channel::WechatMp => &SUBSCRIBE_SEND,
            _ => &TEMPLATE_SEND,
        };
        let body = prepared.body_for(openid, &target.delivery_id.to_string());
        let verdict = match self
            .client
            .post_json(self.client.send_url(path), Some(&access_token), body)
            .await
        {
            Ok(answer) => error::classify(&answer, openid, OffsetDateTime::now_utc()),
            Err(e) => error::network(&e.reason),
        };
        self.health
            .note(verdict.degrades.then_some(verdict.outcome.reason()));
        tracing::debug!(
            vendor = VENDOR,
            channel = %target.channel,
            device_id = %target.device_id,
            template_id = prepared.template_id(),
            outcome = verdict.outcome.kind(),
            "wechat send"
        );
        verdict.outcome
    }
}

#[async_trait]
impl Adapter for WechatAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: VENDOR,
            channels: &[Channel::WechatOa, Channel::WechatMp],
            capabilities: CAPABILITIES,
        }
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        let settings = request.app.settings.wechat.clone().unwrap_or_default();
        let sends = request.targets.iter().map(|target| {
            let settings = &settings;
            let request = &request;
            async move {
                TargetResult {
                    delivery_id: target.delivery_id,
                    outcome: self.send_one(request, settings, target).await,
                }
            }
        });
        futures::future::join_all(sends).await
    }

    /// Offline: the AppID is `wx…` and, when the app names its WeChat AppIDs, one of them;
    /// the secret is present.
    fn verify_credential(
        &self,
        app: &App,
        secret: &CredentialSecret,
        _now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        let credential = AppCredential::from_secret(secret).map_err(CheckError::Invalid)?;
        if let Some(settings) = &app.settings.wechat {
            let known: Vec<&String> = [
                settings.official_account_app_id.as_ref(),
                settings.mini_program_app_id.as_ref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !known.is_empty() && !known.iter().any(|k| **k == credential.app_id) {
                return Err(CheckError::Invalid(format!(
                    "app_id {} is neither settings.wechat.official_account_app_id nor mini_program_app_id of the app",
                    credential.app_id
                )));
            }
        }
        Ok(CredentialFacts::default())
    }

    /// Fetches an access token in normal mode (bypassing the cache; it does not rotate the
    /// token). Proves the AppID / AppSecret pair and the IP whitelist. Nothing is sent.
    async fn check_credential(
        &self,
        _app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        let app = AppCredential::from_secret(&credential.secret).map_err(CheckError::Invalid)?;
        self.auth
            .fetch(&self.client, &app)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                AuthError::Refused(r) => CheckError::Refused(r),
                AuthError::Unreachable(r, _) | AuthError::Quota(r) => CheckError::Unreachable(r),
            })
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
        let keys = server_keys(context.secrets);
        let app_id = match context.credential {
            Some(CredentialSecret::WechatAppSecret { app_id, .. }) => Some(app_id.as_str()),
            _ => context
                .app
                .settings
                .wechat
                .as_ref()
                .and_then(|w| w.official_account_app_id.as_deref()),
        };
        let trust = Trust {
            keys: keys.as_ref(),
            app_id,
            now: context.now,
        };
        callback::parse(request, &trust)
    }
}

#[cfg(test)]
mod tests;
