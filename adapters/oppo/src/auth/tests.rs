//! Signing, the auth answer and the token cache per (credential, host).

use super::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW_MS: i64 = 1_700_000_000_000;

fn credential(app_key: &str, master_secret: &str) -> CredentialSecret {
    CredentialSecret::OppoMasterSecret {
        app_key: app_key.into(),
        master_secret: Secret::new(master_secret),
    }
}

#[test]
fn sign_is_lowercase_hex_sha256_of_the_plain_concatenation() {
    // sha256("appkey1700000000000secret"), computed independently (Python hashlib).
    assert_eq!(
        sign("appkey", 1_700_000_000_000, "secret"),
        "2e40dd50a55be3227d415931c7db4aede3b6d25cd61d8761b732d90d2ad0eb4b"
    );
    let app = AppCredential::from_secret(&credential("appkey", "secret")).unwrap();
    assert_eq!(
        app.sign(1_700_000_000_000),
        sign("appkey", 1_700_000_000_000, "secret")
    );
}

#[test]
fn credentials_are_checked_offline_and_debug_hides_the_secret() {
    let app =
        AppCredential::from_secret(&credential(" 8fa0ef0fd1fb4f6c9c1c3f4e1fb0e3d2 ", "ms-123"))
            .unwrap();
    assert_eq!(app.app_key, "8fa0ef0fd1fb4f6c9c1c3f4e1fb0e3d2");
    let shown = format!("{app:?}");
    assert!(
        shown.contains("8fa0ef") && !shown.contains("ms-123"),
        "{shown}"
    );
    for (key, secret, says) in [
        ("", "s", "app_key"),
        ("has space", "s", "app_key"),
        ("k", "", "master_secret is empty"),
        ("k", "a b", "whitespace"),
    ] {
        let err = AppCredential::from_secret(&credential(key, secret)).unwrap_err();
        assert!(err.contains(says), "{err}");
    }
    let huawei = CredentialSecret::HuaweiOauth {
        app_id: "1".into(),
        app_secret: Secret::new("x"),
    };
    assert!(
        AppCredential::from_secret(&huawei)
            .unwrap_err()
            .contains("oppo_master_secret")
    );
}

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn a_token_lives_24_hours_from_create_time() {
    let ok = token_answer(
        200,
        &body(json!({"code":0,"message":"Success","data":{"auth_token":"tok-1","create_time": NOW_MS - 60_000}})),
        NOW_MS,
        &[],
    )
    .unwrap();
    assert_eq!(ok.value.expose(), "tok-1");
    assert_eq!(ok.expires_in, Duration::from_millis(86_400_000 - 60_000));
    // Without create_time (or one in the future): 24 hours from now, never more.
    for create in [json!(null), json!(NOW_MS + 3_600_000)] {
        let ok = token_answer(
            200,
            &body(json!({"code":0,"data":{"auth_token":"t","create_time": create}})),
            NOW_MS,
            &[],
        )
        .unwrap();
        assert_eq!(ok.expires_in, Duration::from_secs(86_400));
    }
}

#[test]
fn refusals_name_what_to_fix_and_never_echo_secrets() {
    for (code, says) in [
        (14, "app_key"),
        (15, "AppKey missing"),
        (16, "MasterSecret"),
        (17, "signature missing"),
        (18, "timestamp missing"),
        (19, "clock"),
    ] {
        let err = token_answer(
            200,
            &body(json!({"code": code, "message": "bad sign for secret ms-123"})),
            NOW_MS,
            &["ms-123"],
        )
        .err()
        .unwrap();
        let AuthError::Refused(reason) = err else {
            panic!("{code}: {err:?}")
        };
        assert!(
            reason.contains(says) && reason.contains(&format!("code {code}")),
            "{reason}"
        );
        assert!(
            !reason.contains("ms-123") && reason.contains("[secret]"),
            "{reason}"
        );
    }
    for (status, b) in [
        (200, body(json!({"code": -1, "message": "busy"}))),
        (200, body(json!({"code": -2}))),
        (503, b"".to_vec()),
        (429, b"".to_vec()),
    ] {
        let err = token_answer(status, &b, NOW_MS, &[]).err().unwrap();
        assert!(
            matches!(err, AuthError::Unreachable(_)),
            "{status}: {err:?}"
        );
    }
    let err = token_answer(200, &body(json!({"code": 0, "data": {}})), NOW_MS, &[])
        .err()
        .unwrap();
    assert!(matches!(err, AuthError::Refused(r) if r.contains("without an auth_token")));
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_per_credential_and_host_and_forgotten_together() {
    let auth = Auth::new();
    let fetches = AtomicUsize::new(0);
    let id = Uuid::new_v4();
    let fetch = |name: &'static str| {
        fetches.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok::<_, AuthError>(Fetched {
                value: Secret::new(name),
                expires_in: Duration::from_secs(86_400),
            })
        }
    };
    let cn = auth
        .cached(id, Region::China, || fetch("cn"))
        .await
        .unwrap();
    let cn2 = auth
        .cached(id, Region::China, || fetch("cn-again"))
        .await
        .unwrap();
    let intl = auth
        .cached(id, Region::Overseas, || fetch("intl"))
        .await
        .unwrap();
    assert_eq!(
        (cn.expose(), cn2.expose(), intl.expose()),
        ("cn", "cn", "intl")
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // 23 h 56 min later the token is due (refreshed 5 minutes early).
    tokio::time::advance(Duration::from_secs(86_400 - 240)).await;
    let renewed = auth
        .cached(id, Region::China, || fetch("cn-2"))
        .await
        .unwrap();
    assert_eq!(renewed.expose(), "cn-2");
    auth.forget(id);
    let after = auth
        .cached(id, Region::Overseas, || fetch("intl-2"))
        .await
        .unwrap();
    assert_eq!(after.expose(), "intl-2");
}
