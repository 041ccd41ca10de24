//! The OPPO adapter's configuration (`[vendors.oppo]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to OPPO. OPPO has two push hosts —
//! mainland China and overseas — and the auth token is obtained on each host separately
//! (`{host}/server/v1/auth`). Each host therefore has its own auth endpoint key, `auth_url`
//! for the China host and `intl_auth_url` for the overseas one, each defaulting to that path
//! under its host; set them only when the auth endpoint lives elsewhere (a fake or proxy on
//! another host or port). Pointing pushgate at the simulator (or a proxy) needs nothing but
//! this section.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// OPPO's push host for devices registered in mainland China, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.push.oppomobile.com";
/// OPPO's push host for devices registered overseas, the default `intl_base_url`.
pub(crate) const DEFAULT_INTL_BASE_URL: &str = "https://api-intl.push.oppomobile.com";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the OPPO push adapter. Unknown keys are refused.
///
/// ```toml
/// [vendors.oppo]
/// base_url = "https://api.push.oppomobile.com"            # mainland China devices
/// intl_base_url = "https://api-intl.push.oppomobile.com"  # overseas devices
/// # default auth endpoints: {base_url}/server/v1/auth and {intl_base_url}/server/v1/auth
/// # auth_url = "https://api.push.oppomobile.com/server/v1/auth"
/// # intl_auth_url = "https://api-intl.push.oppomobile.com/server/v1/auth"
/// # ca_file = "certs/dev-ca.pem"
/// request_timeout_seconds = 10
/// ```
///
/// Receipts are requested per app (`settings.oppo.callback_url`, which carries the app's
/// secret path token), not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OppoConfig {
    /// The host for registration ids of mainland China (`CN_…`, `OPPO_CN_…` or no prefix):
    /// `/server/v1/message/notification/…` and, unless `auth_url` is set, `/server/v1/auth`
    /// go here. A path prefix is kept. Default `https://api.push.oppomobile.com`.
    pub base_url: Url,
    /// The host for every other registration id (overseas); its auth call goes here too
    /// unless `intl_auth_url` is set. Default `https://api-intl.push.oppomobile.com`.
    pub intl_base_url: Url,
    /// The China host's auth endpoint: the full URL that the signed `POST` exchanging AppKey
    /// and MasterSecret for an `auth_token` goes to (oppo.md §3); its tokens serve the sends
    /// to `base_url`. Default: unset — `{base_url}/server/v1/auth`
    /// (`https://api.push.oppomobile.com/server/v1/auth`).
    pub auth_url: Option<Url>,
    /// The overseas host's auth endpoint (full URL), whose tokens serve the sends to
    /// `intl_base_url`. Default: unset — `{intl_base_url}/server/v1/auth`
    /// (`https://api-intl.push.oppomobile.com/server/v1/auth`).
    pub intl_auth_url: Option<Url>,
    /// A PEM file of extra root certificates trusted besides the platform's. Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request (auth or send) may take, in seconds. Default 10.
    pub request_timeout_seconds: u64,
}

impl Default for OppoConfig {
    fn default() -> Self {
        Self {
            base_url: constant_url(DEFAULT_BASE_URL),
            intl_base_url: constant_url(DEFAULT_INTL_BASE_URL),
            auth_url: None,
            intl_auth_url: None,
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl OppoConfig {
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
    fn empty_section_talks_to_oppo() {
        let c: OppoConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, OppoConfig::default());
        assert_eq!(c.base_url.as_str(), "https://api.push.oppomobile.com/");
        assert_eq!(
            c.intl_base_url.as_str(),
            "https://api-intl.push.oppomobile.com/"
        );
        assert_eq!(
            (&c.auth_url, &c.intl_auth_url),
            (&None, &None),
            "derived from each host"
        );
        assert_eq!(c.ca_file, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn it_round_trips_and_refuses_unknown_keys() {
        let set = Url::parse("https://127.0.0.1:9/server/v1/auth").unwrap();
        for (auth_url, intl_auth_url) in [(None, None), (Some(set.clone()), Some(set))] {
            let c = OppoConfig {
                auth_url,
                intl_auth_url,
                ca_file: Some("certs/dev-ca.pem".into()),
                ..OppoConfig::default()
            };
            let back: OppoConfig =
                serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
            assert_eq!(back, c);
        }
        let err =
            serde_json::from_str::<OppoConfig>(r#"{"china_auth_url":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("china_auth_url"), "{err}");
    }

    #[test]
    fn each_host_takes_its_own_auth_url() {
        // The keys of PUSHGATE_VENDORS__OPPO__AUTH_URL / __INTL_AUTH_URL, as the config
        // layers hand them over: plain strings.
        let c: OppoConfig = serde_json::from_str(
            r#"{"auth_url":"https://auth.internal:9443/oppo/auth",
                "intl_auth_url":"https://auth-intl.internal:9444/auth"}"#,
        )
        .unwrap();
        assert_eq!(
            c.auth_url.as_ref().map(Url::as_str),
            Some("https://auth.internal:9443/oppo/auth")
        );
        assert_eq!(
            c.intl_auth_url.as_ref().map(Url::as_str),
            Some("https://auth-intl.internal:9444/auth")
        );
        assert_eq!(c.base_url.as_str(), "https://api.push.oppomobile.com/");
        let only_intl: OppoConfig =
            serde_json::from_str(r#"{"intl_auth_url":"https://a.example/auth"}"#).unwrap();
        assert_eq!(only_intl.auth_url, None, "each key stands alone");
        let bad = serde_json::from_str::<OppoConfig>(r#"{"intl_auth_url":"/server/v1/auth"}"#);
        assert!(bad.unwrap_err().to_string().contains("relative URL"));
    }
}
