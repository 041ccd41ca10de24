//! WeChat's requests on one shared reqwest client: a JSON POST whose access token rides in
//! the `access_token` query parameter (WeChat reads no `Authorization` header), answered
//! raw. Classifying the answers is [`crate::error`]'s job (and [`crate::auth`]'s for the
//! token endpoint).
//!
//! The access token is in the URL, so transport errors are stripped of their URL before
//! they are shown (`reqwest::Error::without_url`), and nothing here logs a URL.

use push_core::Secret;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use std::error::Error as _;
use std::time::Duration;
use url::Url;

/// The longest body kept; WeChat's answers are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The template-message send path (official accounts).
pub(crate) const TEMPLATE_SEND: [&str; 3] = ["cgi-bin", "message", "template"];
/// The subscribe-message send path (mini programs).
pub(crate) const SUBSCRIBE_SEND: [&str; 3] = ["cgi-bin", "message", "subscribe"];

/// The shared HTTP client and WeChat's base URL.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
}

impl HttpClient {
    /// Wraps a configured reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http,
            base_url,
            timeout,
        }
    }

    /// `{base_url}/{prefix…}/send`, keeping any path prefix of the base URL.
    pub fn send_url(&self, prefix: &[&str; 3]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(prefix.iter()).push("send");
        }
        url
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
        let request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body);
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = response
            .bytes()
            .await
            .map_err(|e| self.transport(e))?
            .to_vec();
        body.truncate(MAX_BODY_BYTES);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn transport(&self, e: reqwest::Error) -> TransportError {
        // The URL carries the access token: never show it.
        let e = e.without_url();
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
