//! One test per validation rule, plus the full example of DESIGN.md.

use super::*;
use serde_json::json;

fn check(value: Value) -> Result<IngestMessage, Vec<Problem>> {
    validate_ingest(
        value.to_string().as_bytes(),
        AppSource::Body,
        DEFAULT_MAX_MESSAGE_BYTES,
    )
}

fn valid() -> Value {
    json!({
        "id": "im-7f3c0e",
        "app": "chat-prod",
        "to": { "users": ["u1", "u2"] },
        "notification": { "title": "Alice", "body": "are you coming?", "badge": 3, "sound": "default",
                          "image": "https://example.com/a.png", "click": "app://chat/42" },
        "data": { "conv": "42" },
        "options": { "priority": "high", "ttl": 86400, "collapse_key": "chat-42", "category": "IM", "silent": false },
        "overrides": { "apns": {}, "fcm": {}, "huawei": {} },
        "wechat": { "template_id": "tpl", "page": "pages/chat?id=42", "data": { "thing1": { "value": "Alice" } } }
    })
}

fn with(mut base: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut base
    } else {
        base.pointer_mut(parent).unwrap()
    };
    target.as_object_mut().unwrap().insert(key.to_string(), new);
    base
}

fn without(mut base: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut base
    } else {
        base.pointer_mut(parent).unwrap()
    };
    target.as_object_mut().unwrap().remove(key);
    base
}

/// Asserts that validation fails with exactly one problem, at `field`, whose reason contains `needle`.
fn assert_single(value: Value, field: &str, needle: &str) {
    let problems = check(value).expect_err("should be rejected");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, field, "{problems:?}");
    assert!(problems[0].reason.contains(needle), "{problems:?}");
}

#[test]
fn full_example_is_accepted_with_every_field() {
    let msg = check(valid()).unwrap();
    assert_eq!(msg.id, "im-7f3c0e");
    assert_eq!(msg.app, "chat-prod");
    assert_eq!(msg.to, Target::Users(vec!["u1".into(), "u2".into()]));
    let n = msg.notification.unwrap();
    assert_eq!(n.badge, Some(3));
    assert_eq!(n.title.as_deref(), Some("Alice"));
    assert_eq!(msg.data.get("conv").map(String::as_str), Some("42"));
    assert_eq!(msg.options.ttl, Some(86400));
    assert_eq!(msg.options.priority, Priority::High);
    assert_eq!(msg.options.category.as_deref(), Some("IM"));
    assert_eq!(msg.overrides.len(), 3);
    assert_eq!(msg.wechat.unwrap().template_id.as_deref(), Some("tpl"));
}

#[test]
fn minimal_data_only_message_gets_defaults() {
    let msg = check(json!({"id": "1", "app": "a", "to": {"devices": ["d1"]}, "data": {"k": "v"}}))
        .unwrap();
    assert_eq!(msg.options, Options::default());
    assert_eq!(msg.to, Target::Devices(vec!["d1".into()]));
    assert!(msg.notification.is_none());
}

#[test]
fn missing_id_is_reported() {
    assert_single(without(valid(), "/id"), "id", "required");
}

#[test]
fn non_string_id_is_reported() {
    assert_single(with(valid(), "/id", json!(42)), "id", "string");
}

#[test]
fn id_over_128_chars_is_reported() {
    assert_single(with(valid(), "/id", json!("x".repeat(129))), "id", "128");
    assert!(
        check(with(valid(), "/id", json!("é".repeat(128)))).is_ok(),
        "limit counts characters"
    );
}

#[test]
fn missing_app_is_reported_for_amqp() {
    assert_single(without(valid(), "/app"), "app", "required");
}

#[test]
fn rest_takes_the_app_from_the_path() {
    let body = without(valid(), "/app").to_string();
    let msg = validate_ingest(body.as_bytes(), AppSource::Path("chat-prod"), 65536).unwrap();
    assert_eq!(msg.app, "chat-prod");
    let body = with(valid(), "/app", json!("other")).to_string();
    let problems =
        validate_ingest(body.as_bytes(), AppSource::Path("chat-prod"), 65536).unwrap_err();
    assert_eq!(problems[0].field, "app");
}

