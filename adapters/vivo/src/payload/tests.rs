//! The vivo message: mapping, limits counted vivo's way, classification, overrides.

use super::*;
use push_core::{AppSettings, NotificationContent, Options, Target, TenantId};
use std::collections::BTreeMap;

fn app(settings: Option<VivoSettings>) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            vivo: settings,
            ..AppSettings::default()
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn settings() -> VivoSettings {
    VivoSettings {
        categories: BTreeMap::from([
            ("IM".to_string(), "IM".to_string()),
            ("PROMO".to_string(), "MARKETING".to_string()),
        ]),
        receipt_id: Some("1234".into()),
        callback_url: None,
    }
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
        tag: "d-1",
    })
}

#[test]
fn a_chat_message_maps_to_vivos_fields() {
    let p = built(&message(), &app(Some(settings()))).unwrap();
    let body: Value = serde_json::from_slice(&p.single("16512345678901234567890", "d-1")).unwrap();
    assert_eq!(
        body,
        json!({
            "regId": "16512345678901234567890",
            "requestId": "d-1",
            "notifyType": 3,
            "title": "Alice",
            "content": "are you coming?",
            "timeToLive": 86400,
            "skipType": 4,
            "skipContent": "intent://chat/42#Intent;scheme=app;end",
            "classification": 1,
            "category": "IM",
            "clientCustomMap": { "conv": "42" },
            "pushMode": 0,
            "extra": { "callback.id": "1234", "callback.param": "d-1" }
        })
    );
    let list: Value = serde_json::from_slice(&p.list_payload("p-x")).unwrap();
    assert_eq!(list["requestId"], "p-x");
    assert!(list.get("regId").is_none());
    let push: Value = serde_json::from_slice(&push_to_list(&["a", "b"], "77", "l-x")).unwrap();
    assert_eq!(
        push,
        json!({"regIds": ["a", "b"], "taskId": "77", "requestId": "l-x"})
    );
}

#[test]
fn widths_count_cjk_double_and_long_text_is_truncated() {
    assert_eq!(width("abc"), 3);
    assert_eq!(width("你好a"), 5);
    let title = "长".repeat(25);
    let cut = truncate(&title, TITLE_UNITS);
    assert!(width(&cut) <= TITLE_UNITS, "{cut}");
    assert!(cut.ends_with('…'));
    assert_eq!(truncate(&"a".repeat(40), TITLE_UNITS), "a".repeat(40));
    let mut m = message();
    if let Some(n) = m.notification.as_mut() {
        n.title = Some("t".repeat(41));
        n.body = Some("好".repeat(51));
        n.sound = Some("default".into());
    }
    let p = built(&m, &app(Some(settings()))).unwrap();
    let f = p.fields();
    assert!(width(f["title"].as_str().unwrap()) <= TITLE_UNITS);
    assert!(width(f["content"].as_str().unwrap()) <= CONTENT_UNITS);
    assert_eq!(f["notifyType"], 4);
}

#[test]
fn classification_follows_the_apps_mapping() {
    let mut m = message();
    m.options.category = Some("PROMO".into());
    let p = built(&m, &app(Some(settings()))).unwrap();
    assert_eq!(p.fields()["category"], "MARKETING");
    assert_eq!(p.fields()["classification"], 0);
    m.options.category = None;
    let p = built(&m, &app(Some(settings()))).unwrap();
    assert!(p.fields().get("category").is_none());
    assert!(p.fields().get("classification").is_none());
    let mut bad = settings();
    bad.categories.insert("VOIP".into(), "CALL".into());
    m.options.category = Some("VOIP".into());
    let err = built(&m, &app(Some(bad))).unwrap_err();
    assert!(err.contains("settings.vivo.categories.VOIP"), "{err}");
    assert!(err.contains("not a vivo category"), "{err}");
}

/// (category, classification) sent for `ours` by `app`.
fn classified(ours: &str, app: &App) -> (Value, Value) {
    let mut m = message();
    m.options.category = Some(ours.into());
    let p = built(&m, app).unwrap();
    (
        p.fields()["category"].clone(),
        p.fields()["classification"].clone(),
    )
}

