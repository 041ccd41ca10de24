//! Building the WeChat adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::WechatAdapter;
use crate::client::HttpClient;
use crate::config::WechatConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.wechat";

/// Builds the WeChat adapter: `WechatBuilder::new(config).build()`.
#[derive(Clone)]
pub struct WechatBuilder {
    config: WechatConfig,
    only_roots: Option<PathBuf>,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl WechatBuilder {
    /// A builder for `config`.
    pub fn new(config: WechatConfig) -> Self {
        Self {
            config,
            only_roots: None,
            shared_tokens: None,
        }
    }

    /// Keeps access tokens in `tokens`, shared with every other instance: a second
    /// instance fetching its own access_token could otherwise cut the first one's short.
    pub fn shared_tokens(mut self, tokens: Option<Arc<dyn SharedTokens>>) -> Self {
        self.shared_tokens = tokens;
        self
    }

    /// Trusts only the certificates in this PEM file (plus `ca_file`, if set) instead of
    /// adding them to the platform's roots — for tests against the simulator.
    pub fn trust_only(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.only_roots = Some(ca_pem.into());
        self
    }

    /// Checks the configuration and builds the adapter with its one shared HTTP client
    /// (rustls, TLS 1.2 or later, HTTP/2 through ALPN, no redirects).
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        let config = self.config;
        let http = build_checked_client(
            &Checked {
                section: SECTION,
                urls: &[
                    ("base_url", &config.base_url),
                    ("auth_url", &config.auth_url),
                ],
                request_timeout_seconds: config.request_timeout_seconds,
            },
            &ClientSettings {
                user_agent: concat!("pushgate-wechat/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: true,
            },
        )?;
        let timeout = config.request_timeout();
        let client = HttpClient::new(http, config.base_url, timeout);
        Ok(Arc::new(WechatAdapter::new(
            client,
            config.auth_url,
            self.shared_tokens,
        )))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `wechat_oa` and
/// `wechat_mp` channels).
pub fn register(registry: &mut AdapterRegistry, config: WechatConfig) -> Result<(), BuildError> {
    let adapter = WechatBuilder::new(config)
        .shared_tokens(registry.shared_tokens())
        .build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn build_error(json: &str) -> String {
        let c: WechatConfig = serde_json::from_str(json).unwrap();
        match WechatBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_a_wechat_adapter() {
        let adapter = WechatBuilder::new(WechatConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "wechat");
        assert_eq!(
            info.channels,
            &[push_core::Channel::WechatOa, push_core::Channel::WechatMp]
        );
        assert_eq!(info.capabilities.max_batch, 1);
        assert!(
            WechatBuilder::new(WechatConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        assert!(
            build_error(r#"{"ca_file":"/nonexistent/ca.pem"}"#)
                .starts_with("vendors.wechat.ca_file: cannot read")
        );
        assert!(
            build_error(r#"{"base_url":"ftp://api.weixin.qq.com"}"#)
                .starts_with("vendors.wechat.base_url: must be an https")
        );
        assert!(
            build_error(r#"{"auth_url":"https://a.example/t?x=1"}"#)
                .starts_with("vendors.wechat.auth_url:")
        );
        assert!(
            build_error(r#"{"request_timeout_seconds":0}"#)
                .starts_with("vendors.wechat.request_timeout_seconds")
        );
    }

    #[test]
    fn registering_serves_both_channels_once() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, WechatConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::WechatOa).is_some());
        assert!(registry.get(push_core::Channel::WechatMp).is_some());
        let err = register(&mut registry, WechatConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
