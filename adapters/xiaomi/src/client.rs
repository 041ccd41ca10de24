//! Xiaomi's one request on the shared HTTP client ([`pushgate_adapter_http`]): an encoded
//! form POST with `Authorization: key=<AppSecret>`, answered raw (status, `Retry-After`,
//! body). Classifying the answer is [`crate::error`]'s job.

use crate::auth::AppCredential;
use pushgate_adapter_http::HttpClient;
pub(crate) use pushgate_adapter_http::{Answer, TransportError};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use std::time::Duration;
use url::Url;

/// The shared HTTP client and Xiaomi's base URL.
#[derive(Debug, Clone)]
pub(crate) struct FormClient {
    http: HttpClient,
}

impl FormClient {
    /// Wraps a configured reqwest client.
    pub fn new(http: reqwest::Client, base_url: Url, timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(http, base_url, timeout, "xiaomi"),
        }
    }

    /// `{base_url}/v3/message/regid`, keeping any path prefix of the base URL.
    pub fn regid_url(&self) -> Url {
        self.http.url(&["v3", "message", "regid"])
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
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, key);
        self.http.post_form_with_headers(url, headers, body).await
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
