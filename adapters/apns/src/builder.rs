//! Turning an [`ApnsConfig`] into a working adapter: every field is checked here, so a bad
//! URL or CA file stops pushgate at start-up, naming the field, and never surfaces at the
//! first send.

use crate::adapter::{ApnsAdapter, Endpoints};
use crate::auth::system_clock;
use crate::client::ClientFactory;
use crate::config::{ApnsConfig, MAX_CONNECTIONS_PER_CREDENTIAL};
use push_core::adapter::registry::DuplicateChannel;
use push_core::adapter::{Adapter, AdapterRegistry};
use push_core::token_cache::SharedTokens;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Why the adapter could not be built or registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A configuration field is wrong; `field` is its name in `[vendors.apns]`.
    #[error("[vendors.apns] {field}: {message}")]
    Config {
        /// The field, e.g. `ca_file`.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Another adapter already serves the APNs channel.
    #[error(transparent)]
    Registry(#[from] DuplicateChannel),
}

fn config_error(field: &'static str, message: impl Into<String>) -> BuildError {
    BuildError::Config {
        field,
        message: message.into(),
    }
}

/// Builds the APNs adapter from its configuration.
///
/// ```no_run
/// # fn main() -> Result<(), pushgate_apns::BuildError> {
/// let adapter = pushgate_apns::ApnsBuilder::new(pushgate_apns::ApnsConfig::default()).build()?;
/// # let _ = adapter; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApnsBuilder {
    config: ApnsConfig,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl ApnsBuilder {
    /// A builder for `config`.
    pub fn new(config: ApnsConfig) -> Self {
        Self {
            config,
            shared_tokens: None,
        }
    }

    /// Keeps provider tokens in `tokens`, shared with every other instance.
    pub fn shared_tokens(mut self, tokens: Option<Arc<dyn SharedTokens>>) -> Self {
        self.shared_tokens = tokens;
        self
    }

    /// Checks the configuration, loads `ca_file` and builds the adapter. Connections are
    /// opened lazily, per credential, at the first send.
    pub fn build(self) -> Result<Arc<dyn Adapter>, BuildError> {
        Ok(Arc::new(self.build_adapter()?))
    }

    /// [`ApnsBuilder::build`], keeping the concrete type (for this crate's tests).
    pub(crate) fn build_adapter(self) -> Result<ApnsAdapter, BuildError> {
        let c = self.config;
        let endpoints = Endpoints {
            production: base_url(&c.base_url, "base_url")?,
            sandbox: base_url(&c.sandbox_url, "sandbox_url")?,
        };
        if !(1..=MAX_CONNECTIONS_PER_CREDENTIAL).contains(&c.connections_per_credential) {
            return Err(config_error(
                "connections_per_credential",
                format!("must be 1 to {MAX_CONNECTIONS_PER_CREDENTIAL}"),
            ));
        }
        for (field, value) in [
            ("request_timeout_seconds", c.request_timeout_seconds),
            ("connect_timeout_seconds", c.connect_timeout_seconds),
        ] {
            if value == 0 {
                return Err(config_error(field, "must be at least 1 second"));
            }
        }
        let roots = match &c.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    config_error("ca_file", format!("cannot read {}: {e}", path.display()))
                })?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
                    config_error(
                        "ca_file",
                        format!("{} is not a PEM certificate bundle", path.display()),
                    )
                })?;
                if roots.is_empty() {
                    return Err(config_error(
                        "ca_file",
                        format!("{} holds no certificate", path.display()),
                    ));
                }
                roots
            }
            None if !c.trust_system_roots => {
                return Err(config_error(
                    "trust_system_roots",
                    "false trusts only ca_file, so set ca_file (or set this back to true)",
                ));
            }
            None => Vec::new(),
        };
        let factory = ClientFactory {
            roots,
            trust_system_roots: c.trust_system_roots,
            request_timeout: Duration::from_secs(c.request_timeout_seconds),
            connect_timeout: Duration::from_secs(c.connect_timeout_seconds),
        };
        // Build one client now so a TLS set-up problem (an unusable root) fails here.
        factory.client(None).map_err(|e| {
            config_error("ca_file", format!("the TLS configuration is unusable: {e}"))
        })?;
        Ok(ApnsAdapter::new(
            endpoints,
            factory,
            c.connections_per_credential,
            system_clock(),
        )
        .share_tokens(self.shared_tokens))
    }
}

