//! Building the FCM adapter from its configuration: every check happens here, so a bad
//! `ca_file` or URL fails at start-up naming the key, never at the first send.

use crate::adapter::FcmAdapter;
use crate::client::HttpClient;
use crate::config::FcmConfig;
use push_core::adapter::{Adapter, AdapterRegistry};
pub use pushgate_adapter_http::BuildError;
use pushgate_adapter_http::{Checked, ClientSettings, build_checked_client};
use std::path::PathBuf;
use std::sync::Arc;

/// The config section, for error messages.
const SECTION: &str = "vendors.fcm";

/// Builds the FCM adapter: `FcmBuilder::new(config).build()`.
#[derive(Debug, Clone)]
pub struct FcmBuilder {
    config: FcmConfig,
    only_roots: Option<PathBuf>,
}

impl FcmBuilder {
    /// A builder for `config`.
    pub fn new(config: FcmConfig) -> Self {
        Self {
            config,
            only_roots: None,
        }
    }

    /// Trusts only the certificates in this PEM file (plus `ca_file`, if set) instead of
    /// adding them to the platform's roots — for tests against the simulator, so nothing
    /// else could answer.
    pub fn trust_only(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.only_roots = Some(ca_pem.into());
        self
    }

    /// Checks the configuration and builds the adapter with its one shared HTTP client
    /// (rustls, HTTP/2 through ALPN, no redirects, `request_timeout_seconds`).
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        let config = self.config;
        let mut urls = vec![("base_url", &config.base_url)];
        if let Some(url) = &config.auth_url {
            urls.push(("auth_url", url));
        }
        let http = build_checked_client(
            &Checked {
                section: SECTION,
                urls: &urls,
                request_timeout_seconds: config.request_timeout_seconds,
            },
            &ClientSettings {
                user_agent: concat!("pushgate-fcm/", env!("CARGO_PKG_VERSION")),
                timeout: config.request_timeout(),
                ca_file: config.ca_file.as_deref(),
                only_roots: self.only_roots.as_deref(),
                tls12_minimum: false,
            },
        )?;
        let timeout = config.request_timeout();
        let client = HttpClient::new(http, config.base_url, timeout, "fcm");
        Ok(Arc::new(FcmAdapter::new(
            client,
            config.auth_url,
            config.android_channel_id,
            config.check_with_dry_run,
        )))
    }
}

/// Builds the adapter from `config` and adds it to the registry (the `fcm` channel).
pub fn register(registry: &mut AdapterRegistry, config: FcmConfig) -> Result<(), BuildError> {
    let adapter = FcmBuilder::new(config).build()?;
    registry.register(adapter)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/dev-ca.pem");

    fn config(json: &str) -> FcmConfig {
        serde_json::from_str(json).unwrap()
    }

    fn build_error(c: FcmConfig) -> String {
        match FcmBuilder::new(c).build() {
            Ok(_) => panic!("should not build"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_default_config_builds_an_fcm_adapter() {
        let adapter = FcmBuilder::new(FcmConfig::default()).build().unwrap();
        let info = adapter.info();
        assert_eq!(info.vendor, "fcm");
        assert_eq!(info.channels, &[push_core::Channel::Fcm]);
        assert_eq!(info.capabilities.max_batch, 1);
        assert_eq!(info.capabilities.max_payload_bytes, 4096);
    }

    #[test]
    fn a_ca_file_is_added_and_trust_only_works() {
        let c = config(&format!(r#"{{"ca_file":"{DEV_CA}"}}"#));
        assert!(FcmBuilder::new(c).build().is_ok());
        assert!(
            FcmBuilder::new(FcmConfig::default())
                .trust_only(DEV_CA)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_values_fail_at_build_naming_the_key() {
        let missing = config(r#"{"ca_file":"/nonexistent/ca.pem"}"#);
        assert!(build_error(missing).starts_with("vendors.fcm.ca_file: cannot read"));
        let not_pem = config(&format!(
            r#"{{"ca_file":"{}"}}"#,
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")
        ));
        assert!(build_error(not_pem).starts_with("vendors.fcm.ca_file:"));
        let ftp = config(r#"{"base_url":"ftp://fcm.example"}"#);
        assert!(build_error(ftp).starts_with("vendors.fcm.base_url: must be an https"));
        let query = config(r#"{"auth_url":"https://a.example/token?x=1"}"#);
        assert!(build_error(query).starts_with("vendors.fcm.auth_url:"));
        let zero = config(r#"{"request_timeout_seconds":0}"#);
        assert!(build_error(zero).starts_with("vendors.fcm.request_timeout_seconds"));
        let bad_url = serde_json::from_str::<FcmConfig>(r#"{"base_url":"not a url"}"#);
        assert!(bad_url.unwrap_err().to_string().contains("relative URL"));
    }

    #[test]
    fn registering_twice_is_refused() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, FcmConfig::default()).unwrap();
        assert!(registry.get(push_core::Channel::Fcm).is_some());
        let err = register(&mut registry, FcmConfig::default()).unwrap_err();
        assert!(matches!(err, BuildError::Registry(_)), "{err}");
    }
}
