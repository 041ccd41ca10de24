//! vivo's signed auth (vivo.md §2): `POST /message/auth` (`vendors.vivo.auth_url`, by default
//! under `base_url`) with `appId`, `appKey`, `timestamp`
//! (epoch ms) and `sign` = lowercase hex MD5 of `appId + appKey + timestamp + appSecret`
//! (each part trimmed), answered with an `authToken` valid for 24 hours.
//!
//! vivo asks senders to cache the token and refresh it every one to two hours rather than
//! per message (the auth call is rate-limited: `10250`). The token is cached per credential
//! id in push-core's [`TokenCache`] with a 24 h lifetime and a 22 h margin, so it is
//! refreshed after 2 hours, one exchange at a time per credential. When a refresh is
//! throttled (`10250`) or vivo is unreachable, the previous token keeps being used while it
//! is still valid (re-checked a minute later), as vivo advises. `forget` after a refused
//! token drops both.
//!
//! Errors never carry the AppSecret, the sign or an auth token.

use crate::client::{TransportError, VivoClient};
use md5::{Digest, Md5};
use push_core::adapter::CredentialRef;
use push_core::token_cache::{Fetched, SharedTokens, TokenCache};
use push_core::{CredentialSecret, Secret};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// vivo's auth token lifetime.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Refresh this long before the lifetime ends: after 2 hours, as vivo recommends.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(22 * 3600);
/// How long a still-valid old token is reused after a throttled or failed refresh.
const FALLBACK_FOR: Duration = Duration::from_secs(60);

/// The AppID, AppKey and AppSecret of a `vivo_app_secret` credential. `Debug` shows the
/// AppID only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The numeric AppID.
    pub app_id: String,
    app_key: String,
    secret: Secret,
}

impl fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredential")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AppCredential {
    /// The credential's parts, checked offline: the AppID is 1–20 digits, the AppKey and
    /// AppSecret are present and hold no whitespace.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::VivoAppSecret {
            app_id,
            app_key,
            app_secret,
        } = secret
        else {
            return Err(format!(
                "the vivo adapter needs a vivo_app_secret credential, not {}",
                secret.kind().as_str()
            ));
        };
        let (app_id, app_key, app_secret) =
            (app_id.trim(), app_key.trim(), app_secret.expose().trim());
        if app_id.is_empty() || app_id.len() > 20 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("app_id must be the numeric AppID (1 to 20 digits) from the vivo developer console → push service → app information".to_string());
        }
        let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if app_key.is_empty() || app_key.len() > 128 || !printable(app_key) {
            return Err("app_key must be the AppKey from the vivo developer console (printable ASCII, no spaces)".to_string());
        }
        if app_secret.is_empty() || !printable(app_secret) {
            return Err("app_secret is empty or holds spaces: copy the AppSecret from the vivo developer console".to_string());
        }
        Ok(Self {
            app_id: app_id.to_string(),
            app_key: app_key.to_string(),
            secret: Secret::new(app_secret),
        })
    }

    /// The auth request body at `timestamp_ms`.
    pub fn auth_body(&self, timestamp_ms: i64) -> Vec<u8> {
        let body = json!({
            "appId": self.app_id,
            "appKey": self.app_key,
            "timestamp": timestamp_ms,
            "sign": sign(&self.app_id, &self.app_key, timestamp_ms, self.secret.expose()),
        });
        body.to_string().into_bytes()
    }
}

