//! vivo's requests on the shared HTTP client ([`pushgate_adapter_http`]): JSON POSTs to
//! `{base_url}/message/…`, the sends carrying the auth token in vivo's own `authToken` header
//! (vivo.md §2, §8: `Authorization: Bearer` is not accepted). Answers are raw; classifying
//! them is [`crate::error`]'s and [`crate::auth`]'s job.

use push_core::Secret;
use pushgate_adapter_http::HttpClient;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{HeaderMap, HeaderValue};
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

/// The shared HTTP client, with vivo's paths and its `authToken` header.
#[derive(Debug, Clone)]
pub(crate) struct VivoClient {
    http: HttpClient,
}

impl VivoClient {
    /// Wraps a built reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(http, base_url, timeout, "vivo").with_body_limit(MAX_BODY_BYTES),
        }
    }

    /// `{base_url}/message/{api}`, keeping any path prefix of the base URL.
    pub fn url(&self, api: &str) -> Url {
        self.http.url(&["message", api])
    }

    /// POSTs a JSON body to `/message/{api}`, with the `authToken` header when given.
    pub async fn post(
        &self,
        api: &str,
        auth_token: Option<&Secret>,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        let mut headers = HeaderMap::new();
        if let Some(token) = auth_token {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| TransportError {
                reason: "the authToken cannot be sent in an HTTP header (control characters)"
                    .to_string(),
            })?;
            value.set_sensitive(true);
            headers.insert("authToken", value);
        }
        self.http
            .post_json_with_headers(self.url(api), None, headers, body)
            .await
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