/// Builds the adapter and adds it to `registry` for the `apns` channel: the binary's
/// explicit registration list calls this.
pub fn register(registry: &mut AdapterRegistry, config: ApnsConfig) -> Result<(), BuildError> {
    let adapter = ApnsBuilder::new(config)
        .shared_tokens(registry.shared_tokens())
        .build()?;
    registry.register(adapter)?;
    Ok(())
}

/// A base URL checked and normalised to end with `/`.
fn base_url(url: &Url, field: &'static str) -> Result<Url, BuildError> {
    if url.scheme() != "https" {
        return Err(config_error(
            field,
            "must be an https:// URL (APNs is HTTP/2 over TLS)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(config_error(field, "must name a host"));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(config_error(
            field,
            "must not carry a query, fragment or credentials",
        ));
    }
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use push_core::Channel;
    use std::path::PathBuf;

    fn certs(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs")).join(name)
    }

    fn field_of(err: BuildError) -> &'static str {
        match err {
            BuildError::Config { field, .. } => field,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn the_default_configuration_builds() {
        assert!(ApnsBuilder::new(ApnsConfig::default()).build().is_ok());
    }

    #[test]
    fn the_dev_ca_can_be_added_or_trusted_alone() {
        let merged = ApnsConfig {
            ca_file: Some(certs("dev-ca.pem")),
            ..Default::default()
        };
        assert!(ApnsBuilder::new(merged.clone()).build().is_ok());
        let only = ApnsConfig {
            trust_system_roots: false,
            ..merged
        };
        assert!(ApnsBuilder::new(only).build().is_ok());
    }

    #[test]
    fn bad_ca_files_name_the_field() {
        for path in [certs("missing.pem"), certs("README.md")] {
            let config = ApnsConfig {
                ca_file: Some(path),
                ..Default::default()
            };
            let err = ApnsBuilder::new(config).build().err().unwrap();
            assert_eq!(field_of(err.clone()), "ca_file", "{err}");
            assert!(
                err.to_string().starts_with("[vendors.apns] ca_file: "),
                "{err}"
            );
        }
        let config = ApnsConfig {
            trust_system_roots: false,
            ..Default::default()
        };
        assert_eq!(
            field_of(ApnsBuilder::new(config).build().err().unwrap()),
            "trust_system_roots"
        );
    }

    #[test]
    fn bad_urls_and_numbers_name_the_field() {
        let http = ApnsConfig {
            sandbox_url: Url::parse("http://127.0.0.1:1").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            field_of(ApnsBuilder::new(http).build().err().unwrap()),
            "sandbox_url"
        );
        let query = ApnsConfig {
            base_url: Url::parse("https://h/?a=1").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            field_of(ApnsBuilder::new(query).build().err().unwrap()),
            "base_url"
        );
        let zero = ApnsConfig {
            connections_per_credential: 0,
            ..Default::default()
        };
        assert_eq!(
            field_of(ApnsBuilder::new(zero).build().err().unwrap()),
            "connections_per_credential"
        );
        let slow = ApnsConfig {
            request_timeout_seconds: 0,
            ..Default::default()
        };
        assert_eq!(
            field_of(ApnsBuilder::new(slow).build().err().unwrap()),
            "request_timeout_seconds"
        );
    }

    #[test]
    fn base_urls_end_with_a_slash() {
        let u = base_url(&Url::parse("https://127.0.0.1:9/apns").unwrap(), "f").unwrap();
        assert_eq!(u.as_str(), "https://127.0.0.1:9/apns/");
    }

    #[test]
    fn register_adds_the_apns_channel_once() {
        let mut registry = AdapterRegistry::new();
        register(&mut registry, ApnsConfig::default()).unwrap();
        assert!(registry.get(Channel::Apns).is_some());
        let again = register(&mut registry, ApnsConfig::default());
        assert!(matches!(again, Err(BuildError::Registry(_))));
    }
}
