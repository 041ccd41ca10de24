//! Sends, per-regid results, the no-valid-targets guard, auth, quotas and faults against the
//! sim.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::dev::{
    DEV_XIAOMI_APP_ID, DEV_XIAOMI_APP_SECRET, DEV_XIAOMI_PACKAGE, DEV_XIAOMI_PRIVATE_CHANNEL,
    DEV_XIAOMI_PUBLIC_CHANNEL,
};
use push_sim::types::{
    ErrorFault, FaultSpec, Vendor, XiaomiAppUpdate, XiaomiTokenSpec, XiaomiTokenState,
};
use std::time::Duration;

#[tokio::test]
async fn a_regid_batch_is_accepted_in_one_form_request() {
    let t = spawn_app().await;
    let (a, b) = (regid(1), regid(2));
    let outcomes = t.send(&chat_message(), &[&a, &b]).await;
    assert!(outcomes.iter().all(accepted), "{outcomes:?}");
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    let s = &sends[0];
    assert_eq!(s.path, "/v3/message/regid");
    assert_eq!(s.tokens, vec![a.clone(), b.clone()]);
    assert_eq!(s.topic.as_deref(), Some(DEV_XIAOMI_APP_ID));
    assert_eq!(
        s.header("authorization"),
        Some(format!("key={DEV_XIAOMI_APP_SECRET}").as_str())
    );
    assert!(
        s.header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert!(
        s.body.contains("%2F%2F") && s.body.contains("%2B"),
        "regids are percent-encoded: {}",
        s.body
    );
    let f = form(s);
    assert_eq!(f["registration_id"], format!("{a},{b}"));
    assert_eq!(f["restricted_package_name"], DEV_XIAOMI_PACKAGE);
    assert_eq!(f["extra.channel_id"], "110001");
    assert_eq!(f["extra.callback.param"], "m-1");
    assert_eq!(f["extra.callback.type"], "1267");
    let answer: serde_json::Value = serde_json::from_str(&s.response.body).unwrap();
    assert_eq!(answer["result"], "ok");
    let id = answer["data"]["id"].as_str().unwrap();
    assert!(
        matches!(&outcomes[0], Outcome::Accepted { vendor_message_id: Some(v) } if v == id),
        "{outcomes:?}"
    );
    assert_eq!(answer["description"], "成功");
    assert!(answer["trace_id"].as_str().is_some());
}

#[tokio::test]
async fn bad_regids_give_each_token_its_outcome() {
    let t = spawn_app().await;
    let dead = regid(9);
    t.token(&dead, XiaomiTokenState::Uninstalled);
    let (a, b) = (regid(1), regid(2));
    let outcomes = t.send(&chat_message(), &[&a, &dead, &b]).await;
    assert!(
        accepted(&outcomes[0]) && accepted(&outcomes[2]),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], Outcome::InvalidToken { reason, .. } if reason.contains("bad_regids")),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn no_valid_targets_deactivates_one_regid_but_not_an_unproven_batch() {
    let t = spawn_app().await;
    let (x, y, z) = (regid(21), regid(22), regid(23));
    for r in [&x, &y, &z] {
        t.token(r, XiaomiTokenState::Uninstalled);
    }
    let one = t.send(&chat_message(), &[&z]).await;
    assert!(matches!(one[0], Outcome::InvalidToken { .. }), "{one:?}");
    let batch = t.send(&chat_message(), &[&x, &y]).await;
    for o in &batch {
        assert!(
            matches!(o, Outcome::Rejected { reason } if reason.contains("20301") && reason.contains("package_name") && reason.contains("No valid targets!")),
            "{o:?}"
        );
    }
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
    // Once the credential has had a send accepted, an all-invalid batch is really dead.
    assert!(accepted(&t.send(&chat_message(), &[&regid(24)]).await[0]));
    let batch = t.send(&chat_message(), &[&x, &y]).await;
    assert!(
        batch
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{batch:?}"
    );
}

#[tokio::test]
async fn regids_of_another_package_wipe_nothing() {
    let t = spawn_app().await;
    for n in [31, 32] {
        t.sim
            .control()
            .set_xiaomi_token(XiaomiTokenSpec {
                package_name: "com.example.other".into(),
                regid: regid(n),
                state: XiaomiTokenState::Active,
                receipt_type: None,
                clicked: false,
            })
            .unwrap();
    }
    let outcomes = t.send(&chat_message(), &[&regid(31), &regid(32)]).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated"))),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_wrong_secret_or_package_is_auth_failed_and_never_shown() {
    let t = spawn_app().await;
    assert_eq!(
        t.adapter.check_credential(&t.app, &t.credential).await,
        Ok(())
    );
    assert!(
        t.sends().iter().all(|s| s.tokens.is_empty()),
        "nothing was sent"
    );
    let wrong = credential(DEV_XIAOMI_PACKAGE, "not-the-secret");
    let err = t
        .adapter
        .check_credential(&t.app, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("21301")),
        "{err:?}"
    );
    let o = t.send_with(&wrong, &chat_message(), &[&regid(1)]).await;
    assert!(
        matches!(&o[0], Outcome::AuthFailed { reason } if reason.contains("21301")),
        "{o:?}"
    );
    let shown = format!(
        "{o:?} {err:?} {wrong:?} {:?} {:?}",
        t.adapter.health(),
        t.credential
    );
    assert!(
        !shown.contains("not-the-secret") && !shown.contains(DEV_XIAOMI_APP_SECRET),
        "{shown}"
    );
    // The secret's app has no such package: 22022, nothing deactivated.
    let mut other_app = app(None);
    other_app.settings.android = None;
    let other_package = credential("com.example.other", DEV_XIAOMI_APP_SECRET);
    let err = t
        .adapter
        .check_credential(&other_app, &other_package)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("22022")),
        "{err:?}"
    );
    // A credential for another package than the app's is refused before any request.
    let before = t.sends().len();
    let o = t
        .send_with(&other_package, &chat_message(), &[&regid(1)])
        .await;
    assert!(
        matches!(&o[0], Outcome::AuthFailed { reason } if reason.contains("settings.android.package_name")),
        "{o:?}"
    );
    assert_eq!(t.sends().len(), before);
    assert!(
        t.adapter
            .verify_credential(
                &t.app,
                &other_package.secret,
                time::OffsetDateTime::now_utc()
            )
            .is_err()
    );
}

