//! OAuth2 for FCM: the service-account file, the RS256 JWT assertion (RFC 7523 "JWT
//! bearer" grant) and its exchange for an access token, cached per credential id in
//! push-core's [`TokenCache`] (refreshed 5 minutes before `expires_in` runs out, one
//! refresh at a time; `forget` after a 401 drops it).
//!
//! The token endpoint speaks plain OAuth2 (`{"error": "invalid_grant", …}`), not FCM's
//! `google.rpc.Status`, so its answers are classified here: refusals become
//! [`AuthError::Refused`] with the OAuth error code, outages [`AuthError::Unreachable`].
//! Neither ever carries the assertion, the key or the access token.

use crate::client::{HttpClient, TransportError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use push_core::adapter::CredentialRef;
use push_core::token_cache::{Fetched, TokenCache};
use push_core::{CredentialSecret, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;
use uuid::Uuid;

/// Google's token endpoint: the assertion's `aud` (Google's auth libraries use this constant
/// whatever `token_uri` says) and the endpoint when a file has no `token_uri`.
pub(crate) const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The OAuth scope of FCM sends.
pub(crate) const MESSAGING_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The RFC 7523 grant type.
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An assertion lives the longest Google allows.
const ASSERTION_LIFETIME_SECONDS: u64 = 3600;
/// Access tokens are refreshed this long before they expire (at 55 of 60 minutes).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Assumed lifetime when the token endpoint gives no `expires_in`.
const DEFAULT_EXPIRES_IN_SECONDS: u64 = 3600;

/// A parsed service-account file. `Debug` shows identifiers only.
pub(crate) struct ServiceAccount {
    /// Goes into the send URL.
    pub project_id: String,
    /// The assertion's `iss`.
    pub client_email: String,
    /// The assertion header's `kid`.
    pub private_key_id: Option<String>,
    /// Where the file says to exchange assertions.
    pub token_uri: Option<String>,
    key: EncodingKey,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// The assertion's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The service account's email.
    pub iss: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Google's token URL.
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds (`iat + 3600`).
    pub exp: u64,
}

impl ServiceAccount {
    /// Parses the service-account JSON of a credential.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        match secret {
            CredentialSecret::FcmServiceAccount {
                service_account_json,
            } => Self::parse(service_account_json.expose()),
            other => Err(format!(
                "the FCM adapter needs a fcm_service_account credential, not {}",
                other.kind().as_str()
            )),
        }
    }

    /// Parses and checks a service-account file: `type` is `service_account`,
    /// `project_id`, `client_email` and an RSA PKCS#8 `private_key` are present. Messages
    /// name the field and never quote the file (it is parsed to a `Value` first because
    /// serde's type errors would quote the offending string).
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| format!("the service account is not valid JSON ({e})"))?;
        let Value::Object(file) = value else {
            return Err("the service account must be a JSON object".to_string());
        };
        match text(&file, "type")? {
            Some("service_account") => {}
            Some(_) => return Err("service account field `type` must be \"service_account\"; download a key from Project settings → Service accounts".to_string()),
            None => return Err("service account field `type` is missing".to_string()),
        }
        let project_id = required(&file, "project_id")?;
        let client_email = required(&file, "client_email")?;
        let private_key = required(&file, "private_key").map(Secret::new)?;
        if !private_key
            .expose()
            .trim_start()
            .starts_with("-----BEGIN PRIVATE KEY-----")
        {
            return Err("service account field `private_key` must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), as Google issues it".to_string());
        }
        let key = EncodingKey::from_rsa_pem(private_key.expose().as_bytes()).map_err(|_| {
            "service account field `private_key` is not an RSA private key".to_string()
        })?;
        let account = Self {
            project_id,
            client_email,
            private_key_id: text(&file, "private_key_id")?.map(str::to_string),
            token_uri: text(&file, "token_uri")?.map(str::to_string),
            key,
        };
        // Sign once: the parser accepts some keys the signer then refuses.
        account.assertion(0)?;
        Ok(account)
    }

    /// The signed RS256 assertion issued at `issued_at` (Unix seconds).
    pub fn assertion(&self, issued_at: u64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let claims = Claims {
            iss: self.client_email.clone(),
            scope: MESSAGING_SCOPE.to_string(),
            aud: GOOGLE_TOKEN_URL.to_string(),
            iat: issued_at,
            exp: issued_at + ASSERTION_LIFETIME_SECONDS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            format!(
                "service account field `private_key` cannot sign RS256 ({:?})",
                e.kind()
            )
        })
    }

    /// Where to exchange the assertion: the configured `auth_url` if any (it replaces
    /// `token_uri`), else the file's `token_uri`, else Google's.
    pub fn token_url(&self, configured: Option<&Url>) -> Result<Url, String> {
        if let Some(url) = configured {
            return Ok(url.clone());
        }
        let uri = self.token_uri.as_deref().unwrap_or(GOOGLE_TOKEN_URL);
        Url::parse(uri).map_err(|e| format!("service account field `token_uri` is not a URL ({e})"))
    }
}

