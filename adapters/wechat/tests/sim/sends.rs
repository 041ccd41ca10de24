//! Sends, the errcodes the sim answers, auth and faults.

use crate::helpers::*;
use push_core::Channel;
use push_core::adapter::{CheckError, Outcome};
use push_core::notification::WechatContent;
use push_sim::dev::{
    DEV_WECHAT_MP_APP_ID, DEV_WECHAT_MP_TEMPLATE, DEV_WECHAT_OA_APP_ID, DEV_WECHAT_OA_APP_SECRET,
};
use push_sim::types::{
    ErrorFault, FaultSpec, Vendor, WechatAppSpec, WechatConsentSpec, WechatUserState,
};

#[tokio::test]
async fn a_template_message_is_accepted_with_its_64_bit_msgid_and_the_token_is_cached() {
    let t = spawn_app().await;
    let (first, target) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(msgid(&first) > 1 << 53, "{first:?}");
    let (second, _) = t.send(Channel::WechatOa, &chat_message(), "oUser2").await;
    assert_ne!(msgid(&first), msgid(&second));
    assert_eq!(t.token_requests(), 1, "the access token is cached");
    let sends = t.sends();
    assert_eq!(sends.len(), 2);
    assert!(
        sends[0]
            .path
            .starts_with("/cgi-bin/message/template/send?access_token=")
    );
    let body: serde_json::Value = serde_json::from_str(&sends[0].body).unwrap();
    assert_eq!(body["touser"], "oUser1");
    assert_eq!(body["client_msg_id"], target.delivery_id.to_string());
    assert_eq!(body["data"]["thing1"]["value"], "Alice");
    assert_eq!(body["url"], "https://im.example.com/c/42");
    let token = t
        .requests()
        .into_iter()
        .find(|r| r.path == "/cgi-bin/stable_token")
        .unwrap();
    let asked: serde_json::Value = serde_json::from_str(&token.body).unwrap();
    assert_eq!(asked["force_refresh"], false);
    assert_eq!(asked["grant_type"], "client_credential");
}

#[tokio::test]
async fn a_repeated_delivery_is_deduplicated_by_client_msg_id() {
    let t = spawn_app().await;
    let target = target(Channel::WechatOa, "oUser1");
    let a = t.send_target(&chat_message(), &target).await;
    let b = t.send_target(&chat_message(), &target).await;
    assert_eq!(
        msgid(&a),
        msgid(&b),
        "WeChat answers the first message again"
    );
}

#[tokio::test]
async fn unfollowed_and_foreign_openids_are_invalid_tokens() {
    let t = spawn_app().await;
    t.user(
        DEV_WECHAT_OA_APP_ID,
        "oGone",
        WechatUserState::Unfollowed,
        None,
    );
    t.user(
        DEV_WECHAT_MP_APP_ID,
        "oOfTheMiniProgram",
        WechatUserState::Following,
        None,
    );
    for openid in ["oGone", "oOfTheMiniProgram"] {
        let (o, _) = t.send(Channel::WechatOa, &chat_message(), openid).await;
        assert!(matches!(o, Outcome::InvalidToken { .. }), "{openid}: {o:?}");
    }
}

/// §5: 43101 → drop and deactivate until new consent, no retry (`InvalidToken`). The same
/// person's mini-program openid is another token: it still receives.
#[tokio::test]
async fn a_blocked_user_is_an_invalid_token_and_the_mini_program_openid_still_receives() {
    let t = spawn_app().await;
    t.user(
        DEV_WECHAT_OA_APP_ID,
        "oBlocker",
        WechatUserState::Blocked,
        None,
    );
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oBlocker").await;
    assert!(
        matches!(&o, Outcome::InvalidToken { reason, .. } if reason.contains("43101")),
        "{o:?}"
    );
    assert_eq!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Healthy,
        "a user's refusal is no alert"
    );
    t.sim
        .control()
        .wechat_consent(WechatConsentSpec {
            app_id: DEV_WECHAT_MP_APP_ID.into(),
            openid: "oBlockerOfTheMiniProgram".into(),
            template_id: DEV_WECHAT_MP_TEMPLATE.into(),
            add: 1,
            reset: false,
        })
        .unwrap();
    let (mp, _) = t
        .send(
            Channel::WechatMp,
            &chat_message(),
            "oBlockerOfTheMiniProgram",
        )
        .await;
    assert!(matches!(mp, Outcome::Accepted { .. }), "{mp:?}");
}

