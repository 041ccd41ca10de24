//! vivo's requests on the shared HTTP client ([`pushgate_adapter_http`]): JSON POSTs to
//! `{base_url}/message/…` and to the auth endpoint (`auth_url`, by default
//! `{base_url}/message/auth`), the sends carrying the auth token in vivo's own `authToken` header
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

/// The vivo API paths. The auth call, under `{base_url}/message/` unless `auth_url` is set.
pub(crate) const AUTH: &str = "auth";
/// Single send.
pub(crate) const SEND: &str = "send";
/// Stores a message for a list send.
pub(crate) const SAVE_LIST_PAYLOAD: &str = "saveListPayload";
/// Sends a stored message to a list of regIds.
pub(crate) const PUSH_TO_LIST: &str = "pushToList";

/// The shared HTTP client, with vivo's paths, its auth endpoint and its `authToken` header.
#[derive(Debug, Clone)]
pub(crate) struct VivoClient {
    http: HttpClient,
    auth_url: Url,
}

impl VivoClient {
    /// Wraps a built reqwest client. `auth_url` is the configured auth endpoint; `None`
    /// derives it from the base URL (`{base_url}/message/auth`).
    pub fn new(
        http: reqwest::Client,
        base_url: Url,
        auth_url: Option<Url>,
        timeout: Duration,
    ) -> Self {
        let http = HttpClient::new(http, base_url, timeout, "vivo").with_body_limit(MAX_BODY_BYTES);
        let auth_url = auth_url.unwrap_or_else(|| http.url(&["message", AUTH]));
        Self { http, auth_url }
    }

    /// `{base_url}/message/{api}`, keeping any path prefix of the base URL.
    pub fn url(&self, api: &str) -> Url {
        self.http.url(&["message", api])
    }

    /// Where the auth call goes: `auth_url` as configured, else `{base_url}/message/auth`.
    pub fn auth_url(&self) -> &Url {
        &self.auth_url
    }

    /// POSTs the signed auth body to the auth endpoint (no `authToken` header).
    pub async fn post_auth(&self, body: Vec<u8>) -> Result<Answer, TransportError> {
        self.http
            .post_json_with_headers(self.auth_url().clone(), None, HeaderMap::new(), body)
            .await
    }

    /// POSTs a JSON body to `/message/{api}` on the base URL, with the `authToken` header
    /// when given.
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
        client_with_auth(base, None)
    }

    fn client_with_auth(base: &str, auth: Option<&str>) -> VivoClient {
        VivoClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            auth.map(|a| Url::parse(a).unwrap()),
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

    #[test]
    fn the_auth_url_is_derived_from_the_base_url_unless_configured() {
        assert_eq!(
            client("https://api-push.vivo.com.cn").auth_url().as_str(),
            "https://api-push.vivo.com.cn/message/auth"
        );
        assert_eq!(
            client("https://proxy.internal/vivo/").auth_url().as_str(),
            "https://proxy.internal/vivo/message/auth"
        );
        let split = client_with_auth(
            "https://api-push.vivo.com.cn",
            Some("https://auth.internal:9443/vivo-auth"),
        );
        assert_eq!(
            split.auth_url().as_str(),
            "https://auth.internal:9443/vivo-auth"
        );
        assert_eq!(
            split.url(SEND).as_str(),
            "https://api-push.vivo.com.cn/message/send",
            "the sends stay on the base URL"
        );
    }

    #[tokio::test]
    async fn refused_connections_are_transport_errors() {
        let err = client("http://127.0.0.1:9")
            .post_auth(b"{}".to_vec())
            .await
            .unwrap_err();
        assert!(
            err.reason.starts_with("could not connect"),
            "{}",
            err.reason
        );
    }
}
