//! The Honor adapter's configuration (`[vendors.honor]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to Honor. Pointing pushgate at the
//! simulator (or a proxy) needs nothing but this section: `base_url`, `auth_url` and
//! `ca_file`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Honor's Push Kit API host, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://push-api.cloud.honor.com";
/// Honor's OAuth 2.0 token endpoint, the default `auth_url`.
pub(crate) const DEFAULT_AUTH_URL: &str =
    "https://iam.developer.honor.com/auth/realms/developer/protocol/openid-connect/token";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the Honor Push adapter. Unknown keys are refused. It serialises
/// too, so it can sit in a layered config whose defaults are serialised (figment).
///
/// ```toml
/// [vendors.honor]
/// base_url = "https://push-api.cloud.honor.com"
/// auth_url = "https://iam.developer.honor.com/auth/realms/developer/protocol/openid-connect/token"
/// # ca_file = "certs/dev-ca.pem"     # extra trusted roots
/// request_timeout_seconds = 10
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HonorConfig {
    /// Where `POST /api/v1/{appId}/sendMessage` goes. A path prefix is kept
    /// (`https://proxy.internal/honor` sends to `https://proxy.internal/honor/api/v1/…`).
    /// Default `https://push-api.cloud.honor.com`.
    pub base_url: Url,
    /// The OAuth 2.0 token endpoint (client credentials grant). Honor documents this one;
    /// some SDKs use `https://iam.developer.honor.com/auth/token`, which works the same.
    /// Default `https://iam.developer.honor.com/auth/realms/developer/protocol/openid-connect/token`.
    pub auth_url: Url,
    /// A PEM file of extra root certificates trusted besides the platform's (a corporate
    /// proxy's CA, or `certs/dev-ca.pem` for the simulator). Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request (token exchange or send) may take, in seconds, before it
    /// counts as a network failure (`Retry`). Default 10.
    pub request_timeout_seconds: u64,
}

impl Default for HonorConfig {
    fn default() -> Self {
        Self {
            base_url: constant_url(DEFAULT_BASE_URL),
            auth_url: constant_url(DEFAULT_AUTH_URL),
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl HonorConfig {
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
    fn empty_section_talks_to_honor() {
        let c: HonorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, HonorConfig::default());
        assert_eq!(c.base_url.as_str(), "https://push-api.cloud.honor.com/");
        assert_eq!(
            c.auth_url.as_str(),
            "https://iam.developer.honor.com/auth/realms/developer/protocol/openid-connect/token"
        );
        assert_eq!(c.ca_file, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn it_round_trips_and_refuses_unknown_keys() {
        let c = HonorConfig {
            ca_file: Some("certs/dev-ca.pem".into()),
            ..HonorConfig::default()
        };
        let back: HonorConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let err = serde_json::from_str::<HonorConfig>(r#"{"token_url":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("token_url"), "{err}");
    }
}
