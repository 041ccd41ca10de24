//! Honor's requests: the send (`POST {base_url}/api/v1/{appId}/sendMessage`, JSON, with
//! `Authorization: Bearer <access token>` and the `timestamp` header Honor's documentation
//! requires — honor.md §3) and the token request (a form POST).
//!
//! The shared `pushgate_adapter_http::HttpClient` sends no extra headers, so this wraps the
//! same shared reqwest client (built by `pushgate_adapter_http::build_client`). Answers are
//! raw; classifying them is [`crate::error`]'s and [`crate::auth`]'s job.

use push_core::Secret;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use std::error::Error as _;
use std::fmt;
use std::time::Duration;
use url::Url;

/// The longest body kept; Honor's answers are a few hundred bytes (token lists a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The shared HTTP client and the base URL.
#[derive(Clone)]
pub(crate) struct HonorClient {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
}

impl fmt::Debug for HonorClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HonorClient")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HonorClient {
    /// Wraps a built reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http,
            base_url,
            timeout,
        }
    }

    /// `{base_url}/api/v1/{app_id}/sendMessage`, keeping any path prefix of the base URL and
    /// escaping the app id as one segment.
    pub fn send_url(&self, app_id: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1", app_id, "sendMessage"]);
        }
        url
    }

    /// POSTs a send with the access token and the `timestamp` header (epoch ms).
    pub async fn post_send(
        &self,
        url: Url,
        access_token: &Secret,
        timestamp_ms: i64,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        let request = self
            .http
            .post(url)
            .bearer_auth(access_token.expose())
            .header("timestamp", timestamp_ms.to_string())
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body);
        self.execute(request).await
    }

    /// POSTs an `application/x-www-form-urlencoded` body (the token request).
    pub async fn post_form(
        &self,
        url: Url,
        form: &[(&str, &str)],
    ) -> Result<Answer, TransportError> {
        self.execute(self.http.post(url).form(form)).await
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Answer, TransportError> {
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

    fn client(base: &str) -> HonorClient {
        HonorClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn send_urls_follow_honors_shape() {
        assert_eq!(
            client("https://push-api.cloud.honor.com")
                .send_url("104444444")
                .as_str(),
            "https://push-api.cloud.honor.com/api/v1/104444444/sendMessage"
        );
        assert_eq!(
            client("https://proxy.internal/honor/")
                .send_url("a/b")
                .as_str(),
            "https://proxy.internal/honor/api/v1/a%2Fb/sendMessage"
        );
    }
}
