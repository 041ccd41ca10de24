//! Tests of the notification mapping, classification, character limits, ttl, collapse and
//! overrides.

use super::*;
use push_core::{AppSettings, NotificationContent, Options, Priority, Target, TenantId};
use std::collections::BTreeMap;
use time::macros::datetime;

const ACCEPTED: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);
const CALLBACK: &str = "https://push.example.com/v1/callbacks/oppo/chat-prod/Tok3n";

/// An app mapping `IM` (level 16), `ACCOUNT`, `PROMO` (no level) and a broken `BROKEN`, with
/// a default channel and no communication channel.
pub(crate) fn app() -> App {
    let oppo = serde_json::from_value(serde_json::json!({
        "categories": {
            "IM": {"channel_id": "chat_messages", "category": "IM", "notify_level": 16},
            "ACCOUNT": {"channel_id": "chat_service", "category": "ACCOUNT", "notify_level": 2},
            "PROMO": {"channel_id": "promotions", "category": "MARKETING"},
            "BROKEN": {"channel_id": "x", "category": "CHAT"}
        },
        "default_channel_id": "general"
    }))
    .unwrap();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            oppo: Some(oppo),
            ..AppSettings::default()
        },
        created_at: ACCEPTED,
        updated_at: ACCEPTED,
    }
}

