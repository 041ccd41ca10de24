//! Building the Xiaomi adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::XiaomiAdapter;
use crate::client::FormClient;
use crate::config::XiaomiConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.xiaomi";

/// Builds the Xiaomi adapter: `XiaomiBuilder::new(config).build()`.
#[derive(Debug, Clone)]
pub struct XiaomiBuilder {
    config: XiaomiConfig,
    only_roots: Option<PathBuf>,
}

impl XiaomiBuilder {
    /// A builder for `config`.
    pub fn new(config: XiaomiConfig) -> Self {
        Self {
            config,
            only_roots: None,
        }
    }

    /// Trusts only the certificates in this PEM file (plus `ca_file`, if set) instead of
    /// adding them to the platform's roots — for tests against the simulator.
    pub fn trust_only(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.only_roots = Some(ca_pem.into());
        self
    }

    /// Checks the configuration and builds the adapter with its one shared HTTP client
    /// (rustls, TLS 1.2 or later, HTTP/2 through ALPN, no redirects,
    /// `request_timeout_seconds`).
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        let config = self.config;
        let http = build_checked_client(
            &Checked {
                section: SECTION,
                urls: &[("base_url", &config.base_url)],
                request_timeout_seconds: config.request_timeout_seconds,
            },
            &ClientSettings {
                user_agent: concat!("pushgate-xiaomi/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: true,
            },
        )?;
        let timeout = config.request_timeout();
        let client = FormClient::new(http, config.base_url, timeout);
        Ok(Arc::new(XiaomiAdapter::new(client)))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `xiaomi` channel).
pub fn register(registry: &mut AdapterRegistry, config: XiaomiConfig) -> Result<(), BuildError> {
    let adapter = XiaomiBuilder::new(config).build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn config(json: &str) -> XiaomiConfig {
        serde_json::from_str(json).unwrap()
    }

    fn build_error(c: XiaomiConfig) -> String {
        match XiaomiBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_a_xiaomi_adapter() {
        let adapter = XiaomiBuilder::new(XiaomiConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "xiaomi");
        assert_eq!(info.channels, &[push_core::Channel::Xiaomi]);
        assert_eq!(info.capabilities.max_batch, 1000);
        assert!(info.capabilities.per_token_results);
        assert_eq!(info.capabilities.max_payload_bytes, 4095);
    }

    #[test]
    fn a_ca_file_is_added_and_trust_only_works() {
        let c = config(&format!(r#"{{"ca_file":"{DEV_CA}"}}"#));
        assert!(XiaomiBuilder::new(c).build().is_ok());
        assert!(
            XiaomiBuilder::new(XiaomiConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        let missing = config(r#"{"ca_file":"/nonexistent/ca.pem"}"#);
        assert!(build_error(missing).starts_with("vendors.xiaomi.ca_file: cannot read"));
        let ftp = config(r#"{"base_url":"ftp://mi.example"}"#);
        assert!(build_error(ftp).starts_with("vendors.xiaomi.base_url: must be an https"));
        let zero = config(r#"{"request_timeout_seconds":0}"#);
        assert!(build_error(zero).starts_with("vendors.xiaomi.request_timeout_seconds"));
    }

    #[test]
    fn registering_twice_is_refused() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, XiaomiConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::Xiaomi).is_some());
        let err = register(&mut registry, XiaomiConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
