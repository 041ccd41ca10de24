//! Validation rules and their codes.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::control::types::OppoChannelSpec;

fn app() -> OppoAppSpec {
    OppoAppSpec {
        app_key: "k".into(),
        master_secret: "s".into(),
        channels: vec![
            OppoChannelSpec {
                channel_id: "chat".into(),
                private: true,
            },
            OppoChannelSpec {
                channel_id: "promo".into(),
                private: false,
            },
        ],
        strong_reminder: true,
        ..OppoAppSpec::default()
    }
}

fn check(v: serde_json::Value) -> Result<Checked, Refusal> {
    let Value::Object(n) = v else { panic!() };
    notification(&n, &app(), false)
}

fn code(v: serde_json::Value) -> i64 {
    check(v).unwrap_err().code
}

fn base() -> serde_json::Value {
    json!({"title": "Alice", "content": "hi"})
}

fn with(patch: serde_json::Value) -> serde_json::Value {
    let mut b = base();
    for (k, v) in patch.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[test]
fn a_plain_notification_is_marketing_and_a_classified_one_is_not() {
    let c = check(base()).unwrap();
    assert!(c.marketing);
    let c = check(with(json!({"channel_id": "chat", "category": "IM", "notify_level": 16,
        "app_message_id": "d-1", "call_back_url": "https://x.example/cb", "call_back_parameter": "d-1"})))
    .unwrap();
    assert!(!c.marketing);
    assert_eq!(c.app_message_id.as_deref(), Some("d-1"));
    assert_eq!(c.callback_url.as_deref(), Some("https://x.example/cb"));
    assert!(
        check(with(
            json!({"channel_id": "promo", "category": "MARKETING", "notify_level": 1})
        ))
        .unwrap()
        .marketing
    );
}

#[test]
fn required_fields_give_40() {
    assert_eq!(code(json!({"content": "x"})), 40);
    assert_eq!(code(json!({"title": "", "content": "x"})), 40);
    assert_eq!(code(json!({"title": "x"})), 40);
    assert_eq!(code(with(json!({"click_action_type": 5}))), 40);
    assert_eq!(code(with(json!({"click_action_type": 1}))), 40);
}

#[test]
fn lengths_types_and_ranges_give_41() {
    assert!(check(with(json!({"title": "你".repeat(50)}))).is_ok());
    assert_eq!(code(with(json!({"title": "🙂".repeat(51)}))), 41);
    assert!(check(with(json!({"content": "字".repeat(200)}))).is_ok());
    assert_eq!(code(with(json!({"content": "字".repeat(201)}))), 41);
    assert_eq!(
        code(with(json!({"content": "字".repeat(129), "style": 2}))),
        41
    );
    assert_eq!(code(with(json!({"style": 3, "big_picture_id": "p"}))), 41);
    assert_eq!(code(with(json!({"sub_title": "x".repeat(11)}))), 41);
    assert_eq!(code(with(json!({"title": 5}))), 41);
    assert_eq!(code(with(json!({"click_action_type": 3}))), 41);
    assert_eq!(
        code(with(
            json!({"click_action_type": 2, "click_action_url": "x".repeat(501)})
        )),
        41
    );
    assert_eq!(code(with(json!({"action_parameters": {"a": 1}}))), 41);
    assert_eq!(code(with(json!({"action_parameters": "nope"}))), 41);
    assert_eq!(
        code(with(
            json!({"action_parameters": format!(r#"{{"a":"{}"}}"#, "x".repeat(4096))})
        )),
        41
    );
    assert_eq!(code(with(json!({"off_line_ttl": 864_001}))), 41);
    assert_eq!(code(with(json!({"show_ttl": 3600}))), 41);
    assert_eq!(
        code(with(
            json!({"call_back_url": format!("https://x.example/{}", "p".repeat(190))})
        )),
        41
    );
    assert_eq!(code(with(json!({"call_back_url": "not a url"}))), 41);
    assert_eq!(
        code(with(json!({"call_back_parameter": "p".repeat(101)}))),
        41
    );
    assert_eq!(code(with(json!({"off_line": "maybe"}))), 41);
}

#[test]
fn classification_gives_67() {
    assert_eq!(code(with(json!({"notify_level": 2}))), 67);
    assert_eq!(code(with(json!({"category": "CHAT"}))), 67);
    assert_eq!(
        code(with(json!({"category": "IM"}))),
        67,
        "no private channel"
    );
    assert_eq!(
        code(with(json!({"channel_id": "promo", "category": "IM"}))),
        67
    );
    assert_eq!(
        code(with(
            json!({"channel_id": "unknown", "category": "MARKETING"})
        )),
        67
    );
    assert_eq!(
        code(with(
            json!({"channel_id": "chat", "category": "IM", "notify_level": 3})
        )),
        67
    );
    assert_eq!(
        code(with(
            json!({"channel_id": "chat", "category": "ACCOUNT", "notify_level": 16})
        )),
        67
    );
    let mut plain = app();
    plain.strong_reminder = false;
    let Value::Object(n) =
        with(json!({"channel_id": "chat", "category": "IM", "notify_level": 16}))
    else {
        panic!()
    };
    assert_eq!(notification(&n, &plain, false).unwrap_err().code, 67);
}
