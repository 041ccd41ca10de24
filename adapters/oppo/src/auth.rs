//! OPPO's signed auth-token exchange (oppo.md §3): `POST {host}/server/v1/auth` (or the host's
//! configured `auth_url` / `intl_auth_url`) with the form
//! fields `app_key`, `timestamp` (epoch milliseconds) and `sign` = lowercase hex
//! SHA-256(`app_key` + `timestamp` + `master_secret`). The answer's `auth_token` is valid for
//! 24 hours from its `create_time`; it is cached per (credential, host) in push-core's
//! [`TokenCache`] — never mixing the China and overseas hosts — and refreshed 5 minutes
//! before it runs out, one exchange at a time; `forget` after a refused token drops both.
//!
//! The MasterSecret never goes over the wire, and neither it, the signature nor an auth
//! token ever appears in an error or `Debug` output.

use crate::client::{Hosts, Region, TransportError};
use crate::error::{self, Action};
use push_core::token_cache::{Fetched, SharedTokens, TokenCache};
use push_core::{CredentialSecret, Secret};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Auth tokens are refreshed this long before their 24 hours run out.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// An auth token lives 24 hours from its `create_time`.
pub(crate) const TOKEN_LIFETIME_MS: i64 = 24 * 3600 * 1000;
/// Longest AppKey accepted offline (OPPO's are 32 characters).
const MAX_APP_KEY_CHARS: usize = 128;

/// The AppKey and MasterSecret of an `oppo_master_secret` credential. `Debug` shows the
/// AppKey only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The AppKey: sent as `app_key`.
    pub app_key: String,
    master_secret: Secret,
}

impl fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredential")
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

impl AppCredential {
    /// The AppKey and MasterSecret of a credential, checked offline: both present, the
    /// AppKey letters and digits (1–128), no whitespace in either.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::OppoMasterSecret {
            app_key,
            master_secret,
        } = secret
        else {
            return Err(format!(
                "the OPPO adapter needs an oppo_master_secret credential, not {}",
                secret.kind().as_str()
            ));
        };
        let app_key = app_key.trim();
        if app_key.is_empty()
            || app_key.chars().count() > MAX_APP_KEY_CHARS
            || !app_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("app_key must be the AppKey (letters and digits) from the OPPO push console → app → AppKey (not the AppID or AppSecret)".to_string());
        }
        let master = master_secret.expose().trim();
        if master.is_empty() {
            return Err("master_secret is empty: copy the MasterSecret from the OPPO push console (only the main account sees it)".to_string());
        }
        if master.chars().any(char::is_whitespace) {
            return Err("master_secret contains whitespace: copy the MasterSecret exactly as the OPPO push console shows it".to_string());
        }
        Ok(Self {
            app_key: app_key.to_string(),
            master_secret: Secret::new(master),
        })
    }

    /// The `sign` for a timestamp.
    pub fn sign(&self, timestamp_ms: i64) -> String {
        sign(&self.app_key, timestamp_ms, self.master_secret.expose())
    }
}

