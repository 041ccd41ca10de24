//! The result-code table, one test row per code of huawei.md §7, plus the partial-success
//! and all-invalid rules, Retry-After and what degrades health.

use super::*;
use crate::client::Answer;
use serde_json::json;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const TOKEN: &str = "IQAAAACy0kYvAADrWtm0ZLkpX3lQ0xV-token-one";

fn huawei(code: &str, msg: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "code": code, "msg": msg, "requestId": "157440955549500001002006" }),
    )
    .unwrap()
}

fn answer(status: u16, body: Vec<u8>, retry_after: Option<&str>) -> Answer {
    Answer {
        status,
        retry_after: retry_after.map(str::to_string),
        body,
    }
}

/// What a row expects for a one-token request.
#[derive(Debug, Clone, Copy)]
enum Want {
    Accepted,
    InvalidToken,
    Rejected,
    AuthFailed,
    Retry(Option<u64>),
}

struct Row {
    name: &'static str,
    status: u16,
    body: Vec<u8>,
    retry_after: Option<&'static str>,
    want: Want,
    says: &'static str,
}

fn row(name: &'static str, status: u16, body: Vec<u8>, want: Want, says: &'static str) -> Row {
    Row {
        name,
        status,
        body,
        retry_after: None,
        want,
        says,
    }
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Want::*;
    vec![
        row("success", 200, huawei("80000000", "Success"), Accepted, ""),
        row("partial", 200, huawei("80100000", r#"{"success":0,"failure":1,"illegal_tokens":["IQAAAACy0kYvAADrWtm0ZLkpX3lQ0xV-token-one"]}"#), InvalidToken, "80100000"),
        row("bad parameters", 400, huawei("80100001", "Some request parameters are invalid: ttl"), Rejected, "parameters are wrong (Huawei: Some request"),
        row("sync needs one token", 400, huawei("80100002", "x"), Rejected, "80100002"),
        row("structure wrong", 400, huawei("80100003", "Incorrect message structure"), Rejected, "adapter bug"),
        row("expired", 400, huawei("80100004", "x"), Rejected, "ttl"),
        row("collapse key", 400, huawei("80100013", "x"), Rejected, "collapse_key"),
        row("sensitive words", 400, huawei("80100016", "x"), Rejected, "content"),
        row("oauth error", 401, huawei("80200001", "Oauth authentication error"), AuthFailed, "80200001 (HTTP 401)"),
        row("oauth token expired", 401, huawei("80200003", "Oauth Token expired."), AuthFailed, "80200003"),
        row("no permission", 403, huawei("80300002", "[xxx]The input token is invalid"), AuthFailed, "enable Push Kit"),
        row("all invalid, one token", 200, huawei("80300007", "All the tokens are invalid"), InvalidToken, "80300007"),
        row("too large", 200, huawei("80300008", "The message body size exceeds the default value"), Rejected, "4096"),
        row("token count", 400, huawei("80300010", "x"), Rejected, "token count"),
        row("high priority", 200, huawei("80300011", "No permission to send high-level message"), Rejected, "priority normal"),
        row("internal", 500, huawei("81000001", "System inner error"), Retry(None), "81000001"),
        row("topic error low", 200, huawei("82000001", "x"), Rejected, "topic"),
        row("topic error high", 200, huawei("82000013", "x"), Rejected, "topic"),
        row("unknown 81", 200, huawei("81000099", "x"), Retry(None), "unknown Huawei system error"),
        row("unknown 80 (80600003)", 200, huawei("80600003", "x"), Rejected, "unknown Huawei result code"),
        row("unknown other", 200, huawei("90000000", "x"), Rejected, "90000000"),
        row("numeric code", 200, br#"{"code":80300008,"msg":"big"}"#.to_vec(), Rejected, "80300008"),
        // HTTP statuses that win over the body
        row("429 flow control", 429, huawei("80000000", ""), Retry(None), "HTTP 429"),
        row("502 gateway", 502, b"<html>Bad Gateway</html>".to_vec(), Retry(None), "HTTP 502"),
        row("503 flow control", 503, huawei("81000001", "busy"), Retry(None), "HTTP 503"),
        row("504", 504, b"".to_vec(), Retry(None), "HTTP 504"),
        // HTTP status alone
        row("200 garbage", 200, b"not json".to_vec(), Retry(None), "without a Huawei result code"),
        row("200 empty object", 200, b"{}".to_vec(), Retry(None), "base_url"),
        row("401 empty", 401, b"".to_vec(), AuthFailed, "HTTP 401"),
        row("403 html", 403, b"<html>Forbidden</html>".to_vec(), AuthFailed, "Push Kit"),
        row("404 wrong path", 404, b"<html>Not Found</html>".to_vec(), AuthFailed, "App ID"),
        row("400 garbage", 400, b"nope".to_vec(), Rejected, "HTTP 400"),
        row("500 garbage", 500, b"".to_vec(), Retry(None), "HTTP 500"),
        row("302", 302, b"".to_vec(), Retry(None), "unexpected HTTP status"),
    ]
}

fn check(row: &Row) {
    let verdict = classify(
        &answer(row.status, row.body.clone(), row.retry_after),
        &[TOKEN],
        NOW,
    );
    let outcomes = outcomes(&verdict, &[TOKEN], false);
    assert_eq!(outcomes.len(), 1, "{}", row.name);
    let name = row.name;
    let reason = match (&outcomes[0], row.want) {
        (Outcome::Accepted { vendor_message_id }, Want::Accepted) => {
            assert_eq!(
                vendor_message_id.as_deref(),
                Some("157440955549500001002006")
            );
            return;
        }
        (Outcome::InvalidToken { reason, .. }, Want::InvalidToken)
        | (Outcome::Rejected { reason }, Want::Rejected)
        | (Outcome::AuthFailed { reason }, Want::AuthFailed) => reason,
        (Outcome::Retry { after, reason }, Want::Retry(want)) => {
            assert_eq!(*after, want.map(Duration::from_secs), "{name}: Retry-After");
            reason
        }
        (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
    };
    assert!(
        reason.contains(row.says),
        "{name}: {reason:?} lacks {:?}",
        row.says
    );
    assert!(!reason.contains(TOKEN), "{name}: token in {reason:?}");
}

#[test]
fn every_documented_code_maps_to_one_outcome() {
    for row in rows() {
        check(&row);
    }
}

#[test]
fn every_rule_of_the_table_has_a_test_row() {
    let mut hit = HashSet::new();
    for row in rows() {
        let body: Body = serde_json::from_slice(&row.body).unwrap_or_default();
        let code = body.code.map(|c| match c {
            Value::String(s) => s,
            other => other.to_string(),
        });
        hit.insert(format!("{:?}", find_rule(row.status, code.as_deref()).on));
    }
    for rule in RULES {
        let key = format!("{:?}", rule.on);
        assert!(hit.contains(&key), "no test row for {key}");
    }
}

#[test]
fn partial_success_gives_each_token_its_own_outcome() {
    let tokens = ["tok-a", "tok-b", "tok-c"];
    let msg = r#"{"success":2,"failure":1,"illegal_tokens":["tok-b"]}"#;
    let v = classify(&answer(200, huawei("80100000", msg), None), &tokens, NOW);
    let got = outcomes(&v, &tokens, false);
    assert!(
        matches!(&got[0], Outcome::Accepted { vendor_message_id: Some(id) } if id == "157440955549500001002006")
    );
    assert!(
        matches!(&got[1], Outcome::InvalidToken { .. }),
        "{:?}",
        got[1]
    );
    assert!(matches!(&got[2], Outcome::Accepted { .. }));
    assert!(!degrades(&v, 3, false));
    // msg as an object instead of a string is tolerated too.
    let body =
        serde_json::to_vec(&json!({"code":"80100000","msg":{"illegal_tokens":["tok-a"]}})).unwrap();
    let v = classify(&answer(200, body, None), &tokens, NOW);
    let got = outcomes(&v, &tokens, false);
    assert!(matches!(&got[0], Outcome::InvalidToken { .. }));
    assert!(matches!(
        &got[1],
        Outcome::Accepted {
            vendor_message_id: None
        }
    ));
}

#[test]
fn a_2xx_cut_short_after_a_success_code_is_never_retried() {
    let tokens = ["tok-a", "tok-b"];
    let long_list = format!(
        r#"{{"success":1,"failure":1000,"illegal_tokens":[{}]}}"#,
        (0..1000)
            .map(|i| format!("\"IQAAAACy{i:0>200}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (name, body) in [
        ("partial", huawei("80100000", &long_list)),
        ("success", huawei("80000000", &"x".repeat(100))),
        (
            "spaced, numeric",
            br#" { "code" : 80100000 , "msg": "{\"illegal_tokens\":[\"tok-b"#.to_vec(),
        ),
    ] {
        let cut = body[..body.len().min(64 * 1024) - 10].to_vec();
        assert!(serde_json::from_slice::<Value>(&cut).is_err(), "{name}");
        let v = classify(&answer(200, cut, None), &tokens, NOW);
        let got = outcomes(&v, &tokens, false);
        assert!(
            got.iter().all(|o| *o
                == Outcome::Accepted {
                    vendor_message_id: None
                }),
            "{name}: {got:?}"
        );
        assert!(!degrades(&v, 2, false), "{name}");
    }

    // Anything else unreadable still retries: not a 2xx, a code that is not a success, a
    // success code that is not the first key or is only a prefix of the code.
    for (status, body) in [
        (500, huawei("80100000", &long_list)),
        (200, huawei("80300007", &long_list)),
        (200, br#"{"msg":"x","code":"80000000""#.to_vec()),
        (200, br#"{"code":"800000001"#.to_vec()),
        (200, br#"{"code":"8000"#.to_vec()),
        (200, b"<html>80000000".to_vec()),
    ] {
        let cut = body[..body.len().min(1000)].to_vec();
        let v = classify(&answer(status, cut, None), &tokens, NOW);
        assert_eq!(v.action, Action::Retry, "{status} {:?}", v.reason);
    }
}

#[test]
fn all_invalid_deactivates_only_one_token_or_with_a_proven_credential() {
    let tokens = ["tok-a", "tok-b"];
    let v = classify(
        &answer(200, huawei("80300007", "All the tokens are invalid"), None),
        &tokens,
        NOW,
    );
    let unproven = outcomes(&v, &tokens, false);
    for o in &unproven {
        let Outcome::Rejected { reason } = o else {
            panic!("{o:?}")
        };
        assert!(
            reason.contains("all 2 tokens") && reason.contains("App ID"),
            "{reason}"
        );
        assert!(reason.contains("no device was deactivated"), "{reason}");
    }
    assert!(
        degrades(&v, 2, false),
        "a suspected misconfiguration degrades health"
    );
    let proven = outcomes(&v, &tokens, true);
    assert!(
        proven
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{proven:?}"
    );
    assert!(!degrades(&v, 2, true));
    let one = outcomes(&v, &["tok-a"], false);
    assert!(matches!(&one[0], Outcome::InvalidToken { .. }), "{one:?}");
    assert!(!degrades(&v, 1, false));
}

#[test]
fn retry_after_is_honoured() {
    let cases = [
        (503, b"".to_vec(), "30", Some(30)),
        (
            429,
            b"".to_vec(),
            "Sun, 01 Mar 2026 10:02:00 GMT",
            Some(120),
        ),
        (500, huawei("81000001", "x"), "5", Some(5)),
        (502, b"".to_vec(), "garbage", None),
    ];
    for (status, body, header, want) in cases {
        let v = classify(&answer(status, body, Some(header)), &[TOKEN], NOW);
        let o = outcomes(&v, &[TOKEN], false);
        let Outcome::Retry { after, .. } = &o[0] else {
            panic!("{status}: {o:?}")
        };
        assert_eq!(*after, want.map(Duration::from_secs), "{status} {header}");
        assert!(degrades(&v, 1, false));
    }
    assert_eq!(
        retry_after(Some("Sun, 01 Mar 2026 09:00:00 GMT"), NOW),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(Some("-5"), NOW), None);
    assert_eq!(retry_after(None, NOW), None);
}

#[test]
fn tokens_never_appear_in_a_reason() {
    let msg = format!("The token {TOKEN} is invalid");
    let v = classify(&answer(400, huawei("80100001", &msg), None), &[TOKEN], NOW);
    assert!(
        v.reason.contains("[token]") && !v.reason.contains(TOKEN),
        "{}",
        v.reason
    );
}

#[test]
fn only_faults_that_are_not_the_message_degrade_health() {
    let d = |status, body| {
        degrades(
            &classify(&answer(status, body, None), &[TOKEN], NOW),
            1,
            false,
        )
    };
    assert!(!d(200, huawei("80000000", "Success")));
    assert!(!d(400, huawei("80100001", "x")));
    assert!(!d(200, huawei("80300008", "x")));
    assert!(
        d(200, huawei("80600003", "x")),
        "unknown codes are worth a look"
    );
    assert!(d(401, huawei("80200003", "x")));
    assert!(d(200, huawei("80300002", "x")));
    assert!(d(200, huawei("80300011", "x")));
    assert!(d(503, b"".to_vec()));
    assert!(degrades(&network("timeout"), 1, false));
}
