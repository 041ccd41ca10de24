//! Unit tests of the Huawei message validation.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::validate::validate;

fn notification_message() -> Value {
    json!({"message": {"token": ["IQAAAACy0tok1"], "data": "{\"conv\":\"42\"}", "android": {
        "category": "IM", "ttl": "86400s", "bi_tag": "n-1", "collapse_key": -1,
        "notification": {"title": "Alice", "body": "hi", "click_action": {"type": 3},
            "importance": "NORMAL", "badge": {"add_num": 1, "class": "a.B"}}}}})
}

fn code_of(v: &Value) -> String {
    match validate(v.to_string().as_bytes()) {
        Ok(_) => "ok".into(),
        Err(r) => r.code,
    }
}

fn edit(f: impl FnOnce(&mut Value)) -> String {
    let mut v = notification_message();
    f(&mut v);
    code_of(&v)
}

#[test]
fn a_full_notification_message_is_valid() {
    let m = validate(notification_message().to_string().as_bytes()).unwrap();
    assert!(m.notification);
    assert_eq!(m.category.as_deref(), Some("IM"));
    assert_eq!(m.bi_tag.as_deref(), Some("n-1"));
    assert_eq!(m.tokens, ["IQAAAACy0tok1"]);
}

#[test]
fn structure_errors() {
    assert_eq!(code_of(&json!("x")), "80100003");
    assert_eq!(
        validate(b"{not json").unwrap_err().code,
        "80100003".to_string()
    );
    assert_eq!(edit(|v| v["message"]["data"] = json!({"a": 1})), "80100003");
    assert_eq!(
        edit(|v| v["message"]["android"]["data"] = json!(1)),
        "80100003"
    );
    assert_eq!(edit(|v| v["message"]["token"] = json!("one")), "80100003");
    assert_eq!(
        edit(|v| v["message"]["android"]["ttl"] = json!("1d")),
        "80100003"
    );
}

#[test]
fn parameter_errors() {
    assert_eq!(edit(|v| v["message"]["topic"] = json!("news")), "80100001");
    assert_eq!(
        edit(|v| v["message"]
            .as_object_mut()
            .unwrap()
            .remove("token")
            .map(|_| ())
            .unwrap()),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["category"] = json!("CHAT")),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["ttl"] = json!("1296001s")),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["ttl"] = json!("1296000s")),
        "ok"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["notification"]
            .as_object_mut()
            .unwrap()
            .remove("click_action")
            .map(|_| ())
            .unwrap()),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["notification"]["click_action"] = json!({"type": 1})),
        "80100001"
    );
    assert_eq!(
        edit(
            |v| v["message"]["android"]["notification"]["click_action"] =
                json!({"type": 2, "url": "http://x"})
        ),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["notification"]["importance"] = json!("HIGH")),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["notification"]["badge"]["add_num"] = json!(100)),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["category"] = json!("PLAY_VOICE")),
        "80100001"
    );
    assert_eq!(
        edit(|v| v["message"]["android"]["collapse_key"] = json!(101)),
        "80100013"
    );
}

#[test]
fn token_count_and_size() {
    assert_eq!(edit(|v| v["message"]["token"] = json!([])), "80300010");
    let many: Vec<String> = (0..1001).map(|i| format!("tok{i}")).collect();
    assert_eq!(edit(|v| v["message"]["token"] = json!(many)), "80300010");
    let thousand: Vec<String> = (0..1000).map(|i| format!("tok{i:0>200}")).collect();
    assert_eq!(
        edit(|v| v["message"]["token"] = json!(thousand)),
        "ok",
        "tokens do not count"
    );
    assert_eq!(
        edit(|v| v["message"]["data"] = json!("x".repeat(4000))),
        "80300008"
    );
    // CJK costs 3 bytes per character.
    assert_eq!(
        edit(|v| v["message"]["data"] = json!("汉".repeat(1300))),
        "80300008"
    );
}

#[test]
fn data_messages_need_no_click_action() {
    let v = json!({"message": {"token": ["t"], "data": "{}", "android": {"urgency": "HIGH", "category": "PLAY_VOICE"}}});
    let m = validate(v.to_string().as_bytes()).unwrap();
    assert!(!m.notification && m.urgency_high);
}
