//! OAuth 2.0 client credentials for Push Kit (huawei.md §2): the App ID and App Secret of a
//! credential are exchanged at the token endpoint for an access token, cached per
//! credential id in push-core's [`TokenCache`] — refreshed 5 minutes before `expires_in`
//! runs out (Huawei's own demos refresh 2–5 minutes early), one exchange at a time per
//! credential; `forget` after a refused token drops it.
//!
//! The token endpoint answers errors as `{"error": 1101, "sub_error": 12304,
//! "error_description": …}`: refusals become [`AuthError::Refused`] naming what to fix,
//! flow control (HTTP 503), 5xx and network failures [`AuthError::Unreachable`]. Neither
//! ever carries the App Secret or an access token.

use crate::client::HttpClient;
use push_core::adapter::CredentialRef;
use push_core::token_cache::{Fetched, SharedTokens, TokenCache};
use push_core::{CredentialSecret, Secret};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// Access tokens are refreshed this long before they expire (at 55 of 60 minutes).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Assumed lifetime when the token endpoint gives no `expires_in` (Huawei's is 3600).
const DEFAULT_EXPIRES_IN_SECONDS: u64 = 3600;

/// The App ID and App Secret of a `huawei_oauth` credential. `Debug` shows the App ID only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The numeric App ID: `client_id` and the send URL's path segment.
    pub app_id: String,
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
    /// The App ID and App Secret of a credential, checked offline: the App ID is 1–64
    /// digits (what Huawei's OAuth service accepts), the secret is present.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::HuaweiOauth { app_id, app_secret } = secret else {
            return Err(format!(
                "the Huawei adapter needs a huawei_oauth credential, not {}",
                secret.kind().as_str()
            ));
        };
        let app_id = app_id.trim();
        if app_id.is_empty() || app_id.len() > 64 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("app_id must be the numeric App ID (1 to 64 digits) from AppGallery Connect → Project settings → App information".to_string());
        }
        if app_secret.expose().trim().is_empty() {
            return Err("app_secret is empty: copy the App Secret from AppGallery Connect → Project settings → App information".to_string());
        }
        Ok(Self {
            app_id: app_id.to_string(),
            secret: Secret::new(app_secret.expose().trim()),
        })
    }
}

/// Why no token could be had (shared by the HTTP adapters).
pub(crate) use pushgate_adapter_http::AuthError;

/// Access tokens per credential id.
pub(crate) struct Auth {
    tokens: TokenCache<Uuid, Secret>,
    auth_url: Url,
}

impl Auth {
    /// An empty cache exchanging at `auth_url`.
    pub fn new(auth_url: Url, shared: Option<Arc<dyn SharedTokens>>) -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN)
                .shared_secrets(shared, |id| format!("huawei/{id}")),
            auth_url,
        }
    }

    /// A valid access token for the credential: the cached one, or a fresh one (one
    /// exchange at a time per credential).
    pub async fn access_token(
        &self,
        client: &HttpClient,
        credential: &CredentialRef,
        app: &AppCredential,
    ) -> Result<Secret, AuthError> {
        self.cached(credential.id, || self.exchange(client, app))
            .await
    }

    /// The cache lookup behind [`Auth::access_token`], with the fetch given (tests count it).
    pub(crate) async fn cached<F, Fut>(
        &self,
        credential_id: Uuid,
        fetch: F,
    ) -> Result<Secret, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Fetched<Secret>, AuthError>>,
    {
        self.tokens.get(&credential_id, fetch).await
    }

    /// Drops the cached access token of a credential.
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&credential_id);
    }

    /// Exchanges the App ID and secret for an access token, bypassing the cache. The form
    /// is URL-encoded by reqwest (secrets may hold `+`, `/`, `=`).
    pub async fn exchange(
        &self,
        client: &HttpClient,
        app: &AppCredential,
    ) -> Result<Fetched<Secret>, AuthError> {
        let answer = client
            .client_credentials(
                self.auth_url.clone(),
                "Huawei token endpoint",
                &app.app_id,
                &app.secret,
            )
            .await?;
        token_answer(answer.status, &answer.body, app.secret.expose())
    }
}

#[derive(Deserialize)]
struct TokenOk {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct TokenErr {
    error: Option<Value>,
    sub_error: Option<Value>,
    error_description: Option<String>,
}

/// A number that may arrive as a JSON number or string.
fn code(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Classifies the token endpoint's answer (huawei.md §2). 2xx with an `access_token` is a
/// token (JSON-decoded, so `\/` becomes `/`); 429 and 5xx are an outage or flow control
/// (retry; a cached token stays in use until it expires); anything else is a refusal named
/// by its `error` / `sub_error`. `secret` is scrubbed from whatever the endpoint echoes.
pub(crate) fn token_answer(
    status: u16,
    body: &[u8],
    secret: &str,
) -> Result<Fetched<Secret>, AuthError> {
    if (200..300).contains(&status) {
        let ok: Option<TokenOk> = serde_json::from_slice(body).ok();
        return match ok {
            Some(TokenOk {
                access_token: Some(token),
                expires_in,
            }) if !token.is_empty() => Ok(Fetched {
                value: Secret::new(token),
                expires_in: Duration::from_secs(expires_in.unwrap_or(DEFAULT_EXPIRES_IN_SECONDS)),
            }),
            _ => Err(AuthError::Refused(format!(
                "Huawei token endpoint answered HTTP {status} without an access_token; check vendors.huawei.auth_url"
            ))),
        };
    }
    if status == 503 {
        return Err(AuthError::Unreachable(
            "Huawei token endpoint flow control (HTTP 503): back off; about 1000 tokens per 5 minutes per app".to_string(),
        ));
    }
    if status == 429 || status >= 500 {
        return Err(AuthError::Unreachable(format!(
            "Huawei token endpoint answered HTTP {status}"
        )));
    }
    let err: TokenErr = serde_json::from_slice(body).unwrap_or_default();
    let (error, sub_error) = (code(err.error.as_ref()), code(err.sub_error.as_ref()));
    let advice = match (error, sub_error) {
        (Some(1101), Some(12304)) => {
            "the App Secret is wrong: upload the current one from AppGallery Connect → Project settings → App information"
        }
        (Some(1101), Some(20003)) => {
            "Huawei does not know this App ID: check the credential's app_id in AppGallery Connect"
        }
        (Some(1101), Some(20002)) => {
            "the App ID is malformed: it must be the numeric App ID from AppGallery Connect"
        }
        _ => "check the credential's App ID and App Secret in AppGallery Connect",
    };
    let shown = |c: Option<i64>| c.map_or_else(|| "-".to_string(), |c| c.to_string());
    let mut reason = format!(
        "Huawei token endpoint refused the credential (HTTP {status}, error {}/{}): {advice}",
        shown(error),
        shown(sub_error)
    );
    if let Some(d) = err.error_description.filter(|d| !d.is_empty()) {
        let d = if secret.is_empty() {
            d
        } else {
            d.replace(secret, "[secret]")
        };
        let d: String = d.chars().take(200).collect();
        reason.push_str(&format!(" (Huawei: {d})"));
    }
    Err(AuthError::Refused(reason))
}

#[cfg(test)]
pub(crate) mod tests;
