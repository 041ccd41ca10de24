//! The form built from ingest messages: mapping, text limits in characters, payload size,
//! classification and templates, ttl per class, receipts, overrides.
#![allow(clippy::unwrap_used)]

use super::*;
use push_core::{
    AndroidSettings, AppSettings, IngestMessage, NotificationContent, Options, Target, TenantId,
    XiaomiSettings,
};
use std::collections::BTreeMap;
use time::macros::datetime;

pub(crate) const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const PACKAGE: &str = "com.example.chat";

/// An app mapping IM to a private channel with a template, VOIP to a private channel and
/// MARKETING to a public one.
pub(crate) fn app() -> App {
    let xiaomi: XiaomiSettings = serde_json::from_value(serde_json::json!({
        "categories": {
            "IM": {"channel_id": "110001", "class": "private",
                   "template": {"id": "tpl-chat", "params": {"sender": "title", "text": "body"}}},
            "VOIP": {"channel_id": "110002", "class": "private"},
            "MARKETING": {"channel_id": "120001", "class": "public"}
        },
        "callback_url": "https://push.example.com/v1/callbacks/xiaomi/chat-prod?t=s3cr3t"
    }))
    .unwrap();
    App {
        id: "chat-prod".into(),
        tenant_id: TenantId::new(),
        name: "Chat".into(),
        settings: AppSettings {
            android: Some(AndroidSettings {
                package_name: PACKAGE.into(),
            }),
            xiaomi: Some(xiaomi),
            ..AppSettings::default()
        },
        created_at: NOW,
        updated_at: NOW,
    }
}

/// A chat notification of category VOIP-free IM with a day of ttl.
pub(crate) fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming?".into()),
            click: Some("chat://conv/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(86_400),
            collapse_key: Some("conv-42".into()),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn build_for(message: &IngestMessage) -> Result<Prepared, String> {
    build_with(&app(), message)
}

fn build_with(app: &App, message: &IngestMessage) -> Result<Prepared, String> {
    build(&Inputs {
        message,
        app,
        package_name: PACKAGE,
        accepted_at: NOW,
        now: NOW,
        callback_param: Some("delivery-1"),
    })
}

fn form_pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[test]
fn a_chat_message_is_a_notification_on_its_private_channel_with_its_template() {
    let p = build_for(&chat_message()).unwrap();
    assert_eq!(p.class, Class::Private);
    assert_eq!(p.get("restricted_package_name"), Some(PACKAGE));
    assert_eq!(p.get("pass_through"), Some("0"));
    assert_eq!(p.get("title"), Some("Alice"));
    assert_eq!(p.get("description"), Some("are you coming?"));
    assert_eq!(p.get("notify_type"), Some("-1"));
    assert_eq!(p.get("extra.channel_id"), Some("110001"));
    assert_eq!(p.get("extra.template_id"), Some("tpl-chat"));
    let params: serde_json::Value =
        serde_json::from_str(p.get("extra.template_param").unwrap()).unwrap();
    assert_eq!(
        params,
        serde_json::json!({"sender": "Alice", "text": "are you coming?"})
    );
    let payload: serde_json::Value = serde_json::from_str(p.get("payload").unwrap()).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"conv": "42", "click": "chat://conv/42"})
    );
    assert_eq!(p.get("extra.notify_effect"), Some("2"));
    assert_eq!(
        p.get("extra.intent_uri"),
        Some("intent:chat://conv/42#Intent;action=android.intent.action.VIEW;end")
    );
    assert_eq!(
        p.get("notify_id"),
        Some(notify_id("conv-42").to_string().as_str())
    );
    assert_eq!(p.get("time_to_live"), Some("86400000"));
    assert_eq!(p.get("extra.callback.param"), Some("delivery-1"));
    assert_eq!(p.get("extra.callback.type"), Some("1267"));
    assert_eq!(
        p.get("extra.callback"),
        Some("https://push.example.com/v1/callbacks/xiaomi/chat-prod?t=s3cr3t")
    );
    let jobkey = p.get("extra.jobkey").unwrap();
    assert_eq!(jobkey.len(), 12);
    assert!(jobkey.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn regids_are_comma_joined_and_percent_encoded() {
    let p = build_for(&chat_message()).unwrap();
    let body = p.body_for(&["a+b/c=", "d e"]);
    assert!(
        body.starts_with("registration_id=a%2Bb%2Fc%3D%2Cd+e&"),
        "{body}"
    );
    let pairs = form_pairs(&body);
    assert_eq!(pairs[0], ("registration_id".into(), "a+b/c=,d e".into()));
    assert!(pairs.iter().any(|(k, v)| k == "title" && v == "Alice"));
}

#[test]
fn texts_are_cut_in_characters_not_bytes() {
    let mut m = chat_message();
    m.options.category = Some("VOIP".into());
    let content = m.notification.as_mut().unwrap();
    content.title = Some("张".repeat(49));
    content.body = Some("消".repeat(127));
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("title").unwrap().chars().count(), 49);
    assert!(!p.get("title").unwrap().ends_with('…'));
    assert_eq!(p.get("description").unwrap().chars().count(), 127);
    let content = m.notification.as_mut().unwrap();
    content.title = Some("张".repeat(50));
    content.body = Some("消".repeat(500));
    let p = build_for(&m).unwrap();
    let title = p.get("title").unwrap();
    assert_eq!(title.chars().count(), 49);
    assert!(title.ends_with('…'));
    assert_eq!(p.get("description").unwrap().chars().count(), 127);
}