fn text<'a>(file: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match file.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("service account field `{field}` must be a string")),
    }
}

fn required(file: &Map<String, Value>, field: &str) -> Result<String, String> {
    match text(file, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(format!("service account field `{field}` is missing")),
    }
}

/// Why no token could be had (shared by the HTTP adapters).
pub(crate) use pushgate_adapter_http::AuthError;

/// Access tokens and parsed service accounts, per credential id.
pub(crate) struct Auth {
    tokens: TokenCache<Uuid, Secret>,
    accounts: Mutex<HashMap<Uuid, Arc<ServiceAccount>>>,
    auth_url: Option<Url>,
}

impl Auth {
    /// An empty cache; `auth_url` replaces every file's `token_uri` when set.
    pub fn new(auth_url: Option<Url>) -> Self {
        Self {
            tokens: TokenCache::new(REFRESH_MARGIN),
            accounts: Mutex::new(HashMap::new()),
            auth_url,
        }
    }

    /// The parsed service account of a credential (parsed once per credential version).
    pub fn account(&self, credential: &CredentialRef) -> Result<Arc<ServiceAccount>, AuthError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(account) = accounts.get(&credential.id) {
            return Ok(Arc::clone(account));
        }
        let account = Arc::new(
            ServiceAccount::from_secret(&credential.secret)
                .map_err(|e| AuthError::Refused(format!("unusable credential: {e}")))?,
        );
        accounts.insert(credential.id, Arc::clone(&account));
        Ok(account)
    }

    /// A valid access token for the credential: the cached one, or a fresh one (one
    /// exchange at a time per credential).
    pub async fn access_token(
        &self,
        client: &HttpClient,
        credential: &CredentialRef,
        account: &ServiceAccount,
    ) -> Result<Secret, AuthError> {
        self.cached(credential.id, || self.exchange(client, account))
            .await
    }

    /// The cache lookup behind [`Auth::access_token`], with the fetch given (tests count it).
    async fn cached<F, Fut>(&self, credential_id: Uuid, fetch: F) -> Result<Secret, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Fetched<Secret>, AuthError>>,
    {
        self.tokens.get(&credential_id, fetch).await
    }

    /// Drops the cached access token (and parsed file) of a credential.
    pub fn forget(&self, credential_id: Uuid) {
        self.tokens.invalidate(&credential_id);
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&credential_id);
    }

    /// Signs an assertion and exchanges it for an access token, bypassing the cache.
    pub async fn exchange(
        &self,
        client: &HttpClient,
        account: &ServiceAccount,
    ) -> Result<Fetched<Secret>, AuthError> {
        let url = account
            .token_url(self.auth_url.as_ref())
            .map_err(AuthError::Refused)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let assertion = Secret::new(account.assertion(now).map_err(AuthError::Refused)?);
        let form = [
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.expose()),
        ];
        let answer = client
            .post_form(url, &form)
            .await
            .map_err(|TransportError { reason }| {
                AuthError::Unreachable(format!("token endpoint: {reason}"))
            })?;
        token_answer(answer.status, &answer.body, assertion.expose())
    }
}

#[derive(Deserialize)]
struct TokenOk {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenErr {
    error: Option<String>,
    error_description: Option<String>,
}

/// Classifies the token endpoint's answer. 2xx with an `access_token` is a token; 429 and
/// 5xx are an outage (retry, the cached token stays valid until it expires); any other
/// status is a refusal reported with its OAuth `error` code and description.
pub(crate) fn token_answer(
    status: u16,
    body: &[u8],
    assertion: &str,
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
                "token endpoint answered HTTP {status} without an access_token; check auth_url (or the service account's token_uri)"
            ))),
        };
    }
    if status == 429 || status >= 500 {
        return Err(AuthError::Unreachable(format!(
            "token endpoint answered HTTP {status}"
        )));
    }
    let err: Option<TokenErr> = serde_json::from_slice(body).ok();
    let (code, description) = err
        .map(|e| (e.error, e.error_description))
        .unwrap_or_default();
    let mut reason = format!(
        "token endpoint refused the service account (HTTP {status}, {})",
        code.as_deref().unwrap_or("no OAuth error code")
    );
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        let d: String = d
            .replace(assertion, "[assertion]")
            .chars()
            .take(200)
            .collect();
        reason.push_str(": ");
        reason.push_str(&d);
    }
    reason.push_str(
        "; check that the key still exists in the Cloud console and the host clock is right",
    );
    Err(AuthError::Refused(reason))
}

#[cfg(test)]
pub(crate) mod tests;
