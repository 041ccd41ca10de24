//! Sends, per-entry results, hosts, the all-invalid guard, auth, quotas, classification and
//! faults against the sim.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::dev::{
    DEV_OPPO_APP_KEY, DEV_OPPO_IM_CHANNEL, DEV_OPPO_MARKETING_CHANNEL, DEV_OPPO_MASTER_SECRET,
};
use push_sim::types::{ErrorFault, FaultSpec, OppoAppSpec, OppoRegIdState, Vendor};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn one_target_is_a_form_encoded_unicast_with_json_inside() {
    let t = spawn_app().await;
    let target = target("CN_b6bbd94b59cdb5df8391642c1509b7fe");
    let outcomes = t
        .send_targets(
            &t.credential,
            &chat_message(),
            std::slice::from_ref(&target),
        )
        .await;
    assert!(accepted(&outcomes[0]), "{outcomes:?}");
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    let send = &sends[0];
    assert_eq!(send.path, "/server/v1/message/notification/unicast");
    assert!(
        send.header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let fields = form(send);
    assert!(
        fields.contains_key("auth_token"),
        "the auth token is a form field"
    );
    assert!(send.header("authorization").is_none());
    let message: Value = serde_json::from_str(&fields["message"]).unwrap();
    assert_eq!(message["target_type"], 2);
    assert_eq!(message["target_value"], target.token);
    let n = &message["notification"];
    assert_eq!(n["app_message_id"], target.delivery_id.to_string());
    assert_eq!(
        (
            n["channel_id"].as_str(),
            n["category"].as_str(),
            n["notify_level"].as_i64()
        ),
        (Some("pushgate_im"), Some("IM"), Some(16))
    );
    let params: Value = serde_json::from_str(n["action_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["conv"], "42");
    // The vendor message id is OPPO's messageId.
    let body: Value = serde_json::from_str(&send.response.body).unwrap();
    let Outcome::Accepted { vendor_message_id } = &outcomes[0] else {
        unreachable!()
    };
    assert_eq!(
        vendor_message_id.as_deref(),
        body["data"]["messageId"].as_str()
    );
    let again = t.send(&chat_message(), &["CN_second"]).await;
    assert!(accepted(&again[0]), "{again:?}");
    assert_eq!(
        t.auth_tokens("/server/v1/auth"),
        1,
        "the auth token is cached"
    );
}

#[tokio::test]
async fn a_batch_gives_each_registration_id_its_outcome() {
    let t = spawn_app().await;
    t.regid("CN_dead", OppoRegIdState::Invalid);
    t.regid("CN_off", OppoRegIdState::Unsubscribed);
    let outcomes = t
        .send(&chat_message(), &["CN_a", "CN_dead", "CN_b", "CN_off"])
        .await;
    assert!(
        accepted(&outcomes[0]) && accepted(&outcomes[2]),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], Outcome::InvalidToken { reason, .. } if reason.contains("10000"))
    );
    assert!(
        matches!(&outcomes[3], Outcome::InvalidToken { reason, .. } if reason.contains("10001"))
    );
    let sends = t.sends();
    assert_eq!(sends.len(), 1, "one unicast_batch");
    assert_eq!(
        sends[0].path,
        "/server/v1/message/notification/unicast_batch"
    );
    let messages: Value = serde_json::from_str(&form(&sends[0])["messages"]).unwrap();
    let ids: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["notification"]["app_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(
        ids.windows(2).all(|w| w[0] != w[1]),
        "one app_message_id per delivery"
    );
}

#[tokio::test]
async fn all_invalid_deactivates_one_token_but_not_an_unproven_batch() {
    let t = spawn_app().await;
    for id in ["CN_x", "CN_y", "CN_z"] {
        t.regid(id, OppoRegIdState::Invalid);
    }
    let one = t.send(&chat_message(), &["CN_z"]).await;
    assert!(matches!(one[0], Outcome::InvalidToken { .. }), "{one:?}");
    let batch = t.send(&chat_message(), &["CN_x", "CN_y"]).await;
    for o in &batch {
        assert!(
            matches!(o, Outcome::Rejected { reason } if reason.contains("AppKey") && reason.contains("no device was deactivated")),
            "{o:?}"
        );
    }
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
    assert!(accepted(&t.send(&chat_message(), &["CN_live"]).await[0]));
    let batch = t.send(&chat_message(), &["CN_x", "CN_y"]).await;
    assert!(
        batch
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{batch:?}"
    );
}

#[tokio::test]
async fn overseas_registration_ids_go_to_the_overseas_host_with_its_own_token() {
    let t = spawn_app().await;
    let outcomes = t
        .send(&chat_message(), &["CN_a", "OPPO_EU_b", "OPPO_CN_c", "IN_d"])
        .await;
    assert!(outcomes.iter().all(accepted), "{outcomes:?}");
    let mut paths: Vec<(String, Vec<String>)> =
        t.sends().into_iter().map(|s| (s.path, s.tokens)).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            (
                "/intl/server/v1/message/notification/unicast_batch".to_string(),
                vec!["OPPO_EU_b".to_string(), "IN_d".to_string()]
            ),
            (
                "/server/v1/message/notification/unicast_batch".to_string(),
                vec!["CN_a".to_string(), "OPPO_CN_c".to_string()]
            ),
        ]
    );
    assert_eq!(t.auth_tokens("/server/v1/auth"), 1);
    assert_eq!(t.auth_tokens("/intl/server/v1/auth"), 1);
}

