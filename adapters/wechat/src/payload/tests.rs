//! Template choice, data mapping, the value rules of §4.3 and the two body shapes.

use super::*;
use push_core::notification::WechatContent;
use push_core::{NotificationContent, Options, Target};
use std::collections::BTreeMap;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2024-01-11 08:58:30 UTC);

fn settings() -> WechatSettings {
    WechatSettings {
        official_account_app_id: Some("wx00000000000000a1".into()),
        mini_program_app_id: Some("wx00000000000000b2".into()),
        templates: BTreeMap::from([("IM".into(), "oa-chat".into())]),
        mini_program_templates: BTreeMap::from([("IM".into(), "mp-chat".into())]),
        template_fields: BTreeMap::from([
            (
                "oa-chat".into(),
                BTreeMap::from([
                    ("thing1".into(), "title".into()),
                    ("thing2".into(), "body".into()),
                    ("time3".into(), "time".into()),
                ]),
            ),
            (
                "mp-chat".into(),
                BTreeMap::from([
                    ("thing1".into(), "body".into()),
                    ("character_string2".into(), "data.conv".into()),
                ]),
            ),
        ]),
        ..WechatSettings::default()
    }
}

fn message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("New message from Alice".into()),
            body: Some("are you coming to the party tonight? bring snacks".into()),
            click: Some("https://im.example.com/c/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".into(), "42".into())]),
        options: Options {
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn body(
    channel: Channel,
    message: &IngestMessage,
    settings: &WechatSettings,
) -> Result<Value, String> {
    let prepared = build(&Inputs {
        message,
        settings,
        channel,
        accepted_at: AT,
    })?;
    Ok(serde_json::from_slice(&prepared.body_for("oOPENID", "delivery-1")).unwrap())
}

#[test]
fn an_official_account_message_from_the_category_template_and_mapping() {
    let b = body(Channel::WechatOa, &message(), &settings()).unwrap();
    assert_eq!(
        b,
        json!({
            "touser": "oOPENID",
            "template_id": "oa-chat",
            "client_msg_id": "delivery-1",
            "url": "https://im.example.com/c/42",
            "data": {
                "thing1": { "value": "New message from Al…" },
                "thing2": { "value": "are you coming to t…" },
                "time3": { "value": "2024-01-11 16:58" },
            }
        })
    );
    assert!(
        b.get("miniprogram").is_none(),
        "never an empty miniprogram object"
    );
}

#[test]
fn a_mini_program_message_has_page_and_no_client_msg_id() {
    let mut m = message();
    m.wechat = Some(WechatContent {
        page: Some("pages/chat?id=42".into()),
        ..WechatContent::default()
    });
    m.overrides.insert(
        "wechat".into(),
        json!({"miniprogram_state": "trial", "lang": "en_US"}),
    );
    let b = body(Channel::WechatMp, &m, &settings()).unwrap();
    assert_eq!(
        b,
        json!({
            "touser": "oOPENID",
            "template_id": "mp-chat",
            "page": "pages/chat?id=42",
            "miniprogram_state": "trial",
            "lang": "en_US",
            "data": {
                "thing1": { "value": "are you coming to t…" },
                "character_string2": { "value": "42" },
            }
        })
    );
}

#[test]
fn an_official_account_page_opens_the_linked_mini_program() {
    let mut m = message();
    m.wechat = Some(WechatContent {
        page: Some("pages/chat?id=42".into()),
        ..WechatContent::default()
    });
    let b = body(Channel::WechatOa, &m, &settings()).unwrap();
    assert_eq!(
        b["miniprogram"],
        json!({"appid": "wx00000000000000b2", "pagepath": "pages/chat?id=42"})
    );
    let mut no_mp = settings();
    no_mp.mini_program_app_id = None;
    let err = body(Channel::WechatOa, &m, &no_mp).unwrap_err();
    assert!(err.contains("mini_program_app_id"), "{err}");
}

#[test]
fn explicit_template_and_data_win_and_are_checked() {
    let mut m = message();
    m.wechat = Some(WechatContent {
        template_id: Some("explicit".into()),
        data: serde_json::from_value(
            json!({"thing3": {"value": "Alice"}, "number1": {"value": "3.5"}}),
        )
        .unwrap(),
        ..WechatContent::default()
    });
    let b = body(Channel::WechatOa, &m, &settings()).unwrap();
    assert_eq!(b["template_id"], "explicit");
    assert_eq!(
        b["data"],
        json!({"thing3": {"value": "Alice"}, "number1": {"value": "3.5"}})
    );
    // Only `thing` values are cut: any other type breaking its rule is still refused.
    m.wechat = Some(WechatContent {
        template_id: Some("explicit".into()),
        data: serde_json::from_value(json!({"number1": {"value": "1".repeat(33)}})).unwrap(),
        ..WechatContent::default()
    });
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(
        err.contains("number1") && err.contains("32 digits"),
        "{err}"
    );
}

/// §4.3: "Truncate `thing` values (e.g. message previews) to 20 characters before sending" —
/// given in `wechat.data` as when mapped, counted in characters, other keys kept.
#[test]
fn explicit_thing_values_are_cut_to_20_characters_like_mapped_ones() {
    let long = "are you coming to the party tonight? bring snacks";
    let mut m = message();
    m.wechat = Some(WechatContent {
        data: serde_json::from_value(json!({
            "thing1": {"value": "New message from Alice"},
            "thing2": {"value": long},
            "thing4": {"value": "字".repeat(25), "color": "#173177"},
            "thing5": {"value": "x".repeat(20)},
            "time3": {"value": "2024-01-11 16:58"},
        }))
        .unwrap(),
        ..WechatContent::default()
    });
    let b = body(Channel::WechatOa, &m, &settings()).unwrap();
    let mapped = body(Channel::WechatOa, &message(), &settings()).unwrap();
    assert_eq!(b["data"]["thing1"], mapped["data"]["thing1"], "same rule");
    assert_eq!(b["data"]["thing2"], mapped["data"]["thing2"], "same rule");
    assert_eq!(b["data"]["thing2"]["value"], "are you coming to t…");
    let cjk = b["data"]["thing4"]["value"].as_str().unwrap();
    assert_eq!(cjk.chars().count(), 20);
    assert_eq!(cjk, format!("{}…", "字".repeat(19)));
    assert_eq!(
        b["data"]["thing4"]["color"], "#173177",
        "other fields are kept"
    );
    assert_eq!(
        b["data"]["thing5"]["value"],
        "x".repeat(20),
        "20 fit as they are"
    );
    assert_eq!(b["data"]["time3"]["value"], "2024-01-11 16:58");
    // The mini-program body is cut the same way.
    let mp = body(Channel::WechatMp, &m, &settings()).unwrap();
    assert_eq!(mp["data"]["thing2"]["value"], "are you coming to t…");
    // An empty or blank thing is still refused: cutting cannot make a value up.
    m.wechat = Some(WechatContent {
        data: serde_json::from_value(json!({"thing1": {"value": "   "}})).unwrap(),
        ..WechatContent::default()
    });
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(err.contains("thing1") && err.contains("empty"), "{err}");
}

#[test]
fn a_category_without_a_template_is_refused_and_no_category_needs_a_template() {
    let mut m = message();
    m.options.category = Some("MARKETING".into());
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(
        err.contains("MARKETING") && err.contains("settings.wechat.templates"),
        "{err}"
    );
    let err = body(Channel::WechatMp, &m, &settings()).unwrap_err();
    assert!(err.contains("mini_program_templates"), "{err}");
    m.options.category = None;
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(err.contains("wechat.template_id"), "{err}");
    let mut with_default = settings();
    with_default.default_template = Some("oa-chat".into());
    assert_eq!(
        body(Channel::WechatOa, &m, &with_default).unwrap()["template_id"],
        "oa-chat"
    );
    assert!(
        body(Channel::WechatMp, &m, &with_default).is_err(),
        "each channel has its own"
    );
}

#[test]
fn mapping_gaps_are_refused() {
    let mut m = message();
    m.notification = None;
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(err.contains("thing1") && err.contains("title"), "{err}");
    let mut m = message();
    m.wechat = Some(WechatContent {
        template_id: Some("unmapped".into()),
        ..WechatContent::default()
    });
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(err.contains("template_fields"), "{err}");
}

#[test]
fn bad_overrides_are_refused() {
    for o in [
        json!({"lang": "fr_FR"}),
        json!({"color": "red"}),
        json!({"url": 3}),
        json!("x"),
    ] {
        let mut m = message();
        m.overrides.insert("wechat".into(), o.clone());
        assert!(body(Channel::WechatMp, &m, &settings()).is_err(), "{o}");
    }
}

#[test]
fn value_rules_follow_the_key_type() {
    let ok = [
        ("thing1", "二十个字以内的中文也可以算作一个字符吧"),
        ("number2", "12345.67"),
        ("letter3", "abcXYZ"),
        ("symbol4", "%#@"),
        ("character_string5", "A-1_b/2"),
        ("time6", "2019年10月1日 15:01"),
        ("time7", "15:01~16:00"),
        ("date8", "2024-01-11"),
        ("amount9", "¥100.50元"),
        ("phone_number10", "+86-0766-66888866"),
        ("car_number11", "粤A8Z888"),
        ("name12", "张三丰"),
        ("name13", "Alice Liddell"),
        ("phrase14", "已完成"),
        (
            "keyword1",
            "anything at all, however long it is, for untyped templates",
        ),
    ];
    for (key, value) in ok {
        assert_eq!(check_value(key, value), Ok(()), "{key} {value}");
    }
    let bad = [
        (
            "thing1",
            "这是一个超过二十个字符的很长很长很长的中文句子呀呀",
        ),
        ("number2", "12a"),
        ("number2", &"9".repeat(33)),
        ("letter3", "abc1"),
        ("symbol4", "%%%%%%"),
        ("symbol4", "a"),
        ("character_string5", "has space"),
        ("time6", "tomorrow"),
        ("amount9", "¥12345678901"),
        ("phone_number10", "+86 0766 6688 8866 1"),
        ("car_number11", "粤A8Z8888XX"),
        ("name12", "张三丰张三丰张三丰张三"),
        ("name13", &"a".repeat(21)),
        ("phrase14", "done"),
        ("phrase14", "已完成已完成"),
        ("keyword1", " "),
    ];
    for (key, value) in bad {
        let err = check_value(key, value).unwrap_err();
        assert!(err.starts_with(&format!("wechat value {key}:")), "{err}");
    }
}

#[test]
fn thing_characters_are_counted_as_characters_not_bytes() {
    assert_eq!(check_value("thing1", &"字".repeat(20)), Ok(()));
    assert!(check_value("thing1", &"字".repeat(21)).is_err());
    assert_eq!(preview(&"字".repeat(25), 20).chars().count(), 20);
    assert_eq!(preview("short", 20), "short");
}

#[test]
fn oversized_bodies_are_refused() {
    let mut m = message();
    let data: Map<String, Value> = (0..400)
        .map(|i| (format!("keyword{i}"), json!({"value": "x".repeat(50)})))
        .collect();
    m.wechat = Some(WechatContent {
        template_id: Some("t".into()),
        data,
        ..WechatContent::default()
    });
    let err = body(Channel::WechatOa, &m, &settings()).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
}
