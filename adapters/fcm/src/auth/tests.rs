//! Tests of the service-account parser, the RS256 assertion and the token endpoint answers.
//!
//! The assertion is verified with `tests/fixtures/fcm-service-account.pub.pem`, made from
//! `certs/fcm-service-account.json` by
//! `jq -r .private_key certs/fcm-service-account.json | openssl rsa -pubout`
//! (re-make it when `certs/make-certs.sh` is run again).

use super::*;
use jsonwebtoken::{DecodingKey, Validation};

pub(crate) const SERVICE_ACCOUNT: &str = include_str!("../../../../certs/fcm-service-account.json");
const PUBLIC_KEY: &str = include_str!("../../tests/fixtures/fcm-service-account.pub.pem");

fn private_key_body() -> String {
    let v: Value = serde_json::from_str(SERVICE_ACCOUNT).unwrap();
    let pem = v["private_key"].as_str().unwrap();
    // A line from the middle of the PEM body: what must never be shown.
    pem.lines().nth(5).unwrap().to_string()
}

fn edited(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut v: Value = serde_json::from_str(SERVICE_ACCOUNT).unwrap();
    edit(v.as_object_mut().unwrap());
    v.to_string()
}

#[test]
fn the_test_service_account_parses() {
    let sa = ServiceAccount::parse(SERVICE_ACCOUNT).unwrap();
    assert_eq!(sa.project_id, "pushgate-test");
    assert_eq!(
        sa.client_email,
        "pushgate@pushgate-test.iam.gserviceaccount.com"
    );
    assert_eq!(
        sa.private_key_id.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    let shown = format!("{sa:?}");
    assert!(!shown.contains(&private_key_body()), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

#[test]
fn the_assertion_is_rs256_with_google_claims() {
    let sa = ServiceAccount::parse(SERVICE_ACCOUNT).unwrap();
    let jwt = sa.assertion(1_700_000_000).unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(
        header.kid.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://oauth2.googleapis.com/token"]);
    validation.validate_exp = false; // issued in the past on purpose
    let claims = jsonwebtoken::decode::<Claims>(&jwt, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        claims,
        Claims {
            iss: "pushgate@pushgate-test.iam.gserviceaccount.com".into(),
            scope: "https://www.googleapis.com/auth/firebase.messaging".into(),
            aud: "https://oauth2.googleapis.com/token".into(),
            iat: 1_700_000_000,
            exp: 1_700_003_600,
        }
    );
    // base64url without padding, three segments.
    assert_eq!(jwt.split('.').count(), 3);
    assert!(!jwt.contains('=') && !jwt.contains('+') && !jwt.contains('/'));
}

#[test]
fn a_tampered_assertion_does_not_verify() {
    let other = edited(|f| {
        f.remove("private_key_id");
    });
    let sa = ServiceAccount::parse(&other).unwrap();
    let jwt = sa.assertion(1).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&jwt).unwrap().kid, None);
    let public = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let mut tampered = jwt.clone();
    tampered.pop();
    tampered.push(if jwt.ends_with('A') { 'B' } else { 'A' });
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    assert!(jsonwebtoken::decode::<Claims>(&tampered, &public, &v).is_err());
}

#[test]
fn bad_files_name_the_field_and_never_quote_the_key() {
    let body = private_key_body();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not json",
            "{\"private_key\": \"abc".into(),
            "not valid JSON",
        ),
        ("a string", format!("\"{body}\""), "JSON object"),
        (
            "wrong type",
            edited(|f| {
                f.insert("type".into(), "authorized_user".into());
            }),
            "`type`",
        ),
        (
            "no type",
            edited(|f| {
                f.remove("type");
            }),
            "`type` is missing",
        ),
        (
            "no project",
            edited(|f| {
                f.remove("project_id");
            }),
            "`project_id` is missing",
        ),
        (
            "no email",
            edited(|f| {
                f.insert("client_email".into(), "".into());
            }),
            "`client_email` is missing",
        ),
        (
            "key not a string",
            edited(|f| {
                f.insert("private_key".into(), 5.into());
            }),
            "`private_key` must be a string",
        ),
        (
            "pkcs1",
            edited(|f| {
                f.insert(
                    "private_key".into(),
                    format!(
                        "-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
                    )
                    .into(),
                );
            }),
            "PKCS#8",
        ),
        (
            "garbage pem",
            edited(|f| {
                f.insert(
                    "private_key".into(),
                    format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
                        .into(),
                );
            }),
            "`private_key`",
        ),
    ];
    for (name, json, want) in cases {
        let err = ServiceAccount::parse(&json).unwrap_err();
        assert!(err.contains(want), "{name}: {err}");
        assert!(!err.contains(&body), "{name} shows the key: {err}");
    }
}

