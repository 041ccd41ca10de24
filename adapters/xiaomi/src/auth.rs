//! Xiaomi's authorization (xiaomi.md §1): there is no token exchange — no OAuth, no
//! signature, no expiry. Every request carries `Authorization: key=<AppSecret>` (lower-case
//! `key`), and `restricted_package_name` names the Android package the secret belongs to. So
//! this file only checks a `xiaomi_app_secret` credential offline and holds it; nothing is
//! cached (push-core's `TokenCache` has nothing to hold) and `forget_auth` has nothing to do.

use push_core::{App, CredentialSecret, Secret};
use std::fmt;

/// The package name and AppSecret of a `xiaomi_app_secret` credential. `Debug` shows the
/// package name only.
#[derive(Clone)]
pub(crate) struct AppCredential {
    /// The Android package (`restricted_package_name`).
    pub package_name: String,
    secret: Secret,
}

impl fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredential")
            .field("package_name", &self.package_name)
            .finish_non_exhaustive()
    }
}

impl AppCredential {
    /// The package name and secret of a credential, checked offline: the package is a dotted
    /// Android package name, the secret is present and fits an HTTP header.
    pub fn from_secret(secret: &CredentialSecret) -> Result<Self, String> {
        let CredentialSecret::XiaomiAppSecret {
            package_name,
            app_secret,
        } = secret
        else {
            return Err(format!(
                "the Xiaomi adapter needs a xiaomi_app_secret credential, not {}",
                secret.kind().as_str()
            ));
        };
        let package_name = package_name.trim();
        if !package_ok(package_name) {
            return Err("package_name must be the Android package registered with Xiaomi, a dotted name like com.example.chat".to_string());
        }
        let value = app_secret.expose().trim();
        if value.is_empty() {
            return Err("app_secret is empty: copy the AppSecret from the MiPush console (dev.mi.com → app → AppSecret)".to_string());
        }
        if value.len() > 256 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("app_secret is not an AppSecret: it must be one word without spaces (copy it from the MiPush console)".to_string());
        }
        Ok(Self {
            package_name: package_name.to_string(),
            secret: Secret::new(value),
        })
    }

    /// The credential checked against the app: when the app names its Android package
    /// (`settings.android.package_name`), the credential must be for that package —
    /// otherwise every device of the app would look invalid to Xiaomi.
    pub fn for_app(secret: &CredentialSecret, app: &App) -> Result<Self, String> {
        let credential = Self::from_secret(secret)?;
        if let Some(android) = &app.settings.android
            && android.package_name != credential.package_name
        {
            return Err(format!(
                "the credential is for package {} but app {} is {} (settings.android.package_name): upload the AppSecret of {} or fix the setting",
                credential.package_name, app.id, android.package_name, android.package_name
            ));
        }
        Ok(credential)
    }

    /// The AppSecret, for the header only.
    pub(crate) fn secret(&self) -> &str {
        self.secret.expose()
    }
}

/// A dotted Android package name: segments of letters, digits and `_`, each starting with
/// a letter, at least two segments.
fn package_ok(name: &str) -> bool {
    name.len() <= 255
        && name.split('.').count() >= 2
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(crate) const PACKAGE: &str = "com.example.chat";
    pub(crate) const APP_SECRET: &str = "cHVzaGdhdGUteGlhb21p+/Q==";

    pub(crate) fn secret(package: &str, app_secret: &str) -> CredentialSecret {
        CredentialSecret::XiaomiAppSecret {
            package_name: package.into(),
            app_secret: Secret::new(app_secret),
        }
    }

    #[test]
    fn a_good_credential_is_taken_and_its_debug_hides_the_secret() {
        let c = AppCredential::from_secret(&secret(PACKAGE, &format!(" {APP_SECRET} "))).unwrap();
        assert_eq!(c.package_name, PACKAGE);
        assert_eq!(c.secret(), APP_SECRET);
        assert!(!format!("{c:?}").contains(APP_SECRET));
    }

    #[test]
    fn bad_credentials_say_what_to_fix() {
        for (package, app_secret, says) in [
            ("chat", APP_SECRET, "package_name"),
            ("com..chat", APP_SECRET, "package_name"),
            ("com.1chat", APP_SECRET, "package_name"),
            (PACKAGE, "  ", "empty"),
            (PACKAGE, "two words", "one word"),
        ] {
            let err = AppCredential::from_secret(&secret(package, app_secret)).unwrap_err();
            assert!(err.contains(says), "{package}/{app_secret}: {err}");
            assert!(app_secret.trim().is_empty() || !err.contains(app_secret));
        }
        let other = CredentialSecret::HuaweiOauth {
            app_id: "1".into(),
            app_secret: Secret::new("x"),
        };
        assert!(
            AppCredential::from_secret(&other)
                .unwrap_err()
                .contains("xiaomi_app_secret")
        );
    }
}
