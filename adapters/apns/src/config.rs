//! The adapter's operator configuration: where APNs is, which roots to trust, how long to
//! wait and how many connections to keep. Every field has a default, so an empty
//! `[vendors.apns]` section is a working production configuration.

use serde::Deserialize;
use std::path::PathBuf;
use url::Url;

/// Configuration of the APNs adapter (`[vendors.apns]`). Unknown fields are rejected.
///
/// Credentials are not configured here: they are per app, uploaded through the API and
/// handed to each send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApnsConfig {
    /// Base URL of the production environment (App Store, TestFlight and ad-hoc builds):
    /// `base_url` like every vendor's section (DESIGN contract 4,
    /// `PUSHGATE_VENDORS__APNS__BASE_URL`); `production_url`, its earlier name, is still
    /// read. Default `https://api.push.apple.com`.
    #[serde(alias = "production_url")]
    pub base_url: Url,
    /// Base URL of the sandbox environment (development builds).
    /// Default `https://api.sandbox.push.apple.com`.
    pub sandbox_url: Url,
    /// A PEM file of extra root certificates to trust **in addition to** the system roots,
    /// e.g. `certs/dev-ca.pem` to reach the simulator. Default: none (system roots only).
    pub ca_file: Option<PathBuf>,
    /// Whether the system roots are trusted. `false` trusts **only** `ca_file` (which is then
    /// required): for tests and sealed sandboxes, never for real APNs. Default `true`.
    pub trust_system_roots: bool,
    /// How long one request may take, connecting included, before it counts as a network
    /// failure (the outcome is `Retry`). Default 10 seconds.
    pub request_timeout_seconds: u64,
    /// How long establishing a connection (TCP + TLS) may take. Default 5 seconds.
    pub connect_timeout_seconds: u64,
    /// HTTP/2 connections kept per credential and environment. Each multiplexes many
    /// concurrent requests (up to the server's stream limit); sends are spread over them
    /// round-robin. 1 to 16. Default 2.
    pub connections_per_credential: usize,
}

impl Default for ApnsConfig {
    fn default() -> Self {
        Self {
            base_url: default_url(DEFAULT_PRODUCTION_URL),
            sandbox_url: default_url(DEFAULT_SANDBOX_URL),
            ca_file: None,
            trust_system_roots: true,
            request_timeout_seconds: 10,
            connect_timeout_seconds: 5,
            connections_per_credential: 2,
        }
    }
}

/// The real production endpoint.
pub(crate) const DEFAULT_PRODUCTION_URL: &str = "https://api.push.apple.com";
/// The real sandbox endpoint.
pub(crate) const DEFAULT_SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// Upper bound of `connections_per_credential`.
pub(crate) const MAX_CONNECTIONS_PER_CREDENTIAL: usize = 16;

fn default_url(text: &'static str) -> Url {
    // Only called with the constants above, which a test parses.
    Url::parse(text).expect("the default APNs URLs are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_apple() {
        let c = ApnsConfig::default();
        assert_eq!(c.base_url.as_str(), "https://api.push.apple.com/");
        assert_eq!(
            c.sandbox_url.as_str(),
            "https://api.sandbox.push.apple.com/"
        );
        assert_eq!(c.connections_per_credential, 2);
        assert!(c.trust_system_roots);
    }

    #[test]
    fn an_empty_section_is_the_default() {
        let c: ApnsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ApnsConfig::default());
    }

    #[test]
    fn every_field_can_be_set() {
        let c: ApnsConfig = serde_json::from_str(
            r#"{"base_url":"https://127.0.0.1:8443","sandbox_url":"https://127.0.0.1:8444",
                "ca_file":"certs/dev-ca.pem","trust_system_roots":false,
                "request_timeout_seconds":3,"connect_timeout_seconds":1,
                "connections_per_credential":1}"#,
        )
        .unwrap();
        assert_eq!(c.base_url.port(), Some(8443));
        assert_eq!(c.ca_file, Some(PathBuf::from("certs/dev-ca.pem")));
        assert_eq!(c.connections_per_credential, 1);
    }

    #[test]
    fn the_earlier_name_of_base_url_still_reads() {
        let c: ApnsConfig =
            serde_json::from_str(r#"{"production_url":"https://127.0.0.1:8445"}"#).unwrap();
        assert_eq!(c.base_url.port(), Some(8445));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<ApnsConfig>(r#"{"endpoint":"x"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `endpoint`"),
            "{err}"
        );
    }
}
