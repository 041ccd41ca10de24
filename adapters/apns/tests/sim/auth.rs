//! Authentication: provider-token expiry and renewal, refused keys and certificates, and the
//! live credential check.

use crate::helpers::*;
use push_core::adapter::{AdapterHealth, CheckError, Outcome};
use push_sim::types::{ApnsEnvironment as SimEnvironment, ApnsKeySpec, ClockShift, SettingsUpdate};
use std::time::Duration;

fn authorization_of_last(t: &TestApns) -> String {
    t.requests()
        .last()
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_expired_provider_token_fails_auth_until_forget_auth_may_mint_a_new_one() {
    let t = spawn_app().await;
    let credential = p8();
    let device = || target(&token(1), None);
    assert!(matches!(
        t.send_one(&credential, &alert(), &device()).await,
        Outcome::Accepted { .. }
    ));
    let first_jwt = authorization_of_last(&t);

    // APNs' clock runs an hour ahead: the token looks expired.
    t.sim.control().shift_clock(ClockShift { seconds: 3601 });
    let outcome = t.send_one(&credential, &alert(), &device()).await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.starts_with("APNs 403 ExpiredProviderToken")),
        "{outcome:?}"
    );
    assert!(
        matches!(t.adapter.health(), AdapterHealth::Degraded { reason } if reason.contains("ExpiredProviderToken"))
    );

    // The dispatcher's forget_auth + one retry: a token younger than 20 minutes is kept
    // (APNs punishes faster renewals), so the retry carries the same token.
    t.adapter.forget_auth(credential.id);
    assert!(matches!(
        t.send_one(&credential, &alert(), &device()).await,
        Outcome::AuthFailed { .. }
    ));
    assert_eq!(authorization_of_last(&t), first_jwt);

    // Clocks agree again; 20 minutes later forget_auth lets a new token be signed.
    t.sim.control().shift_clock(ClockShift { seconds: -3601 });
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new `iat` second
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(20 * 60 + 1)).await;
    tokio::time::resume();
    t.adapter.forget_auth(credential.id);
    let outcome = t.send_one(&credential, &alert(), &device()).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    assert_ne!(authorization_of_last(&t), first_jwt, "a new provider token");
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn a_revoked_or_foreign_key_fails_auth_with_pause_and_alert() {
    let t = spawn_app().await;
    // Same key id, another key: the signature does not verify.
    let forged = p8_with("ABC123DEFG", "sim.key");
    let outcome = t
        .send_one(&forged, &alert(), &target(&token(2), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.starts_with("APNs 403 InvalidProviderToken") && reason.contains("pause + alert")),
        "{outcome:?}"
    );
    // The real key still works: it has its own token and connections.
    assert!(matches!(
        t.send_one(&p8(), &alert(), &target(&token(2), None)).await,
        Outcome::Accepted { .. }
    ));
    assert!(t.sim.control().remove_apns_key("ABC123DEFG"));
    let revoked = t.send_one(&p8(), &alert(), &target(&token(2), None)).await;
    assert!(
        matches!(&revoked, Outcome::AuthFailed { reason } if reason.contains("InvalidProviderToken")),
        "{revoked:?}"
    );
}

#[tokio::test]
async fn an_expired_certificate_fails_auth_in_the_tls_handshake() {
    let t = spawn_app().await;
    let outcome = t
        .send_one(
            &p12("apns-cert-expired.p12"),
            &alert(),
            &target(&token(3), None),
        )
        .await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason } if reason.contains("TLS handshake")),
        "{outcome:?}"
    );
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn a_bundle_the_key_may_not_push_to_is_rejected() {
    let mut t = spawn_app().await;
    t.app.settings.apns.as_mut().unwrap().bundle_id = "com.example.other".into();
    let outcome = t.send_one(&p8(), &alert(), &target(&token(4), None)).await;
    assert!(
        matches!(&outcome, Outcome::Rejected { reason } if reason.starts_with("APNs 400 TopicDisallowed")),
        "{outcome:?}"
    );
    let check = t.adapter.check_credential(&t.app, &p8()).await;
    assert!(
        matches!(&check, Err(CheckError::Refused(reason)) if reason.contains("TopicDisallowed")),
        "{check:?}"
    );
}

#[tokio::test]
async fn check_credential_proves_keys_and_certificates_without_reaching_a_device() {
    let t = spawn_app().await;
    // Real APNs answers BadDeviceToken for the probe's fake token; so does the sim now.
    t.sim.control().update_settings(SettingsUpdate {
        accept_unknown_tokens: Some(false),
        ..Default::default()
    });
    assert_eq!(t.adapter.check_credential(&t.app, &p8()).await, Ok(()));
    assert_eq!(
        t.adapter
            .check_credential(&t.app, &p12("apns-cert.p12"))
            .await,
        Ok(())
    );
    assert_eq!(
        t.adapter
            .check_credential(&t.app, &p12("apns-cert-legacy.p12"))
            .await,
        Ok(())
    );
    let seen = t.requests();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.response.status == 400 && r.response.body.contains("BadDeviceToken"))
    );
    assert!(
        t.sim.control().apns_stored(Default::default()).is_empty(),
        "nothing was stored for a device"
    );

    let forged = t
        .adapter
        .check_credential(&t.app, &p8_with("ABC123DEFG", "sim.key"))
        .await;
    assert!(
        matches!(&forged, Err(CheckError::Refused(r)) if r.contains("InvalidProviderToken")),
        "{forged:?}"
    );
    let expired = t
        .adapter
        .check_credential(&t.app, &p12("apns-cert-expired.p12"))
        .await;
    assert!(
        matches!(&expired, Err(CheckError::Invalid(r)) if r.contains("expired")),
        "{expired:?}"
    );
}

#[tokio::test]
async fn check_credential_refuses_a_key_of_the_other_environment() {
    let t = spawn_app().await;
    t.sim
        .control()
        .add_apns_key(ApnsKeySpec {
            key_id: "SBOX123456".into(),
            team_id: "TEAM123456".into(),
            private_key_pem: Some(String::from_utf8(certs("dev-ca.key")).unwrap()),
            environments: vec![SimEnvironment::Sandbox],
            ..Default::default()
        })
        .unwrap();
    let sandbox_key = p8_with("SBOX123456", "dev-ca.key");
    let check = t.adapter.check_credential(&t.app, &sandbox_key).await;
    assert!(
        matches!(&check, Err(CheckError::Refused(r)) if r.contains("BadEnvironmentKeyIdInToken")),
        "{check:?}"
    );
    let sandbox_app = app(push_core::ApnsEnvironment::Sandbox);
    assert_eq!(
        t.adapter.check_credential(&sandbox_app, &sandbox_key).await,
        Ok(())
    );
}

#[tokio::test]
async fn check_credential_says_when_apns_cannot_be_reached() {
    let t = spawn_with(|c| c.base_url = "https://127.0.0.1:1".parse().unwrap()).await;
    let check = t.adapter.check_credential(&t.app, &p8()).await;
    assert!(
        matches!(&check, Err(CheckError::Unreachable(_))),
        "{check:?}"
    );
}
