//! The form checks of the Xiaomi send endpoint.

use super::codes::*;
use super::validate::*;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded;charset=UTF-8");
const NOW: i64 = 1_700_000_000_000;

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

fn base() -> Vec<(&'static str, String)> {
    vec![
        ("registration_id", "a+b/c=,d".to_string()),
        ("restricted_package_name", "com.example.chat".to_string()),
        ("pass_through", "0".to_string()),
        ("title", "Alice".to_string()),
        ("description", "are you coming?".to_string()),
    ]
}

fn with(changes: &[(&'static str, Option<&str>)]) -> Vec<u8> {
    let mut pairs = base();
    for (k, v) in changes {
        pairs.retain(|(have, _)| have != k);
        if let Some(v) = v {
            pairs.push((k, v.to_string()));
        }
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form(&refs)
}

fn code(body: &[u8]) -> i64 {
    match validate(FORM, body, NOW) {
        Ok(_) => 0,
        Err(e) => e.code,
    }
}

#[test]
fn a_good_form_parses_with_encoded_regids() {
    let m = validate(FORM, &with(&[]), NOW).unwrap();
    assert_eq!(m.regids, vec!["a+b/c=", "d"]);
    assert_eq!(m.packages, vec!["com.example.chat"]);
    assert_eq!(m.callback_type, 3);
}

#[test]
fn an_unencoded_plus_becomes_a_space() {
    let body = b"registration_id=a+b&restricted_package_name=com.x.y&pass_through=1".to_vec();
    let m = validate(FORM, &body, NOW).unwrap();
    assert_eq!(m.regids, vec!["a b"]);
    assert!(!super::devices::well_formed_regid(&m.regids[0]));
}

#[test]
fn json_bodies_are_a_parameter_error() {
    let json = br#"{"registration_id":"a","restricted_package_name":"x"}"#;
    assert_eq!(
        validate(Some("application/json"), json, NOW)
            .unwrap_err()
            .code,
        PARAMETER_ERROR
    );
    assert_eq!(
        validate(None, &with(&[]), NOW).unwrap_err().code,
        PARAMETER_ERROR
    );
}

#[test]
fn required_fields() {
    assert_eq!(code(&with(&[("registration_id", None)])), MISSING_PARAMETER);
    assert_eq!(
        code(&with(&[("registration_id", Some(" , "))])),
        MISSING_PARAMETER
    );
    assert_eq!(
        code(&with(&[("restricted_package_name", None)])),
        MISSING_PARAMETER
    );
    assert_eq!(code(&with(&[("pass_through", None)])), MISSING_PARAMETER);
    assert_eq!(code(&with(&[("pass_through", Some("2"))])), ILLEGAL_VALUE);
    assert_eq!(code(&with(&[("title", None)])), MISSING_PARAMETER);
    assert_eq!(code(&with(&[("description", Some("  "))])), ILLEGAL_VALUE);
    assert_eq!(
        code(&with(&[
            ("pass_through", Some("1")),
            ("title", None),
            ("description", None)
        ])),
        0
    );
}

#[test]
fn text_limits_are_characters_and_payload_bytes() {
    let t49 = "张".repeat(49);
    let t50 = "张".repeat(50);
    assert_eq!(code(&with(&[("title", Some(&t49))])), 0);
    assert_eq!(code(&with(&[("title", Some(&t50))])), TOO_LONG);
    let d127 = "消".repeat(127);
    let d128 = "消".repeat(128);
    assert_eq!(code(&with(&[("description", Some(&d127))])), 0);
    assert_eq!(code(&with(&[("description", Some(&d128))])), TOO_LONG);
    let p = "x".repeat(4095);
    let big = "x".repeat(4096);
    assert_eq!(code(&with(&[("payload", Some(&p))])), 0);
    assert_eq!(code(&with(&[("payload", Some(&big))])), TOO_LONG);
}

#[test]
fn extras_and_receipt_parameters() {
    let mut many: Vec<(&'static str, Option<&str>)> = Vec::new();
    let keys = [
        "extra.k0", "extra.k1", "extra.k2", "extra.k3", "extra.k4", "extra.k5", "extra.k6",
        "extra.k7", "extra.k8", "extra.k9",
    ];
    for k in keys {
        many.push((k, Some("v")));
    }
    many.push(("extra.channel_id", Some("1")));
    assert_eq!(code(&with(&many)), 0);
    many.push(("extra.k10", Some("v")));
    assert_eq!(code(&with(&many)), TOO_MANY_EXTRAS);
    let long = "v".repeat(1025);
    assert_eq!(
        code(&with(&[("extra.ticker", Some(&long))])),
        EXTRA_TOO_LONG
    );
    let url = format!("https://x.example/{}", "a".repeat(120));
    assert_eq!(code(&with(&[("extra.callback", Some(&url))])), CALLBACK_URL);
    assert_eq!(
        code(&with(&[("extra.callback", Some("ftp://x"))])),
        CALLBACK_URL
    );
    let param = "p".repeat(65);
    assert_eq!(
        code(&with(&[("extra.callback.param", Some(&param))])),
        CALLBACK_PARAM
    );
    assert_eq!(
        code(&with(&[("extra.callback.type", Some("x"))])),
        CALLBACK_TYPE
    );
    let m = validate(FORM, &with(&[("extra.callback.type", Some("1267"))]), NOW).unwrap();
    assert_eq!(m.callback_type, 1267);
    assert_eq!(
        code(&with(&[("extra.jobkey", Some("_abc"))])),
        ILLEGAL_VALUE
    );
    assert_eq!(code(&with(&[("extra.jobkey", Some("abc-123_x"))])), 0);
    assert_eq!(
        code(&with(&[("extra.template_param", Some("[1]"))])),
        ILLEGAL_VALUE
    );
}

#[test]
fn numbers_and_schedules() {
    assert_eq!(code(&with(&[("notify_type", Some("8"))])), ILLEGAL_VALUE);
    assert_eq!(code(&with(&[("notify_type", Some("-1"))])), 0);
    assert_eq!(code(&with(&[("notify_id", Some("-3"))])), ILLEGAL_VALUE);
    assert_eq!(code(&with(&[("time_to_live", Some("0"))])), ILLEGAL_VALUE);
    assert_eq!(
        code(&with(&[("time_to_live", Some("soon"))])),
        ILLEGAL_VALUE
    );
    let late = (NOW + 8 * 86_400_000).to_string();
    assert_eq!(code(&with(&[("time_to_send", Some(&late))])), ILLEGAL_VALUE);
    let ids: Vec<String> = (0..1001).map(|i| format!("r{i}")).collect();
    assert_eq!(
        code(&with(&[("registration_id", Some(&ids.join(",")))])),
        ILLEGAL_VALUE
    );
}

#[test]
fn template_params_are_counted_and_checked() {
    let params = |v: serde_json::Value| v.as_object().unwrap().clone();
    let ok = params(serde_json::json!({"a": "Alice", "b": "hi"}));
    assert!(check_template_params(&ok, 2).is_ok());
    assert_eq!(
        check_template_params(&ok, 3).unwrap_err().code,
        ILLEGAL_VALUE
    );
    for bad in [
        serde_json::json!({"a": "😀", "b": "x"}),
        serde_json::json!({"a": "", "b": "x"}),
        serde_json::json!({"a": " ", "b": "x"}),
        serde_json::json!({"a": "x".repeat(129), "b": "x"}),
        serde_json::json!({"a": 5, "b": "x"}),
    ] {
        assert!(
            check_template_params(&params(bad.clone()), 2).is_err(),
            "{bad}"
        );
    }
}
