//! The requests: a JSON POST with a bearer token and a form POST, answered raw, and the same
//! two with a vendor's own extra headers (vivo's `authToken`, Honor's `timestamp`, Xiaomi's
//! `Authorization: key=…`).

use crate::AuthError;
use push_core::Secret;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use std::error::Error as _;
use std::time::Duration;
use url::Url;

/// The longest body kept by default; vendors' answers are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The JSON content type every vendor accepts.
const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// The content type of an already encoded form ([`HttpClient::post_form_with_headers`]).
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// A vendor's answer, before classification.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body (cut at 64 KiB).
    pub body: Vec<u8>,
}

/// A request that got no HTTP answer: timeout, refused connection, TLS failure, reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What went wrong, without secrets (reqwest never prints headers).
    pub reason: String,
}

/// The shared HTTP client and the vendor's base URL.
#[derive(Debug, Clone)]
pub struct HttpClient {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
    vendor: &'static str,
    max_body_bytes: usize,
}

impl HttpClient {
    /// Wraps a configured reqwest client for `vendor` (named in traces).
    pub fn new(
        http: reqwest::Client,
        base_url: Url,
        timeout: Duration,
        vendor: &'static str,
    ) -> Self {
        Self {
            http,
            base_url,
            timeout,
            vendor,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }

    /// Keeps answers up to `bytes` long instead of 64 KiB (vendors whose token lists run long).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The base URL with `segments` appended, keeping any path prefix of the base URL and
    /// escaping each segment (`a/b` stays one segment).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// POSTs a JSON body with the access token.
    pub async fn post_json(
        &self,
        url: Url,
        access_token: &Secret,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        self.post_json_with_headers(url, Some(access_token), HeaderMap::new(), body)
            .await
    }

    /// POSTs a JSON body with `headers` (a vendor's own auth or signing headers) and, when
    /// given, the access token as `Authorization: Bearer`.
    pub async fn post_json_with_headers(
        &self,
        url: Url,
        bearer: Option<&Secret>,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Answer, TransportError> {
        let mut request = self.http.post(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        let request = request
            .headers(headers)
            .header(CONTENT_TYPE, JSON_CONTENT_TYPE)
            .body(body);
        self.execute(request).await
    }

    /// POSTs an `application/x-www-form-urlencoded` body (a token exchange).
    pub async fn post_form(
        &self,
        url: Url,
        form: &[(&str, &str)],
    ) -> Result<Answer, TransportError> {
        self.execute(self.http.post(url).form(form)).await
    }

    /// Asks an OAuth 2.0 token endpoint for a client-credentials token
    /// (`grant_type=client_credentials`, `client_id`, `client_secret`, URL-encoded by reqwest:
    /// secrets may hold `+`, `/`, `=`). A request that got no answer is
    /// [`AuthError::Unreachable`] prefixed with `endpoint` (e.g. `Huawei token endpoint`).
    pub async fn client_credentials(
        &self,
        url: Url,
        endpoint: &str,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<Answer, AuthError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ];
        self.post_form(url, &form)
            .await
            .map_err(|TransportError { reason }| {
                AuthError::Unreachable(format!("{endpoint}: {reason}"))
            })
    }

    /// POSTs an already encoded form body as [`FORM_CONTENT_TYPE`] with `headers` (Xiaomi's
    /// `Authorization: key=…`; mark secret values sensitive).
    pub async fn post_form_with_headers(
        &self,
        url: Url,
        headers: HeaderMap,
        body: String,
    ) -> Result<Answer, TransportError> {
        let request = self
            .http
            .post(url)
            .headers(headers)
            .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(body);
        self.execute(request).await
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Answer, TransportError> {
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        tracing::trace!(vendor = self.vendor, status, version = ?response.version(), "answer");
        let mut body = response
            .bytes()
            .await
            .map_err(|e| self.transport(e))?
            .to_vec();
        body.truncate(self.max_body_bytes);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn transport(&self, e: reqwest::Error) -> TransportError {
        // Never the URL: WeChat carries the access token in the query.
        let e = e.without_url();
        let reason = if e.is_timeout() {
            format!("no answer within {} s (timeout)", self.timeout.as_secs())
        } else {
            let mut text = if e.is_connect() {
                "could not connect".to_string()
            } else {
                "network error".to_string()
            };
            // The chain of causes says what actually failed (refused, TLS, reset).
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
            "test",
        )
    }

    #[test]
    fn urls_append_segments() {
        assert_eq!(
            client("https://fcm.googleapis.com")
                .url(&["v1", "projects", "demo-1", "messages:send"])
                .as_str(),
            "https://fcm.googleapis.com/v1/projects/demo-1/messages:send"
        );
    }

    #[test]
    fn urls_keep_a_path_prefix_and_escape_segments() {
        assert_eq!(
            client("https://proxy.internal/fcm/")
                .url(&["v1", "projects", "a/b?c", "messages:send"])
                .as_str(),
            "https://proxy.internal/fcm/v1/projects/a%2Fb%3Fc/messages:send"
        );
    }

    #[tokio::test]
    async fn refused_connections_are_transport_errors() {
        // Port 9 on loopback: nothing listens there.
        let c = client("http://127.0.0.1:9");
        let err = c
            .post_form(
                Url::parse("http://127.0.0.1:9/token").unwrap(),
                &[("a", "b")],
            )
            .await
            .unwrap_err();
        assert!(
            err.reason.starts_with("could not connect"),
            "{}",
            err.reason
        );
    }
}
