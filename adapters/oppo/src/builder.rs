//! Building the OPPO adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::OppoAdapter;
use crate::client::{Host, Hosts, HttpClient};
use crate::config::OppoConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.oppo";

/// Builds the OPPO adapter: `OppoBuilder::new(config).build()`.
#[derive(Clone)]
pub struct OppoBuilder {
    config: OppoConfig,
    only_roots: Option<PathBuf>,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl OppoBuilder {
    /// A builder for `config`.
    pub fn new(config: OppoConfig) -> Self {
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
    /// adding them to the platform's roots — for tests against the simulator.
    pub fn trust_only(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.only_roots = Some(ca_pem.into());
        self
    }

    /// Checks the configuration and builds the adapter with its one shared HTTP client
    /// (rustls, TLS 1.2 or later, HTTP/2 through ALPN, no redirects,
    /// `request_timeout_seconds`) serving both hosts.
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        let config = self.config;
        let mut urls = vec![
            ("base_url", &config.base_url),
            ("intl_base_url", &config.intl_base_url),
        ];
        if let Some(auth_url) = &config.auth_url {
            urls.push(("auth_url", auth_url));
        }
        if let Some(intl_auth_url) = &config.intl_auth_url {
            urls.push(("intl_auth_url", intl_auth_url));
        }
        let http = build_checked_client(
            &Checked {
                section: SECTION,
                urls: &urls,
                request_timeout_seconds: config.request_timeout_seconds,
            },
            &ClientSettings {
                user_agent: concat!("pushgate-oppo/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: true,
            },
        )?;
        let timeout = config.request_timeout();
        // Each host keeps its own auth endpoint; the token cache stays keyed per region, so
        // a token from one endpoint is never sent to the other host.
        let hosts = Hosts::new(
            Host::new(
                HttpClient::new(http.clone(), config.base_url, timeout, "oppo"),
                config.auth_url,
            ),
            Host::new(
                HttpClient::new(http, config.intl_base_url, timeout, "oppo"),
                config.intl_auth_url,
            ),
        );
        Ok(Arc::new(
            OppoAdapter::new(hosts).share_tokens(self.shared_tokens),
        ))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `oppo` channel).
pub fn register(registry: &mut AdapterRegistry, config: OppoConfig) -> Result<(), BuildError> {
    let adapter = OppoBuilder::new(config)
        .shared_tokens(registry.shared_tokens())
        .build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn config(json: &str) -> OppoConfig {
        serde_json::from_str(json).unwrap()
    }

    fn build_error(c: OppoConfig) -> String {
        match OppoBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_an_oppo_adapter() {
        let adapter = OppoBuilder::new(OppoConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "oppo");
        assert_eq!(info.channels, &[push_core::Channel::Oppo]);
        assert_eq!(info.capabilities.max_batch, 1000);
        assert!(info.capabilities.per_token_results);
        assert_eq!(info.capabilities.max_payload_bytes, 4096);
    }

    #[test]
    fn a_ca_file_is_added_and_trust_only_works() {
        let c = config(&format!(r#"{{"ca_file":"{DEV_CA}"}}"#));
        assert!(OppoBuilder::new(c).build().is_ok());
        assert!(
            OppoBuilder::new(OppoConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        let missing = config(r#"{"ca_file":"/nonexistent/ca.pem"}"#);
        assert!(build_error(missing).starts_with("vendors.oppo.ca_file: cannot read"));
        let ftp = config(r#"{"base_url":"ftp://oppo.example"}"#);
        assert!(build_error(ftp).starts_with("vendors.oppo.base_url: must be an https"));
        let query = config(r#"{"intl_base_url":"https://a.example/?x=1"}"#);
        assert!(build_error(query).starts_with("vendors.oppo.intl_base_url:"));
        let ftp_auth = config(r#"{"auth_url":"ftp://auth.example/server/v1/auth"}"#);
        assert!(build_error(ftp_auth).starts_with("vendors.oppo.auth_url: must be an https"));
        let query_auth = config(r#"{"intl_auth_url":"https://a.example/auth#x"}"#);
        assert!(build_error(query_auth).starts_with("vendors.oppo.intl_auth_url:"));
        let zero = config(r#"{"request_timeout_seconds":0}"#);
        assert!(build_error(zero).starts_with("vendors.oppo.request_timeout_seconds"));
    }

    #[test]
    fn registering_twice_is_refused() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, OppoConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::Oppo).is_some());
        let err = register(&mut registry, OppoConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