#[tokio::test]
async fn subscribe_messages_use_one_consent_each() {
    let t = spawn_app().await;
    let consent = WechatConsentSpec {
        app_id: DEV_WECHAT_MP_APP_ID.into(),
        openid: "oMpUser".into(),
        template_id: DEV_WECHAT_MP_TEMPLATE.into(),
        add: 1,
        reset: false,
    };
    assert_eq!(
        t.sim.control().wechat_consent(consent).unwrap().remaining,
        1
    );
    let mut message = chat_message();
    message.wechat = Some(WechatContent {
        page: Some("pages/chat?id=42".into()),
        ..WechatContent::default()
    });
    let (first, _) = t.send(Channel::WechatMp, &message, "oMpUser").await;
    assert!(matches!(first, Outcome::Accepted { .. }), "{first:?}");
    // The consent is used up: 43101, the device waits for a new consent and registration.
    let (second, _) = t.send(Channel::WechatMp, &message, "oMpUser").await;
    assert!(
        matches!(&second, Outcome::InvalidToken { reason, .. } if reason.contains("43101")),
        "{second:?}"
    );
    let sends = t.sends();
    assert!(
        sends[0]
            .path
            .starts_with("/cgi-bin/message/subscribe/send?")
    );
    let body: serde_json::Value = serde_json::from_str(&sends[0].body).unwrap();
    assert_eq!(body["page"], "pages/chat?id=42");
    assert!(body.get("client_msg_id").is_none());
}

#[tokio::test]
async fn a_value_breaking_its_rule_is_rejected_without_a_request() {
    let t = spawn_app().await;
    let mut message = chat_message();
    message.wechat = Some(WechatContent {
        data: serde_json::from_value(serde_json::json!({
            "thing1": {"value": "a"}, "thing2": {"value": "b"}, "time3": {"value": "tomorrow"}
        }))
        .unwrap(),
        ..WechatContent::default()
    });
    let (o, _) = t.send(Channel::WechatOa, &message, "oUser1").await;
    assert!(
        matches!(&o, Outcome::Rejected { reason } if reason.contains("time3")),
        "{o:?}"
    );
    assert!(t.sends().is_empty());
}

/// §4.3: a `thing` value given in `wechat.data` over 20 characters is cut and sent; the
/// sim, which applies WeChat's rules, accepts it.
#[tokio::test]
async fn a_long_explicit_thing_value_is_cut_and_accepted() {
    let t = spawn_app().await;
    let mut message = chat_message();
    message.wechat = Some(WechatContent {
        data: serde_json::from_value(serde_json::json!({
            "thing1": {"value": "x".repeat(21)},
            "thing2": {"value": "你好，今晚的聚会你来吗？记得带点零食和饮料过来"},
            "time3": {"value": "15:01"}
        }))
        .unwrap(),
        ..WechatContent::default()
    });
    let (o, _) = t.send(Channel::WechatOa, &message, "oUser1").await;
    assert!(matches!(o, Outcome::Accepted { .. }), "{o:?}");
    let body: serde_json::Value = serde_json::from_str(&t.sends()[0].body).unwrap();
    assert_eq!(
        body["data"]["thing1"]["value"],
        format!("{}…", "x".repeat(19))
    );
    let thing2 = body["data"]["thing2"]["value"].as_str().unwrap();
    assert_eq!(thing2.chars().count(), 20, "{thing2}");
    assert!(thing2.ends_with('…'), "{thing2}");
}

/// §5 "alert (bug)": 47003 from WeChat is `Rejected` and degrades health, and is not
/// `AuthFailed` (the credential is fine).
#[tokio::test]
async fn a_value_wechat_refuses_is_rejected_and_alerts() {
    let t = spawn_app().await;
    let mut message = chat_message();
    message.wechat = Some(WechatContent {
        // `time3` left out: pushgate does not know the template's keys, so only WeChat (the
        // sim) finds it missing and answers 47003 naming it.
        data: serde_json::from_value(serde_json::json!({
            "thing1": {"value": "a"}, "thing2": {"value": "b"}
        }))
        .unwrap(),
        ..WechatContent::default()
    });
    let (o, _) = t.send(Channel::WechatOa, &message, "oUser1").await;
    assert!(
        matches!(&o, Outcome::Rejected { reason } if reason.contains("47003")),
        "{o:?}"
    );
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
}