/// `lower(hex(md5(appId + appKey + timestamp + appSecret)))`, parts trimmed.
pub(crate) fn sign(app_id: &str, app_key: &str, timestamp_ms: i64, app_secret: &str) -> String {
    let text = format!(
        "{}{}{timestamp_ms}{}",
        app_id.trim(),
        app_key.trim(),
        app_secret.trim()
    );
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Why no token could be had (shared by the HTTP adapters).
pub(crate) use pushgate_adapter_http::AuthError;

/// Auth tokens per credential id.
pub(crate) struct Auth {
    tokens: TokenCache<Uuid, Secret>,
    /// The last token obtained per credential and when it expires, for the fallback.
    last: Mutex<HashMap<Uuid, (Secret, Instant)>>,
}

impl Auth {
    /// Keeps tokens in `source`, shared with every other instance (`None`: this instance's
    /// own).
    pub(crate) fn shared(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.tokens =
            TokenCache::new(REFRESH_MARGIN).shared_secrets(source, |id| format!("vivo/{id}"));
        self
    }

    /// An empty cache.
    pub fn new() -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// A valid auth token for the credential: the cached one, a fresh one, or — when a
    /// refresh is throttled or fails in transit — the previous one while it is still valid.
    pub async fn auth_token(
        &self,
        client: &VivoClient,
        credential: &CredentialRef,
        app: &AppCredential,
    ) -> Result<Secret, AuthError> {
        let id = credential.id;
        self.tokens
            .get(&id, || async move {
                match self.exchange(client, app).await {
                    Ok(fetched) => {
                        let expires = Instant::now() + fetched.expires_in;
                        self.last_tokens()
                            .insert(id, (fetched.value.clone(), expires));
                        Ok(fetched)
                    }
                    Err(AuthError::Unreachable(reason)) => {
                        self.fallback(id).ok_or(AuthError::Unreachable(reason))
                    }
                    Err(refused) => Err(refused),
                }
            })
            .await
    }

    fn last_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Secret, Instant)>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The previous token, for another minute, if it has more than a minute to live.
    fn fallback(&self, id: Uuid) -> Option<Fetched<Secret>> {
        let last = self.last_tokens();
        let (token, expires) = last.get(&id)?;
        let left = expires.checked_duration_since(Instant::now())?;
        (left > FALLBACK_FOR * 2).then(|| Fetched {
            value: token.clone(),
            expires_in: FALLBACK_FOR,
        })
    }

    /// Drops the cached auth token of a credential (and the fallback).
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&credential_id);
        self.last_tokens().remove(&credential_id);
    }

    /// Signs and exchanges the credential for an auth token, bypassing the cache.
    pub async fn exchange(
        &self,
        client: &VivoClient,
        app: &AppCredential,
    ) -> Result<Fetched<Secret>, AuthError> {
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(i64::MAX);
        let answer = client.post_auth(app.auth_body(now_ms)).await.map_err(
            |TransportError { reason }| AuthError::Unreachable(format!("vivo auth: {reason}")),
        )?;
        auth_answer(answer.status, &answer.body, app.secret.expose())
    }
}

#[derive(Deserialize, Default)]
struct AuthBody {
    result: Option<Value>,
    desc: Option<Value>,
    #[serde(rename = "authToken")]
    auth_token: Option<String>,
}

/// A result code that may arrive as a number or a string.
pub(crate) fn result_code(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Classifies vivo's answer to `/message/auth` (vivo.md §2). `secret` is scrubbed from the
/// `desc` vivo echoes.
pub(crate) fn auth_answer(
    status: u16,
    body: &[u8],
    secret: &str,
) -> Result<Fetched<Secret>, AuthError> {
    if status == 429 || status >= 500 {
        return Err(AuthError::Unreachable(format!(
            "vivo auth answered HTTP {status}"
        )));
    }
    let parsed: Option<AuthBody> = serde_json::from_slice(body).ok();
    let Some(parsed) = parsed else {
        return Err(AuthError::Refused(format!(
            "vivo auth answered HTTP {status} without a vivo result; check vendors.vivo.auth_url (default: under base_url)"
        )));
    };
    let code = result_code(parsed.result.as_ref());
    if code == Some(0)
        && let Some(token) = parsed.auth_token.filter(|t| !t.is_empty())
    {
        return Ok(Fetched {
            value: Secret::new(token),
            expires_in: TOKEN_LIFETIME,
        });
    }
    let advice = match code {
        Some(0) => {
            "success without an authToken; check vendors.vivo.auth_url (default: under base_url)"
        }
        Some(10200) => {
            "a required field is missing, the AppID is unknown or the AppKey is illegal: check the credential's app_id and app_key in the vivo developer console"
        }
        Some(10206) => {
            "the sign is wrong: the AppSecret does not belong to this AppID/AppKey; upload the current one"
        }
        Some(10207) => {
            "the timestamp was refused (more than about 10 minutes off): check this host's clock"
        }
        Some(10250) => {
            "the auth call limit is exceeded (about 10 per second per app): back off; the cached token stays in use"
        }
        _ => "vivo refused the auth request: check the credential's AppID, AppKey and AppSecret",
    };
    let shown = code.map_or_else(|| "-".to_string(), |c| c.to_string());
    let mut reason = format!("vivo auth result {shown} (HTTP {status}): {advice}");
    if let Some(desc) = parsed.desc.map(|d| match d {
        Value::String(s) => s,
        other => other.to_string(),
    }) && !desc.is_empty()
    {
        let desc = if secret.is_empty() {
            desc
        } else {
            desc.replace(secret, "[secret]")
        };
        let desc: String = desc.chars().take(200).collect();
        reason.push_str(&format!(" (vivo: {desc})"));
    }
    if code == Some(10250) {
        return Err(AuthError::Unreachable(reason));
    }
    Err(AuthError::Refused(reason))
}

#[cfg(test)]
pub(crate) mod tests;