#[test]
fn a_missing_title_or_body_is_filled_and_silent_is_pass_through() {
    let mut m = chat_message();
    m.options.category = Some("VOIP".into());
    m.notification.as_mut().unwrap().title = None;
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("title"), Some("are you coming?"));
    m.notification.as_mut().unwrap().body = Some("   ".into());
    m.notification.as_mut().unwrap().title = Some("Alice".into());
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("description"), Some("Alice"));
    m.options.silent = true;
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("pass_through"), Some("1"));
    assert_eq!(p.get("title"), None);
    assert_eq!(p.get("notify_id"), None);
    let mut empty = chat_message();
    empty.notification = None;
    empty.data.clear();
    empty.options.category = None;
    let p = build_for(&empty).unwrap();
    assert_eq!(p.get("pass_through"), Some("1"));
    assert_eq!(p.get("payload"), Some("{}"));
}

#[test]
fn the_payload_limit_is_4095_utf8_bytes() {
    let mut m = chat_message();
    m.notification.as_mut().unwrap().click = None;
    let base = build_for(&m).unwrap().get("payload").unwrap().len();
    m.data
        .insert("blob".into(), "x".repeat(MAX_PAYLOAD_BYTES - base - 10));
    assert_eq!(
        build_for(&m).unwrap().get("payload").unwrap().len(),
        MAX_PAYLOAD_BYTES
    );
    m.data
        .insert("blob".into(), "x".repeat(MAX_PAYLOAD_BYTES - base - 9));
    let err = build_for(&m).unwrap_err();
    assert!(
        err.contains("4096 bytes") && err.contains("under 4 KB"),
        "{err}"
    );
    let mut cjk = chat_message();
    cjk.data.insert("blob".into(), "中".repeat(1400));
    assert!(build_for(&cjk).unwrap_err().contains("CJK"));
}

/// [`app`] with `settings.xiaomi.public_channel_id` = 120009 (not MARKETING's 120001, to
/// tell the two apart).
fn app_with_public_channel() -> App {
    let mut app = app();
    if let Some(x) = app.settings.xiaomi.as_mut() {
        x.public_channel_id = Some("120009".into());
    }
    app
}