#[test]
fn both_users_and_devices_is_reported() {
    assert_single(
        with(valid(), "/to", json!({"users": ["u"], "devices": ["d"]})),
        "to",
        "not both",
    );
}

#[test]
fn neither_users_nor_devices_is_reported() {
    assert_single(with(valid(), "/to", json!({})), "to", "exactly one");
}

#[test]
fn missing_target_is_reported() {
    assert_single(without(valid(), "/to"), "to", "required");
}

#[test]
fn empty_user_list_is_reported() {
    assert_single(
        with(valid(), "/to", json!({"users": []})),
        "to.users",
        "empty",
    );
}

#[test]
fn empty_device_list_is_reported() {
    assert_single(
        with(valid(), "/to", json!({"devices": []})),
        "to.devices",
        "empty",
    );
}

#[test]
fn bad_target_entries_are_reported_by_index() {
    let problems = check(with(valid(), "/to", json!({"users": ["ok", 7, "", "a b"]}))).unwrap_err();
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["to.users[1]", "to.users[2]", "to.users[3]"]);
}

#[test]
fn too_many_targets_are_reported() {
    let users: Vec<String> = (0..=MAX_TARGETS).map(|i| format!("u{i}")).collect();
    let msg = with(valid(), "/to", json!({ "users": users }));
    let problems =
        validate_ingest(msg.to_string().as_bytes(), AppSource::Body, 1 << 20).unwrap_err();
    assert_eq!(problems[0].field, "to.users");
}

#[test]
fn duplicate_targets_are_collapsed() {
    let msg = check(with(valid(), "/to", json!({"users": ["u1", "u1", "u2"]}))).unwrap();
    assert_eq!(msg.to, Target::Users(vec!["u1".into(), "u2".into()]));
}

#[test]
fn non_string_data_values_are_reported() {
    let problems = check(with(
        valid(),
        "/data",
        json!({"a": 1, "b": "ok", "c": {"x": 1}}),
    ))
    .unwrap_err();
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["data.a", "data.c"]);
}

#[test]
fn non_object_data_is_reported() {
    assert_single(with(valid(), "/data", json!(["a"])), "data", "object");
}

#[test]
fn unknown_priority_is_reported() {
    assert_single(
        with(valid(), "/options/priority", json!("urgent")),
        "options.priority",
        "high",
    );
}

#[test]
fn negative_ttl_is_reported() {
    assert_single(
        with(valid(), "/options/ttl", json!(-1)),
        "options.ttl",
        "negative",
    );
}

#[test]
fn fractional_ttl_is_reported() {
    assert_single(
        with(valid(), "/options/ttl", json!(1.5)),
        "options.ttl",
        "whole",
    );
}

#[test]
fn ttl_over_28_days_is_reported() {
    assert_single(
        with(valid(), "/options/ttl", json!(MAX_TTL_SECONDS + 1)),
        "options.ttl",
        "28 days",
    );
}

#[test]
fn zero_ttl_is_allowed() {
    assert_eq!(
        check(with(valid(), "/options/ttl", json!(0)))
            .unwrap()
            .options
            .ttl,
        Some(0)
    );
}

#[test]
fn long_collapse_key_is_reported() {
    assert_single(
        with(valid(), "/options/collapse_key", json!("k".repeat(65))),
        "options.collapse_key",
        "64",
    );
}

#[test]
fn non_boolean_silent_is_reported() {
    assert_single(
        with(valid(), "/options/silent", json!("yes")),
        "options.silent",
        "true or false",
    );
}

#[test]
fn silent_message_with_title_is_reported() {
    assert_single(
        with(valid(), "/options/silent", json!(true)),
        "options.silent",
        "title",
    );
}