#[test]
fn unmapped_categories_get_the_references_default() {
    for app in [app(Some(settings())), app(None)] {
        assert_eq!(classified("VOIP", &app), (json!("IM"), json!(1)));
        assert_eq!(classified("IM", &app), (json!("IM"), json!(1)));
        for system in [
            "ACCOUNT",
            "TODO",
            "ORDER",
            "SUBSCRIPTION",
            "DEVICE_REMINDER",
        ] {
            assert_eq!(
                classified(system, &app),
                (json!(system), json!(1)),
                "{system}"
            );
        }
        for other in [
            "MARKETING",
            "NEWS",
            "CONTENT",
            "SOCIAL",
            "TRAVEL",
            "EXPRESS",
            "MAIL",
            "PROMO2",
        ] {
            assert_eq!(
                classified(other, &app),
                (json!("MARKETING"), json!(0)),
                "{other}"
            );
        }
    }
    // Every default is a vivo category whose classification matches.
    for ours in push_core::app::CATEGORIES
        .iter()
        .chain(&["ORDER", "TODO", "NEWS"])
    {
        assert!(
            VivoSettings::classification(default_category(ours)).is_some(),
            "{ours}"
        );
    }
}

#[test]
fn the_apps_mapping_overrides_the_default() {
    let mut own = settings();
    own.categories.insert("VOIP".into(), "SOCIAL".into());
    own.categories.insert("ORDER".into(), "MARKETING".into());
    own.categories.insert("NEWS".into(), "NEWS".into());
    own.categories.insert("MAIL".into(), "ACCOUNT".into());
    let app = app(Some(own));
    assert_eq!(classified("VOIP", &app), (json!("SOCIAL"), json!(0)));
    assert_eq!(classified("ORDER", &app), (json!("MARKETING"), json!(0)));
    assert_eq!(classified("NEWS", &app), (json!("NEWS"), json!(0)));
    assert_eq!(classified("MAIL", &app), (json!("ACCOUNT"), json!(1)));
    // Categories the app does not map still get the default.
    assert_eq!(classified("TODO", &app), (json!("TODO"), json!(1)));
}

#[test]
fn click_targets_choose_the_skip_type() {
    let skip = |click: Option<&str>| {
        let mut m = message();
        if let Some(n) = m.notification.as_mut() {
            n.click = click.map(str::to_string);
        }
        let p = built(&m, &app(Some(settings()))).unwrap();
        (
            p.fields()["skipType"].clone(),
            p.fields().get("skipContent").cloned(),
        )
    };
    assert_eq!(skip(None), (json!(1), None));
    assert_eq!(
        skip(Some("https://x.example/a")),
        (json!(2), Some(json!("https://x.example/a")))
    );
    assert_eq!(
        skip(Some("chat://conv/42")),
        (json!(3), Some(json!("chat://conv/42")))
    );
    let long = format!("https://x.example/{}", "a".repeat(1000));
    let mut m = message();
    if let Some(n) = m.notification.as_mut() {
        n.click = Some(long);
    }
    assert!(
        built(&m, &app(Some(settings())))
            .unwrap_err()
            .contains("skipContent")
    );
}

#[test]
fn data_limits_and_silent_messages_are_refused() {
    let mut m = message();
    m.data = (0..11)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    assert!(
        built(&m, &app(Some(settings())))
            .unwrap_err()
            .contains("10")
    );
    let mut m = message();
    m.data.insert("blob".into(), "x".repeat(MAX_CUSTOM_CHARS));
    assert!(
        built(&m, &app(Some(settings())))
            .unwrap_err()
            .contains("1024")
    );
    let mut m = message();
    m.options.silent = true;
    assert!(
        built(&m, &app(Some(settings())))
            .unwrap_err()
            .contains("notifications only")
    );
    let mut m = message();
    m.notification = None;
    assert!(built(&m, &app(Some(settings()))).is_err());
}

#[test]
fn missing_title_or_body_is_filled_in() {
    let mut m = message();
    m.notification = Some(NotificationContent {
        body: Some("hi".into()),
        ..NotificationContent::default()
    });
    let p = built(&m, &app(Some(settings()))).unwrap();
    assert_eq!(p.fields()["title"], "Chat");
    assert_eq!(p.fields()["content"], "hi");
    m.notification = Some(NotificationContent {
        title: Some("only".into()),
        ..NotificationContent::default()
    });
    let p = built(&m, &app(Some(settings()))).unwrap();
    assert_eq!(p.fields()["content"], "only");
}

