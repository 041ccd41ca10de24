//! OAuth 2.0 client credentials for Honor Push (honor.md §2): the Client ID and Client Secret
//! of a credential are exchanged at Honor's token endpoint for an access token, cached per
//! credential id in push-core's [`TokenCache`] — refreshed 5 minutes before `expires_in` runs
//! out (one SDK refreshes a minute early; the lifetime is read from every answer), one
//! exchange at a time per credential; `forget` after a refused token drops it.
//!
//! The token endpoint is a standard OAuth server: errors are `{"error",
//! "error_description"}` (exact values unverified). Any 4xx → [`AuthError::Refused`] naming
//! what to fix; 429, 5xx and network failures → [`AuthError::Unreachable`]. Neither ever
//! carries the Client Secret or an access token.

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

/// Access tokens are refreshed this long before they expire.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Assumed lifetime when the token endpoint gives no `expires_in` (typically 3600).
const DEFAULT_EXPIRES_IN_SECONDS: u64 = 3600;

/// The App ID, Client ID and Client Secret of a `honor_oauth` credential. `Debug` shows the
/// ids only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The numeric App ID: the send URL's path segment.
    pub app_id: String,
    /// The OAuth client id.
    pub client_id: String,
    secret: Secret,
}

impl fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredential")
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl AppCredential {
    /// The credential's parts, checked offline: the App ID is 1–64 digits, the Client ID is
    /// present and printable, the Client Secret is present.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::HonorOauth {
            app_id,
            client_id,
            client_secret,
        } = secret
        else {
            return Err(format!(
                "the Honor adapter needs a honor_oauth credential, not {}",
                secret.kind().as_str()
            ));
        };
        let (app_id, client_id) = (app_id.trim(), client_id.trim());
        if app_id.is_empty() || app_id.len() > 64 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("app_id must be the numeric App ID (1 to 64 digits) from the Honor developer console → push service".to_string());
        }
        if client_id.is_empty()
            || client_id.len() > 256
            || !client_id.chars().all(|c| c.is_ascii_graphic())
        {
            return Err("client_id must be the OAuth Client ID from the Honor developer console → push service (printable ASCII, no spaces)".to_string());
        }
        if client_secret.expose().trim().is_empty() {
            return Err("client_secret is empty: copy the Client Secret from the Honor developer console → push service".to_string());
        }
        Ok(Self {
            app_id: app_id.to_string(),
            client_id: client_id.to_string(),
            secret: Secret::new(client_secret.expose().trim()),
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
    /// Keeps tokens in `source`, shared with every other instance (`None`: this instance's
    /// own).
    pub(crate) fn shared(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.tokens =
            TokenCache::new(REFRESH_MARGIN).shared_secrets(source, |id| format!("honor/{id}"));
        self
    }

    /// An empty cache exchanging at `auth_url`.
    pub fn new(auth_url: Url) -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN),
            auth_url,
        }
    }

    /// A valid access token for the credential: the cached one, or a fresh one.
    pub async fn access_token(
        &self,
        client: &HttpClient,
        credential: &CredentialRef,
        app: &AppCredential,
    ) -> Result<Secret, AuthError> {
        self.tokens
            .get(&credential.id, || self.exchange(client, app))
            .await
    }

    /// Drops the cached access token of a credential.
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&credential_id);
    }

    /// Exchanges the client credentials for an access token, bypassing the cache.
    pub async fn exchange(
        &self,
        client: &HttpClient,
        app: &AppCredential,
    ) -> Result<Fetched<Secret>, AuthError> {
        let answer = client
            .client_credentials(
                self.auth_url.clone(),
                "Honor token endpoint",
                &app.client_id,
                &app.secret,
            )
            .await?;
        token_answer(answer.status, &answer.body, app.secret.expose())
    }
}

#[derive(Deserialize)]
struct TokenOk {
    access_token: Option<String>,
    expires_in: Option<Value>,
}

#[derive(Deserialize, Default)]
struct TokenErr {
    error: Option<Value>,
    error_description: Option<String>,
}