#[test]
fn mapped_categories_go_on_their_channels() {
    let mut m = chat_message();
    m.options.category = Some("MARKETING".into());
    let p = build_with(&app_with_public_channel(), &m).unwrap();
    assert_eq!(p.class, Class::Public);
    assert_eq!(p.get("extra.channel_id"), Some("120001"));
    assert_eq!(p.get("extra.template_id"), None);
    assert_eq!(p.get("time_to_live"), Some("86400000"));
    assert_eq!(p.note, None);
    m.options.category = Some("VOIP".into());
    let p = build_with(&app_with_public_channel(), &m).unwrap();
    assert_eq!(p.class, Class::Private);
    assert_eq!(p.get("extra.channel_id"), Some("110002"));
}

#[test]
fn without_a_public_channel_unmapped_and_missing_categories_use_the_default_channel() {
    for category in [Some("ACCOUNT"), Some("NEWS"), None] {
        let mut m = chat_message();
        m.options.category = category.map(str::to_string);
        let p = build_for(&m).unwrap();
        assert_eq!(p.class, Class::Unclassified, "{category:?}");
        assert_eq!(p.get("extra.channel_id"), None, "{category:?}");
        assert_eq!(p.get("extra.template_id"), None, "{category:?}");
        assert_eq!(p.get("time_to_live"), Some("86400000"), "{category:?}");
    }
    // Without any Xiaomi settings at all, too.
    let mut bare = app();
    bare.settings.xiaomi = None;
    let p = build_with(&bare, &chat_message()).unwrap();
    assert_eq!(p.class, Class::Unclassified);
    assert_eq!(p.get("extra.channel_id"), None);
    assert_eq!(p.get("extra.template_id"), None);
}

#[test]
fn unmapped_and_missing_categories_take_the_public_channel() {
    let app = app_with_public_channel();
    for category in [Some("ACCOUNT"), Some("NEWS"), Some("SUBSCRIPTION"), None] {
        let mut m = chat_message();
        m.options.category = category.map(str::to_string);
        m.options.ttl = Some(5 * 86_400);
        let p = build_with(&app, &m).unwrap();
        assert_eq!(p.class, Class::Public, "{category:?}");
        assert_eq!(p.get("extra.channel_id"), Some("120009"), "{category:?}");
        assert_eq!(p.get("extra.template_id"), None, "{category:?}");
        assert_eq!(p.get("extra.template_param"), None, "{category:?}");
        // Capped at the public class's day, not the private 10 days.
        assert_eq!(p.get("time_to_live"), Some("86400000"), "{category:?}");
    }
}

#[test]
fn unmapped_private_kinds_are_sent_with_a_note() {
    for (category, on) in [("ACCOUNT", "public channel 120009"), ("ORDER", "120009")] {
        let mut m = chat_message();
        m.options.category = Some(category.into());
        let note = build_with(&app_with_public_channel(), &m)
            .unwrap()
            .note
            .unwrap();
        assert!(
            note.contains(on) && note.contains(&format!("settings.xiaomi.categories.{category}")),
            "{note}"
        );
    }
    let mut bare = app();
    bare.settings.xiaomi = None;
    let note = build_with(&bare, &chat_message()).unwrap().note.unwrap();
    assert!(
        note.contains("default channel") && note.contains("chat-prod"),
        "{note}"
    );
    let mut news = chat_message();
    news.options.category = Some("NEWS".into());
    assert_eq!(build_for(&news).unwrap().note, None);
    news.options.category = None;
    assert_eq!(build_for(&news).unwrap().note, None);
}

