//! Xiaomi's one request: a form POST with `Authorization: key=<AppSecret>`, answered raw
//! (status, `Retry-After`, body). Classifying the answer is [`crate::error`]'s job.
//!
//! The shared client of `pushgate_adapter_http` posts JSON with a bearer token or an
//! unauthenticated form; Xiaomi needs a form *with* its own `key=` header, so this file holds
//! the few lines that send it, on a reqwest client built by the shared builder.

use crate::auth::AppCredential;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use std::error::Error as _;
use std::time::Duration;
use url::Url;

/// The longest body kept; Xiaomi's answers are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The content type Xiaomi's documentation shows.
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// The HTTP client and Xiaomi's base URL.
#[derive(Debug, Clone)]
pub(crate) struct FormClient {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
}

impl FormClient {
    /// Wraps a configured reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http,
            base_url,
            timeout,
        }
    }

    /// `{base_url}/v3/message/regid`, keeping any path prefix of the base URL.
    pub fn regid_url(&self) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["v3", "message", "regid"]);
        }
        url
    }

    /// POSTs an already encoded form body with the credential's `key=` header.
    pub async fn post_form(
        &self,
        url: Url,
        app: &AppCredential,
        body: String,
    ) -> Result<Answer, TransportError> {
        let mut key = HeaderValue::from_str(&format!("key={}", app.secret())).map_err(|_| {
            TransportError {
                reason: "the AppSecret cannot be sent in an HTTP header (control characters)"
                    .to_string(),
            }
        })?;
        key.set_sensitive(true);
        let request = self
            .http
            .post(url)
            .header(AUTHORIZATION, key)
            .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(body);
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = response
            .bytes()
            .await
            .map_err(|e| self.transport(&e))?
            .to_vec();
        body.truncate(MAX_BODY_BYTES);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn transport(&self, e: &reqwest::Error) -> TransportError {
        let reason = if e.is_timeout() {
            format!("no answer within {} s (timeout)", self.timeout.as_secs())
        } else {
            let mut text = if e.is_connect() {
                "could not connect".to_string()
            } else {
                "network error".to_string()
            };
            let mut source = e.source();
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        };
        TransportError { reason }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn client(base: &str) -> FormClient {
        FormClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn the_regid_url_keeps_a_path_prefix() {
        assert_eq!(
            client("https://api.xmpush.xiaomi.com").regid_url().as_str(),
            "https://api.xmpush.xiaomi.com/v3/message/regid"
        );
        assert_eq!(
            client("https://proxy.internal/mi/").regid_url().as_str(),
            "https://proxy.internal/mi/v3/message/regid"
        );
    }
}
