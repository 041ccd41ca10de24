//! Signing, credential checks and the auth answers (vivo.md §2).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn secret(app_id: &str, app_key: &str, app_secret: &str) -> CredentialSecret {
    CredentialSecret::VivoAppSecret {
        app_id: app_id.into(),
        app_key: app_key.into(),
        app_secret: Secret::new(app_secret),
    }
}

#[test]
fn sign_is_lowercase_md5_of_the_trimmed_concatenation() {
    // md5("10004" + "25509283-3767-4b9e-83fe-b6e55ac6243e" + "1700000000000" + "s3cr3t")
    let want = "d2b4d1f2dfafbc61e7bea5567d8980ae";
    let got = sign(
        " 10004",
        "25509283-3767-4b9e-83fe-b6e55ac6243e ",
        1_700_000_000_000,
        " s3cr3t ",
    );
    assert_eq!(got, want);
    assert_eq!(got.len(), 32);
    assert!(
        got.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn the_auth_body_never_carries_the_secret() {
    let app = AppCredential::from_secret(&secret("10004", "key-1", "s3cr3t")).unwrap();
    let body: Value = serde_json::from_slice(&app.auth_body(1_700_000_000_000)).unwrap();
    assert_eq!(body["appId"], "10004");
    assert_eq!(body["appKey"], "key-1");
    assert_eq!(body["timestamp"], 1_700_000_000_000_i64);
    assert_eq!(
        body["sign"],
        sign("10004", "key-1", 1_700_000_000_000, "s3cr3t")
    );
    assert!(!body.to_string().contains("s3cr3t"));
    assert!(!format!("{app:?}").contains("s3cr3t"));
    assert!(!format!("{app:?}").contains("key-1"));
}

#[test]
fn credentials_are_checked_offline() {
    assert!(AppCredential::from_secret(&secret("10004", "k", "s")).is_ok());
    for bad in [
        secret("", "k", "s"),
        secret("10a04", "k", "s"),
        secret("10004", "", "s"),
        secret("10004", "k y", "s"),
        secret("10004", "k", " "),
    ] {
        let err = AppCredential::from_secret(&bad).unwrap_err();
        assert!(!err.contains("s3cr3t"));
    }
    let other = CredentialSecret::HuaweiOauth {
        app_id: "1".into(),
        app_secret: Secret::new("s"),
    };
    assert!(
        AppCredential::from_secret(&other)
            .unwrap_err()
            .contains("vivo_app_secret")
    );
}

#[test]
fn auth_answers_are_classified() {
    let ok = auth_answer(200, br#"{"result":0,"desc":"ok","authToken":"tok-1"}"#, "s").unwrap();
    assert_eq!(ok.value.expose(), "tok-1");
    assert_eq!(ok.expires_in, TOKEN_LIFETIME);
    let refused = |body: &str| match auth_answer(200, body.as_bytes(), "s3cr3t") {
        Err(AuthError::Refused(r)) => r,
        other => panic!("{other:?}"),
    };
    assert!(refused(r#"{"result":10200,"desc":"appKey不合法"}"#).contains("app_key"));
    assert!(refused(r#"{"result":10206,"desc":"sign error"}"#).contains("AppSecret"));
    assert!(refused(r#"{"result":10207,"desc":"ts"}"#).contains("clock"));
    assert!(!refused(r#"{"result":10206,"desc":"bad s3cr3t"}"#).contains("s3cr3t"));
    assert!(refused(r#"{"result":0,"desc":"ok"}"#).contains("vendors.vivo.auth_url"));
    assert!(refused("<html>").contains("vendors.vivo.auth_url"));
    for (status, body) in [
        (200, r#"{"result":10250,"desc":"limit"}"#),
        (503, ""),
        (429, ""),
    ] {
        assert!(
            matches!(
                auth_answer(status, body.as_bytes(), "s"),
                Err(AuthError::Unreachable(_))
            ),
            "{status} {body}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_for_two_hours_and_the_old_one_survives_a_throttled_refresh() {
    let auth = Auth::new();
    let id = Uuid::new_v4();
    let fetches = AtomicUsize::new(0);
    let fetch = |result: Result<&'static str, AuthError>| {
        let fetches = &fetches;
        let auth = &auth;
        move || async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            match result {
                Ok(t) => {
                    let fetched = Fetched {
                        value: Secret::new(t),
                        expires_in: TOKEN_LIFETIME,
                    };
                    auth.last_tokens()
                        .insert(id, (fetched.value.clone(), Instant::now() + TOKEN_LIFETIME));
                    Ok(fetched)
                }
                Err(AuthError::Unreachable(r)) => {
                    auth.fallback(id).ok_or(AuthError::Unreachable(r))
                }
                Err(e) => Err(e),
            }
        }
    };
    let got = auth.tokens.get(&id, fetch(Ok("one"))).await.unwrap();
    assert_eq!(got.expose(), "one");
    tokio::time::advance(Duration::from_secs(3600)).await;
    let got = auth.tokens.get(&id, fetch(Ok("two"))).await.unwrap();
    assert_eq!(got.expose(), "one", "cached within 2 hours");
    tokio::time::advance(Duration::from_secs(3601)).await;
    let throttled = Err(AuthError::Unreachable("10250".into()));
    let got = auth.tokens.get(&id, fetch(throttled)).await.unwrap();
    assert_eq!(got.expose(), "one", "the still-valid token is reused");
    tokio::time::advance(Duration::from_secs(61)).await;
    let got = auth.tokens.get(&id, fetch(Ok("three"))).await.unwrap();
    assert_eq!(got.expose(), "three");
    auth.forget(id);
    let refused = Err(AuthError::Refused("10206".into()));
    assert!(auth.tokens.get(&id, fetch(refused)).await.is_err());
    assert_eq!(fetches.load(Ordering::SeqCst), 4);
}
