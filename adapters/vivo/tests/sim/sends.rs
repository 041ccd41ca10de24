//! Sends, list sends, per-regId results, the all-invalid guard, auth, quota and faults
//! against the sim.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::dev::{DEV_VIVO_APP_ID, DEV_VIVO_APP_KEY, DEV_VIVO_APP_SECRET};
use push_sim::types::{ErrorFault, FaultSpec, Vendor, VivoAppSpec, VivoTokenState};
use serde_json::{Value, json};
use std::time::Duration;

fn body(r: &push_sim::types::RequestRecord) -> Value {
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn a_single_send_carries_the_auth_token_header_and_the_delivery_id() {
    let t = spawn_app().await;
    let target = target(&reg(1));
    let o = t
        .send_targets(&chat_message(), std::slice::from_ref(&target))
        .await;
    assert!(accepted(&o[0]), "{o:?}");
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    let s = &sends[0];
    assert_eq!(s.path, "/message/send");
    assert!(s.header("authtoken").is_some_and(|v| !v.is_empty()));
    assert!(s.header("authorization").is_none());
    let b = body(s);
    assert_eq!(b["requestId"], target.delivery_id.to_string());
    assert_eq!(b["regId"], reg(1));
    assert_eq!(
        (b["category"].clone(), b["classification"].clone()),
        (json!("IM"), json!(1))
    );
    assert_eq!(b["skipType"], 3);
    assert_eq!(b["extra"]["callback.id"], "1234");
    assert_eq!(b["extra"]["callback.param"], target.delivery_id.to_string());
    let task = serde_json::from_str::<Value>(&s.response.body).unwrap()["taskId"].clone();
    assert_eq!(
        o[0],
        Outcome::Accepted {
            vendor_message_id: task.as_str().map(str::to_string)
        }
    );
    // A retry of the same delivery reuses the requestId: vivo answers the same task.
    let again = t
        .send_targets(&chat_message(), std::slice::from_ref(&target))
        .await;
    assert_eq!(again, o);
    assert_eq!(t.auth_calls(), 1, "the auth token is cached");
}

#[tokio::test]
async fn unmapped_categories_go_out_with_the_default_class_and_a_short_ttl_is_raised() {
    let t = spawn_app().await;
    let mut voip = chat_message();
    voip.options.category = Some("VOIP".into());
    voip.options.ttl = Some(0);
    let mut travel = chat_message();
    travel.options.category = Some("TRAVEL".into());
    travel
        .overrides
        .insert("vivo".into(), json!({"timeToLive": 60}));
    for msg in [&voip, &travel] {
        let o = t.send(msg, &[&reg(1)]).await;
        assert!(accepted(&o[0]), "{o:?}");
    }
    let sent: Vec<(Value, Value, Value)> = t
        .sends()
        .iter()
        .map(body)
        .map(|b| {
            (
                b["category"].clone(),
                b["classification"].clone(),
                b["timeToLive"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            (json!("IM"), json!(1), json!(900)),
            (json!("MARKETING"), json!(0), json!(900)),
        ]
    );
}

#[tokio::test]
async fn a_list_send_gives_each_reg_id_its_outcome() {
    let t = spawn_app().await;
    let dead = reg(9);
    t.token(&dead, VivoTokenState::Uninstalled);
    let (a, b) = (reg(1), reg(2));
    let o = t.send(&chat_message(), &[&a, &dead, &b]).await;
    assert!(accepted(&o[0]) && accepted(&o[2]), "{o:?}");
    assert_eq!(o[0], o[2], "one taskId for the list");
    assert!(
        matches!(&o[1], Outcome::InvalidToken { reason, .. } if reason.contains("status 2")),
        "{o:?}"
    );
    let sends = t.sends();
    let paths: Vec<&str> = sends.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/message/saveListPayload", "/message/pushToList"]);
    let save = body(&sends[0]);
    assert!(save.get("regId").is_none());
    assert_eq!(
        save["extra"]["callback.param"], "m-1",
        "a list send echoes the notification id"
    );
    let push = body(&sends[1]);
    assert_eq!(push["regIds"], json!([a, dead, b]));
    assert!(push["requestId"].as_str().unwrap().starts_with("l-"));
}

#[tokio::test]
async fn an_all_invalid_list_deactivates_nothing_until_the_credential_is_proven() {
    let t = spawn_app().await;
    let (x, y) = (reg(7), reg(8));
    t.token(&x, VivoTokenState::NotExist);
    t.token(&y, VivoTokenState::Offline);
    let o = t.send(&chat_message(), &[&x, &y]).await;
    assert!(
        o.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated"))),
        "{o:?}"
    );
    assert!(matches!(
        t.adapter.health(),
        push_core::adapter::AdapterHealth::Degraded { .. }
    ));
    assert!(accepted(&t.send(&chat_message(), &[&reg(1)]).await[0]));
    let o = t.send(&chat_message(), &[&x, &y]).await;
    assert!(
        o.iter().all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{o:?}"
    );
}

#[tokio::test]
async fn invalid_single_targets_are_invalid_tokens_except_test_mode() {
    let t = spawn_app().await;
    for (n, state) in [
        (11, VivoTokenState::NotExist),
        (12, VivoTokenState::Uninstalled),
        (13, VivoTokenState::Offline),
    ] {
        t.token(&reg(n), state);
        let o = t.send(&chat_message(), &[&reg(n)]).await;
        assert!(
            matches!(o[0], Outcome::InvalidToken { .. }),
            "{state:?}: {o:?}"
        );
    }
    let mut test = chat_message();
    test.overrides.insert("vivo".into(), json!({"pushMode": 1}));
    let o = t.send(&test, &[&reg(14)]).await;
    assert!(
        matches!(&o[0], Outcome::Rejected { reason } if reason.contains("test device")),
        "{o:?}"
    );
}

#[tokio::test]
async fn an_expired_auth_token_is_auth_failed_then_one_refresh() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &[&reg(1)]).await[0]));
    t.sim.control().expire_vivo_auth_tokens();
    let refused = t.send(&chat_message(), &[&reg(1), &reg(2)]).await;
    assert!(
        refused
            .iter()
            .all(|o| matches!(o, Outcome::AuthFailed { .. })),
        "{refused:?}"
    );
    t.adapter.forget_auth(t.credential.id);
    assert!(accepted(&t.send(&chat_message(), &[&reg(1)]).await[0]));
    assert!(accepted(&t.send(&chat_message(), &[&reg(3)]).await[0]));
    assert_eq!(t.auth_calls(), 2, "exactly one refresh");
}

