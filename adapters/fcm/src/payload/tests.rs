//! Tests of the message mapping, ttl, overrides and the size limit.

use super::*;
use push_core::{AndroidSettings, AppSettings, NotificationContent, Options, Target, TenantId};
use serde_json::json;
use time::macros::datetime;

const ACCEPTED: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);

pub(crate) fn app(package: Option<&str>) -> App {
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            android: package.map(|p| AndroidSettings {
                package_name: p.into(),
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
            body: Some("New message".into()),
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
        channel_id: "messages",
    };
    build(&inputs).map(|p| Value::Object(p.fields()))
}

fn built(message: &IngestMessage) -> Value {
    built_at(message, &app(Some("com.example.chat")), ACCEPTED).unwrap()
}

#[test]
fn a_chat_notification_fills_every_section() {
    let m = built(&chat_message());
    assert_eq!(
        m,
        json!({
            "data": { "conv": "conv-8841", "click": "chat://conv/8841" },
            "notification": { "title": "Alice", "body": "New message" },
            "android": {
                "priority": "HIGH",
                "ttl": "86400s",
                "collapse_key": "conv-8841",
                "restricted_package_name": "com.example.chat",
                "notification": {
                    "channel_id": "messages", "tag": "conv-8841", "sound": "default",
                    "notification_count": 3
                }
            },
            "apns": {
                "headers": {
                    "apns-priority": "10", "apns-push-type": "alert",
                    "apns-collapse-id": "conv-8841",
                    "apns-expiration": (ACCEPTED.unix_timestamp() + 86_400).to_string()
                },
                "payload": { "aps": { "badge": 3, "sound": "default", "thread-id": "conv-8841" } }
            },
            "webpush": { "headers": { "Urgency": "high", "TTL": "86400" } }
        })
    );
}

#[test]
fn the_body_carries_the_token_and_no_validate_only() {
    let inputs = Inputs {
        message: &chat_message(),
        app: &app(None),
        accepted_at: ACCEPTED,
        now: ACCEPTED,
        channel_id: "",
    };
    let body: Value = serde_json::from_slice(&build(&inputs).unwrap().body_for("tok-1")).unwrap();
    assert_eq!(body["message"]["token"], "tok-1");
    assert_eq!(body["message"]["notification"]["title"], "Alice");
    assert!(body.get("validate_only").is_none());
    let odd: Value = serde_json::from_slice(&build(&inputs).unwrap().body_for("t\"ok\\")).unwrap();
    assert_eq!(odd["message"]["token"], "t\"ok\\");
    assert!(
        body["message"]["android"]
            .get("restricted_package_name")
            .is_none()
    );
    assert!(
        body["message"]["android"]["notification"]
            .get("channel_id")
            .is_none()
    );
    let dry: Value = serde_json::from_slice(&dry_run_body("t")).unwrap();
    assert_eq!(
        dry,
        json!({"message": {"topic": "t"}, "validate_only": true})
    );
}

#[test]
fn silent_messages_are_data_only_background_pushes() {
    let mut msg = chat_message();
    msg.options.silent = true;
    msg.notification = Some(NotificationContent {
        badge: Some(9),
        ..NotificationContent::default()
    });
    let m = built(&msg);
    assert!(m.get("notification").is_none());
    assert!(m["android"].get("notification").is_none());
    assert_eq!(m["android"]["priority"], "HIGH");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "5");
    assert_eq!(m["apns"]["headers"]["apns-push-type"], "background");
    assert_eq!(
        m["apns"]["payload"]["aps"],
        json!({ "content-available": 1 })
    );
}

#[test]
fn data_only_without_silent_is_also_a_background_push() {
    let mut msg = chat_message();
    msg.notification = None;
    msg.options.priority = Priority::Normal;
    let m = built(&msg);
    assert!(m.get("notification").is_none());
    assert_eq!(m["data"], json!({ "conv": "conv-8841" }));
    assert_eq!(m["android"]["priority"], "NORMAL");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "5");
    assert_eq!(m["apns"]["payload"]["aps"]["content-available"], 1);
    assert_eq!(m["webpush"]["headers"]["Urgency"], "normal");
}