#[tokio::test]
async fn an_unknown_template_is_rejected_and_degrades_health() {
    let t = spawn_app().await;
    let mut message = chat_message();
    message.wechat = Some(WechatContent {
        template_id: Some("no-such-template".into()),
        data: serde_json::from_value(serde_json::json!({"thing1": {"value": "a"}})).unwrap(),
        ..WechatContent::default()
    });
    let (o, _) = t.send(Channel::WechatOa, &message, "oUser1").await;
    assert!(
        matches!(&o, Outcome::Rejected { reason } if reason.contains("40037")),
        "{o:?}"
    );
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
}

#[tokio::test]
async fn an_expired_token_is_auth_failed_then_refreshed_once() {
    let t = spawn_app().await;
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(matches!(o, Outcome::Accepted { .. }));
    assert_eq!(t.sim.control().expire_wechat_access_tokens(), 1);
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(
        matches!(&o, Outcome::AuthFailed { reason } if reason.contains("42001")),
        "{o:?}"
    );
    t.adapter.forget_auth(t.oa.id);
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(matches!(o, Outcome::Accepted { .. }), "{o:?}");
    assert_eq!(t.token_requests(), 2);
}

#[tokio::test]
async fn a_mini_program_credential_on_the_official_account_channel_is_auth_failed() {
    let t = spawn_app().await;
    let target = target(Channel::WechatOa, "oUser1");
    let request = push_core::adapter::SendRequest {
        app: &t.app,
        credential: &t.mp,
        message: &chat_message(),
        accepted_at: time::OffsetDateTime::now_utc(),
        targets: std::slice::from_ref(&target),
    };
    let o = t.adapter.send(request).await.remove(0).outcome;
    assert!(
        matches!(&o, Outcome::AuthFailed { reason } if reason.contains("48001")),
        "{o:?}"
    );
}

#[tokio::test]
async fn the_daily_quota_parks_until_china_midnight() {
    let t = spawn_app().await;
    t.sim
        .control()
        .add_wechat_app(WechatAppSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            app_secret: DEV_WECHAT_OA_APP_SECRET.into(),
            daily_quota: Some(1),
            ..WechatAppSpec::default()
        })
        .unwrap();
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(matches!(o, Outcome::Accepted { .. }), "{o:?}");
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser2").await;
    match o {
        Outcome::QuotaExhausted { resets_at, .. } => {
            assert_eq!(
                resets_at,
                push_core::adapter::next_china_midnight(time::OffsetDateTime::now_utc())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn system_busy_and_5xx_are_retries() {
    let t = spawn_app().await;
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
    assert!(matches!(o, Outcome::Accepted { .. }));
    for (status, reason) in [(200, "-1"), (503, "")] {
        let fault = FaultSpec {
            error: Some(ErrorFault {
                rate: 1.0,
                status,
                reason: reason.into(),
                retry_after: None,
                count: Some(1),
            }),
            ..FaultSpec::default()
        };
        t.sim.control().set_faults(Vendor::Wechat, fault).unwrap();
        let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser1").await;
        assert!(matches!(o, Outcome::Retry { .. }), "{status}: {o:?}");
    }
    let (o, _) = t.send(Channel::WechatOa, &chat_message(), "oUser3").await;
    assert!(matches!(o, Outcome::Accepted { .. }), "{o:?}");
}

#[tokio::test]
async fn credentials_are_checked_live() {
    let t = spawn_app().await;
    t.adapter.check_credential(&t.app, &t.oa).await.unwrap();
    let wrong = credential(DEV_WECHAT_OA_APP_ID, "not-the-secret");
    match t.adapter.check_credential(&t.app, &wrong).await {
        Err(CheckError::Refused(r)) => {
            assert!(r.contains("40125"), "{r}");
            assert!(!r.contains("not-the-secret"), "{r}");
        }
        other => panic!("{other:?}"),
    }
    let unknown = credential("wx00000000000000ff", "x");
    assert!(matches!(
        t.adapter.check_credential(&t.app, &unknown).await,
        Err(CheckError::Refused(r)) if r.contains("40013")
    ));
}
