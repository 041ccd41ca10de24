//! Tests of the notification mapping, classification, character limits, ttl, collapse and
//! overrides.

use super::*;
use push_core::{AppSettings, NotificationContent, Options, Priority, Target, TenantId};
use std::collections::BTreeMap;
use time::macros::datetime;

const ACCEPTED: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);
const CALLBACK: &str = "https://push.example.com/v1/callbacks/oppo/chat-prod/Tok3n";

/// An app mapping `IM` (strong reminder), `ACCOUNT` and `PROMO`, with a default channel.
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

#[test]
fn classification_comes_from_settings_and_unmapped_categories_are_refused() {
    let mut m = chat_message();
    m.options.category = Some("ACCOUNT".into());
    let n = notification(&m);
    assert_eq!(
        (n["channel_id"].as_str(), n["category"].as_str()),
        (Some("chat_service"), Some("ACCOUNT"))
    );
    assert_eq!(n["notify_level"], 2);
    m.options.category = Some("PROMO".into());
    let n = notification(&m);
    assert_eq!(n["category"], "MARKETING");
    assert!(n.get("notify_level").is_none());
    m.options.category = Some("VOIP".into());
    let err = refused(&m);
    assert!(
        err.contains("settings.oppo.categories.VOIP") && err.contains(r#""category": "IM""#),
        "{err}"
    );
    m.options.category = Some("NEWSLETTER".into());
    assert!(refused(&m).contains("MARKETING"));
    m.options.category = Some("BROKEN".into());
    assert!(refused(&m).contains("not an OPPO category"));
    // No category: unclassified, on the default channel.
    m.options.category = None;
    let n = notification(&m);
    assert_eq!(n["channel_id"], "general");
    assert!(n.get("category").is_none() && n.get("notify_level").is_none());
    // No OPPO settings at all: a category is refused, none is fine.
    let mut bare = app();
    bare.settings.oppo = None;
    let mut m = chat_message();
    let err = build(&Inputs {
        message: &m,
        app: &bare,
        accepted_at: ACCEPTED,
        now: ACCEPTED,
    })
    .unwrap_err();
    assert!(
        err.contains("no OPPO classification configured for IM"),
        "{err}"
    );
    m.options.category = None;
    let ok = build(&Inputs {
        message: &m,
        app: &bare,
        accepted_at: ACCEPTED,
        now: ACCEPTED,
    })
    .unwrap();
    assert!(ok.notification().get("channel_id").is_none());
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