#[test]
fn the_apps_mapping_overrides_the_default() {
    // ACCOUNT would fall back to the public channel; the app maps it to a private one.
    let mut app = app_with_public_channel();
    let settings = app.settings.xiaomi.as_mut().unwrap();
    settings.categories.insert(
        "ACCOUNT".into(),
        serde_json::from_value(serde_json::json!({"channel_id": "110003", "class": "private"}))
            .unwrap(),
    );
    // And NEWS, which would take the public channel 120009, to its own public channel.
    settings.categories.insert(
        "NEWS".into(),
        serde_json::from_value(serde_json::json!({"channel_id": "120002", "class": "public"}))
            .unwrap(),
    );
    let mut m = chat_message();
    m.options.category = Some("ACCOUNT".into());
    m.options.ttl = Some(5 * 86_400);
    let p = build_with(&app, &m).unwrap();
    assert_eq!(p.class, Class::Private);
    assert_eq!(p.get("extra.channel_id"), Some("110003"));
    assert_eq!(p.get("time_to_live"), Some("432000000"));
    assert_eq!(p.note, None);
    m.options.category = Some("NEWS".into());
    let p = build_with(&app, &m).unwrap();
    assert_eq!(p.class, Class::Public);
    assert_eq!(p.get("extra.channel_id"), Some("120002"));
}

#[test]
fn templates_go_only_with_notifications_on_mapped_private_channels() {
    // A pass-through message on the templated IM channel: no template, and the variables'
    // sources (title and body) are not needed.
    let mut silent = chat_message();
    silent.options.silent = true;
    let p = build_for(&silent).unwrap();
    assert_eq!(p.get("pass_through"), Some("1"));
    assert_eq!(p.get("extra.channel_id"), Some("110001"));
    assert_eq!(p.get("extra.template_id"), None);
    assert_eq!(p.get("extra.template_param"), None);
    let mut data_only = chat_message();
    data_only.notification = None;
    let p = build_for(&data_only).unwrap();
    assert_eq!(p.get("pass_through"), Some("1"));
    assert_eq!(p.get("extra.template_id"), None);
    // A template on a public mapping (settings validation refuses it; stored settings may
    // predate that) is not sent.
    let mut app = app();
    let settings = app.settings.xiaomi.as_mut().unwrap();
    let mut im = settings.categories["IM"].clone();
    im.class = push_core::app::XiaomiClass::Public;
    settings.categories.insert("IM".into(), im);
    let p = build_with(&app, &chat_message()).unwrap();
    assert_eq!(p.class, Class::Public);
    assert_eq!(p.get("extra.template_id"), None);
    assert_eq!(p.get("extra.template_param"), None);
    // The notification on the private channel keeps it.
    let p = build_for(&chat_message()).unwrap();
    assert_eq!(p.get("extra.template_id"), Some("tpl-chat"));
}

#[test]
fn ttl_is_capped_per_class_and_zero_is_only_send_once() {
    let mut m = chat_message();
    m.options.ttl = Some(30 * 86_400);
    assert_eq!(
        build_for(&m).unwrap().get("time_to_live"),
        Some("864000000")
    );
    m.options.category = Some("MARKETING".into());
    assert_eq!(build_for(&m).unwrap().get("time_to_live"), Some("86400000"));
    m.options.ttl = Some(0);
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("time_to_live"), None);
    assert_eq!(p.get("extra.only_send_once"), Some("1"));
    assert_eq!(
        remaining_ttl_ms(Some(60), NOW - time::Duration::seconds(20), NOW),
        Ok(Some(40_000))
    );
    assert!(remaining_ttl_ms(Some(60), NOW - time::Duration::seconds(61), NOW).is_err());
}

#[test]
fn template_values_drop_emoji_and_must_not_be_empty() {
    let mut m = chat_message();
    m.notification.as_mut().unwrap().body = Some("see you 😀👍🏽 at 5 ❤️".into());
    let p = build_for(&m).unwrap();
    let params: serde_json::Value =
        serde_json::from_str(p.get("extra.template_param").unwrap()).unwrap();
    assert_eq!(params["text"], "see you  at 5");
    m.notification.as_mut().unwrap().body = Some("🎉🎉".into());
    let err = build_for(&m).unwrap_err();
    assert!(err.contains("template variable text"), "{err}");
    let mut long = chat_message();
    long.notification.as_mut().unwrap().body = Some("好".repeat(300));
    let p = build_for(&long).unwrap();
    let params: serde_json::Value =
        serde_json::from_str(p.get("extra.template_param").unwrap()).unwrap();
    assert_eq!(params["text"].as_str().unwrap().chars().count(), 128);
}

