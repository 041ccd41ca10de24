//! Huawei's requests on the shared HTTP client ([`pushgate_adapter_http`]): the client with
//! Huawei's body limit, and the send URL. Classifying the answers is [`crate::error`]'s job
//! (and [`crate::auth`]'s for the token endpoint).

pub(crate) use pushgate_adapter_http::{Answer, HttpClient};
use std::time::Duration;
use url::Url;

/// The longest answer kept. Most are a hundred bytes, but a partial success (`80100000`,
/// huawei.md §6) lists the illegal tokens of a request — up to 1000 — JSON-escaped inside
/// `msg`: at ~130–200 characters a token, plus `\"…\",` around each, that is up to
/// ~210 KB. A cut answer does not parse, and a 2xx without a readable code is retried —
/// resending to every token Huawei already took (§7 forbids it). 1 MiB is five times that
/// (1000 tokens of ~1000 characters would still fit).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The shared client over a built reqwest client, keeping Huawei's longest answers.
pub(crate) fn client(http: reqwest::Client, base_url: Url, timeout: Duration) -> HttpClient {
    HttpClient::new(http, base_url, timeout, "huawei").with_body_limit(MAX_BODY_BYTES)
}

/// `{base_url}/v1/{app_id}/messages:send`, keeping any path prefix of the base URL and escaping the id as one path segment.
pub(crate) fn send_url(client: &HttpClient, app_id: &str) -> Url {
    client.url(&["v1", app_id, "messages:send"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn huawei(base: &str) -> HttpClient {
        client(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn send_url_follows_the_v1_shape() {
        assert_eq!(
            send_url(&huawei("https://push-api.cloud.huawei.com"), "10123456").as_str(),
            "https://push-api.cloud.huawei.com/v1/10123456/messages:send"
        );
    }

    #[test]
    fn send_url_keeps_a_path_prefix_and_escapes_the_app_id() {
        assert_eq!(
            send_url(&huawei("https://proxy.internal/hms/"), "a/b?c").as_str(),
            "https://proxy.internal/hms/v1/a%2Fb%3Fc/messages:send"
        );
    }
}
