//! The Honor message: camelCase mapping, importance, click actions, checks, overrides.

use super::*;
use push_core::{AppSettings, NotificationContent, Options, Target, TenantId};
use std::collections::BTreeMap;

fn app(settings: Option<HonorSettings>) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            honor: settings,
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn settings() -> Option<HonorSettings> {
    Some(HonorSettings {
        categories: BTreeMap::from([
            ("IM".to_string(), "NORMAL".to_string()),
            ("PROMO".to_string(), "LOW".to_string()),
        ]),
    })
}

fn message() -> IngestMessage {
    IngestMessage {
        id: "n-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming?".into()),
            click: Some("intent://chat/42#Intent;scheme=app;end".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(86_400),
            collapse_key: Some("chat-42".into()),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
}

fn built(message: &IngestMessage, app: &App) -> Result<Prepared, String> {
    build(&Inputs {
        message,
        app,
        accepted_at: now(),
        now: now(),
        bi_tag: "d-1",
    })
}

#[test]
fn a_chat_message_maps_to_honors_camel_case_body() {
    let p = built(&message(), &app(settings())).unwrap();
    let body: Value = serde_json::from_slice(&p.body_for(&["tok-1", "tok-2"])).unwrap();
    assert_eq!(
        body,
        json!({
            "data": "{\"click\":\"intent://chat/42#Intent;scheme=app;end\",\"conv\":\"42\"}",
            "android": {
                "ttl": "86400s",
                "biTag": "d-1",
                "targetUserType": 0,
                "notification": {
                    "title": "Alice",
                    "body": "are you coming?",
                    "clickAction": { "type": 1, "intent": "intent://chat/42#Intent;scheme=app;end" },
                    "importance": "NORMAL",
                    "tag": "chat-42"
                }
            },
            "token": ["tok-1", "tok-2"]
        })
    );
}

fn importance_of(category: Option<&str>, app: &App) -> Option<Value> {
    let mut m = message();
    m.options.category = category.map(str::to_string);
    built(&m, app).unwrap().fields()["android"]["notification"]
        .get("importance")
        .cloned()
}

#[test]
fn importance_follows_the_apps_mapping() {
    let mapped = app(settings());
    assert_eq!(importance_of(Some("PROMO"), &mapped), Some(json!("LOW")));
    assert_eq!(importance_of(Some("IM"), &mapped), Some(json!("NORMAL")));
    assert_eq!(
        importance_of(None, &mapped),
        None,
        "no category: no importance, which Honor counts as news & marketing"
    );
}

#[test]
fn unmapped_categories_get_the_references_default() {
    for a in [app(settings()), app(None)] {
        for category in NORMAL_CATEGORIES {
            assert_eq!(
                importance_of(Some(category), &a),
                Some(json!("NORMAL")),
                "{category}"
            );
        }
        for category in ["MARKETING", "NEWS", "PROMOTION", "im", "SOMETHING_ELSE"] {
            assert_eq!(
                importance_of(Some(category), &a),
                Some(json!("LOW")),
                "{category}"
            );
        }
    }
    // Every conventional category but MARKETING is service & communication.
    for category in push_core::app::CATEGORIES {
        let want = if *category == "MARKETING" {
            "LOW"
        } else {
            "NORMAL"
        };
        assert_eq!(default_importance(category), want, "{category}");
    }
}

#[test]
fn the_apps_mapping_overrides_the_default() {
    let mine = app(Some(HonorSettings {
        categories: BTreeMap::from([
            ("IM".to_string(), "LOW".to_string()),
            ("MARKETING".to_string(), "NORMAL".to_string()),
        ]),
    }));
    assert_eq!(importance_of(Some("IM"), &mine), Some(json!("LOW")));
    assert_eq!(
        importance_of(Some("MARKETING"), &mine),
        Some(json!("NORMAL"))
    );
    assert_eq!(importance_of(Some("VOIP"), &mine), Some(json!("NORMAL")));
    let broken = app(Some(HonorSettings {
        categories: BTreeMap::from([("IM".to_string(), "HIGH".to_string())]),
    }));
    let err = built(&message(), &broken).unwrap_err();
    assert!(err.contains("settings.honor.categories.IM"), "{err}");
}

#[test]
fn click_actions_and_pass_through_messages() {
    let click = |target: Option<&str>| {
        let mut m = message();
        if let Some(n) = m.notification.as_mut() {
            n.click = target.map(str::to_string);
        }
        built(&m, &app(settings())).unwrap().fields()["android"]["notification"]["clickAction"]
            .clone()
    };
    assert_eq!(click(None), json!({"type": 3}));
    assert_eq!(
        click(Some("https://x.example/a")),
        json!({"type": 2, "url": "https://x.example/a"})
    );
    let mut silent = message();
    silent.options.silent = true;
    let p = built(&silent, &app(settings())).unwrap();
    assert!(p.fields()["android"].get("notification").is_none());
    assert!(p.fields()["data"].is_string());
}

#[test]
fn checks_refuse_what_honor_would() {
    let mut big = message();
    big.data
        .insert("blob".into(), "x".repeat(MAX_PAYLOAD_BYTES));
    assert!(built(&big, &app(settings())).unwrap_err().contains("bytes"));
    for (patch, want) in [
        (json!({"token": ["x"]}), "token"),
        (json!({"data": {"a": 1}}), "string"),
        (json!({"android": {"ttl": "20d"}}), "ttl"),
        (json!({"android": {"ttl": "1296001s"}}), "ttl"),
        (
            json!({"android": {"notification": {"clickAction": {"type": 2, "url": "http://x"}}}}),
            "https",
        ),
        (
            json!({"android": {"notification": {"clickAction": {"type": 1, "intent": null}}}}),
            "intent",
        ),
        (
            json!({"android": {"notification": {"clickAction": null}}}),
            "clickAction",
        ),
        (
            json!({"android": {"notification": {"importance": "HIGH"}}}),
            "importance",
        ),
        (
            json!({"android": {"notification": {"style": 1}}}),
            "bigTitle",
        ),
        (
            json!({"android": {"notification": {"buttons": [{}, {}, {}, {}]}}}),
            "3 buttons",
        ),
        (
            json!({"android": {"notification": {"badge": {"setNum": 100}}}}),
            "setNum",
        ),
        (json!({"android": {"targetUserType": 2}}), "targetUserType"),
    ] {
        let mut m = message();
        m.overrides.insert("honor".into(), patch.clone());
        let err = built(&m, &app(settings())).unwrap_err();
        assert!(err.contains(want), "{patch}: {err}");
    }
    let mut ok = message();
    ok.overrides.insert(
        "honor".into(),
        json!({"android": {"targetUserType": 1, "notification": {"badge": {"addNum": 1, "badgeClass": "com.example.Main"}}}}),
    );
    let p = built(&ok, &app(settings())).unwrap();
    assert_eq!(p.fields()["android"]["targetUserType"], 1);
    assert_eq!(
        p.fields()["android"]["notification"]["importance"],
        "NORMAL"
    );
}

#[test]
fn ttl_is_what_is_left() {
    let later = now() + time::Duration::seconds(100);
    assert_eq!(remaining_ttl(None, now(), later), Ok(None));
    assert_eq!(remaining_ttl(Some(0), now(), later), Ok(Some(0)));
    assert_eq!(remaining_ttl(Some(1000), now(), later), Ok(Some(900)));
    assert_eq!(
        remaining_ttl(Some(30 * 86_400), now(), later),
        Ok(Some(MAX_TTL_SECONDS))
    );
    assert!(remaining_ttl(Some(50), now(), later).is_err());
}

#[test]
fn a_notification_with_only_a_title_or_a_body_shows_both() {
    let with = |title: Option<&str>, body: Option<&str>| {
        let mut m = message();
        if let Some(n) = m.notification.as_mut() {
            n.title = title.map(str::to_string);
            n.body = body.map(str::to_string);
        }
        let p = built(&m, &app(settings())).expect("sent, not refused");
        let body: Value = serde_json::from_slice(&p.body_for(&["tok-1"])).unwrap();
        let n = &body["android"]["notification"];
        (n["title"].clone(), n["body"].clone())
    };
    assert_eq!(with(Some("Alice"), None), (json!("Alice"), json!("Alice")));
    let app_name = app(settings()).name;
    assert_eq!(with(None, Some("hi")), (json!(app_name), json!("hi")));
}
