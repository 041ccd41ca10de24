//! The WeChat adapter's configuration (`[vendors.wechat]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to WeChat. Pointing pushgate at the
//! simulator (or a proxy) needs nothing but this section: `base_url`, `auth_url` and
//! `ca_file`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// WeChat's API host, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";
/// WeChat's stable access-token endpoint, the default `auth_url`.
pub(crate) const DEFAULT_AUTH_URL: &str = "https://api.weixin.qq.com/cgi-bin/stable_token";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the WeChat adapter. Unknown keys are refused.
///
/// ```toml
/// [vendors.wechat]
/// base_url = "https://api.weixin.qq.com"
/// auth_url = "https://api.weixin.qq.com/cgi-bin/stable_token"
/// # ca_file = "certs/dev-ca.pem"     # extra trusted roots
/// request_timeout_seconds = 10
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    /// Where `/cgi-bin/message/template/send` and `/cgi-bin/message/subscribe/send` go. A
    /// path prefix is kept. Default `https://api.weixin.qq.com`.
    pub base_url: Url,
    /// The stable access-token endpoint (`POST`, JSON body, normal mode).
    /// Default `https://api.weixin.qq.com/cgi-bin/stable_token`.
    pub auth_url: Url,
    /// A PEM file of extra root certificates trusted besides the platform's (a corporate
    /// proxy's CA, or `certs/dev-ca.pem` for the simulator). Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request (token or send) may take, in seconds, before it counts as a
    /// network failure (`Retry`). Default 10.
    pub request_timeout_seconds: u64,
}

impl Default for WechatConfig {
    fn default() -> Self {
        Self {
            base_url: constant_url(DEFAULT_BASE_URL),
            auth_url: constant_url(DEFAULT_AUTH_URL),
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl WechatConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

fn constant_url(url: &str) -> Url {
    // Constant literals: they parse, and a test proves it.
    Url::parse(url).expect("default URLs are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_section_talks_to_wechat() {
        let c: WechatConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, WechatConfig::default());
        assert_eq!(c.base_url.as_str(), "https://api.weixin.qq.com/");
        assert_eq!(
            c.auth_url.as_str(),
            "https://api.weixin.qq.com/cgi-bin/stable_token"
        );
        assert_eq!(c.ca_file, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn it_round_trips_and_refuses_unknown_keys() {
        let c = WechatConfig {
            ca_file: Some("certs/dev-ca.pem".into()),
            ..WechatConfig::default()
        };
        let back: WechatConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let err = serde_json::from_str::<WechatConfig>(r#"{"token_url":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("token_url"), "{err}");
    }
}