#[test]
fn auth_url_replaces_token_uri() {
    let sa = ServiceAccount::parse(SERVICE_ACCOUNT).unwrap();
    assert_eq!(
        sa.token_url(None).unwrap().as_str(),
        "https://127.0.0.1:8443/token"
    );
    let configured = Url::parse("https://sim.local:9000/oauth/token").unwrap();
    assert_eq!(sa.token_url(Some(&configured)).unwrap(), configured);
    let no_uri = ServiceAccount::parse(&edited(|f| {
        f.remove("token_uri");
    }))
    .unwrap();
    assert_eq!(no_uri.token_url(None).unwrap().as_str(), GOOGLE_TOKEN_URL);
}

#[test]
fn token_answers_are_classified() {
    let ok = token_answer(
        200,
        br#"{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}"#,
        "x",
    )
    .unwrap();
    assert_eq!(ok.value.expose(), "ya29.abc");
    assert_eq!(ok.expires_in, Duration::from_secs(3599));

    let Err(AuthError::Refused(r)) = token_answer(
        400,
        br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature. eyJ.assert.ion"}"#,
        "eyJ.assert.ion",
    ) else {
        panic!("invalid_grant must be a refusal");
    };
    assert!(
        r.contains("invalid_grant") && r.contains("Invalid JWT Signature"),
        "{r}"
    );
    assert!(!r.contains("eyJ.assert.ion"), "{r}");

    for (status, body) in [(503, &b"<html>"[..]), (500, b""), (429, b"{}")] {
        assert!(
            matches!(
                token_answer(status, body, "x"),
                Err(AuthError::Unreachable(_))
            ),
            "{status}"
        );
    }
    let Err(AuthError::Refused(r)) = token_answer(200, b"<html>login</html>", "x") else {
        panic!("200 without a token must be a refusal");
    };
    assert!(r.contains("auth_url"), "{r}");
    let Err(AuthError::Refused(r)) = token_answer(401, b"nope", "x") else {
        panic!("401 must be a refusal");
    };
    assert!(r.contains("HTTP 401"), "{r}");
}

#[test]
fn a_wrong_credential_kind_is_refused() {
    let err = ServiceAccount::from_secret(&CredentialSecret::WechatAppSecret {
        app_id: "wx1".into(),
        app_secret: Secret::new("s"),
    })
    .unwrap_err();
    assert!(err.contains("wechat_app_secret"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn access_tokens_are_cached_until_five_minutes_before_expiry() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let auth = Auth::new(None);
    let id = Uuid::new_v4();
    let count = AtomicUsize::new(0);
    let fetch = || async {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Fetched {
            value: Secret::new(format!("ya29.token-{n}")),
            expires_in: Duration::from_secs(3599),
        })
    };
    let token = |r: Result<Secret, AuthError>| r.unwrap().expose().to_string();
    assert_eq!(token(auth.cached(id, fetch).await), "ya29.token-1");
    tokio::time::advance(Duration::from_secs(3599 - 301)).await;
    assert_eq!(token(auth.cached(id, fetch).await), "ya29.token-1");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        token(auth.cached(id, fetch).await),
        "ya29.token-2",
        "refreshed within the last 5 minutes"
    );
    auth.forget(id);
    assert_eq!(
        token(auth.cached(id, fetch).await),
        "ya29.token-3",
        "forget drops the token at once"
    );
    let failed = auth
        .cached(Uuid::new_v4(), || async {
            Err(AuthError::Unreachable("down".into()))
        })
        .await;
    assert_eq!(failed.unwrap_err(), AuthError::Unreachable("down".into()));
}