pub(crate) fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("你来吗？🙂".into()),
            badge: Some(3),
            sound: Some("default".into()),
            image: None,
            click: Some("app://chat/42".into()),
        }),
        data: [("conv".to_string(), "42".to_string())].into(),
        options: Options {
            priority: Priority::High,
            ttl: Some(86_400),
            collapse_key: Some("conv-42".into()),
            category: Some("IM".into()),
            silent: false,
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn built_at(
    message: &IngestMessage,
    now: OffsetDateTime,
    callback: Option<&str>,
) -> Result<Prepared, String> {
    let mut app = app();
    if let Some(oppo) = app.settings.oppo.as_mut() {
        oppo.callback_url = callback.map(str::to_string);
    }
    build(&Inputs {
        message,
        app: &app,
        accepted_at: ACCEPTED,
        now,
    })
}

fn notification(message: &IngestMessage) -> Value {
    Value::Object(
        built_at(message, ACCEPTED, None)
            .unwrap()
            .notification()
            .clone(),
    )
}

fn refused(message: &IngestMessage) -> String {
    built_at(message, ACCEPTED, None).unwrap_err()
}

#[test]
fn a_chat_message_maps_onto_oppo_fields() {
    let n = notification(&chat_message());
    assert_eq!(n["title"], "Alice");
    assert_eq!(n["content"], "你来吗？🙂");
    assert_eq!(n["click_action_type"], 5);
    assert_eq!(n["click_action_url"], "app://chat/42");
    let params: Value = serde_json::from_str(n["action_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        params,
        serde_json::json!({"conv": "42", "click": "app://chat/42"})
    );
    assert_eq!(n["channel_id"], "chat_messages");
    assert_eq!(n["category"], "IM");
    assert_eq!(n["notify_level"], 16);
    assert_eq!(n["off_line"], true);
    assert_eq!(n["off_line_ttl"], 86_400);
    assert_eq!(n["notify_id"], notify_id("conv-42"));
    for absent in ["badge", "sound", "image", "app_message_id", "call_back_url"] {
        assert!(n.get(absent).is_none(), "{absent}");
    }
}

#[test]
fn each_target_gets_its_delivery_id_as_app_message_id_and_callback_parameter() {
    let prepared = built_at(&chat_message(), ACCEPTED, Some(CALLBACK)).unwrap();
    let delivery = DeliveryId::new();
    let m = prepared.message_for("CN_abc", delivery);
    assert_eq!(m["target_type"], 2);
    assert_eq!(m["target_value"], "CN_abc");
    assert_eq!(m["verify_registration_id"], true);
    assert_eq!(m["notification"]["app_message_id"], delivery.to_string());
    assert_eq!(m["notification"]["call_back_url"], CALLBACK);
    assert_eq!(
        m["notification"]["call_back_parameter"],
        delivery.to_string()
    );
    // Without a callback URL there is no parameter either.
    let plain = built_at(&chat_message(), ACCEPTED, None).unwrap();
    let m = plain.message_for("CN_abc", delivery);
    assert!(m["notification"].get("call_back_parameter").is_none());
    // A callback URL over 200 characters is left out rather than failing the send.
    let long = format!("https://push.example.com/{}", "x".repeat(200));
    let m = built_at(&chat_message(), ACCEPTED, Some(&long))
        .unwrap()
        .message_for("CN_abc", delivery);
    assert!(m["notification"].get("call_back_url").is_none());
    assert!(m["notification"].get("call_back_parameter").is_none());
}

/// The notification of `message` for [`app`] changed by `edit`, or why it is refused.
fn classified(
    message: &IngestMessage,
    edit: impl FnOnce(&mut OppoSettings),
) -> Result<Map<String, Value>, String> {
    let mut app = app();
    if let Some(oppo) = app.settings.oppo.as_mut() {
        edit(oppo);
    }
    build(&Inputs {
        message,
        app: &app,
        accepted_at: ACCEPTED,
        now: ACCEPTED,
    })
    .map(|p| p.notification().clone())
}

/// `(channel_id, category, notify_level)` of a notification.
fn class_of(n: &Map<String, Value>) -> (Option<&str>, Option<&str>, Option<i64>) {
    (
        n.get("channel_id").and_then(Value::as_str),
        n.get("category").and_then(Value::as_str),
        n.get("notify_level").and_then(Value::as_i64),
    )
}

fn with_category(category: Option<&str>) -> IngestMessage {
    let mut m = chat_message();
    m.options.category = category.map(str::to_string);
    m
}

#[test]
fn mapped_categories_use_the_apps_classification_with_a_level_always() {
    let n = classified(&with_category(Some("ACCOUNT")), |_| {}).unwrap();
    assert_eq!(
        class_of(&n),
        (Some("chat_service"), Some("ACCOUNT"), Some(2))
    );
    // An entry without a level gets its category's default: marketing is bar only.
    let n = classified(&with_category(Some("PROMO")), |_| {}).unwrap();
    assert_eq!(
        class_of(&n),
        (Some("promotions"), Some("MARKETING"), Some(1))
    );
    // An IM entry without a level: 16 only with the strong-reminder permission.
    let unlevelled = |o: &mut OppoSettings| {
        if let Some(im) = o.categories.get_mut("IM") {
            im.notify_level = None;
        }
    };
    let n = classified(&with_category(Some("IM")), unlevelled).unwrap();
    assert_eq!(class_of(&n), (Some("chat_messages"), Some("IM"), Some(2)));
    let n = classified(&with_category(Some("IM")), |o| {
        unlevelled(o);
        o.strong_reminder = true;
    })
    .unwrap();
    assert_eq!(class_of(&n), (Some("chat_messages"), Some("IM"), Some(16)));
    // A broken mapping is refused, not replaced by the default.
    let err = classified(&with_category(Some("BROKEN")), |_| {}).unwrap_err();
    assert!(err.contains("not an OPPO category"), "{err}");
}

#[test]
fn unmapped_categories_get_oppos_default_classification() {
    let service = |strong: bool| {
        move |o: &mut OppoSettings| {
            o.communication_channel_id = Some("service".into());
            o.strong_reminder = strong;
        }
    };
    // IM and VOIP are instant messages: level 16 only with the permission.
    for ours in ["VOIP", "IM"] {
        let m = with_category(Some(ours));
        let n = classified(&m, |o| {
            o.categories.remove("IM");
            service(false)(o);
        })
        .unwrap();
        assert_eq!(
            class_of(&n),
            (Some("service"), Some("IM"), Some(2)),
            "{ours}"
        );
        let n = classified(&m, |o| {
            o.categories.remove("IM");
            service(true)(o);
        })
        .unwrap();
        assert_eq!(
            class_of(&n),
            (Some("service"), Some("IM"), Some(16)),
            "{ours}"
        );
    }
    // The other communication & service names keep their name, level 2, even with the
    // strong-reminder permission.
    for ours in ["ORDER", "TODO", "SUBSCRIPTION", "DEVICE_REMINDER"] {
        let n = classified(&with_category(Some(ours)), service(true)).unwrap();
        assert_eq!(
            class_of(&n),
            (Some("service"), Some(ours), Some(2)),
            "{ours}"
        );
    }
    // Everything else is marketing, bar only, on the marketing (default) channel; OPPO's own
    // marketing names are kept.
    for (ours, oppo) in [
        ("NEWSLETTER", "MARKETING"),
        ("TRAVEL", "MARKETING"),
        ("MARKETING", "MARKETING"),
        ("NEWS", "NEWS"),
        ("SOCIAL", "SOCIAL"),
    ] {
        let n = classified(&with_category(Some(ours)), service(true)).unwrap();
        assert_eq!(
            class_of(&n),
            (Some("general"), Some(oppo), Some(1)),
            "{ours}"
        );
    }
    let n = classified(&with_category(Some("NEWS")), |o| {
        o.default_channel_id = None
    })
    .unwrap();
    assert_eq!(class_of(&n), (None, Some("NEWS"), Some(1)));
    // A communication default without the app's approved channel would be OPPO's code 67.
    let err = classified(&with_category(Some("VOIP")), |_| {}).unwrap_err();
    assert!(
        err.contains("settings.oppo.communication_channel_id")
            && err.contains("settings.oppo.categories.VOIP"),
        "{err}"
    );
}

#[test]
fn the_apps_mapping_overrides_the_default() {
    let n = classified(&with_category(Some("IM")), |o| {
        o.communication_channel_id = Some("service".into());
    })
    .unwrap();
    assert_eq!(class_of(&n), (Some("chat_messages"), Some("IM"), Some(16)));
    let n = classified(&with_category(Some("ORDER")), |o| {
        o.communication_channel_id = Some("service".into());
        o.categories.insert(
            "ORDER".into(),
            push_core::app::OppoClassification {
                channel_id: "promotions".into(),
                category: "MARKETING".into(),
                notify_level: None,
            },
        );
    })
    .unwrap();
    assert_eq!(
        class_of(&n),
        (Some("promotions"), Some("MARKETING"), Some(1))
    );
}

#[test]
fn without_a_category_or_settings_the_message_is_marketing() {
    // No category: unclassified, on the default channel.
    let n = classified(&with_category(None), |_| {}).unwrap();
    assert_eq!(class_of(&n), (Some("general"), None, None));
    // No OPPO settings at all: a marketing category goes out without a channel, a
    // communication one is refused, none is fine.
    let mut bare = app();
    bare.settings.oppo = None;
    let build_bare = |m: &IngestMessage| {
        build(&Inputs {
            message: m,
            app: &bare,
            accepted_at: ACCEPTED,
            now: ACCEPTED,
        })
    };
    let err = build_bare(&with_category(Some("IM"))).unwrap_err();
    assert!(err.contains("communication_channel_id"), "{err}");
    let ok = build_bare(&with_category(Some("PROMO"))).unwrap();
    assert_eq!(
        class_of(ok.notification()),
        (None, Some("MARKETING"), Some(1))
    );
    let ok = build_bare(&with_category(None)).unwrap();
    assert_eq!(class_of(ok.notification()), (None, None, None));
}

#[test]
fn text_limits_are_counted_in_characters() {
    let mut m = chat_message();
    // 50 CJK characters are 150 bytes but within the limit; 51 are not.
    m.notification.as_mut().unwrap().title = Some("你".repeat(50));
    assert_eq!(
        notification(&m)["title"].as_str().unwrap().chars().count(),
        50
    );
    m.notification.as_mut().unwrap().title = Some("🙂".repeat(51));
    assert!(
        refused(&m).contains("title is 51 characters"),
        "{}",
        refused(&m)
    );
    m.notification.as_mut().unwrap().title = Some("Alice".into());
    m.notification.as_mut().unwrap().body = Some("字".repeat(200));
    assert!(built_at(&m, ACCEPTED, None).is_ok());
    m.notification.as_mut().unwrap().body = Some("字".repeat(201));
    assert!(refused(&m).contains("body is 201 characters"));
    // Long-text style allows 128.
    m.notification.as_mut().unwrap().body = Some("字".repeat(129));
    m.overrides
        .insert("oppo".into(), serde_json::json!({"style": 2}));
    assert!(refused(&m).contains("1 to 128"));
}

#[test]
fn missing_title_or_body_borrow_from_each_other_and_the_app() {
    let mut m = chat_message();
    m.notification.as_mut().unwrap().title = None;
    let n = notification(&m);
    assert_eq!(n["title"], "Chat");
    let mut m = chat_message();
    m.notification.as_mut().unwrap().body = None;
    assert_eq!(notification(&m)["content"], "Alice");
    m.notification = None;
    assert!(refused(&m).contains("title or body"));
    let mut m = chat_message();
    m.options.silent = true;
    assert!(refused(&m).contains("silent"));
}

#[test]
fn click_targets_and_data() {
    let mut m = chat_message();
    m.notification.as_mut().unwrap().click = Some("https://example.com/c/42".into());
    let n = notification(&m);
    assert_eq!(
        (
            n["click_action_type"].as_i64(),
            n["click_action_url"].as_str()
        ),
        (Some(2), Some("https://example.com/c/42"))
    );
    m.notification.as_mut().unwrap().click = None;
    m.data.clear();
    let n = notification(&m);
    assert_eq!(n["click_action_type"], 0);
    assert!(n.get("action_parameters").is_none());
    m.data.insert("blob".into(), "x".repeat(MAX_PAYLOAD_CHARS));
    assert!(
        refused(&m).contains("action_parameters) is 4107 characters"),
        "{}",
        refused(&m)
    );
}

#[test]
fn ttl_maps_to_off_line_and_runs_out() {
    let mut m = chat_message();
    let later = ACCEPTED + time::Duration::seconds(400);
    m.options.ttl = Some(1000);
    let n = built_at(&m, later, None).unwrap();
    assert_eq!(n.notification()["off_line_ttl"], 600);
    m.options.ttl = Some(30 * 86_400);
    assert_eq!(notification(&m)["off_line_ttl"], 864_000);
    m.options.ttl = Some(0);
    let n = notification(&m);
    assert_eq!(n["off_line"], false);
    assert!(n.get("off_line_ttl").is_none());
    m.options.ttl = Some(300);
    assert!(built_at(&m, later, None).unwrap_err().contains("ran out"));
    m.options.ttl = None;
    assert!(notification(&m).get("off_line").is_none());
}

#[test]
fn notify_ids_are_stable_positive_31_bit_numbers() {
    assert_eq!(notify_id("42"), 42);
    assert_eq!(notify_id("conv-42"), notify_id("conv-42"));
    assert_ne!(notify_id("conv-42"), notify_id("conv-43"));
    for key in ["0", "-1", "99999999999", "", "conv-1", "会话"] {
        let id = notify_id(key);
        assert!((1..=i64::from(i32::MAX)).contains(&id), "{key}: {id}");
    }
}

#[test]
fn overrides_merge_and_are_checked() {
    let mut m = chat_message();
    m.overrides.insert(
        "oppo".into(),
        serde_json::json!({"sub_title": "Group", "show_ttl": 43_200, "notify_level": null, "off_line_ttl": 60}),
    );
    let n = notification(&m);
    assert_eq!(n["sub_title"], "Group");
    assert_eq!(n["show_ttl"], 43_200);
    assert!(n.get("notify_level").is_none());
    assert_eq!(n["off_line_ttl"], 60);
    for (patch, says) in [
        (
            serde_json::json!({"action_parameters": {"conv": 42}}),
            "must be a string",
        ),
        (
            serde_json::json!({"action_parameters": "not json"}),
            "JSON object",
        ),
        (serde_json::json!({"app_message_id": "x"}), "cannot be set"),
        (
            serde_json::json!({"call_back_parameter": "x"}),
            "cannot be set",
        ),
        (serde_json::json!({"show_ttl": 60}), "show_ttl"),
        (serde_json::json!({"off_line_ttl": 900_000}), "off_line_ttl"),
        (
            serde_json::json!({"category": "CHAT"}),
            "category must be one of",
        ),
        (serde_json::json!({"category": null}), "needs a category"),
        (serde_json::json!({"notify_level": 3}), "1, 2 or 16"),
        (
            serde_json::json!({"click_action_type": 1}),
            "click_action_activity",
        ),
        (serde_json::json!({"click_action_type": 3}), "not one of"),
        (serde_json::json!({"style": 3}), "broadcasts"),
        (
            serde_json::json!({"sub_title": "more than ten"}),
            "sub_title",
        ),
        (serde_json::json!({"title": 7}), "title must be a string"),
        (serde_json::json!({"off_line": "yes"}), "off_line"),
    ] {
        m.overrides.insert("oppo".into(), patch.clone());
        let err = refused(&m);
        assert!(err.contains(says), "{patch}: {err}");
    }
    m.overrides.insert("oppo".into(), serde_json::json!("nope"));
    assert!(refused(&m).contains("JSON object"));
}