/// Classifies the token endpoint's answer. `secret` is scrubbed from what it echoes.
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
            }) if !token.is_empty() => {
                let seconds = match expires_in {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                Ok(Fetched {
                    value: Secret::new(token),
                    expires_in: Duration::from_secs(seconds.unwrap_or(DEFAULT_EXPIRES_IN_SECONDS)),
                })
            }
            _ => Err(AuthError::Refused(format!(
                "Honor token endpoint answered HTTP {status} without an access_token; check vendors.honor.auth_url"
            ))),
        };
    }
    if status == 429 || status >= 500 {
        return Err(AuthError::Unreachable(format!(
            "Honor token endpoint answered HTTP {status}"
        )));
    }
    let err: TokenErr = serde_json::from_slice(body).unwrap_or_default();
    let error = match err.error {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => "-".to_string(),
    };
    let advice = match error.as_str() {
        "invalid_client" | "unauthorized_client" => {
            "the Client ID or Client Secret is wrong: upload the current ones from the Honor developer console → push service"
        }
        "invalid_grant" | "unsupported_grant_type" | "invalid_request" | "invalid_scope" => {
            "the token request was refused: check vendors.honor.auth_url"
        }
        _ => "check the credential's Client ID and Client Secret in the Honor developer console",
    };
    let mut reason = format!(
        "Honor token endpoint refused the credential (HTTP {status}, error {error}): {advice}"
    );
    if let Some(d) = err.error_description.filter(|d| !d.is_empty()) {
        let d = if secret.is_empty() {
            d
        } else {
            d.replace(secret, "[secret]")
        };
        let d: String = d.chars().take(200).collect();
        reason.push_str(&format!(" (Honor: {d})"));
    }
    Err(AuthError::Refused(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(app_id: &str, client_id: &str, client_secret: &str) -> CredentialSecret {
        CredentialSecret::HonorOauth {
            app_id: app_id.into(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
        }
    }

    #[test]
    fn credentials_are_checked_offline() {
        let ok = AppCredential::from_secret(&secret("104444444", "client-1", "s3cr3t")).unwrap();
        assert!(!format!("{ok:?}").contains("s3cr3t"));
        for bad in [
            secret("", "c", "s"),
            secret("10x", "c", "s"),
            secret("1", "", "s"),
            secret("1", "c d", "s"),
            secret("1", "c", " "),
        ] {
            assert!(AppCredential::from_secret(&bad).is_err());
        }
        let other = CredentialSecret::HuaweiOauth {
            app_id: "1".into(),
            app_secret: Secret::new("s"),
        };
        assert!(
            AppCredential::from_secret(&other)
                .unwrap_err()
                .contains("honor_oauth")
        );
    }

    #[test]
    fn token_answers_are_classified() {
        let ok = token_answer(
            200,
            br#"{"access_token":"CF3X+/==","expires_in":3600,"token_type":"Bearer"}"#,
            "s",
        )
        .unwrap();
        assert_eq!(ok.value.expose(), "CF3X+/==");
        assert_eq!(ok.expires_in, Duration::from_secs(3600));
        let short = token_answer(200, br#"{"access_token":"t","expires_in":"60"}"#, "s").unwrap();
        assert_eq!(short.expires_in, Duration::from_secs(60));
        let refused = |status, body: &str| match token_answer(status, body.as_bytes(), "s3cr3t") {
            Err(AuthError::Refused(r)) => r,
            other => panic!("{other:?}"),
        };
        let r = refused(
            401,
            r#"{"error":"invalid_client","error_description":"bad secret s3cr3t"}"#,
        );
        assert!(r.contains("Client Secret") && !r.contains("s3cr3t"), "{r}");
        assert!(refused(400, r#"{"error":"unsupported_grant_type"}"#).contains("auth_url"));
        assert!(refused(200, "{}").contains("auth_url"));
        assert!(refused(403, "").contains("error -"));
        for status in [429, 500, 503] {
            assert!(matches!(
                token_answer(status, b"", "s"),
                Err(AuthError::Unreachable(_))
            ));
        }
    }
}
