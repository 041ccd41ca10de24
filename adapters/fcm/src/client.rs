//! FCM's requests on the shared HTTP client ([`pushgate_adapter_http`]): the send URL.
//! Classifying the answers is [`crate::error`]'s job (and [`crate::auth`]'s for the token
//! endpoint).

pub(crate) use pushgate_adapter_http::{Answer, HttpClient, TransportError};
use url::Url;

/// `{base_url}/v1/projects/{project_id}/messages:send`, keeping any path prefix of the base URL and escaping the id as one path segment.
pub(crate) fn send_url(client: &HttpClient, project_id: &str) -> Url {
    client.url(&["v1", "projects", project_id, "messages:send"])
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
            "fcm",
        )
    }

    #[test]
    fn send_url_follows_the_v1_shape() {
        assert_eq!(
            send_url(&client("https://fcm.googleapis.com"), "demo-1").as_str(),
            "https://fcm.googleapis.com/v1/projects/demo-1/messages:send"
        );
    }

    #[test]
    fn send_url_keeps_a_path_prefix_and_escapes_the_project() {
        assert_eq!(
            send_url(&client("https://proxy.internal/fcm/"), "a/b?c").as_str(),
            "https://proxy.internal/fcm/v1/projects/a%2Fb%3Fc/messages:send"
        );
    }
}