#[test]
fn click_targets_and_sounds() {
    let mut m = chat_message();
    m.options.category = Some("VOIP".into());
    m.notification.as_mut().unwrap().click = Some("https://example.com/c/42".into());
    m.notification.as_mut().unwrap().sound = Some("ring".into());
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("extra.notify_effect"), Some("3"));
    assert_eq!(p.get("extra.web_uri"), Some("https://example.com/c/42"));
    assert_eq!(
        p.get("extra.sound_uri"),
        Some("android.resource://com.example.chat/raw/ring")
    );
    m.notification.as_mut().unwrap().click = None;
    m.notification.as_mut().unwrap().sound = Some("default".into());
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("extra.notify_effect"), Some("1"));
    assert_eq!(p.get("extra.sound_uri"), None);
}

#[test]
fn notify_ids_and_jobkeys_are_stable() {
    assert_eq!(notify_id("42"), 42);
    assert_eq!(notify_id("conv-42"), notify_id("conv-42"));
    assert_ne!(notify_id("conv-42"), notify_id("conv-43"));
    assert!(notify_id("4294967295") <= i32::MAX as u32);
    let mut m = chat_message();
    m.options.collapse_key = None;
    let a = build_for(&m).unwrap();
    m.id = "m-2".into();
    let b = build_for(&m).unwrap();
    assert_ne!(a.get("notify_id"), b.get("notify_id"));
    assert_ne!(a.get("extra.jobkey"), b.get("extra.jobkey"));
    assert_eq!(jobkey("chat-prod", "m-1"), jobkey("chat-prod", "m-1"));
    assert_ne!(jobkey("chat-prod", "m-1"), jobkey("chat-dev", "m-1"));
}

#[test]
fn overrides_merge_last_and_cannot_retarget() {
    let mut m = chat_message();
    m.overrides.insert(
        "xiaomi".into(),
        serde_json::json!({"extra.ticker": "New message", "notify_type": 2, "extra.callback": null, "extra.foo": true}),
    );
    let p = build_for(&m).unwrap();
    assert_eq!(p.get("extra.ticker"), Some("New message"));
    assert_eq!(p.get("notify_type"), Some("2"));
    assert_eq!(p.get("extra.callback"), None);
    assert_eq!(p.get("extra.foo"), Some("1"));
    for (patch, says) in [
        (
            serde_json::json!({"registration_id": "x"}),
            "registration_id",
        ),
        (
            serde_json::json!({"restricted_package_name": "x.y"}),
            "restricted_package_name",
        ),
        (
            serde_json::json!({"extra.x": {"a": 1}}),
            "string, number or bool",
        ),
        (serde_json::json!(["x"]), "JSON object"),
        (
            serde_json::json!({"title": "t".repeat(60)}),
            "title is 60 characters",
        ),
        (serde_json::json!({"description": " "}), "blank"),
        (serde_json::json!({"extra.big": "v".repeat(1025)}), "1024"),
        (
            serde_json::json!({"extra.callback.param": "p".repeat(65)}),
            "64",
        ),
        (serde_json::json!({"pass_through": "2"}), "pass_through"),
    ] {
        let mut m = chat_message();
        m.overrides.insert("xiaomi".into(), patch);
        let err = build_for(&m).unwrap_err();
        assert!(err.contains(says), "{says}: {err}");
    }
    let mut many = chat_message();
    let extras: serde_json::Map<String, serde_json::Value> = (0..11)
        .map(|i| (format!("extra.k{i}"), serde_json::json!("v")))
        .collect();
    many.overrides
        .insert("xiaomi".into(), serde_json::Value::Object(extras));
    assert!(build_for(&many).unwrap_err().contains("custom extra"));
}