#[tokio::test]
async fn a_blacklisted_app_is_auth_failed() {
    let t = spawn_app().await;
    let update = XiaomiAppUpdate {
        blacklisted: Some(true),
        ..XiaomiAppUpdate::default()
    };
    t.sim
        .control()
        .update_xiaomi_app(DEV_XIAOMI_APP_ID, update)
        .unwrap();
    let o = t.send(&chat_message(), &[&regid(1)]).await;
    assert!(
        matches!(&o[0], Outcome::AuthFailed { reason } if reason.contains("10031")),
        "{o:?}"
    );
}

#[tokio::test]
async fn the_request_limit_parks_the_app_but_the_public_quota_does_not() {
    let t = spawn_app().await;
    let update = XiaomiAppUpdate {
        daily_request_limit: Some(1),
        ..XiaomiAppUpdate::default()
    };
    t.sim
        .control()
        .update_xiaomi_app(DEV_XIAOMI_APP_ID, update)
        .unwrap();
    assert!(accepted(&t.send(&chat_message(), &[&regid(1)]).await[0]));
    let o = t.send(&chat_message(), &[&regid(1)]).await;
    let now = time::OffsetDateTime::now_utc();
    assert!(
        matches!(&o[0], Outcome::QuotaExhausted { reason, resets_at } if reason.contains("10034") && *resets_at > now && *resets_at - now <= time::Duration::days(1)),
        "{o:?}"
    );
    // The public-message quota: the answer's day_acked passes day_quota.
    let t = spawn_app().await;
    let update = XiaomiAppUpdate {
        public_daily_quota: Some(1),
        ..XiaomiAppUpdate::default()
    };
    t.sim
        .control()
        .update_xiaomi_app(DEV_XIAOMI_APP_ID, update)
        .unwrap();
    let mut promo = chat_message();
    promo.options.category = Some("MARKETING".into());
    assert!(accepted(&t.send(&promo, &[&regid(1)]).await[0]));
    // Over the public quota Xiaomi still answers code 0: the message is accepted with its
    // id (Xiaomi discards it and reports receipt type 128), nothing is parked.
    let dead = regid(9);
    t.token(&dead, XiaomiTokenState::Uninstalled);
    let o = t.send(&promo, &[&regid(2), &dead]).await;
    let last = t.sends().pop().unwrap();
    let answer: serde_json::Value = serde_json::from_str(&last.response.body).unwrap();
    assert_eq!(answer["data"]["day_acked"], "2");
    assert_eq!(answer["data"]["day_quota"], "1");
    let id = answer["data"]["id"].as_str().unwrap();
    assert!(
        matches!(&o[0], Outcome::Accepted { vendor_message_id: Some(v) } if v == id),
        "{o:?}"
    );
    assert!(
        matches!(&o[1], Outcome::InvalidToken { reason, .. } if reason.contains("bad_regids")),
        "{o:?}"
    );
    // Private messages are not counted against it.
    assert!(accepted(&t.send(&chat_message(), &[&regid(3)]).await[0]));
}

