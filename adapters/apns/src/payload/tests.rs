use super::*;
use serde_json::json;
use time::macros::datetime;

const BUNDLE: &str = "com.example.chat";
const ACCEPTED: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

fn message(extra: Value) -> IngestMessage {
    let mut base = json!({"id": "m-1", "app": "chat", "to": {"devices": ["d1"]}});
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn build(extra: Value) -> PreparedPush {
    PreparedPush::build(&message(extra), BUNDLE, ACCEPTED).unwrap()
}

fn body_of(p: &PreparedPush) -> Value {
    serde_json::from_slice(&p.body).unwrap()
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn an_alert_carries_title_body_badge_sound_and_thread() {
    let p = build(json!({
        "notification": {"title": "Alice", "body": "New message", "badge": 3, "sound": "default"},
        "data": {"conv": "conv-8841", "mid": "m-001923"},
        "options": {"collapse_key": "conv-8841"}
    }));
    assert_eq!(p.push_type, PushType::Alert);
    assert_eq!(p.topic, BUNDLE);
    assert_eq!(p.priority, 10);
    assert_eq!(
        body_of(&p),
        json!({
            "aps": {"alert": {"title": "Alice", "body": "New message"}, "badge": 3,
                    "sound": "default", "thread-id": "conv-8841"},
            "conv": "conv-8841", "mid": "m-001923"
        })
    );
}

#[test]
fn headers_carry_the_delivery_id_and_options() {
    let p = build(json!({
        "notification": {"body": "hi"},
        "options": {"priority": "normal", "ttl": 3600, "collapse_key": "c-1"}
    }));
    let id = DeliveryId(uuid::Uuid::parse_str("123E4567-E89B-12D3-A456-4266554400A0").unwrap());
    let h = p.headers(id);
    assert_eq!(
        header(&h, "apns-id"),
        Some("123e4567-e89b-12d3-a456-4266554400a0")
    );
    assert_eq!(header(&h, "apns-push-type"), Some("alert"));
    assert_eq!(header(&h, "apns-topic"), Some(BUNDLE));
    assert_eq!(header(&h, "apns-priority"), Some("5"));
    assert_eq!(header(&h, "apns-collapse-id"), Some("c-1"));
    let expected = ACCEPTED.unix_timestamp() + 3600;
    assert_eq!(
        header(&h, "apns-expiration"),
        Some(expected.to_string().as_str())
    );
    assert_eq!(
        header(&h, "authorization"),
        None,
        "auth is the client's business"
    );
}

#[test]
fn ttl_zero_means_try_once_and_no_ttl_omits_the_header() {
    let once = build(json!({"notification": {"body": "hi"}, "options": {"ttl": 0}}));
    assert_eq!(
        header(&once.headers(DeliveryId::new()), "apns-expiration"),
        Some("0")
    );
    let default = build(json!({"notification": {"body": "hi"}}));
    let h = default.headers(DeliveryId::new());
    assert_eq!(header(&h, "apns-expiration"), None);
    assert_eq!(header(&h, "apns-collapse-id"), None);
}

#[test]
fn silent_is_a_background_push_at_priority_five() {
    let p = build(json!({
        "notification": {"badge": 2, "sound": "default"},
        "data": {"sync": "1"},
        "options": {"silent": true, "priority": "high"}
    }));
    assert_eq!(p.push_type, PushType::Background);
    assert_eq!(p.priority, 5, "background is always 5");
    assert_eq!(p.topic, BUNDLE);
    assert_eq!(
        body_of(&p),
        json!({"aps": {"content-available": 1}, "sync": "1"})
    );
}

#[test]
fn data_only_is_background_too() {
    let p = build(json!({"data": {"k": "v"}}));
    assert_eq!(p.push_type, PushType::Background);
    assert_eq!(body_of(&p)["aps"], json!({"content-available": 1}));
}

#[test]
fn voip_and_call_categories_are_voip_pushes() {
    for category in ["VOIP", "CALL", "voip", "Call"] {
        let p = build(json!({
            "notification": {"title": "Bob", "body": "Incoming call", "badge": 1},
            "data": {"call_id": "c-9"},
            "options": {"category": category}
        }));
        assert_eq!(p.push_type, PushType::Voip, "{category}");
        assert_eq!(p.topic, "com.example.chat.voip");
        assert_eq!(p.priority, 10);
        assert_eq!(
            body_of(&p),
            json!({"aps": {"alert": {"title": "Bob", "body": "Incoming call"}}, "call_id": "c-9"})
        );
        assert_eq!(
            header(&p.headers(DeliveryId::new()), "apns-push-type"),
            Some("voip")
        );
    }
    let im = build(json!({"notification": {"body": "x"}, "options": {"category": "IM"}}));
    assert_eq!(im.push_type, PushType::Alert);
    assert_eq!(body_of(&im)["aps"]["category"], json!("IM"));
}

#[test]
fn an_image_makes_the_alert_mutable_and_travels_as_a_custom_key() {
    let p = build(
        json!({"notification": {"body": "photo", "image": "https://img.example/x.png",
                                           "click": "chat://conv/1"}}),
    );
    let body = body_of(&p);
    assert_eq!(body["aps"]["mutable-content"], json!(1));
    assert_eq!(body["image"], json!("https://img.example/x.png"));
    assert_eq!(body["click"], json!("chat://conv/1"));
}

#[test]
fn thread_id_prefers_data_over_the_collapse_key() {
    let p = build(
        json!({"notification": {"body": "x"}, "data": {"thread_id": "conv-1"},
                         "options": {"collapse_key": "c"}}),
    );
    assert_eq!(body_of(&p)["aps"]["thread-id"], json!("conv-1"));
}

#[test]
fn data_never_overwrites_aps_but_overrides_win_over_everything() {
    let p = build(json!({
        "notification": {"title": "T", "body": "B", "image": "https://i.example/1.png"},
        "data": {"aps": "evil", "image": "from-data", "mid": "1"},
        "overrides": {"apns": {
            "aps": {"alert": {"subtitle": "S", "body": "override"}, "interruption-level": "time-sensitive",
                    "badge": null},
            "mid": null,
            "extra": {"n": 1}
        }}
    }));
    let body = body_of(&p);
    assert_eq!(
        body["aps"]["alert"],
        json!({"title": "T", "body": "override", "subtitle": "S"}),
        "objects merge key by key"
    );
    assert_eq!(body["aps"]["interruption-level"], json!("time-sensitive"));
    assert_eq!(
        body["image"],
        json!("from-data"),
        "data replaces the notification's keys"
    );
    assert!(body.get("mid").is_none(), "null removes");
    assert_eq!(body["extra"], json!({"n": 1}));
    assert_eq!(body["aps"]["mutable-content"], json!(1));
}

#[test]
fn oversized_payloads_are_refused_with_the_limit() {
    let big = "x".repeat(4200);
    let err = PreparedPush::build(
        &message(json!({"notification": {"body": big}})),
        BUNDLE,
        ACCEPTED,
    )
    .unwrap_err();
    assert!(err.contains("at most 4096 for alert"), "{err}");
    // The same body fits a VoIP push (5120 bytes).
    let voip = message(
        json!({"notification": {"body": "x".repeat(4200)}, "options": {"category": "VOIP"}}),
    );
    assert!(PreparedPush::build(&voip, BUNDLE, ACCEPTED).is_ok());
    let too_big = message(
        json!({"notification": {"body": "x".repeat(5200)}, "options": {"category": "VOIP"}}),
    );
    let err = PreparedPush::build(&too_big, BUNDLE, ACCEPTED).unwrap_err();
    assert!(err.contains("at most 5120 for voip"), "{err}");
}

#[test]
fn size_counts_bytes_not_characters() {
    // 1400 three-byte characters: 1400 chars, 4200 bytes.
    let wide = "中".repeat(1400);
    let err = PreparedPush::build(
        &message(json!({"notification": {"body": wide}})),
        BUNDLE,
        ACCEPTED,
    )
    .unwrap_err();
    assert!(err.contains("at most 4096"), "{err}");
}

#[test]
fn overlong_collapse_keys_are_refused() {
    let key = "k".repeat(65);
    let err = PreparedPush::build(
        &message(json!({"notification": {"body": "x"}, "options": {"collapse_key": key}})),
        BUNDLE,
        ACCEPTED,
    )
    .unwrap_err();
    assert!(err.contains("apns-collapse-id"), "{err}");
}
