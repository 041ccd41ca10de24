//! Access tokens (wechat.md §2): the AppID and AppSecret of a credential are exchanged at
//! `POST /cgi-bin/stable_token` in **normal mode** (`force_refresh: false`), which returns
//! the same token while it is valid, so every pushgate instance may call it without a
//! central lock and without rotating a token another instance uses. The token is cached
//! per credential in push-core's [`TokenCache`] until 5 minutes before `expires_in` (a
//! token living 5 minutes or less is refreshed halfway), one exchange at a time per
//! credential; `forget` after 40001 / 40014 / 42001 drops it so the next send fetches
//! again (still normal mode). `force_refresh: true` is never used: it has a budget of 20 a
//! day and is an operator's tool against leaked tokens.
//!
//! The classic `GET /cgi-bin/token` is never called: every call of it invalidates the
//! previous token, which would break any other service of the organisation holding one.
//!
//! Token-endpoint errors: -1, 45011, HTTP 429 / 5xx and network failures are
//! [`AuthError::Unreachable`]; 45009 (daily quota) is [`AuthError::Quota`]; everything else
//! (40001 / 40125 wrong secret, 40013 wrong AppID, 40164 IP not whitelisted, 40002, 48001…)
//! is [`AuthError::Refused`] naming what to fix. None carries the secret or a token.

use crate::client::{HttpClient, TransportError};
use push_core::adapter::CredentialRef;
use push_core::token_cache::{Fetched, SharedTokens, TokenCache};
use push_core::{CredentialSecret, Secret};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use uuid::Uuid;

/// Access tokens are refreshed this long before they expire (wechat.md §2.3).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Assumed lifetime when the endpoint gives no `expires_in` (WeChat's is 7200).
const DEFAULT_EXPIRES_IN_SECONDS: u64 = 7200;

/// The AppID and AppSecret of a `wechat_app_secret` credential. `Debug` shows the AppID only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The AppID (`wx…`) of the official account or mini program.
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
    /// The AppID and AppSecret of a credential, checked offline: the AppID is `wx` and up
    /// to 30 letters and digits, the secret is present and has no spaces.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::WechatAppSecret { app_id, app_secret } = secret else {
            return Err(format!(
                "the WeChat adapter needs a wechat_app_secret credential, not {}",
                secret.kind().as_str()
            ));
        };
        let app_id = app_id.trim();
        if !app_id.starts_with("wx")
            || app_id.len() > 32
            || app_id.len() < 3
            || !app_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err("app_id must be the AppID (wx followed by letters and digits) from the WeChat platform → Settings and development → Basic configuration".to_string());
        }
        let value = app_secret.expose().trim();
        if value.is_empty() || value.len() > 128 || value.chars().any(char::is_whitespace) {
            return Err("app_secret must be the AppSecret from the WeChat platform → Settings and development → Basic configuration (no spaces)".to_string());
        }
        Ok(Self {
            app_id: app_id.to_string(),
            secret: Secret::new(value),
        })
    }
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// The credential is unusable or WeChat refused it: `AuthFailed`.
    Refused(String),
    /// The endpoint could not be asked, was busy or throttled: `Retry` (after the wait the
    /// endpoint asked for, if any).
    Unreachable(String, Option<Duration>),
    /// The token API's daily quota is used up (45009): `QuotaExhausted`.
    Quota(String),
}

/// Access tokens per credential id.
pub(crate) struct Auth {
    tokens: TokenCache<Uuid, Secret>,
    auth_url: Url,
}

impl Auth {
    /// An empty cache fetching from `auth_url`.
    pub fn new(auth_url: Url, shared: Option<Arc<dyn SharedTokens>>) -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN)
                .shared_secrets(shared, |id| format!("wechat/{id}")),
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
            .get(&credential.id, || self.fetch(client, app))
            .await
    }

    /// Drops the cached access token of a credential.
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&credential_id);
    }

    /// Fetches a token in normal mode, bypassing the cache.
    pub async fn fetch(
        &self,
        client: &HttpClient,
        app: &AppCredential,
    ) -> Result<Fetched<Secret>, AuthError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": app.app_id,
            "secret": app.secret.expose(),
            "force_refresh": false,
        });
        let answer = client
            .post_json(self.auth_url.clone(), None, body.to_string().into_bytes())
            .await
            .map_err(|TransportError { reason }| {
                AuthError::Unreachable(format!("WeChat token endpoint: {reason}"), None)
            })?;
        let after = crate::error::retry_after(
            answer.retry_after.as_deref(),
            time::OffsetDateTime::now_utc(),
        );
        token_answer(answer.status, &answer.body, app.secret.expose()).map_err(|e| match e {
            AuthError::Unreachable(reason, None) => AuthError::Unreachable(reason, after),
            other => other,
        })
    }
}

