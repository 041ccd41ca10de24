//! Unit tests of `validate.rs`: one case per rule.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::validate::{Target, validate};

fn check(body: serde_json::Value) -> Result<Target, (u16, Option<String>, String)> {
    validate(body.to_string().as_bytes())
        .map(|v| v.target)
        .map_err(|f| {
            let field = f
                .details
                .violations
                .first()
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            (f.status, f.details.error_code, field)
        })
}

#[test]
fn minimal_token_message_is_valid_in_both_spellings() {
    assert_eq!(
        check(json!({"message": {"token": "abc"}})),
        Ok(Target::Token("abc".into()))
    );
    let camel = json!({"validateOnly": true, "message": {"topic": "news",
        "fcmOptions": {"analyticsLabel": "x"},
        "android": {"collapseKey": "c", "priority": "high", "ttl": "3.5s"}}});
    assert_eq!(check(camel), Ok(Target::Topic("news".into())));
}

#[test]
fn target_rules() {
    let none = check(json!({"message": {"data": {"a": "b"}}})).unwrap_err();
    assert_eq!(
        none,
        (400, Some("INVALID_ARGUMENT".into()), "message".into())
    );
    let two = check(json!({"message": {"token": "a", "topic": "b"}})).unwrap_err();
    assert_eq!(two, (400, None, "message".into()));
    let bad_token = check(json!({"message": {"token": "no spaces allowed"}})).unwrap_err();
    assert_eq!(bad_token.2, "message.token");
    assert!(check(json!({"message": {"topic": "bad topic!"}})).is_err());
    assert!(check(json!({"message": {"condition": "'a' in topics"}})).is_ok());
}

#[test]
fn data_values_must_be_strings() {
    let err = check(json!({"message": {"token": "t", "data": {"a": "x", "n": 1}}})).unwrap_err();
    assert_eq!(err, (400, None, "message.data[1].value".into()));
}

#[test]
fn reserved_data_keys_are_refused() {
    for key in [
        "from",
        "message_type",
        "gcm",
        "google.x",
        "gcm.notification.y",
    ] {
        let err = check(json!({"message": {"token": "t", "data": {key: "v"}}})).unwrap_err();
        assert_eq!(err.1.as_deref(), Some("INVALID_ARGUMENT"), "{key}");
    }
    assert!(check(json!({"message": {"token": "t", "data": {"collapse_key": "v"}}})).is_ok());
}

#[test]
fn ttl_format_and_range() {
    let ttl =
        |t: serde_json::Value| check(json!({"message": {"token": "t", "android": {"ttl": t}}}));
    assert!(ttl(json!("0s")).is_ok());
    assert!(ttl(json!("2419200s")).is_ok());
    assert_eq!(
        ttl(json!("86400")).unwrap_err(),
        (400, None, "message.android.ttl".into())
    );
    assert_eq!(ttl(json!(60)).unwrap_err().1, None);
    assert_eq!(
        ttl(json!("2419201s")).unwrap_err().1.as_deref(),
        Some("INVALID_ARGUMENT")
    );
    assert!(ttl(json!("-1s")).is_err());
}

#[test]
fn priority_values() {
    let prio = |p: serde_json::Value| {
        check(json!({"message": {"token": "t", "android": {"priority": p}}}))
    };
    for ok in [
        json!("HIGH"),
        json!("NORMAL"),
        json!("high"),
        json!("normal"),
        json!(1),
    ] {
        assert!(prio(ok).is_ok());
    }
    for bad in ["URGENT", "High", "hIGH", "Normal", "", " high"] {
        assert_eq!(
            prio(json!(bad)).unwrap_err().2,
            "message.android.priority",
            "{bad:?}"
        );
    }
}

#[test]
fn unknown_fields_and_wrong_types_are_parse_errors() {
    assert_eq!(
        check(json!({"message": {"token": "t", "tokens": ["x"]}}))
            .unwrap_err()
            .2,
        "message"
    );
    assert_eq!(check(json!({"msg": {}})).unwrap_err().0, 400);
    assert_eq!(
        check(json!({"message": {"token": "t", "notification": {"title": 5}}}))
            .unwrap_err()
            .2,
        "message.notification.title"
    );
    assert!(validate(b"{not json").is_err());
    assert!(validate(b"[]").is_err());
    assert!(check(json!({"message": {"token": "t", "notification": null}})).is_ok());
}

#[test]
fn payload_limits() {
    let data = |n: usize| json!({"v": "x".repeat(n)});
    assert!(check(json!({"message": {"token": "t", "data": data(4095)}})).is_ok());
    let big = check(json!({"message": {"token": "t", "data": data(4096)}})).unwrap_err();
    assert_eq!(big.1.as_deref(), Some("INVALID_ARGUMENT"));
    assert!(check(json!({"message": {"topic": "t", "data": data(2047)}})).is_ok());
    assert!(check(json!({"message": {"topic": "t", "data": data(2048)}})).is_err());
}
