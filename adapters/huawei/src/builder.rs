//! Building the Huawei adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::HuaweiAdapter;
use crate::config::HuaweiConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.huawei";

/// Builds the Huawei adapter: `HuaweiBuilder::new(config).build()`.
#[derive(Clone)]
pub struct HuaweiBuilder {
    config: HuaweiConfig,
    only_roots: Option<PathBuf>,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl HuaweiBuilder {
    /// A builder for `config`.
    pub fn new(config: HuaweiConfig) -> Self {
        Self {
            config,
            only_roots: None,
            shared_tokens: None,
        }
    }

    /// Keeps access tokens in `tokens`, shared with every other instance (one OAuth exchange
    /// per credential for the whole fleet).
    pub fn shared_tokens(mut self, tokens: Option<Arc<dyn SharedTokens>>) -> Self {
        self.shared_tokens = tokens;
        self
    }

    /// Trusts only the certificates in this PEM file (plus `ca_file`, if set) instead of
    /// adding them to the platform's roots — for tests against the simulator, so nothing
    /// else could answer.
    pub fn trust_only(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.only_roots = Some(ca_pem.into());
        self
    }

    /// Checks the configuration and builds the adapter with its one shared HTTP client
    /// (rustls, TLS 1.2 or later as Huawei requires, HTTP/2 through ALPN, no redirects,
    /// `request_timeout_seconds`, answers kept up to 1 MiB for long partial-success lists).
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
                user_agent: concat!("pushgate-huawei/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: true,
            },
        )?;
        let timeout = config.request_timeout();
        // Keeps answers up to 1 MiB: a partial success lists up to 1000 illegal tokens.
        let client = crate::client::client(http, config.base_url, timeout);
        Ok(Arc::new(HuaweiAdapter::new(
            client,
            config.auth_url,
            self.shared_tokens,
        )))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `huawei` channel).
pub fn register(registry: &mut AdapterRegistry, config: HuaweiConfig) -> Result<(), BuildError> {
    let adapter = HuaweiBuilder::new(config)
        .shared_tokens(registry.shared_tokens())
        .build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn config(json: &str) -> HuaweiConfig {
        serde_json::from_str(json).unwrap()
    }

    fn build_error(c: HuaweiConfig) -> String {
        match HuaweiBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_an_fcm_adapter() {
        let adapter = HuaweiBuilder::new(HuaweiConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "huawei");
        assert_eq!(info.channels, &[push_core::Channel::Huawei]);
        assert_eq!(info.capabilities.max_batch, 1000);
        assert!(info.capabilities.per_token_results);
        assert_eq!(info.capabilities.max_payload_bytes, 4096);
    }

    #[test]
    fn a_ca_file_is_added_and_trust_only_works() {
        let c = config(&format!(r#"{{"ca_file":"{DEV_CA}"}}"#));
        assert!(HuaweiBuilder::new(c).build().is_ok());
        assert!(
            HuaweiBuilder::new(HuaweiConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        let missing = config(r#"{"ca_file":"/nonexistent/ca.pem"}"#);
        assert!(build_error(missing).starts_with("vendors.huawei.ca_file: cannot read"));
        let not_pem = config(&format!(
            r#"{{"ca_file":"{}"}}"#,
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")
        ));
        assert!(build_error(not_pem).starts_with("vendors.huawei.ca_file:"));
        let ftp = config(r#"{"base_url":"ftp://hms.example"}"#);
        assert!(build_error(ftp).starts_with("vendors.huawei.base_url: must be an https"));
        let query = config(r#"{"auth_url":"https://a.example/token?x=1"}"#);
        assert!(build_error(query).starts_with("vendors.huawei.auth_url:"));
        let zero = config(r#"{"request_timeout_seconds":0}"#);
        assert!(build_error(zero).starts_with("vendors.huawei.request_timeout_seconds"));
        let bad_url = serde_json::from_str::<HuaweiConfig>(r#"{"base_url":"not a url"}"#);
        assert!(bad_url.unwrap_err().to_string().contains("relative URL"));
    }

    #[test]
    fn registering_twice_is_refused() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, HuaweiConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::Huawei).is_some());
        let err = register(&mut registry, HuaweiConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
