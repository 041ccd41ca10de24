//! Building the vivo adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::VivoAdapter;
use crate::client::VivoClient;
use crate::config::VivoConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.vivo";

/// Builds the vivo adapter: `VivoBuilder::new(config).build()`.
#[derive(Clone)]
pub struct VivoBuilder {
    config: VivoConfig,
    only_roots: Option<PathBuf>,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl VivoBuilder {
    /// A builder for `config`.
    pub fn new(config: VivoConfig) -> Self {
        Self {
            config,
            only_roots: None,
            shared_tokens: None,
        }
    }

    /// Keeps auth tokens in `tokens`, shared with every other instance.
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
    /// (rustls, TLS 1.2 or later, HTTP/2 through ALPN, no redirects,
    /// `request_timeout_seconds`).
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        let config = self.config;
        let mut urls = vec![("base_url", &config.base_url)];
        if let Some(auth_url) = &config.auth_url {
            urls.push(("auth_url", auth_url));
        }
        let http = build_checked_client(
            &Checked {
                section: SECTION,
                urls: &urls,
                request_timeout_seconds: config.request_timeout_seconds,
            },
            &ClientSettings {
                user_agent: concat!("pushgate-vivo/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: true,
            },
        )?;
        let timeout = config.request_timeout();
        let client = VivoClient::new(http, config.base_url, config.auth_url, timeout);
        Ok(Arc::new(
            VivoAdapter::new(client).share_tokens(self.shared_tokens),
        ))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `vivo` channel).
pub fn register(registry: &mut AdapterRegistry, config: VivoConfig) -> Result<(), BuildError> {
    let adapter = VivoBuilder::new(config)
        .shared_tokens(registry.shared_tokens())
        .build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn config(json: &str) -> VivoConfig {
        serde_json::from_str(json).unwrap()
    }

    fn build_error(c: VivoConfig) -> String {
        match VivoBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_a_vivo_adapter() {
        let adapter = VivoBuilder::new(VivoConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "vivo");
        assert_eq!(info.channels, &[push_core::Channel::Vivo]);
        assert_eq!(info.capabilities.max_batch, 1000);
        assert!(info.capabilities.per_token_results);
        assert_eq!(info.capabilities.max_payload_bytes, 1024);
    }

    #[test]
    fn a_ca_file_is_added_and_trust_only_works() {
        let c = config(&format!(r#"{{"ca_file":"{DEV_CA}"}}"#));
        assert!(VivoBuilder::new(c).build().is_ok());
        assert!(
            VivoBuilder::new(VivoConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        let missing = config(r#"{"ca_file":"/nonexistent/ca.pem"}"#);
        assert!(build_error(missing).starts_with("vendors.vivo.ca_file: cannot read"));
        let not_pem = config(&format!(
            r#"{{"ca_file":"{}"}}"#,
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")
        ));
        assert!(build_error(not_pem).starts_with("vendors.vivo.ca_file:"));
        let ftp = config(r#"{"base_url":"ftp://hms.example"}"#);
        assert!(build_error(ftp).starts_with("vendors.vivo.base_url: must be an https"));
        let query = config(r#"{"base_url":"https://a.example/x?y=1"}"#);
        assert!(build_error(query).starts_with("vendors.vivo.base_url:"));
        let ftp_auth = config(r#"{"auth_url":"ftp://auth.example/message/auth"}"#);
        assert!(build_error(ftp_auth).starts_with("vendors.vivo.auth_url: must be an https"));
        let query_auth = config(r#"{"auth_url":"https://auth.example/auth?x=1"}"#);
        assert!(build_error(query_auth).starts_with("vendors.vivo.auth_url:"));
        let zero = config(r#"{"request_timeout_seconds":0}"#);
        assert!(build_error(zero).starts_with("vendors.vivo.request_timeout_seconds"));
        let bad_url = serde_json::from_str::<VivoConfig>(r#"{"base_url":"not a url"}"#);
        assert!(bad_url.unwrap_err().to_string().contains("relative URL"));
    }

    #[test]
    fn registering_twice_is_refused() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, VivoConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::Vivo).is_some());
        let err = register(&mut registry, VivoConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
