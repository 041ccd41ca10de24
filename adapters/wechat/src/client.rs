//! WeChat's requests on the shared HTTP client ([`pushgate_adapter_http`]): a JSON POST
//! whose access token rides in the `access_token` query parameter (WeChat reads no
//! `Authorization` header), answered raw. Classifying the answers is [`crate::error`]'s job
//! (and [`crate::auth`]'s for the token endpoint).
//!
//! The access token is in the URL, so the shared client strips transport errors of their URL
//! before they are shown, and nothing here logs a URL.

use push_core::Secret;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::HeaderMap;
use std::time::Duration;
use url::Url;

/// The template-message send path (official accounts).
pub(crate) const TEMPLATE_SEND: [&str; 3] = ["cgi-bin", "message", "template"];
/// The subscribe-message send path (mini programs).
pub(crate) const SUBSCRIBE_SEND: [&str; 3] = ["cgi-bin", "message", "subscribe"];

/// The shared HTTP client and WeChat's base URL.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    http: pushgate_adapter_http::HttpClient,
}

impl HttpClient {
    /// Wraps a configured reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http: pushgate_adapter_http::HttpClient::new(http, base_url, timeout, "wechat"),
        }
    }

    /// `{base_url}/{prefix…}/send`, keeping any path prefix of the base URL.
    pub fn send_url(&self, prefix: &[&str; 3]) -> Url {
        let [a, b, c] = *prefix;
        self.http.url(&[a, b, c, "send"])
    }

    /// POSTs a JSON body, with `access_token` as a query parameter when given.
    pub async fn post_json(
        &self,
        mut url: Url,
        access_token: Option<&Secret>,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        if let Some(token) = access_token {
            url.query_pairs_mut()
                .append_pair("access_token", token.expose());
        }
        self.http
            .post_json_with_headers(url, None, HeaderMap::new(), body)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> HttpClient {
        HttpClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn send_urls_follow_wechat_and_keep_a_prefix() {
        assert_eq!(
            client("https://api.weixin.qq.com")
                .send_url(&TEMPLATE_SEND)
                .as_str(),
            "https://api.weixin.qq.com/cgi-bin/message/template/send"
        );
        assert_eq!(
            client("https://proxy.internal/wx/")
                .send_url(&SUBSCRIBE_SEND)
                .as_str(),
            "https://proxy.internal/wx/cgi-bin/message/subscribe/send"
        );
    }

    #[tokio::test]
    async fn transport_errors_never_show_the_access_token() {
        let c = client("http://127.0.0.1:9");
        let err = c
            .post_json(
                c.send_url(&TEMPLATE_SEND),
                Some(&Secret::new("ACCESS-TOKEN-VALUE")),
                b"{}".to_vec(),
            )
            .await
            .unwrap_err();
        assert!(
            err.reason.starts_with("could not connect"),
            "{}",
            err.reason
        );
        assert!(!err.reason.contains("ACCESS-TOKEN-VALUE"), "{}", err.reason);
    }
}
