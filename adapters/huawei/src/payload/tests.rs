//! Tests of the message mapping, classification, ttl, collapse, overrides and the size limit.

use super::*;
use push_core::{AppSettings, HuaweiSettings, NotificationContent, Options, Target, TenantId};
use std::collections::BTreeMap;
use time::macros::datetime;

const ACCEPTED: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);

/// An app mapping `IM` and `VOIP` to Huawei's categories of the same name.
pub(crate) fn app() -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            huawei: Some(HuaweiSettings {
                categories: BTreeMap::from([
                    ("IM".to_string(), "IM".to_string()),
                    ("VOIP".to_string(), "VOIP".to_string()),
                    ("VOICE".to_string(), "PLAY_VOICE".to_string()),
                ]),
            }),
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
            body: Some("你来吗？".into()),
            badge: Some(3),
            sound: Some("default".into()),
            image: None,
            click: Some("chat://conv/8841".into()),
        }),
        data: [("conv".to_string(), "conv-8841".to_string())].into(),
        options: Options {
            priority: Priority::High,
            ttl: Some(86_400),
            collapse_key: Some("conv-8841".into()),
            category: Some("IM".into()),
            silent: false,
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn built_at(message: &IngestMessage, app: &App, now: OffsetDateTime) -> Result<Value, String> {
    let inputs = Inputs {
        message,
        app,
        accepted_at: ACCEPTED,
        now,
        bi_tag: "delivery-1",
    };
    build(&inputs).map(|p| Value::Object(p.fields().clone()))
}

fn built(message: &IngestMessage) -> Value {
    built_at(message, &app(), ACCEPTED).unwrap()
}

#[test]
fn a_chat_notification_is_a_classified_notification_message() {
    let m = built(&chat_message());
    assert_eq!(
        m,
        json!({
            "data": r#"{"click":"chat://conv/8841","conv":"conv-8841"}"#,
            "android": {
                "category": "IM",
                "ttl": "86400s",
                "bi_tag": "delivery-1",
                "notification": {
                    "title": "Alice",
                    "body": "你来吗？",
                    "click_action": { "type": 1, "intent": "chat://conv/8841" },
                    "tag": "conv-8841",
                    "default_sound": true
                }
            }
        })
    );
}

#[test]
fn the_body_carries_the_token_list() {
    let inputs = Inputs {
        message: &chat_message(),
        app: &app(),
        accepted_at: ACCEPTED,
        now: ACCEPTED,
        bi_tag: "n-1",
    };
    let body: Value =
        serde_json::from_slice(&build(&inputs).unwrap().body_for(&["t1", "t2"])).unwrap();
    assert_eq!(body["validate_only"], false);
    assert_eq!(body["message"]["token"], json!(["t1", "t2"]));
    assert_eq!(body["message"]["android"]["bi_tag"], "n-1");
}

#[test]
fn silent_and_text_less_messages_are_data_messages_with_urgency() {
    let mut msg = chat_message();
    msg.options.silent = true;
    msg.options.priority = Priority::Normal;
    let m = built(&msg);
    assert!(m["android"].get("notification").is_none());
    assert_eq!(m["android"]["urgency"], "NORMAL");
    assert_eq!(
        m["data"],
        r#"{"click":"chat://conv/8841","conv":"conv-8841"}"#
    );

    let mut bare = chat_message();
    bare.notification = None;
    bare.data.clear();
    let m = built(&bare);
    assert_eq!(m["data"], "{}", "a data message always has data");
    assert_eq!(m["android"]["urgency"], "HIGH");
}

#[test]
fn click_sound_and_image_mapping() {
    let mut msg = chat_message();
    if let Some(n) = msg.notification.as_mut() {
        n.click = None;
        n.sound = Some("/raw/ring".into());
        n.image = Some("https://img.example/a.png".into());
    }
    let n = built(&msg)["android"]["notification"].clone();
    assert_eq!(n["click_action"], json!({ "type": 3 }));
    assert_eq!(n["sound"], "/raw/ring");
    assert_eq!(n["default_sound"], false);
    assert_eq!(n["image"], "https://img.example/a.png");
    assert!(
        n.get("badge").is_none(),
        "Huawei's badge needs the activity class"
    );
}

#[test]
fn categories_map_per_app_and_unmapped_ones_get_the_default() {
    let mut msg = chat_message();
    msg.options.category = Some("VOIP".into());
    assert_eq!(built(&msg)["android"]["category"], "VOIP");

    // Not in the app's map but one of Huawei's own values: passed through (huawei.md §5).
    msg.options.category = Some("ACCOUNT".into());
    assert_eq!(built(&msg)["android"]["category"], "ACCOUNT");
    let mut bare_app = app();
    bare_app.settings.huawei = None;
    for ours in ["IM", "SYSTEM_REMINDER", "MARKETING"] {
        msg.options.category = Some(ours.into());
        let m = built_at(&msg, &bare_app, ACCEPTED).unwrap();
        assert_eq!(
            m["android"]["category"], ours,
            "{ours} without settings.huawei"
        );
    }

    // Anything else (and no category at all) leaves `android.category` out: news &
    // marketing class, never an invented value Huawei would refuse.
    for ours in [Some("ORDER"), Some("NEWS"), Some("im"), Some(""), None] {
        msg.options.category = ours.map(str::to_string);
        let m = built_at(&msg, &bare_app, ACCEPTED).unwrap();
        assert!(
            m["android"].get("category").is_none(),
            "{ours:?} is sent unclassified: {m}"
        );
    }

    let mut stale = app();
    if let Some(h) = stale.settings.huawei.as_mut() {
        h.categories.insert("IM".into(), "CHAT".into());
    }
    msg.options.category = Some("IM".into());
    let err = built_at(&msg, &stale, ACCEPTED).unwrap_err();
    assert!(err.contains("not a Huawei category"), "{err}");
}

#[test]
fn the_apps_mapping_overrides_the_default() {
    let mut custom = app();
    if let Some(h) = custom.settings.huawei.as_mut() {
        // IM would pass through as IM; this app (say, without the self-classification
        // entitlement) sends it as marketing, and maps a name Huawei does not know.
        h.categories.insert("IM".into(), "MARKETING".into());
        h.categories.insert("ORDER".into(), "EXPRESS".into());
    }
    let mut msg = chat_message();
    let m = built_at(&msg, &custom, ACCEPTED).unwrap();
    assert_eq!(m["android"]["category"], "MARKETING");
    msg.options.category = Some("ORDER".into());
    let m = built_at(&msg, &custom, ACCEPTED).unwrap();
    assert_eq!(m["android"]["category"], "EXPRESS");
}

#[test]
fn the_default_table() {
    for &theirs in HUAWEI_CATEGORIES {
        assert_eq!(default_category(theirs, false), Some(theirs));
        let on_notification = (theirs != "PLAY_VOICE").then_some(theirs);
        assert_eq!(default_category(theirs, true), on_notification);
    }
    for ours in ["ORDER", "TODO", "NEWS", "CHAT", "Im", " IM"] {
        assert_eq!(default_category(ours, true), None, "{ours}");
        assert_eq!(default_category(ours, false), None, "{ours}");
    }
}

#[test]
fn play_voice_is_for_data_messages_only() {
    let mut msg = chat_message();
    msg.options.category = Some("VOICE".into());
    let err = built_at(&msg, &app(), ACCEPTED).unwrap_err();
    assert!(
        err.contains("PLAY_VOICE") && err.contains("silent"),
        "{err}"
    );
    msg.options.silent = true;
    assert_eq!(built(&msg)["android"]["category"], "PLAY_VOICE");

    // Unmapped, PLAY_VOICE passes through on a data message only; a notification goes
    // unclassified rather than refused (the default mapping, huawei.md §5).
    let mut bare_app = app();
    bare_app.settings.huawei = None;
    msg.options.category = Some("PLAY_VOICE".into());
    let m = built_at(&msg, &bare_app, ACCEPTED).unwrap();
    assert_eq!(m["android"]["category"], "PLAY_VOICE");
    msg.options.silent = false;
    let m = built_at(&msg, &bare_app, ACCEPTED).unwrap();
    assert!(m["android"].get("category").is_none(), "{m}");
    assert!(m["android"].get("notification").is_some(), "{m}");
}

#[test]
fn ttl_counts_from_acceptance_and_is_capped_at_15_days() {
    let msg = chat_message();
    let later = ACCEPTED + time::Duration::seconds(400);
    assert_eq!(
        built_at(&msg, &app(), later).unwrap()["android"]["ttl"],
        "86000s"
    );
    let expired = ACCEPTED + time::Duration::seconds(86_401);
    assert!(built_at(&msg, &app(), expired).unwrap_err().contains("ttl"));
    let mut long = chat_message();
    long.options.ttl = Some(30 * 86_400);
    assert_eq!(built(&long)["android"]["ttl"], "1296000s");
    let mut now_or_never = chat_message();
    now_or_never.options.ttl = Some(0);
    assert_eq!(built(&now_or_never)["android"]["ttl"], "0s");
    let mut none = chat_message();
    none.options.ttl = None;
    assert!(built(&none)["android"].get("ttl").is_none());
}

#[test]
fn numeric_collapse_keys_are_cache_groups_others_only_tags() {
    let mut msg = chat_message();
    let m = built(&msg);
    assert!(m["android"].get("collapse_key").is_none());
    assert_eq!(m["android"]["notification"]["tag"], "conv-8841");
    for (key, group) in [
        ("0", Some(0)),
        ("42", Some(42)),
        ("-1", Some(-1)),
        ("101", None),
    ] {
        msg.options.collapse_key = Some(key.into());
        let got = built(&msg)["android"]
            .get("collapse_key")
            .and_then(Value::as_i64);
        assert_eq!(got, group, "{key}");
    }
}

#[test]
fn overrides_deep_merge_last_and_are_checked() {
    let mut msg = chat_message();
    msg.overrides.insert(
        "huawei".into(),
        json!({
            "android": {
                "receipt_id": "RCP-1",
                "notification": { "channel_id": "chat", "tag": null,
                                  "badge": { "add_num": 1, "class": "com.example.Main" } }
            }
        }),
    );
    let m = built(&msg);
    assert_eq!(m["android"]["receipt_id"], "RCP-1");
    assert_eq!(m["android"]["notification"]["channel_id"], "chat");
    assert!(
        m["android"]["notification"].get("tag").is_none(),
        "null deletes"
    );
    assert_eq!(
        m["android"]["notification"]["title"], "Alice",
        "siblings stay"
    );
    assert_eq!(m["android"]["notification"]["badge"]["add_num"], 1);

    let cases = [
        (json!({ "token": ["x"] }), "overrides.huawei.token"),
        (json!({ "topic": "all" }), "overrides.huawei.topic"),
        (json!("android"), "must be a JSON object"),
        (json!({ "data": { "n": 1 } }), "data must be a string"),
        (
            json!({ "android": { "data": 5 } }),
            "android.data must be a string",
        ),
        (
            json!({ "android": { "collapse_key": 500 } }),
            "collapse_key",
        ),
        (
            json!({ "android": { "category": "CHAT" } }),
            "android.category",
        ),
        (
            json!({ "android": { "notification": { "click_action": null } } }),
            "click_action",
        ),
        (
            json!({ "android": { "notification": null }, "data": null }),
            "neither data nor",
        ),
    ];
    for (patch, want) in cases {
        let mut msg = chat_message();
        msg.overrides.insert("huawei".into(), patch);
        let err = built_at(&msg, &app(), ACCEPTED).unwrap_err();
        assert!(err.contains(want), "{err} should contain {want}");
    }
}

#[test]
fn the_size_limit_counts_utf8_bytes_of_the_message_without_tokens() {
    let base = Value::Object(
        build(&Inputs {
            message: &chat_message(),
            app: &app(),
            accepted_at: ACCEPTED,
            now: ACCEPTED,
            bi_tag: "delivery-1",
        })
        .unwrap()
        .fields()
        .clone(),
    );
    let used = base.to_string().len();
    let mut msg = chat_message();
    // `,\"x\":\"…\"` inside the data string costs 11 bytes plus the value.
    let room = MAX_PAYLOAD_BYTES - used - 11;
    msg.data.insert("x".into(), "a".repeat(room));
    let fits = built(&msg).to_string().len();
    assert_eq!(fits, MAX_PAYLOAD_BYTES, "exactly 4096 fits");
    msg.data.insert("x".into(), "a".repeat(room + 1));
    let err = built_at(&msg, &app(), ACCEPTED).unwrap_err();
    assert!(err.contains("4097 bytes") && err.contains("4096"), "{err}");

    // CJK text: 3 bytes per character.
    let mut cjk = chat_message();
    if let Some(n) = cjk.notification.as_mut() {
        n.body = Some("好".repeat(1400));
    }
    let err = built_at(&cjk, &app(), ACCEPTED).unwrap_err();
    assert!(err.contains("characters") && err.contains("CJK"), "{err}");
}

#[test]
fn a_notification_with_only_a_title_or_a_body_shows_both() {
    let with = |title: Option<&str>, body: Option<&str>| {
        let mut m = chat_message();
        if let Some(n) = m.notification.as_mut() {
            n.title = title.map(str::to_string);
            n.body = body.map(str::to_string);
        }
        let built = built(&m);
        let n = &built["android"]["notification"];
        (n["title"].clone(), n["body"].clone())
    };
    assert_eq!(with(Some("Alice"), None), (json!("Alice"), json!("Alice")));
    assert_eq!(
        with(None, Some("hi")),
        (json!("Chat"), json!("hi")),
        "the app's name"
    );
}