#[tokio::test]
async fn the_daily_quota_parks_until_china_midnight() {
    let t = spawn_app().await;
    t.sim
        .control()
        .add_vivo_app(VivoAppSpec {
            app_id: DEV_VIVO_APP_ID.into(),
            app_key: DEV_VIVO_APP_KEY.into(),
            app_secret: DEV_VIVO_APP_SECRET.into(),
            test_devices: vec![reg(1)],
            ..VivoAppSpec::default()
        })
        .unwrap();
    let mut promo = chat_message();
    promo.options.category = Some("PROMO".into());
    promo
        .overrides
        .insert("vivo".into(), json!({"pushMode": 1}));
    for _ in 0..100 {
        assert!(accepted(&t.send(&promo, &[&reg(1)]).await[0]));
    }
    let o = t.send(&promo, &[&reg(1)]).await;
    let Outcome::QuotaExhausted { resets_at, reason } = &o[0] else {
        panic!("{o:?}");
    };
    assert!(reason.contains("10070"), "{reason}");
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(*resets_at, push_core::adapter::next_china_midnight(now));
}

#[tokio::test]
async fn refused_locally_means_zero_requests() {
    let t = spawn_app().await;
    let mut big = chat_message();
    big.data.insert("blob".into(), "x".repeat(1100));
    let mut silent = chat_message();
    silent.options.silent = true;
    for msg in [big, silent] {
        let o = t.send(&msg, &[&reg(1), &reg(2)]).await;
        assert!(
            o.iter().all(|o| matches!(o, Outcome::Rejected { .. })),
            "{o:?}"
        );
    }
    assert!(t.requests().is_empty(), "no auth call, no send");
}

#[tokio::test]
async fn outages_and_flow_control_are_retry() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &[&reg(1)]).await[0]));
    for (status, retry_after, want) in [
        (503, None, None),
        (500, None, None),
        (429, Some("9"), Some(Duration::from_secs(9))),
    ] {
        let fault = FaultSpec {
            error: Some(ErrorFault {
                rate: 1.0,
                status,
                reason: String::new(),
                retry_after: retry_after.map(str::to_string),
                count: Some(1),
            }),
            ..FaultSpec::default()
        };
        t.sim.control().set_faults(Vendor::Vivo, fault).unwrap();
        let o = t.send(&chat_message(), &[&reg(1)]).await;
        assert!(
            matches!(&o[0], Outcome::Retry { after, .. } if *after == want),
            "{status}: {o:?}"
        );
        t.sim.control().clear_faults(Vendor::Vivo);
    }
    assert!(accepted(&t.send(&chat_message(), &[&reg(1)]).await[0]));
}

#[tokio::test]
async fn check_credential_signs_an_auth_call() {
    let t = spawn_app().await;
    assert_eq!(
        t.adapter.check_credential(&t.app, &t.credential).await,
        Ok(())
    );
    let wrong = credential(DEV_VIVO_APP_ID, DEV_VIVO_APP_KEY, "not-the-secret");
    let err = t
        .adapter
        .check_credential(&t.app, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("10206")),
        "{err:?}"
    );
    let o = t.send_with(&wrong, &chat_message(), &[&reg(1)]).await;
    assert!(matches!(&o[0], Outcome::AuthFailed { .. }), "{o:?}");
    let shown = format!("{o:?} {err:?} {wrong:?} {:?}", t.adapter.health());
    assert!(
        !shown.contains("not-the-secret") && !shown.contains(DEV_VIVO_APP_SECRET),
        "{shown}"
    );
    let auth = t
        .requests()
        .into_iter()
        .find(|r| r.path == "/message/auth")
        .unwrap();
    assert!(
        !auth.body.contains("not-the-secret"),
        "the secret only enters the sign"
    );
    assert!(t.sends().is_empty());
}
