//! OAuth: one token for many sends, expiry and refresh, refusals, live credential checks,
//! and secrets that never show.

use crate::helpers::*;
use futures::future::join_all;
use push_core::adapter::{AdapterHealth, CheckError, Outcome, SendRequest};
use pushgate_fcm::FcmBuilder;
use std::collections::HashSet;
use time::OffsetDateTime;

#[tokio::test]
async fn one_access_token_serves_many_concurrent_sends_on_one_connection() {
    let t = spawn_app().await;
    let msg = chat_message();
    let targets: Vec<_> = (0..20).map(|i| target(&format!("tok-{i}"))).collect();
    let now = OffsetDateTime::now_utc();
    let sends = targets.iter().map(|tg| {
        t.adapter.send(SendRequest {
            app: &t.app,
            credential: &t.credential,
            message: &msg,
            accepted_at: now,
            targets: std::slice::from_ref(tg),
        })
    });
    for results in join_all(sends).await {
        assert!(
            matches!(results[0].outcome, Outcome::Accepted { .. }),
            "{results:?}"
        );
    }
    assert_eq!(t.token_exchanges(), 1);
    let sends = t.sends();
    assert_eq!(sends.len(), 20);
    let bearers: HashSet<_> = sends.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(bearers.len(), 1);
    let connections: HashSet<_> = t.requests().iter().map(|r| r.connection).collect();
    assert_eq!(
        connections.len(),
        1,
        "HTTP/2 multiplexes everything on one connection"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_access_token_is_auth_failed_then_one_refresh_succeeds() {
    let t = spawn_app().await;
    assert!(matches!(
        t.send(&chat_message(), "tok").await,
        Outcome::Accepted { .. }
    ));
    assert!(t.sim.control().expire_fcm_access_tokens() >= 1);
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.contains("UNAUTHENTICATED")),
        "{outcome:?}"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    // What the dispatcher does after AuthFailed: forget, then try once more.
    t.adapter.forget_auth(t.credential.id);
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    assert_eq!(t.token_exchanges(), 2, "exactly one refresh");
    let sends = t.sends();
    assert_ne!(
        sends[0].header("authorization"),
        sends[2].header("authorization"),
        "a new access token"
    );
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn short_lived_access_tokens_are_refreshed_before_they_expire() {
    let t = spawn_app().await;
    t.sim
        .control()
        .update_settings(push_sim::types::SettingsUpdate {
            fcm_access_token_ttl_secs: Some(2),
            ..Default::default()
        });
    assert!(matches!(
        t.send(&chat_message(), "tok").await,
        Outcome::Accepted { .. }
    ));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Past half its life: refreshed proactively, never sent expired.
    assert!(matches!(
        t.send(&chat_message(), "tok").await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.token_exchanges(), 2);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_service_account_is_auth_failed_with_the_oauth_error() {
    let t = spawn_app().await;
    let json = service_account_json().replace(
        "pushgate@pushgate-test.iam.gserviceaccount.com",
        "deleted@pushgate-test.iam.gserviceaccount.com",
    );
    let outcome = t
        .send_with(&credential(&json), &chat_message(), "tok")
        .await;
    let Outcome::AuthFailed { reason } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("invalid_grant"), "{reason}");
    let assertion = &t.requests()[0].body;
    let jwt = assertion.split("assertion=").nth(1).unwrap();
    assert!(
        !reason.contains(jwt) && !reason.contains(&private_key_line()),
        "{reason}"
    );
    assert!(t.sends().is_empty());
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_project_the_account_does_not_own_is_auth_failed() {
    let t = spawn_app().await;
    let json = service_account_json().replace(
        "\"project_id\": \"pushgate-test\"",
        "\"project_id\": \"someone-elses\"",
    );
    assert!(json.contains("someone-elses"));
    let outcome = t
        .send_with(&credential(&json), &chat_message(), "tok")
        .await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.contains("NOT_FOUND") && reason.contains("project_id")),
        "{outcome:?}"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn check_credential_proves_the_key_with_a_dry_run() {
    let t = spawn_app().await;
    assert_eq!(
        t.adapter.check_credential(&t.app, &t.credential).await,
        Ok(())
    );
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    assert!(sends[0].dry_run, "validate_only: nothing delivered");

    let unknown = service_account_json().replace("pushgate@", "nobody@");
    let err = t
        .adapter
        .check_credential(&t.app, &credential(&unknown))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("invalid_grant")),
        "{err:?}"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_ca_file_added_to_the_platform_roots_reaches_the_sim() {
    let sim = spawn_sim().await;
    let mut config = config_for(&sim, 5);
    config.ca_file = Some(sim.ca_pem_path());
    let adapter = FcmBuilder::new(config).build().unwrap();
    let t = TestApp {
        sim,
        adapter,
        credential: credential(&service_account_json()),
        app: app(),
    };
    assert!(matches!(
        t.send(&chat_message(), "tok").await,
        Outcome::Accepted { .. }
    ));
    t.sim.shutdown().await;
}

#[tokio::test]
async fn without_the_dev_ca_the_sim_is_not_trusted() {
    let sim = spawn_sim().await;
    let other_ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/untrusted-ca.pem"
    );
    let adapter = FcmBuilder::new(config_for(&sim, 5))
        .trust_only(other_ca)
        .build()
        .unwrap();
    let t = TestApp {
        sim,
        adapter,
        credential: credential(&service_account_json()),
        app: app(),
    };
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::Retry { reason, .. } if reason.contains("token endpoint")),
        "{outcome:?}"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn nothing_shown_carries_the_key_or_an_access_token() {
    let t = spawn_app().await;
    t.sim.control().expire_fcm_access_tokens();
    let accepted = t.send(&chat_message(), "tok").await;
    t.sim.control().expire_fcm_access_tokens();
    let failed = t.send(&chat_message(), "tok").await;
    let bearer = t.sends()[0].header("authorization").unwrap().to_string();
    let access_token = bearer.trim_start_matches("Bearer ");
    let shown = format!(
        "{accepted:?} {failed:?} {:?} {:?} {:?} {:?}",
        t.adapter.health(),
        t.credential,
        config_for(&t.sim, 5),
        FcmBuilder::new(config_for(&t.sim, 5)),
    );
    assert!(!shown.contains(&private_key_line()), "{shown}");
    assert!(!shown.contains(access_token), "{shown}");
    t.sim.shutdown().await;
}
