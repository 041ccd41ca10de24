//! The vivo adapter's configuration (`[vendors.vivo]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to vivo. vivo's auth call lives on the
//! same host as the sends (`/message/auth`), so `auth_url` defaults to that path under
//! `base_url`; setting it sends the auth call elsewhere (a fake or proxy with the auth
//! endpoint on another host or port). Pointing pushgate at the simulator (or a proxy) needs
//! nothing but this section: `base_url`, optionally `auth_url`, and `ca_file`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// vivo push's API host, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api-push.vivo.com.cn";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the vivo push adapter. Unknown keys are refused.
///
/// ```toml
/// [vendors.vivo]
/// base_url = "https://api-push.vivo.com.cn"
/// # auth_url = "https://api-push.vivo.com.cn/message/auth"   # default: {base_url}/message/auth
/// # ca_file = "certs/dev-ca.pem"     # extra trusted roots
/// request_timeout_seconds = 10
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VivoConfig {
    /// Where `/message/send`, `/message/saveListPayload`, `/message/pushToList` and, unless
    /// `auth_url` is set, `/message/auth` go. A path prefix is kept.
    /// Default `https://api-push.vivo.com.cn`.
    pub base_url: Url,
    /// The auth endpoint: the full URL that the signed `POST` exchanging AppID, AppKey and
    /// AppSecret for an `authToken` goes to (vivo.md §2). Default: unset —
    /// `{base_url}/message/auth` (`https://api-push.vivo.com.cn/message/auth`).
    pub auth_url: Option<Url>,
    /// A PEM file of extra root certificates trusted besides the platform's (a corporate
    /// proxy's CA, or `certs/dev-ca.pem` for the simulator). Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request (auth or send) may take, in seconds, before it counts as a
    /// network failure (`Retry`). Default 10.
    pub request_timeout_seconds: u64,
}

impl Default for VivoConfig {
    fn default() -> Self {
        Self {
            base_url: constant_url(DEFAULT_BASE_URL),
            auth_url: None,
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl VivoConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

fn constant_url(url: &str) -> Url {
    // A constant literal: it parses, and a test proves it.
    Url::parse(url).expect("default URLs are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_section_talks_to_vivo() {
        let c: VivoConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, VivoConfig::default());
        assert_eq!(c.base_url.as_str(), "https://api-push.vivo.com.cn/");
        assert_eq!(c.auth_url, None, "derived from base_url");
        assert_eq!(c.ca_file, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn it_round_trips_and_refuses_unknown_keys() {
        for auth_url in [
            None,
            Some(Url::parse("https://127.0.0.1:9/message/auth").unwrap()),
        ] {
            let c = VivoConfig {
                auth_url,
                ca_file: Some("certs/dev-ca.pem".into()),
                ..VivoConfig::default()
            };
            let back: VivoConfig =
                serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
            assert_eq!(back, c);
        }
        let err = serde_json::from_str::<VivoConfig>(r#"{"token_url":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("token_url"), "{err}");
    }

    #[test]
    fn an_auth_url_on_another_host_is_accepted() {
        // The keys of PUSHGATE_VENDORS__VIVO__BASE_URL / __AUTH_URL, as the config layers
        // hand them over: plain strings.
        let c: VivoConfig = serde_json::from_str(
            r#"{"base_url":"https://127.0.0.1:8449","auth_url":"https://auth.internal:9443/vivo/auth"}"#,
        )
        .unwrap();
        assert_eq!(c.base_url.as_str(), "https://127.0.0.1:8449/");
        assert_eq!(
            c.auth_url.as_ref().map(Url::as_str),
            Some("https://auth.internal:9443/vivo/auth")
        );
        let bad = serde_json::from_str::<VivoConfig>(r#"{"auth_url":"/message/auth"}"#);
        assert!(bad.unwrap_err().to_string().contains("relative URL"));
    }
}
