//! Sends, per-token results, the all-invalid guard, auth and faults against the sim.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::dev::{DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET};
use push_sim::types::{
    ErrorFault, FaultSpec, HuaweiAppSpec, HuaweiAppUpdate, HuaweiTokenState, Vendor,
};
use std::time::Duration;

#[tokio::test]
async fn a_token_list_is_accepted_in_one_request() {
    let t = spawn_app().await;
    let outcomes = t
        .send(&chat_message(), &["IQAAAA-live-1", "IQAAAA-live-2"])
        .await;
    assert!(outcomes.iter().all(accepted), "{outcomes:?}");
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(
        sends[0].path,
        format!("/v1/{DEV_HUAWEI_APP_ID}/messages:send")
    );
    assert_eq!(sends[0].tokens, vec!["IQAAAA-live-1", "IQAAAA-live-2"]);
    assert_eq!(sends[0].response.status, 200);
    let body: serde_json::Value = serde_json::from_str(&sends[0].body).unwrap();
    assert_eq!(body["message"]["android"]["category"], "IM");
    assert_eq!(body["message"]["android"]["bi_tag"], "m-1");
    let again = t.send(&chat_message(), &["IQAAAA-live-3"]).await;
    assert!(accepted(&again[0]), "{again:?}");
    assert_eq!(t.token_requests(), 1, "the access token is cached");
}

#[tokio::test]
async fn partial_success_gives_each_token_its_outcome() {
    let t = spawn_app().await;
    t.token("IQAAAA-dead", HuaweiTokenState::Invalid);
    let outcomes = t
        .send(&chat_message(), &["IQAAAA-a", "IQAAAA-dead", "IQAAAA-b"])
        .await;
    assert!(
        accepted(&outcomes[0]) && accepted(&outcomes[2]),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::InvalidToken { .. }),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_partial_success_listing_hundreds_of_kilobytes_of_tokens_is_read_whole() {
    let t = spawn_app().await;
    // 1000 Huawei-sized tokens; all but every 100th are dead, so the 80100000 answer lists
    // 990 tokens of 200 characters (far over the shared client's default 64 KiB).
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            format!("IQAAAACy0kYv{i:04}{}", "AADrWtm0+ZLkp/X3lQ0xV-".repeat(9))[..200].to_string()
        })
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        if i % 100 != 0 {
            t.token(token, HuaweiTokenState::Invalid);
        }
    }
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let outcomes = t.send(&chat_message(), &refs).await;
    for (i, o) in outcomes.iter().enumerate() {
        if i % 100 == 0 {
            assert!(accepted(o), "token {i}: {o:?}");
        } else {
            assert!(
                matches!(o, Outcome::InvalidToken { reason, .. } if reason.contains("80100000")),
                "token {i}: {o:?}"
            );
        }
    }
    let sends = t.sends();
    assert_eq!(sends.len(), 1, "nothing was resent");
    assert!(sends[0].response.body.contains("80100000"));
    assert!(
        sends[0].response.body.len() > 3 * 64 * 1024,
        "{}",
        sends[0].response.body.len()
    );
}

#[tokio::test]
async fn unmapped_categories_get_huaweis_default() {
    let t = spawn_app().await;
    // The app maps only IM; ACCOUNT is Huawei's own name, ORDER is not.
    for (category, want) in [("ACCOUNT", Some("ACCOUNT")), ("ORDER", None)] {
        let mut msg = chat_message();
        msg.options.category = Some(category.into());
        let o = t.send(&msg, &["IQAAAA-1"]).await;
        assert!(accepted(&o[0]), "{category}: {o:?}");
        let sends = t.sends();
        let body: serde_json::Value = serde_json::from_str(&sends[sends.len() - 1].body).unwrap();
        assert_eq!(
            body["message"]["android"]
                .get("category")
                .and_then(|c| c.as_str()),
            want,
            "{category}"
        );
    }
}

#[tokio::test]
async fn all_invalid_deactivates_one_token_but_not_an_unproven_batch() {
    let t = spawn_app().await;
    for token in ["IQAAAA-x", "IQAAAA-y", "IQAAAA-z"] {
        t.token(token, HuaweiTokenState::Invalid);
    }
    let one = t.send(&chat_message(), &["IQAAAA-z"]).await;
    assert!(matches!(one[0], Outcome::InvalidToken { .. }), "{one:?}");
    let batch = t.send(&chat_message(), &["IQAAAA-x", "IQAAAA-y"]).await;
    for o in &batch {
        assert!(
            matches!(o, Outcome::Rejected { reason } if reason.contains("80300007") && reason.contains("App ID")),
            "{o:?}"
        );
    }
    assert!(
        t.sends()
            .iter()
            .all(|s| s.response.body.contains("80300007"))
    );
    // Once the credential has had a send accepted, an all-invalid batch is really dead.
    assert!(accepted(
        &t.send(&chat_message(), &["IQAAAA-live"]).await[0]
    ));
    let batch = t.send(&chat_message(), &["IQAAAA-x", "IQAAAA-y"]).await;
    assert!(
        batch
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{batch:?}"
    );
}