#[test]
fn negative_badge_is_reported() {
    assert_single(
        with(valid(), "/notification/badge", json!(-3)),
        "notification.badge",
        "whole number",
    );
}

#[test]
fn plain_http_image_is_reported() {
    assert_single(
        with(valid(), "/notification/image", json!("http://x/a.png")),
        "notification.image",
        "https",
    );
}

#[test]
fn non_string_title_is_reported() {
    assert_single(
        with(valid(), "/notification/title", json!(["A"])),
        "notification.title",
        "string",
    );
}

#[test]
fn unknown_fields_are_reported_where_they_appear() {
    assert_single(
        with(valid(), "/priority", json!("high")),
        "priority",
        "unknown field",
    );
    assert_single(
        with(valid(), "/notification/titel", json!("A")),
        "notification.titel",
        "unknown field",
    );
    assert_single(
        with(valid(), "/options/tll", json!(5)),
        "options.tll",
        "unknown field",
    );
}

#[test]
fn unknown_override_vendor_is_reported() {
    assert_single(
        with(valid(), "/overrides/nokia", json!({})),
        "overrides.nokia",
        "unknown vendor",
    );
}

#[test]
fn non_object_override_is_reported() {
    assert_single(
        with(valid(), "/overrides/apns", json!("x")),
        "overrides.apns",
        "object",
    );
}

#[test]
fn wechat_data_without_string_value_is_reported() {
    assert_single(
        with(valid(), "/wechat/data", json!({"thing1": {"value": 3}})),
        "wechat.data.thing1",
        "value",
    );
}

#[test]
fn message_with_nothing_to_deliver_is_reported() {
    let msg = json!({"id": "1", "app": "a", "to": {"users": ["u"]}});
    assert_single(msg, "", "nothing to deliver");
}

#[test]
fn payload_over_the_limit_is_reported() {
    let body = valid().to_string();
    let problems = validate_ingest(body.as_bytes(), AppSource::Body, body.len() - 1).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].reason.contains("limit"), "{problems:?}");
    assert!(validate_ingest(body.as_bytes(), AppSource::Body, body.len()).is_ok());
}

#[test]
fn invalid_json_is_reported() {
    let problems = validate_ingest(b"{\"id\": ", AppSource::Body, 1024).unwrap_err();
    assert!(
        problems[0].reason.starts_with("not valid JSON"),
        "{problems:?}"
    );
}

#[test]
fn non_object_json_is_reported() {
    let problems = validate_ingest(b"[1,2]", AppSource::Body, 1024).unwrap_err();
    assert_eq!(problems[0].reason, "must be a JSON object");
}

#[test]
fn every_problem_is_reported_at_once() {
    let msg = json!({
        "app": "chat-prod",
        "to": {"users": []},
        "data": {"n": 1},
        "options": {"priority": "urgent", "ttl": -5}
    });
    let problems = check(msg).unwrap_err();
    let fields: BTreeSet<_> = problems.iter().map(|p| p.field.as_str()).collect();
    let expected: BTreeSet<_> = [
        "id",
        "to.users",
        "data.n",
        "options.priority",
        "options.ttl",
    ]
    .into_iter()
    .collect();
    assert_eq!(fields, expected, "{problems:?}");
}

#[test]
fn nul_characters_are_refused_wherever_they_are() {
    let message = with(valid(), "/id", json!("im\u{0}1"));
    let message = with(message, "/data/k\u{0}ey", json!("v"));
    let message = with(
        message,
        "/overrides/fcm",
        json!({"android": {"tags": ["a", "b\u{0}"]}}),
    );
    let problems = check(message).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    for field in ["id", "data.key", "overrides.fcm.android.tags[1]"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert!(
        problems
            .iter()
            .all(|p| !p.field.contains('\u{0}') && !p.reason.contains('\u{0}')),
        "the reason never echoes the character"
    );
    // The escaped text `\\u0000` (a backslash, then u0000) is plain text, not a NUL.
    assert!(check(with(valid(), "/data/conv", json!("\\u0000"))).is_ok());
}