#[tokio::test]
async fn unmapped_categories_go_on_the_public_or_the_default_channel() {
    let mut t = spawn_app().await;
    let mut account = chat_message();
    account.options.category = Some("ACCOUNT".into());
    let mut none = chat_message();
    none.options.category = None;
    // Without a public channel: no extra.channel_id (Xiaomi's default channel).
    for m in [&account, &none] {
        assert!(accepted(&t.send(m, &[&regid(1)]).await[0]));
        let f = form(&t.sends().pop().unwrap());
        assert!(!f.contains_key("extra.channel_id"), "{f:?}");
    }
    let mut settings = t.app.settings.xiaomi.clone().unwrap();
    settings.public_channel_id = Some(DEV_XIAOMI_PUBLIC_CHANNEL.into());
    t.app.settings.xiaomi = Some(settings);
    for (m, device) in [(&account, 2), (&none, 3)] {
        assert!(accepted(&t.send(m, &[&regid(device)]).await[0]));
        let last = t.sends().pop().unwrap();
        assert_eq!(form(&last)["extra.channel_id"], DEV_XIAOMI_PUBLIC_CHANNEL);
        // The sim counts it as a public message.
        let answer: serde_json::Value = serde_json::from_str(&last.response.body).unwrap();
        assert!(answer["data"]["day_quota"].is_string(), "{answer}");
    }
    // The app's own mapping still wins.
    assert!(accepted(&t.send(&chat_message(), &[&regid(4)]).await[0]));
    assert_eq!(
        form(&t.sends().pop().unwrap())["extra.channel_id"],
        DEV_XIAOMI_PRIVATE_CHANNEL
    );
}

#[tokio::test]
async fn a_channel_of_another_classification_is_rejected_and_alerts() {
    let mut t = spawn_app().await;
    let mut settings = t.app.settings.xiaomi.clone().unwrap();
    let im = settings.categories.get_mut("IM").unwrap();
    im.channel_id = "999999".into();
    t.app.settings.xiaomi = Some(settings);
    let o = t.send(&chat_message(), &[&regid(1)]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("27001")),
        "{o:?}"
    );
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
}

#[tokio::test]
async fn templates_required_refuses_template_less_private_messages() {
    let mut t = spawn_app().await;
    t.sim
        .control()
        .add_xiaomi_app(push_sim::types::XiaomiAppSpec {
            app_id: DEV_XIAOMI_APP_ID.into(),
            app_secret: DEV_XIAOMI_APP_SECRET.into(),
            package_names: vec![DEV_XIAOMI_PACKAGE.into()],
            private_channels: vec!["110001".into()],
            templates_required: true,
            templates: vec![push_sim::types::XiaomiTemplateSpec {
                id: "tpl-chat".into(),
                params: 2,
            }],
            ..push_sim::types::XiaomiAppSpec::default()
        })
        .unwrap();
    let o = t.send(&chat_message(), &[&regid(1)]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("10017")),
        "{o:?}"
    );
    let settings: push_core::XiaomiSettings = serde_json::from_value(serde_json::json!({
        "categories": {"IM": {"channel_id": "110001", "class": "private",
            "template": {"id": "tpl-chat", "params": {"sender": "title", "text": "body"}}}}
    }))
    .unwrap();
    t.app.settings.xiaomi = Some(settings);
    let mut m = chat_message();
    m.notification.as_mut().unwrap().body = Some("on my way 🚗".into());
    let o = t.send(&m, &[&regid(1)]).await;
    assert!(accepted(&o[0]), "{o:?}");
    let last = t.sends().pop().unwrap();
    assert_eq!(
        form(&last)["extra.template_param"],
        r#"{"sender":"Alice","text":"on my way"}"#
    );
}

#[tokio::test]
async fn refused_locally_means_zero_requests() {
    let t = spawn_app().await;
    let mut big = chat_message();
    big.data.insert("blob".into(), "x".repeat(4100));
    let mut retarget = chat_message();
    retarget.overrides.insert(
        "xiaomi".into(),
        serde_json::json!({"registration_id": "someone-else"}),
    );
    for msg in [big, retarget] {
        let o = t.send(&msg, &[&regid(1), &regid(2)]).await;
        assert!(
            o.iter().all(|o| matches!(o, Outcome::Rejected { .. })),
            "{o:?}"
        );
    }
    assert!(t.sends().is_empty());
}

#[tokio::test]
async fn throttling_and_server_errors_are_retry() {
    let t = spawn_app().await;
    for (status, code, retry_after, want) in [
        (503, "", None, None),
        (200, "10027", Some("9"), Some(Duration::from_secs(9))),
        (200, "10002", None, Some(Duration::from_secs(30))),
        (200, "-1", None, None),
        (200, "1", None, None),
    ] {
        let fault = FaultSpec {
            error: Some(ErrorFault {
                rate: 1.0,
                status,
                reason: code.into(),
                retry_after: retry_after.map(str::to_string),
                count: Some(1),
            }),
            ..FaultSpec::default()
        };
        t.sim.control().set_faults(Vendor::Xiaomi, fault).unwrap();
        let o = t.send(&chat_message(), &[&regid(1)]).await;
        assert!(
            matches!(&o[0], Outcome::Retry { after, .. } if *after == want),
            "{status}/{code}: {o:?}"
        );
        t.sim.control().clear_faults(Vendor::Xiaomi);
    }
    assert!(accepted(&t.send(&chat_message(), &[&regid(1)]).await[0]));
}
