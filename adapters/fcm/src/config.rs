//! The FCM adapter's configuration (`[vendors.fcm]` in pushgate's config file).
//!
//! Every field has a default, so an empty section talks to Google. Pointing pushgate at the
//! simulator (or a corporate proxy) needs nothing but this section: `base_url`, `auth_url`
//! and `ca_file` — the tenants' service-account files stay as Google issued them.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Google's FCM API host, the default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
/// The default Android notification channel, `messages`.
pub(crate) const DEFAULT_ANDROID_CHANNEL_ID: &str = "messages";
/// The default request timeout, 10 seconds.
pub(crate) const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Configuration of the FCM HTTP v1 adapter. Unknown keys are refused. It serialises too,
/// so it can sit in a layered config whose defaults are serialised (figment).
///
/// ```toml
/// [vendors.fcm]
/// base_url = "https://fcm.googleapis.com"
/// # auth_url = "https://127.0.0.1:8443/token"   # replaces every token_uri
/// # ca_file = "certs/dev-ca.pem"                # extra trusted roots
/// request_timeout_seconds = 10
/// android_channel_id = "messages"
/// check_with_dry_run = true
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FcmConfig {
    /// Where `POST /v1/projects/{project_id}/messages:send` goes. A path prefix is kept
    /// (`https://proxy.internal/fcm` sends to `https://proxy.internal/fcm/v1/…`).
    /// Default `https://fcm.googleapis.com`.
    pub base_url: Url,
    /// The OAuth2 token endpoint. When set it **replaces** the `token_uri` of every
    /// service-account file, so a simulator or proxy needs no edited credentials.
    /// Default: unset — each service account's own `token_uri` (normally
    /// `https://oauth2.googleapis.com/token`; Google's when the file has none).
    pub auth_url: Option<Url>,
    /// A PEM file of extra root certificates trusted besides the platform's (a corporate
    /// proxy's CA, or `certs/dev-ca.pem` for the simulator). Default: unset.
    pub ca_file: Option<PathBuf>,
    /// Longest one HTTP request (token exchange or send) may take, in seconds, before it
    /// counts as a network failure (`Retry`). Default 10.
    pub request_timeout_seconds: u64,
    /// The Android notification channel (Android 8+) of visible notifications. The app must
    /// create it; if it has not, Android uses the manifest's default channel. An empty
    /// string sends none. A message's `overrides.fcm.android.notification.channel_id` wins.
    /// Default `messages`.
    pub android_channel_id: String,
    /// Whether `check_credential` also makes a `validate_only` (dry-run) send to a topic
    /// after obtaining an access token, which proves that the project id is right and the
    /// FCM API is enabled for the service account. Nothing is delivered. Default true.
    pub check_with_dry_run: bool,
}

impl Default for FcmConfig {
    fn default() -> Self {
        Self {
            base_url: default_base_url(),
            auth_url: None,
            ca_file: None,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
            android_channel_id: DEFAULT_ANDROID_CHANNEL_ID.to_string(),
            check_with_dry_run: true,
        }
    }
}

impl FcmConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

fn default_base_url() -> Url {
    // A constant literal: it parses, and a test proves it.
    Url::parse(DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_section_talks_to_google() {
        let c: FcmConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, FcmConfig::default());
        assert_eq!(c.base_url.as_str(), "https://fcm.googleapis.com/");
        assert_eq!(c.auth_url, None);
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
        assert_eq!(c.android_channel_id, "messages");
        assert!(c.check_with_dry_run);
    }

    #[test]
    fn it_round_trips_through_serde() {
        let c = FcmConfig {
            ca_file: Some("certs/dev-ca.pem".into()),
            ..FcmConfig::default()
        };
        let back: FcmConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_str::<FcmConfig>(r#"{"base_uri":"https://x"}"#).unwrap_err();
        assert!(err.to_string().contains("base_uri"), "{err}");
    }

    #[test]
    fn a_simulator_needs_only_config() {
        let c: FcmConfig = serde_json::from_str(
            r#"{"base_url":"https://127.0.0.1:8443","auth_url":"https://127.0.0.1:8443/token",
                "ca_file":"certs/dev-ca.pem","request_timeout_seconds":3,"android_channel_id":""}"#,
        )
        .unwrap();
        assert_eq!(c.auth_url.as_ref().unwrap().path(), "/token");
        assert_eq!(c.request_timeout(), Duration::from_secs(3));
    }
}