#[derive(Deserialize, Default)]
struct TokenBody {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

/// What to do about a token-endpoint errcode.
fn token_advice(errcode: i64) -> (&'static str, bool) {
    // (advice, refused) — refused = false means "try again later".
    match errcode {
        -1 => ("WeChat is busy", false),
        45011 => ("WeChat's per-minute limit: slow down", false),
        40001 | 40125 => (
            "the AppSecret is wrong or not this AppID's: upload the current one",
            true,
        ),
        40013 => (
            "WeChat does not know this AppID: check the credential's app_id",
            true,
        ),
        40164 => (
            "pushgate's egress IP is not in the account's IP whitelist (platform → Basic configuration)",
            true,
        ),
        40002 => ("grant_type refused: an adapter bug, please report it", true),
        48001 => ("this AppID may not use the API", true),
        _ => ("the token endpoint refused the credential", true),
    }
}

/// Classifies the token endpoint's answer. `secret` is scrubbed from whatever it echoes.
pub(crate) fn token_answer(
    status: u16,
    body: &[u8],
    secret: &str,
) -> Result<Fetched<Secret>, AuthError> {
    if status == 429 || status >= 500 {
        return Err(AuthError::Unreachable(
            format!("WeChat token endpoint answered HTTP {status}"),
            None,
        ));
    }
    let parsed: Option<TokenBody> = serde_json::from_slice(body).ok();
    let Some(parsed) = parsed else {
        return Err(AuthError::Unreachable(
            format!(
                "WeChat token endpoint answered HTTP {status} without JSON; check vendors.wechat.auth_url"
            ),
            None,
        ));
    };
    match (parsed.errcode.unwrap_or(0), parsed.access_token) {
        (0, Some(token)) if !token.is_empty() => Ok(Fetched {
            value: Secret::new(token),
            expires_in: Duration::from_secs(
                parsed.expires_in.unwrap_or(DEFAULT_EXPIRES_IN_SECONDS),
            ),
        }),
        (0, _) => Err(AuthError::Unreachable(
            format!(
                "WeChat token endpoint answered HTTP {status} without an access_token; check vendors.wechat.auth_url"
            ),
            None,
        )),
        (45009, _) => Err(AuthError::Quota(
            "45009: the token API's daily quota is used up".to_string(),
        )),
        (code, _) => {
            let (advice, refused) = token_advice(code);
            let mut reason = format!("WeChat token endpoint errcode {code}: {advice}");
            if let Some(msg) = parsed.errmsg.filter(|m| !m.is_empty()) {
                let msg = if secret.is_empty() {
                    msg
                } else {
                    msg.replace(secret, "[secret]")
                };
                let msg: String = msg.chars().take(200).collect();
                reason.push_str(&format!(" (WeChat: {msg})"));
            }
            Err(if refused {
                AuthError::Refused(reason)
            } else {
                AuthError::Unreachable(reason, None)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(app_id: &str, app_secret: &str) -> CredentialSecret {
        CredentialSecret::WechatAppSecret {
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
        }
    }

    #[test]
    fn credentials_are_checked_offline() {
        let ok = AppCredential::from_secret(&secret(" wx00000000000000a1 ", "s3cret ")).unwrap();
        assert_eq!(ok.app_id, "wx00000000000000a1");
        assert!(!format!("{ok:?}").contains("s3cret"));
        for (id, s) in [
            ("", "x"),
            ("gh_123", "x"),
            ("wx-1", "x"),
            ("wx1", ""),
            ("wx1", "a b"),
        ] {
            assert!(
                AppCredential::from_secret(&secret(id, s)).is_err(),
                "{id:?} {s:?}"
            );
        }
        let other = CredentialSecret::HuaweiOauth {
            app_id: "1".into(),
            app_secret: Secret::new("x"),
        };
        assert!(
            AppCredential::from_secret(&other)
                .unwrap_err()
                .contains("wechat_app_secret")
        );
    }

    #[test]
    fn tokens_and_their_lifetime_are_read() {
        let t = token_answer(200, br#"{"access_token":"ACCESS","expires_in":7000}"#, "s").unwrap();
        assert_eq!(t.value.expose(), "ACCESS");
        assert_eq!(t.expires_in, Duration::from_secs(7000));
        let t = token_answer(200, br#"{"errcode":0,"access_token":"A"}"#, "s").unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(7200));
    }

    #[test]
    fn token_errors_are_classified_without_the_secret() {
        let refused = |body: &str| match token_answer(200, body.as_bytes(), "TOPSECRET") {
            Err(AuthError::Refused(r)) => r,
            other => panic!("{other:?}"),
        };
        let r = refused(r#"{"errcode":40001,"errmsg":"invalid credential TOPSECRET rid: 1-2-3"}"#);
        assert!(r.contains("40001") && r.contains("AppSecret"), "{r}");
        assert!(!r.contains("TOPSECRET"), "{r}");
        assert!(refused(r#"{"errcode":40125,"errmsg":"invalid appsecret"}"#).contains("AppSecret"));
        assert!(refused(r#"{"errcode":40013,"errmsg":"invalid appid"}"#).contains("AppID"));
        assert!(refused(r#"{"errcode":40164,"errmsg":"invalid ip"}"#).contains("whitelist"));
        assert!(refused(r#"{"errcode":40002,"errmsg":"x"}"#).contains("bug"));
        for body in [
            r#"{"errcode":-1,"errmsg":"system error"}"#,
            r#"{"errcode":45011,"errmsg":"minute quota"}"#,
            "<html>bad gateway</html>",
            "{}",
        ] {
            assert!(
                matches!(
                    token_answer(200, body.as_bytes(), "s"),
                    Err(AuthError::Unreachable(..))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            token_answer(503, b"", "s"),
            Err(AuthError::Unreachable(..))
        ));
        assert!(matches!(
            token_answer(
                200,
                br#"{"errcode":45009,"errmsg":"reach max api daily quota limit"}"#,
                "s"
            ),
            Err(AuthError::Quota(_))
        ));
    }
}