#[test]
fn ttl_is_what_is_left_within_vivos_range() {
    let later = now() + time::Duration::seconds(100);
    assert_eq!(remaining_ttl(None, now(), later), Ok(None));
    // 900 s is the floor: valid whether vivo's minimum is 60 s or 900 s (vivo.md §3).
    assert_eq!(remaining_ttl(Some(0), now(), later), Ok(Some(900)));
    assert_eq!(remaining_ttl(Some(130), now(), later), Ok(Some(900)));
    assert_eq!(remaining_ttl(Some(1000), now(), later), Ok(Some(900)));
    assert_eq!(remaining_ttl(Some(1001), now(), later), Ok(Some(901)));
    assert_eq!(
        remaining_ttl(Some(30 * 86_400), now(), later),
        Ok(Some(MAX_TTL_SECONDS))
    );
    assert!(remaining_ttl(Some(50), now(), later).is_err());
}

#[test]
fn overridden_ttls_between_the_documented_minimums_are_raised() {
    let ttl = |t: i64| {
        let mut m = message();
        m.overrides
            .insert("vivo".into(), json!({ "timeToLive": t }));
        built(&m, &app(Some(settings()))).map(|p| p.fields()["timeToLive"].clone())
    };
    assert_eq!(ttl(60), Ok(json!(900)));
    assert_eq!(ttl(899), Ok(json!(900)));
    assert_eq!(ttl(900), Ok(json!(900)));
    assert_eq!(ttl(3600), Ok(json!(3600)));
    let err = ttl(59).unwrap_err();
    assert!(err.contains("900 to 604800"), "{err}");
    assert!(ttl(604_801).is_err());
}

#[test]
fn receipts_old_style_and_none() {
    let old = VivoSettings {
        receipt_id: None,
        callback_url: Some("https://push.example/v1/callbacks/vivo/chat-prod/tok".into()),
        ..settings()
    };
    let p = built(&message(), &app(Some(old))).unwrap();
    assert_eq!(
        p.fields()["extra"],
        json!({"callback": "https://push.example/v1/callbacks/vivo/chat-prod/tok", "callback.param": "d-1"})
    );
    let none = VivoSettings {
        receipt_id: None,
        ..settings()
    };
    assert!(
        built(&message(), &app(Some(none)))
            .unwrap()
            .fields()
            .get("extra")
            .is_none()
    );
}

#[test]
fn overrides_merge_and_are_checked_again() {
    let mut m = message();
    m.overrides.insert(
        "vivo".into(),
        json!({"pushMode": 1, "networkType": 1, "extra": {"x": "y"}}),
    );
    let p = built(&m, &app(Some(settings()))).unwrap();
    assert_eq!(p.fields()["pushMode"], 1);
    assert_eq!(p.fields()["extra"]["callback.id"], "1234");
    assert_eq!(p.fields()["extra"]["x"], "y");
    for (patch, want) in [
        (json!({"regId": "x"}), "regId"),
        (json!({"requestId": "x"}), "requestId"),
        (json!({"classification": 0}), "contradicts"),
        (json!({"category": "VOIP"}), "not a vivo category"),
        (json!({"timeToLive": 10}), "timeToLive"),
        (json!({"skipType": 9}), "skipType"),
        (json!({"title": null}), "title"),
        (json!({"notifyType": "loud"}), "integer"),
    ] {
        let mut m = message();
        m.overrides.insert("vivo".into(), patch.clone());
        let err = built(&m, &app(Some(settings()))).unwrap_err();
        assert!(err.contains(want), "{patch}: {err}");
    }
    let mut m = message();
    m.overrides.insert("vivo".into(), json!([1]));
    assert!(built(&m, &app(Some(settings()))).is_err());
}

#[test]
fn list_request_ids_are_stable_and_short() {
    let ids = vec!["b".to_string(), "a".to_string()];
    let again = vec!["a".to_string(), "b".to_string()];
    assert_eq!(list_request_id("p", &ids), list_request_id("p", &again));
    assert_ne!(list_request_id("p", &ids), list_request_id("l", &ids));
    assert!(list_request_id("p", &ids).len() <= MAX_REQUEST_ID);
}