#[tokio::test]
async fn a_wrong_master_secret_is_auth_failed_and_check_credential_says_so() {
    let t = spawn_app().await;
    let wrong = credential(DEV_OPPO_APP_KEY, "not-the-master-secret");
    let outcomes = t
        .send_targets(&wrong, &chat_message(), &[target("CN_a")])
        .await;
    let Outcome::AuthFailed { reason } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(
        reason.contains("code 16") && reason.contains("MasterSecret"),
        "{reason}"
    );
    assert!(!reason.contains("not-the-master-secret"));
    assert!(t.sends().is_empty(), "nothing is sent without a token");
    let err = t
        .adapter
        .check_credential(&t.app, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("code 16")),
        "{err:?}"
    );
    let unknown = credential("unknownAppKey", DEV_OPPO_MASTER_SECRET);
    let err = t
        .adapter
        .check_credential(&t.app, &unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("code 14")),
        "{err:?}"
    );
    t.adapter
        .check_credential(&t.app, &t.credential)
        .await
        .unwrap();
    let bad = credential("has space", "x");
    assert!(matches!(
        t.adapter.check_credential(&t.app, &bad).await,
        Err(CheckError::Invalid(_))
    ));
}

#[tokio::test]
async fn an_expired_auth_token_is_auth_failed_then_refreshed_once() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &["CN_a"]).await[0]));
    t.sim.control().expire_oppo_auth_tokens();
    let o = t.send(&chat_message(), &["CN_a"]).await;
    assert!(
        matches!(&o[0], Outcome::AuthFailed { reason } if reason.contains("code 11")),
        "{o:?}"
    );
    t.adapter.forget_auth(t.credential.id);
    assert!(accepted(&t.send(&chat_message(), &["CN_a"]).await[0]));
    assert!(accepted(&t.send(&chat_message(), &["CN_b"]).await[0]));
    assert_eq!(t.auth_tokens("/server/v1/auth"), 2);
}

#[tokio::test]
async fn the_daily_quota_is_quota_exhausted_until_china_midnight() {
    let t = spawn_app().await;
    let mut spec = OppoAppSpec {
        app_key: DEV_OPPO_APP_KEY.into(),
        master_secret: DEV_OPPO_MASTER_SECRET.into(),
        daily_quota: Some(1),
        ..OppoAppSpec::default()
    };
    spec.channels = vec![push_sim::types::OppoChannelSpec {
        channel_id: "pushgate_marketing".into(),
        private: false,
    }];
    t.sim.control().add_oppo_app(spec).unwrap();
    let mut promo = chat_message();
    promo.options.category = Some("PROMO".into());
    assert!(accepted(&t.send(&promo, &["CN_a"]).await[0]));
    let o = t.send(&promo, &["CN_b", "CN_c"]).await;
    for o in &o {
        let Outcome::QuotaExhausted { resets_at, reason } = o else {
            panic!("{o:?}")
        };
        assert!(reason.contains("code 33"), "{reason}");
        assert_eq!(
            *resets_at,
            push_core::adapter::next_china_midnight(time::OffsetDateTime::now_utc())
        );
    }
}

#[tokio::test]
async fn classification_problems_are_rejected_locally_or_by_oppo() {
    let t = spawn_app().await;
    let mut m = chat_message();
    // VOIP is unmapped: by default an instant message, but the app names no approved
    // communication channel, so OPPO would answer 67.
    m.options.category = Some("VOIP".into());
    let o = t.send(&m, &["CN_a"]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("settings.oppo.communication_channel_id")),
        "{o:?}"
    );
    assert!(
        t.sends().is_empty(),
        "a refused classification is never sent"
    );
    m.options.category = Some("ORPHAN".into());
    let o = t.send(&m, &["CN_a"]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("code 67")),
        "{o:?}"
    );
    let mut long = chat_message();
    long.notification.as_mut().unwrap().title = Some("标".repeat(51));
    let o = t.send(&long, &["CN_a"]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("51 characters")),
        "{o:?}"
    );
    assert_eq!(t.sends().len(), 1);
}