#[tokio::test]
async fn a_credential_of_another_app_wipes_nothing() {
    let t = spawn_app().await;
    t.sim
        .control()
        .add_huawei_app(HuaweiAppSpec {
            app_id: "10000002".into(),
            app_secret: "other-secret".into(),
            ..HuaweiAppSpec::default()
        })
        .unwrap();
    for token in ["IQAAAA-p", "IQAAAA-q"] {
        t.token(token, HuaweiTokenState::Active);
    }
    let wrong = credential("10000002", "other-secret");
    let outcomes = t
        .send_with(&wrong, &chat_message(), &["IQAAAA-p", "IQAAAA-q"])
        .await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated"))),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_auth_failed_then_one_refresh() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &["IQAAAA-1"]).await[0]));
    t.sim.control().expire_huawei_access_tokens();
    let refused = t.send(&chat_message(), &["IQAAAA-1", "IQAAAA-2"]).await;
    assert!(
        refused
            .iter()
            .all(|o| matches!(o, Outcome::AuthFailed { reason } if reason.contains("80200003"))),
        "{refused:?}"
    );
    t.adapter.forget_auth(t.credential.id);
    assert!(accepted(&t.send(&chat_message(), &["IQAAAA-1"]).await[0]));
    assert!(accepted(&t.send(&chat_message(), &["IQAAAA-1"]).await[0]));
    assert_eq!(t.token_requests(), 2, "exactly one refresh");
}

#[tokio::test]
async fn push_not_enabled_is_auth_failed() {
    let t = spawn_app().await;
    let update = HuaweiAppUpdate {
        push_enabled: Some(false),
        ..HuaweiAppUpdate::default()
    };
    t.sim
        .control()
        .update_huawei_app(DEV_HUAWEI_APP_ID, update)
        .unwrap();
    let o = t.send(&chat_message(), &["IQAAAA-1"]).await;
    assert!(
        matches!(&o[0], Outcome::AuthFailed { reason } if reason.contains("80300002")),
        "{o:?}"
    );
}

#[tokio::test]
async fn refused_locally_means_zero_requests() {
    let t = spawn_app().await;
    let mut big = chat_message();
    big.data.insert("blob".into(), "x".repeat(4100));
    let mut not_a_category = chat_message();
    not_a_category.overrides.insert(
        "huawei".into(),
        serde_json::json!({ "android": { "category": "CHAT" } }),
    );
    for msg in [big, not_a_category] {
        let o = t.send(&msg, &["IQAAAA-1", "IQAAAA-2"]).await;
        assert!(
            o.iter().all(|o| matches!(o, Outcome::Rejected { .. })),
            "{o:?}"
        );
    }
    assert!(t.requests().is_empty(), "no token request, no send");
}

#[tokio::test]
async fn flow_control_and_server_errors_are_retry() {
    let t = spawn_app().await;
    // Warm the access token first: the sim's token endpoint consumes a counted fault
    // (`count`) without applying it.
    assert!(accepted(&t.send(&chat_message(), &["IQAAAA-1"]).await[0]));
    for (status, reason, retry_after, want) in [
        (503, "", None, None),
        (429, "", Some("9"), Some(Duration::from_secs(9))),
        (200, "81000001", None, None),
    ] {
        let fault = FaultSpec {
            error: Some(ErrorFault {
                rate: 1.0,
                status,
                reason: reason.into(),
                retry_after: retry_after.map(str::to_string),
                count: Some(1),
            }),
            ..FaultSpec::default()
        };
        t.sim.control().set_faults(Vendor::Huawei, fault).unwrap();
        let o = t.send(&chat_message(), &["IQAAAA-1"]).await;
        assert!(
            matches!(&o[0], Outcome::Retry { after, .. } if *after == want),
            "{status}: {o:?}"
        );
        t.sim.control().clear_faults(Vendor::Huawei);
    }
    assert!(accepted(&t.send(&chat_message(), &["IQAAAA-1"]).await[0]));
}

#[tokio::test]
async fn check_credential_asks_the_token_endpoint() {
    let t = spawn_app().await;
    assert_eq!(
        t.adapter.check_credential(&t.app, &t.credential).await,
        Ok(())
    );
    let wrong = credential(DEV_HUAWEI_APP_ID, "not-the-secret");
    let err = t
        .adapter
        .check_credential(&t.app, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("12304")),
        "{err:?}"
    );
    let o = t.send_with(&wrong, &chat_message(), &["IQAAAA-1"]).await;
    let shown = format!("{o:?} {err:?} {wrong:?} {:?}", t.adapter.health());
    assert!(
        !shown.contains("not-the-secret") && !shown.contains(DEV_HUAWEI_APP_SECRET),
        "{shown}"
    );
    assert!(matches!(&o[0], Outcome::AuthFailed { .. }), "{o:?}");
    assert!(t.sends().is_empty());
}