/// `sign`: lowercase hex SHA-256 of `app_key + timestamp + master_secret`, no separators.
pub(crate) fn sign(app_key: &str, timestamp_ms: i64, master_secret: &str) -> String {
    let text = format!("{app_key}{timestamp_ms}{master_secret}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    hex::encode(digest.as_ref())
}

/// Why no token could be had (shared by the HTTP adapters).
pub(crate) use pushgate_adapter_http::AuthError;

/// Auth tokens per (credential id, host).
pub(crate) struct Auth {
    tokens: TokenCache<(Uuid, Region), Secret>,
}

impl Auth {
    /// Keeps tokens in `source`, shared with every other instance (`None`: this instance's
    /// own).
    pub(crate) fn shared(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.tokens = TokenCache::new(REFRESH_MARGIN)
            .shared_secrets(source, |(id, region)| format!("oppo/{id}/{region:?}"));
        self
    }

    /// An empty cache.
    pub fn new() -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN),
        }
    }

    /// A valid auth token of the credential for a region's host: the cached one, or a fresh
    /// one (one exchange at a time per credential and host).
    pub async fn auth_token(
        &self,
        hosts: &Hosts,
        credential_id: Uuid,
        region: Region,
        app: &AppCredential,
    ) -> Result<Secret, AuthError> {
        self.cached(credential_id, region, || self.exchange(hosts, region, app))
            .await
    }

    /// The cache lookup behind [`Auth::auth_token`], with the fetch given (tests count it).
    pub(crate) async fn cached<F, Fut>(
        &self,
        credential_id: Uuid,
        region: Region,
        fetch: F,
    ) -> Result<Secret, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Fetched<Secret>, AuthError>>,
    {
        self.tokens.get(&(credential_id, region), fetch).await
    }

    /// Drops the cached auth tokens of a credential (both hosts).
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&(credential_id, Region::China));
        self.tokens.invalidate(&(credential_id, Region::Overseas));
    }

    /// Signs and exchanges, bypassing the cache.
    pub async fn exchange(
        &self,
        hosts: &Hosts,
        region: Region,
        app: &AppCredential,
    ) -> Result<Fetched<Secret>, AuthError> {
        let now_ms = now_ms();
        let timestamp = now_ms.to_string();
        let sign = app.sign(now_ms);
        let form = [
            ("app_key", app.app_key.as_str()),
            ("timestamp", timestamp.as_str()),
            ("sign", sign.as_str()),
        ];
        let answer = hosts
            .host(region)
            .post_form(hosts.auth_url(region), &form)
            .await
            .map_err(|TransportError { reason }| {
                AuthError::Unreachable(format!("OPPO auth ({} host): {reason}", region.as_str()))
            })?;
        let scrub = [app.master_secret.expose(), sign.as_str()];
        token_answer(answer.status, &answer.body, now_ms, &scrub)
    }
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

#[derive(Deserialize, Default)]
struct AuthBody {
    code: Option<Value>,
    message: Option<Value>,
    data: Option<AuthData>,
}

#[derive(Deserialize, Default)]
struct AuthData {
    auth_token: Option<String>,
    create_time: Option<Value>,
}

/// Classifies the auth answer (oppo.md §3, §6). Code 0 with an `auth_token` is a token,
/// living until `create_time` + 24 h (by this host's clock, at most 24 h from now); the
/// retry codes, 429 and 5xx are `Unreachable`; everything else is a refusal naming what to
/// fix. `scrub` (secret, signature) is removed from whatever OPPO echoes.
pub(crate) fn token_answer(
    status: u16,
    body: &[u8],
    now_ms: i64,
    scrub: &[&str],
) -> Result<Fetched<Secret>, AuthError> {
    let parsed: AuthBody = serde_json::from_slice(body).unwrap_or_default();
    let code = error::number(parsed.code.as_ref());
    let rule = error::find_rule(status, code);
    if rule.action == Action::Accepted && code == Some(0) {
        let data = parsed.data.unwrap_or_default();
        return match data.auth_token.filter(|t| !t.is_empty()) {
            Some(token) => {
                let created = error::number(data.create_time.as_ref()).unwrap_or(now_ms);
                let left = (created.saturating_add(TOKEN_LIFETIME_MS) - now_ms)
                    .clamp(0, TOKEN_LIFETIME_MS);
                Ok(Fetched {
                    value: Secret::new(token),
                    expires_in: Duration::from_millis(u64::try_from(left).unwrap_or(0)),
                })
            }
            None => Err(AuthError::Refused(format!(
                "OPPO auth answered code 0 (HTTP {status}) without an auth_token; check vendors.oppo.auth_url / intl_auth_url (default: under base_url / intl_base_url)"
            ))),
        };
    }
    let shown = code.map_or_else(
        || format!("HTTP {status}"),
        |c| format!("code {c}, HTTP {status}"),
    );
    let mut reason = format!("OPPO auth refused ({shown}): {}", rule.advice);
    if let Some(Value::String(m)) = parsed.message.as_ref().filter(|_| code.is_some()) {
        let m = scrub
            .iter()
            .filter(|s| !s.is_empty())
            .fold(m.clone(), |m, s| m.replace(s, "[secret]"));
        let m: String = m.chars().take(200).collect();
        reason.push_str(&format!(" (OPPO: {m})"));
    }
    match rule.action {
        Action::Retry => Err(AuthError::Unreachable(reason.replacen(
            "refused",
            "unavailable",
            1,
        ))),
        _ => Err(AuthError::Refused(reason)),
    }
}

#[cfg(test)]
pub(crate) mod tests;
