//! Honor's requests on the shared HTTP client ([`pushgate_adapter_http`]): the send
//! (`POST {base_url}/api/v1/{appId}/sendMessage`, JSON, with `Authorization: Bearer <access
//! token>` and the `timestamp` header Honor's documentation requires — honor.md §3); the
//! token request is the shared form POST. Answers are raw; classifying them is
//! [`crate::error`]'s and [`crate::auth`]'s job.

use push_core::Secret;
pub(crate) use pushgate_adapter_http::{Answer, HttpClient, TransportError};
use reqwest::header::{HeaderMap, HeaderValue};
use std::time::Duration;
use url::Url;

/// The longest body kept; Honor's answers are a few hundred bytes (token lists a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The shared client over a built reqwest client, keeping Honor's longer answers.
pub(crate) fn client(http: reqwest::Client, base_url: Url, timeout: Duration) -> HttpClient {
    HttpClient::new(http, base_url, timeout, "honor").with_body_limit(MAX_BODY_BYTES)
}

/// `{base_url}/api/v1/{app_id}/sendMessage`, keeping any path prefix of the base URL and
/// escaping the app id as one segment.
pub(crate) fn send_url(client: &HttpClient, app_id: &str) -> Url {
    client.url(&["api", "v1", app_id, "sendMessage"])
}

/// POSTs a send with the access token and the `timestamp` header (epoch ms).
pub(crate) async fn post_send(
    client: &HttpClient,
    url: Url,
    access_token: &Secret,
    timestamp_ms: i64,
    body: Vec<u8>,
) -> Result<Answer, TransportError> {
    let mut headers = HeaderMap::new();
    headers.insert("timestamp", HeaderValue::from(timestamp_ms));
    client
        .post_json_with_headers(url, Some(access_token), headers, body)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn honor(base: &str) -> HttpClient {
        client(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn send_urls_follow_honors_shape() {
        assert_eq!(
            send_url(&honor("https://push-api.cloud.honor.com"), "104444444").as_str(),
            "https://push-api.cloud.honor.com/api/v1/104444444/sendMessage"
        );
        assert_eq!(
            send_url(&honor("https://proxy.internal/honor/"), "a/b").as_str(),
            "https://proxy.internal/honor/api/v1/a%2Fb/sendMessage"
        );
    }
}
