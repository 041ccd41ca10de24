//! Tests of the credential checks, the token endpoint's answers and the cache.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) const APP_ID: &str = "101234567";
pub(crate) const APP_SECRET: &str = "s3cr3t+/=Hu4wei-app-secret-value";

pub(crate) fn secret() -> CredentialSecret {
    CredentialSecret::HuaweiOauth {
        app_id: APP_ID.into(),
        app_secret: Secret::new(APP_SECRET),
    }
}

#[test]
fn credentials_are_checked_offline_without_showing_the_secret() {
    let app = AppCredential::from_secret(&secret()).unwrap();
    assert_eq!(app.app_id, APP_ID);
    let shown = format!("{app:?}");
    assert!(
        shown.contains(APP_ID) && !shown.contains(APP_SECRET),
        "{shown}"
    );

    let bad = |app_id: &str, app_secret: &str| {
        AppCredential::from_secret(&CredentialSecret::HuaweiOauth {
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
        })
        .unwrap_err()
    };
    for app_id in ["", "10x23", "-1", &"1".repeat(65)] {
        assert!(
            bad(app_id, APP_SECRET).contains("numeric App ID"),
            "{app_id}"
        );
    }
    assert!(bad(APP_ID, "  ").contains("app_secret is empty"));
    assert!(!bad("abc", APP_SECRET).contains(APP_SECRET));
    let other = AppCredential::from_secret(&CredentialSecret::WechatAppSecret {
        app_id: "wx1".into(),
        app_secret: Secret::new("s"),
    })
    .unwrap_err();
    assert!(other.contains("wechat_app_secret"), "{other}");
}

#[test]
fn token_answers_are_classified() {
    let ok = token_answer(
        200,
        br#"{"access_token":"CF3\/abc+def=","expires_in":3600,"token_type":"Bearer"}"#,
        APP_SECRET,
    )
    .unwrap();
    assert_eq!(
        ok.value.expose(),
        "CF3/abc+def=",
        "JSON escapes are decoded"
    );
    assert_eq!(ok.expires_in, Duration::from_secs(3600));

    let refused = |status, body: &str| match token_answer(status, body.as_bytes(), APP_SECRET) {
        Err(AuthError::Refused(r)) => r,
        other => panic!("{status} {body}: {other:?}"),
    };
    let wrong_secret = refused(
        400,
        &format!(
            r#"{{"error":1101,"sub_error":12304,"error_description":"invalid client_secret {APP_SECRET}"}}"#
        ),
    );
    assert!(
        wrong_secret.contains("1101/12304") && wrong_secret.contains("App Secret is wrong"),
        "{wrong_secret}"
    );
    assert!(!wrong_secret.contains(APP_SECRET), "{wrong_secret}");
    let unknown = refused(
        400,
        r#"{"error":1101,"sub_error":20003,"error_description":"invalid client"}"#,
    );
    assert!(unknown.contains("does not know this App ID"), "{unknown}");
    let malformed = refused(400, r#"{"error":"1101","sub_error":"20002"}"#);
    assert!(malformed.contains("malformed"), "{malformed}");
    let other = refused(401, "nope");
    assert!(other.contains("HTTP 401, error -/-"), "{other}");
    let no_token = refused(200, "<html>login</html>");
    assert!(no_token.contains("auth_url"), "{no_token}");

    for (status, want) in [(503, "flow control"), (500, "HTTP 500"), (429, "HTTP 429")] {
        match token_answer(status, b"", APP_SECRET) {
            Err(AuthError::Unreachable(r)) => assert!(r.contains(want), "{r}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn access_tokens_are_cached_until_five_minutes_before_expiry() {
    let auth = Auth::new(Url::parse("https://oauth.example/token").unwrap(), None);
    let id = Uuid::new_v4();
    let count = AtomicUsize::new(0);
    let fetch = || async {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Fetched {
            value: Secret::new(format!("access-{n}")),
            expires_in: Duration::from_secs(3600),
        })
    };
    let token = |r: Result<Secret, AuthError>| r.unwrap().expose().to_string();
    assert_eq!(token(auth.cached(id, fetch).await), "access-1");
    tokio::time::advance(Duration::from_secs(3600 - 301)).await;
    assert_eq!(token(auth.cached(id, fetch).await), "access-1");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        token(auth.cached(id, fetch).await),
        "access-2",
        "refreshed in the last 5 minutes"
    );
    auth.forget(id);
    assert_eq!(
        token(auth.cached(id, fetch).await),
        "access-3",
        "forget drops it at once"
    );
    assert_eq!(
        token(auth.cached(Uuid::new_v4(), fetch).await),
        "access-4",
        "per credential"
    );
    let failed = auth
        .cached(Uuid::new_v4(), || async {
            Err(AuthError::Unreachable("down".into()))
        })
        .await;
    assert_eq!(failed.unwrap_err(), AuthError::Unreachable("down".into()));
}