#[test]
fn normal_priority_alerts_use_apns_priority_5() {
    let mut msg = chat_message();
    msg.options.priority = Priority::Normal;
    let m = built(&msg);
    assert_eq!(m["apns"]["headers"]["apns-priority"], "5");
    assert_eq!(m["apns"]["headers"]["apns-push-type"], "alert");
}

#[test]
fn click_targets_go_where_each_platform_reads_them() {
    let mut msg = chat_message();
    let click = |msg: &mut IngestMessage, c: &str| {
        if let Some(n) = msg.notification.as_mut() {
            n.click = Some(c.into());
        }
    };
    let m = built(&msg);
    assert_eq!(m["data"]["click"], "chat://conv/8841");
    assert!(
        m["android"]["notification"].get("click_action").is_none(),
        "a URL is no intent action"
    );
    click(&mut msg, "OPEN_CHAT");
    let m = built(&msg);
    assert_eq!(m["android"]["notification"]["click_action"], "OPEN_CHAT");
    click(&mut msg, "https://chat.example/c/1");
    let m = built(&msg);
    assert_eq!(
        m["webpush"]["fcm_options"]["link"],
        "https://chat.example/c/1"
    );
    msg.data.insert("click".into(), "mine".into());
    assert_eq!(
        built(&msg)["data"]["click"],
        "mine",
        "the producer's data wins"
    );
}

#[test]
fn images_reach_android_and_ios() {
    let mut msg = chat_message();
    if let Some(n) = msg.notification.as_mut() {
        n.image = Some("https://img.example/a.png".into());
    }
    let m = built(&msg);
    assert_eq!(m["notification"]["image"], "https://img.example/a.png");
    assert_eq!(
        m["apns"]["fcm_options"]["image"],
        "https://img.example/a.png"
    );
    assert_eq!(m["apns"]["payload"]["aps"]["mutable-content"], 1);
}

#[test]
fn ttl_counts_from_acceptance() {
    let msg = chat_message();
    let app = app(None);
    let later = ACCEPTED + time::Duration::seconds(400);
    let m = built_at(&msg, &app, later).unwrap();
    assert_eq!(m["android"]["ttl"], "86000s");
    assert_eq!(m["webpush"]["headers"]["TTL"], "86000");
    assert_eq!(
        m["apns"]["headers"]["apns-expiration"],
        (ACCEPTED.unix_timestamp() + 86_400).to_string(),
        "an absolute time does not move"
    );
    let expired = ACCEPTED + time::Duration::seconds(86_401);
    let err = built_at(&msg, &app, expired).unwrap_err();
    assert!(err.contains("ttl"), "{err}");

    let mut now_or_never = msg.clone();
    now_or_never.options.ttl = Some(0);
    let m = built_at(&now_or_never, &app, later).unwrap();
    assert_eq!(m["android"]["ttl"], "0s");
    assert_eq!(m["apns"]["headers"]["apns-expiration"], "0");

    let mut no_ttl = msg;
    no_ttl.options.ttl = None;
    let m = built(&no_ttl);
    assert!(m["android"].get("ttl").is_none());
    assert!(m["apns"]["headers"].get("apns-expiration").is_none());
    assert_eq!(
        remaining_ttl(Some(10), ACCEPTED, ACCEPTED - time::Duration::seconds(5)),
        Ok(Some(10))
    );
}

#[test]
fn without_collapse_key_there_is_no_tag_or_collapse_id() {
    let mut msg = chat_message();
    msg.options.collapse_key = None;
    let m = built(&msg);
    assert!(m["android"].get("collapse_key").is_none());
    assert!(m["android"]["notification"].get("tag").is_none());
    assert!(m["apns"]["headers"].get("apns-collapse-id").is_none());
    assert!(m["apns"]["payload"]["aps"].get("thread-id").is_none());
}

#[test]
fn overrides_deep_merge_and_win() {
    let mut msg = chat_message();
    msg.overrides.insert(
        "fcm".into(),
        json!({
            "android": { "priority": "NORMAL", "notification": { "channel_id": "calls", "tag": null } },
            "apns": { "payload": { "aps": { "category": "MSG" } } },
            "fcm_options": { "analytics_label": "offline_msg" },
            "webpush": null
        }),
    );
    msg.overrides
        .insert("apns".into(), json!({ "ignored": true }));
    let m = built(&msg);
    assert_eq!(m["android"]["priority"], "NORMAL");
    assert_eq!(m["android"]["notification"]["channel_id"], "calls");
    assert!(
        m["android"]["notification"].get("tag").is_none(),
        "null deletes"
    );
    assert_eq!(
        m["android"]["notification"]["sound"], "default",
        "siblings stay"
    );
    assert_eq!(m["android"]["collapse_key"], "conv-8841");
    assert_eq!(m["apns"]["payload"]["aps"]["category"], "MSG");
    assert_eq!(m["apns"]["payload"]["aps"]["badge"], 3);
    assert_eq!(m["fcm_options"]["analytics_label"], "offline_msg");
    assert!(m.get("webpush").is_none());
    assert!(m.get("ignored").is_none());
}