#[tokio::test]
async fn unmapped_categories_go_out_with_oppos_default_classification() {
    let mut t = spawn_app().await;
    if let Some(oppo) = t.app.settings.oppo.as_mut() {
        oppo.categories.clear();
        oppo.communication_channel_id = Some(DEV_OPPO_IM_CHANNEL.into());
        oppo.default_channel_id = Some(DEV_OPPO_MARKETING_CHANNEL.into());
        oppo.strong_reminder = true;
    }
    let cases = [
        ("VOIP", DEV_OPPO_IM_CHANNEL, "IM", 16),
        ("ORDER", DEV_OPPO_IM_CHANNEL, "ORDER", 2),
        ("ACCOUNT", DEV_OPPO_IM_CHANNEL, "ACCOUNT", 2),
        ("NEWSLETTER", DEV_OPPO_MARKETING_CHANNEL, "MARKETING", 1),
    ];
    for (i, (ours, channel, category, level)) in cases.into_iter().enumerate() {
        let mut m = chat_message();
        m.options.category = Some(ours.into());
        let o = t.send(&m, &["CN_a"]).await;
        assert!(accepted(&o[0]), "{ours}: {o:?}");
        let sends = t.sends();
        let fields = form(&sends[i]);
        let message: Value = serde_json::from_str(&fields["message"]).unwrap();
        let n = &message["notification"];
        assert_eq!(
            (
                n["channel_id"].as_str(),
                n["category"].as_str(),
                n["notify_level"].as_i64()
            ),
            (Some(channel), Some(category), Some(level)),
            "{ours}"
        );
    }
}

#[tokio::test]
async fn a_repeated_delivery_is_sent_once_by_oppo() {
    let t = spawn_app().await;
    let target = target("CN_a");
    let first = t
        .send_targets(
            &t.credential,
            &chat_message(),
            std::slice::from_ref(&target),
        )
        .await;
    let second = t
        .send_targets(
            &t.credential,
            &chat_message(),
            std::slice::from_ref(&target),
        )
        .await;
    assert!(accepted(&first[0]));
    assert_eq!(
        first, second,
        "the same app_message_id gets the same messageId"
    );
}

fn fault(status: u16, code: &str, retry_after: Option<&str>) -> FaultSpec {
    FaultSpec {
        error: Some(ErrorFault {
            rate: 1.0,
            status,
            reason: code.into(),
            retry_after: retry_after.map(str::to_string),
            count: Some(1),
        }),
        ..FaultSpec::default()
    }
}

#[tokio::test]
async fn flow_control_and_outages_are_retried() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &["CN_a"]).await[0]));
    for (status, code, retry_after, after) in [
        (200, "-2", Some("9"), Some(9)),
        (503, "-1", None, None),
        (200, "55", None, None),
        (429, "", Some("3"), Some(3)),
    ] {
        t.sim
            .control()
            .set_faults(Vendor::Oppo, fault(status, code, retry_after))
            .unwrap();
        let o = t.send(&chat_message(), &["CN_a", "CN_b"]).await;
        for o in &o {
            let Outcome::Retry { after: got, .. } = o else {
                panic!("{status}/{code}: {o:?}")
            };
            assert_eq!(*got, after.map(Duration::from_secs), "{status}/{code}");
        }
    }
    t.sim.control().clear_faults(Vendor::Oppo);
    assert!(accepted(&t.send(&chat_message(), &["CN_a"]).await[0]));
    assert_eq!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Healthy
    );
}

#[tokio::test]
async fn a_duplicate_batch_counts_as_accepted() {
    let t = spawn_app().await;
    t.sim
        .control()
        .set_faults(Vendor::Oppo, fault(200, "32", None))
        .unwrap();
    // OPPO's code 32 without a data array: already there, so accepted (no message id) —
    // not sent again.
    let o = t.send(&chat_message(), &["CN_a", "CN_b"]).await;
    assert!(
        o.iter().all(|o| matches!(
            o,
            Outcome::Accepted {
                vendor_message_id: None
            }
        )),
        "{o:?}"
    );
    assert_eq!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Healthy
    );
}
