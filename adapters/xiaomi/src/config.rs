//! The Xiaomi adapter's configuration (`[vendors.xiaomi]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to Xiaomi's mainland-China host.
//! Pointing pushgate at the simulator (or a proxy) needs nothing but this section:
//! `base_url` and `ca_file`. Xiaomi has no auth endpoint (the AppSecret is sent on every
//! request), so there is no `auth_url`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Xiaomi's mainland-China API host, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.xmpush.xiaomi.com";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the Xiaomi MiPush adapter. Unknown keys are refused.
///
/// ```toml
/// [vendors.xiaomi]
/// base_url = "https://api.xmpush.xiaomi.com"
/// # ca_file = "certs/dev-ca.pem"     # extra trusted roots
/// request_timeout_seconds = 10
/// ```
///
/// Regional hosts (xiaomi.md §2): `https://api.xmpush.global.xiaomi.com` (global),
/// `https://fr-api.xmpush.global.xiaomi.com` (Europe), `https://ru-api.xmpush.global.xiaomi.com`
/// (Russia), `https://idmb-api.xmpush.global.xiaomi.com` (India),
/// `https://sgp-api.xmpush.global.xiaomi.com` (other overseas). A deployment serving one region
/// sets `base_url` to that host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XiaomiConfig {
    /// Where `POST /v3/message/regid` goes. A path prefix is kept
    /// (`https://proxy.internal/mi` sends to `https://proxy.internal/mi/v3/message/regid`).
    /// Default `https://api.xmpush.xiaomi.com`.
    pub base_url: Url,
    /// A PEM file of extra root certificates trusted besides the platform's (a corporate
    /// proxy's CA, or `certs/dev-ca.pem` for the simulator). Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request may take, in seconds, before it counts as a network failure
    /// (`Retry`). Default 10.
    pub request_timeout_seconds: u64,
}

impl Default for XiaomiConfig {
    fn default() -> Self {
        Self {
            base_url: constant_url(DEFAULT_BASE_URL),
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl XiaomiConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

fn constant_url(url: &str) -> Url {
    // A constant literal: it parses, and a test proves it.
    Url::parse(url).expect("the default URL is valid")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_section_talks_to_xiaomi() {
        let c: XiaomiConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, XiaomiConfig::default());
        assert_eq!(c.base_url.as_str(), "https://api.xmpush.xiaomi.com/");
        assert_eq!(c.ca_file, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn it_round_trips_and_refuses_unknown_keys() {
        let c = XiaomiConfig {
            ca_file: Some("certs/dev-ca.pem".into()),
            ..XiaomiConfig::default()
        };
        let back: XiaomiConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let err = serde_json::from_str::<XiaomiConfig>(r#"{"auth_url":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("auth_url"), "{err}");
    }
}