#[test]
fn overrides_cannot_retarget_or_break_data() {
    let cases = [
        (json!({ "topic": "all" }), "overrides.fcm.topic"),
        (json!({ "token": "x" }), "overrides.fcm.token"),
        (json!("android"), "must be a JSON object"),
        (json!({ "data": { "n": 1 } }), "data.n must be a string"),
        (
            json!({ "android": { "data": { "from": "x" } } }),
            "android.data.from",
        ),
    ];
    for (patch, want) in cases {
        let mut msg = chat_message();
        msg.overrides.insert("fcm".into(), patch);
        let err = built_at(&msg, &app(None), ACCEPTED).unwrap_err();
        assert!(err.contains(want), "{err} should contain {want}");
    }
}

#[test]
fn reserved_data_keys_are_refused_before_sending() {
    for key in [
        "from",
        "message_type",
        "gcm",
        "google.c.a",
        "gcm.notification.body",
    ] {
        let mut msg = chat_message();
        msg.data.insert(key.into(), "x".into());
        let err = built_at(&msg, &app(None), ACCEPTED).unwrap_err();
        assert!(err.contains("reserves"), "{key}: {err}");
    }
    let mut ok = chat_message();
    ok.data.insert("google".into(), "fine".into());
    ok.data.insert("collapse_key".into(), "tolerated".into());
    assert!(built_at(&ok, &app(None), ACCEPTED).is_ok());
}

#[test]
fn the_size_limit_counts_keys_and_values() {
    let base = built(&chat_message());
    let used = payload_bytes(base.as_object().unwrap());
    // conv+conv-8841, click+url, title+Alice, body+New message, channel_id+messages,
    // tag+conv-8841, sound+default, notification_count+3.
    assert_eq!(
        used,
        4 + 9 + 5 + 16 + 5 + 5 + 4 + 11 + 10 + 8 + 3 + 9 + 5 + 7 + 18 + 1
    );
    let mut msg = chat_message();
    let room = MAX_PAYLOAD_BYTES - used - 1; // key "x"
    msg.data.insert("x".into(), "a".repeat(room));
    assert!(
        built_at(&msg, &app(None), ACCEPTED).is_ok(),
        "exactly 4096 fits"
    );
    msg.data.insert("x".into(), "a".repeat(room + 1));
    let err = built_at(&msg, &app(None), ACCEPTED).unwrap_err();
    assert!(err.contains("4097 bytes") && err.contains("4096"), "{err}");
}

/// The message with and without an empty `overrides.fcm`: the typed fast path and the JSON
/// merge path must build and count alike.
#[test]
fn the_typed_path_builds_and_counts_like_the_override_path() {
    let mut silent = chat_message();
    silent.options.silent = true;
    let mut image = chat_message();
    if let Some(n) = image.notification.as_mut() {
        n.image = Some("https://img.example/a.png".into());
        n.click = Some("OPEN_CHAT".into());
    }
    let mut data_only = chat_message();
    data_only.notification = None;
    for msg in [chat_message(), silent, image, data_only] {
        let app = app(Some("com.example.chat"));
        let typed = built_at(&msg, &app, ACCEPTED).unwrap();
        let mut merged = msg.clone();
        merged.overrides.insert("fcm".into(), json!({}));
        assert_eq!(built_at(&merged, &app, ACCEPTED).unwrap(), typed);
        let inputs = Inputs {
            message: &msg,
            app: &app,
            accepted_at: ACCEPTED,
            now: ACCEPTED,
            channel_id: "messages",
        };
        let model = model::message(&inputs).unwrap();
        assert_eq!(
            model.device_bytes(),
            payload_bytes(typed.as_object().unwrap())
        );
    }
}
