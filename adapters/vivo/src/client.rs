//! vivo's requests: JSON POSTs to `{base_url}/message/…`, the sends carrying the auth token in
//! vivo's own `authToken` header (vivo.md §2, §8: `Authorization: Bearer` is not accepted).
//!
//! The shared `pushgate_adapter_http::HttpClient` only knows bearer tokens, so this wraps the
//! same shared reqwest client (built by `pushgate_adapter_http::build_client`) with one extra
//! header. Answers are raw; classifying them is [`crate::error`]'s and [`crate::auth`]'s job.

use push_core::Secret;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use std::error::Error as _;
use std::fmt;
use std::time::Duration;
use url::Url;

/// The longest body kept; vivo's answers are a few hundred bytes (a list answer a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The vivo API paths.
pub(crate) const AUTH: &str = "auth";
/// Single send.
pub(crate) const SEND: &str = "send";
/// Stores a message for a list send.
pub(crate) const SAVE_LIST_PAYLOAD: &str = "saveListPayload";
/// Sends a stored message to a list of regIds.
pub(crate) const PUSH_TO_LIST: &str = "pushToList";

/// The shared HTTP client and the base URL.
#[derive(Clone)]
pub(crate) struct VivoClient {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
}

impl fmt::Debug for VivoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VivoClient")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl VivoClient {
    /// Wraps a built reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http,
            base_url,
            timeout,
        }
    }

    /// `{base_url}/message/{api}`, keeping any path prefix of the base URL.
    pub fn url(&self, api: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["message", api]);
        }
        url
    }

    /// POSTs a JSON body to `/message/{api}`, with the `authToken` header when given.
    pub async fn post(
        &self,
        api: &str,
        auth_token: Option<&Secret>,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        let mut request = self
            .http
            .post(self.url(api))
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body);
        if let Some(token) = auth_token {
            request = request.header("authToken", token.expose());
        }
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
    use super::*;

    fn client(base: &str) -> VivoClient {
        VivoClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn urls_follow_the_message_shape() {
        assert_eq!(
            client("https://api-push.vivo.com.cn").url(SEND).as_str(),
            "https://api-push.vivo.com.cn/message/send"
        );
        assert_eq!(
            client("https://proxy.internal/vivo/")
                .url(PUSH_TO_LIST)
                .as_str(),
            "https://proxy.internal/vivo/message/pushToList"
        );
    }

    #[tokio::test]
    async fn refused_connections_are_transport_errors() {
        let err = client("http://127.0.0.1:9")
            .post(AUTH, None, b"{}".to_vec())
            .await
            .unwrap_err();
        assert!(
            err.reason.starts_with("could not connect"),
            "{}",
            err.reason
        );
    }
}
