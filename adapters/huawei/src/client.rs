//! Huawei's requests on the shared HTTP client ([`pushgate_adapter_http`]): the send URL.
//! Classifying the answers is [`crate::error`]'s job (and [`crate::auth`]'s for the token
//! endpoint).

pub(crate) use pushgate_adapter_http::{Answer, HttpClient};
use url::Url;

/// `{base_url}/v1/{app_id}/messages:send`, keeping any path prefix of the base URL and escaping the id as one path segment.
pub(crate) fn send_url(client: &HttpClient, app_id: &str) -> Url {
    client.url(&["v1", app_id, "messages:send"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client(base: &str) -> HttpClient {
        HttpClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
            "huawei",
        )
    }

    #[test]
    fn send_url_follows_the_v1_shape() {
        assert_eq!(
            send_url(&client("https://push-api.cloud.huawei.com"), "10123456").as_str(),
            "https://push-api.cloud.huawei.com/v1/10123456/messages:send"
        );
    }

    #[test]
    fn send_url_keeps_a_path_prefix_and_escapes_the_app_id() {
        assert_eq!(
            send_url(&client("https://proxy.internal/hms/"), "a/b?c").as_str(),
            "https://proxy.internal/hms/v1/a%2Fb%3Fc/messages:send"
        );
    }
}
