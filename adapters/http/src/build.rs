//! Building the shared reqwest client and checking endpoint URLs, so a bad `ca_file` or URL
//! fails at start-up naming the key, never at the first send; and the [`BuildError`] every
//! HTTP adapter's builder answers with.

use push_core::adapter::registry::DuplicateChannel;
use reqwest::{Certificate, redirect};
use std::path::Path;
use std::time::Duration;
use url::Url;

/// A configuration value that is wrong: the key and why. Adapters prefix their section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The key, e.g. `ca_file`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Why an adapter could not be built or registered.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A configuration value is wrong; the message names the key under its section.
    #[error("{section}.{field}: {reason}")]
    Config {
        /// The adapter's config section, e.g. `vendors.honor`.
        section: &'static str,
        /// The key, e.g. `ca_file`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another adapter already serves the adapter's channel.
    #[error(transparent)]
    Registry(#[from] DuplicateChannel),
}

impl SettingError {
    /// This error under an adapter's config `section`.
    pub fn in_section(self, section: &'static str) -> BuildError {
        BuildError::Config {
            section,
            field: self.field,
            reason: self.reason,
        }
    }
}

/// What every HTTP adapter's `build` checks before it builds its client: the endpoint URLs
/// (key and value) and a whole-request timeout of at least one second.
#[derive(Debug, Clone)]
pub struct Checked<'a> {
    /// The adapter's config section, e.g. `vendors.honor`, prefixed to every error.
    pub section: &'static str,
    /// The endpoint URLs and their keys, checked in order with [`check_url`].
    pub urls: &'a [(&'static str, &'a Url)],
    /// `request_timeout_seconds` as configured.
    pub request_timeout_seconds: u64,
}

/// Checks `checked` (URLs, then the timeout), then builds the client from `settings`; every
/// error names its key under the section.
pub fn build_checked_client(
    checked: &Checked<'_>,
    settings: &ClientSettings<'_>,
) -> Result<reqwest::Client, BuildError> {
    for (field, url) in checked.urls {
        check_url(field, url).map_err(|e| e.in_section(checked.section))?;
    }
    if checked.request_timeout_seconds == 0 {
        return Err(
            wrong("request_timeout_seconds", "must be at least 1").in_section(checked.section)
        );
    }
    build_client(settings).map_err(|e| e.in_section(checked.section))
}

fn wrong(field: &'static str, reason: impl Into<String>) -> SettingError {
    SettingError {
        field,
        reason: reason.into(),
    }
}

/// What the client is built from.
#[derive(Debug, Clone)]
pub struct ClientSettings<'a> {
    /// The `User-Agent`, e.g. `pushgate-fcm/0.1.0`.
    pub user_agent: &'static str,
    /// The whole-request timeout.
    pub timeout: Duration,
    /// Extra roots trusted in addition to the system ones (`ca_file`).
    pub ca_file: Option<&'a Path>,
    /// Roots trusted instead of every other one (tests and sealed sandboxes).
    pub only_roots: Option<&'a Path>,
    /// Refuse TLS 1.0/1.1 (vendors that require 1.2).
    pub tls12_minimum: bool,
}

/// The one client an adapter shares between sends and token exchanges: rustls, HTTP/2
/// through ALPN, no redirects.
pub fn build_client(settings: &ClientSettings<'_>) -> Result<reqwest::Client, SettingError> {
    let mut http = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(redirect::Policy::none())
        .user_agent(settings.user_agent);
    if settings.tls12_minimum {
        http = http.tls_version_min(reqwest::tls::Version::TLS_1_2);
    }
    if let Some(path) = settings.ca_file {
        http = http.tls_certs_merge(read_roots("ca_file", path)?);
    }
    if let Some(path) = settings.only_roots {
        http = http.tls_certs_only(read_roots("trust_only", path)?);
    }
    http.build().map_err(|e| {
        wrong(
            "ca_file",
            format!("the HTTP client could not be built with these roots: {e}"),
        )
    })
}

/// An endpoint must be http(s), name a host, and carry no query or fragment.
pub fn check_url(field: &'static str, url: &Url) -> Result<(), SettingError> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err(wrong(
            field,
            format!("must be an https:// URL, not {}://", url.scheme()),
        ));
    }
    if url.host().is_none() {
        return Err(wrong(field, "must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(wrong(field, "must not have a query or fragment"));
    }
    Ok(())
}

fn read_roots(field: &'static str, path: &Path) -> Result<Vec<Certificate>, SettingError> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| wrong(field, format!("cannot read {shown}: {e}")))?;
    let certs = Certificate::from_pem_bundle(&pem).map_err(|e| {
        wrong(
            field,
            format!("{shown} is not a PEM certificate bundle: {e}"),
        )
    })?;
    if certs.is_empty() {
        return Err(wrong(
            field,
            format!("{shown} holds no -----BEGIN CERTIFICATE----- block"),
        ));
    }
    Ok(certs)
}
