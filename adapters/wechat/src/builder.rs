//! Building the WeChat adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::WechatAdapter;
use crate::client::HttpClient;
use crate::config::WechatConfig;
use push_core::adapter::registry::DuplicateChannel;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
use pushgate_adapter_http::{ClientSettings, SettingError, build_client, check_url};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.wechat";

/// Why the WeChat adapter could not be built or registered.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A configuration value is wrong; the message names the key.
    #[error("{SECTION}.{field}: {reason}")]
    Config {
        /// The key, e.g. `ca_file`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another adapter already serves a WeChat channel.
    #[error(transparent)]
    Registry(#[from] DuplicateChannel),
}

fn config_error(field: &'static str, reason: impl Into<String>) -> BuildError {
    BuildError::Config {
        field,
        reason: reason.into(),
    }
}

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
        check_url("base_url", &config.base_url).map_err(setting)?;
        check_url("auth_url", &config.auth_url).map_err(setting)?;
        if config.request_timeout_seconds == 0 {
            return Err(config_error(
                "request_timeout_seconds",
                "must be at least 1",
            ));
        }
        let http = build_client(&ClientSettings {
            user_agent: concat!("pushgate-wechat/", env!("CARGO_PKG_VERSION")),
            timeout: config.request_timeout(),
            ca_file: config.ca_file.as_deref(),
            only_roots: self.only_roots.as_deref(),
            tls12_minimum: true,
        })
        .map_err(setting)?;
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

fn setting(e: SettingError) -> BuildError {
    config_error(e.field, e.reason)
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
