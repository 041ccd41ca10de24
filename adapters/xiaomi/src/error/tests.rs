//! The result-code table, one test row per code of xiaomi.md §6, plus `bad_regids`, the
//! all-invalid guard, daily quotas, Retry-After and what degrades health.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::client::Answer;
use serde_json::json;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const TOKEN: &str = "d//igwEhgBGCI2TG6lWqlK+gpu5IN2jb8Ajl8Bq0ipA=";
const OTHER: &str = "xK9fOVNmdW7EQcmQeJ1/ZLzUu2jxWnxzFQ2t9bpk+3g=";
const ID: &str = "scm56b45845417580378Ky";

fn error_body(code: i64, reason: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "result": "error", "code": code, "reason": reason,
        "description": "失败", "trace_id": "Xcm60262621473762966Eb"
    }))
    .unwrap()
}

fn ok_body(data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "result": "ok", "code": 0, "description": "成功", "data": data,
        "info": "Received push messages for 1 REGID", "trace_id": "Xcm56b45845417580378Ky"
    }))
    .unwrap()
}

fn answer(status: u16, body: Vec<u8>, retry_after: Option<&str>) -> Answer {
    Answer {
        status,
        retry_after: retry_after.map(str::to_string),
        body,
    }
}

/// What a row expects for a one-regid request.
#[derive(Debug, Clone, Copy)]
enum Want {
    Accepted,
    InvalidToken,
    Rejected,
    AuthFailed,
    Quota,
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

fn code(name: &'static str, code: i64, want: Want, says: &'static str) -> Row {
    row(name, 200, error_body(code, "some reason"), want, says)
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Want::*;
    vec![
        row("success", 200, ok_body(json!({"id": ID})), Accepted, ""),
        code("unknown error", -1, Retry(None), "-1 (HTTP 200)"),
        code("internal error", 1, Retry(None), "internal"),
        code("system error", 10001, Retry(None), "10001"),
        code("service busy", 10002, Retry(Some(30)), "busy"),
        code("remote service error", 10003, Retry(None), "remote"),
        code("parameter error", 10008, Rejected, "parameter error"),
        code("illegal request", 10012, Rejected, "illegal request"),
        code("required parameter missing", 10016, Rejected, "adapter bug"),
        code("illegal parameter value", 10017, Rejected, "illegal parameter value"),
        code("too frequent", 10027, Retry(Some(10)), "too frequently"),
        code("invalid device", 10029, InvalidToken, "invalid device"),
        code("invalid-regid query", 10030, Rejected, "feedback API"),
        code("blacklisted", 10031, AuthFailed, "blacklist"),
        code("daily request count", 10034, Quota, "midnight"),
        code("forbidden", 10036, AuthFailed, "forbids"),
        code("expired request", 10037, Retry(None), "expired"),
        row("no valid targets", 200, error_body(20301, "No valid targets!"), InvalidToken, "(Xiaomi: No valid targets!)"),
        code("wrong secret", 21301, AuthFailed, "AppSecret"),
        code("token auth", 21302, AuthFailed, "21302"),
        code("restricted", 21303, AuthFailed, "restricted"),
        code("parameter missing", 21305, Rejected, "adapter bug"),
        code("illegal app", 22000, AuthFailed, "illegal"),
        code("invalid app id", 22006, AuthFailed, "AppId"),
        code("invalid app key", 22007, AuthFailed, "AppKey"),
        code("wrong package", 22022, AuthFailed, "package_name"),
        code("notification send failed", 22102, Retry(Some(60)), "22102"),
        code("internal 26003", 26003, Retry(None), "26003"),
        code("broadcast too frequent", 26004, Rejected, "broadcast"),
        code("manual review", 26006, Rejected, "review"),
        code("channel mismatch", 27001, Rejected, "settings.xiaomi.categories"),
        code("device not online", 65003, Rejected, "not online"),
        code("content too long", 65009, Rejected, "4 KB"),
        code("too many extras", 65014, Rejected, "at most 10"),
        code("extra too long", 65015, Rejected, "1024"),
        code("callback param", 65036, Rejected, "callback"),
        code("callback url", 65037, Rejected, "callback_url"),
        code("callback type", 65038, Rejected, "callback"),
        code("unknown 1xxxx", 18888, Retry(None), "unknown Xiaomi system error"),
        code("unknown 26xxx", 26999, Retry(None), "unknown Xiaomi system error"),
        code("unknown other", 40404, Rejected, "unknown Xiaomi result code"),
        row("string code", 200, br#"{"result":"error","code":"65009","reason":"too long"}"#.to_vec(), Rejected, "65009"),
        // HTTP statuses that win over the body
        row("429 throttling", 429, ok_body(json!({"id": ID})), Retry(None), "HTTP 429"),
        row("502 gateway", 502, b"<html>Bad Gateway</html>".to_vec(), Retry(None), "HTTP 502"),
        row("503 busy", 503, error_body(10002, "busy"), Retry(None), "HTTP 503"),
        row("504", 504, b"".to_vec(), Retry(None), "HTTP 504"),
        // HTTP status alone
        row("200 garbage", 200, b"not json".to_vec(), Retry(None), "without a Xiaomi result code"),
        row("200 empty object", 200, b"{}".to_vec(), Retry(None), "base_url"),
        row("401 empty", 401, b"".to_vec(), AuthFailed, "HTTP 401"),
        row("403 html", 403, b"<html>Forbidden</html>".to_vec(), AuthFailed, "MiPush console"),
        row("404 wrong path", 404, b"<html>Not Found</html>".to_vec(), AuthFailed, "base_url"),
        row("400 garbage", 400, b"nope".to_vec(), Rejected, "HTTP 400"),
        row("500 garbage", 500, b"".to_vec(), Retry(None), "HTTP 500"),
        row("302", 302, b"".to_vec(), Retry(None), "unexpected HTTP status"),
    ]
}

fn check(row: &Row) {
    let verdict = classify(
        &answer(row.status, row.body.clone(), row.retry_after),
        &[TOKEN],
        false,
        NOW,
    );
    let outcomes = outcomes(&verdict, &[TOKEN], false, NOW);
    assert_eq!(outcomes.len(), 1, "{}", row.name);
    let name = row.name;
    let reason = match (&outcomes[0], row.want) {
        (Outcome::Accepted { vendor_message_id }, Want::Accepted) => {
            assert_eq!(vendor_message_id.as_deref(), Some(ID));
            return;
        }
        (Outcome::QuotaExhausted { reason, resets_at }, Want::Quota) => {
            assert_eq!(*resets_at, datetime!(2026-03-01 16:00:00 UTC), "{name}");
            reason
        }
        (Outcome::InvalidToken { reason, .. }, Want::InvalidToken)
        | (Outcome::Rejected { reason }, Want::Rejected)
        | (Outcome::AuthFailed { reason }, Want::AuthFailed) => reason,
        (Outcome::Retry { after, reason }, Want::Retry(want)) => {
            assert_eq!(*after, want.map(Duration::from_secs), "{name}: wait");
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
        let code = text(body.code.as_ref()).and_then(|c| c.parse::<i64>().ok());
        hit.insert(format!("{:?}", find_rule(row.status, code).on));
    }
    for rule in RULES {
        let on = format!("{:?}", rule.on);
        assert!(hit.contains(&on), "no test row reaches {on}");
    }
}

#[test]
fn error_reasons_carry_the_trace_id_and_hide_regids() {
    let body = error_body(20301, &format!("No valid targets! {TOKEN}"));
    let v = classify(&answer(200, body, None), &[TOKEN], false, NOW);
    assert!(
        v.reason.contains("[trace_id Xcm60262621473762966Eb]"),
        "{}",
        v.reason
    );
    assert!(
        v.reason.contains("[token]") && !v.reason.contains(TOKEN),
        "{}",
        v.reason
    );
}

#[test]
fn bad_regids_are_invalid_and_the_others_accepted() {
    let body = ok_body(json!({"id": ID, "bad_regids": OTHER}));
    let v = classify(&answer(200, body, None), &[TOKEN, OTHER], false, NOW);
    let o = outcomes(&v, &[TOKEN, OTHER], false, NOW);
    assert!(
        matches!(&o[0], Outcome::Accepted { vendor_message_id: Some(id) } if id == ID),
        "{o:?}"
    );
    assert!(
        matches!(&o[1], Outcome::InvalidToken { reason, .. } if reason.contains("bad_regids")),
        "{o:?}"
    );
    assert!(!degrades(&v, 2, false));
}

#[test]
fn no_valid_targets_on_an_unproven_batch_deactivates_nothing() {
    let body = error_body(20301, "No valid targets!");
    let v = classify(&answer(200, body, None), &[TOKEN, OTHER], false, NOW);
    let o = outcomes(&v, &[TOKEN, OTHER], false, NOW);
    assert!(
        o.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated") && reason.contains("package_name"))),
        "{o:?}"
    );
    assert!(degrades(&v, 2, false));
    let o = outcomes(&v, &[TOKEN, OTHER], true, NOW);
    assert!(
        o.iter().all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{o:?}"
    );
    assert!(!degrades(&v, 2, true));
    let one = classify(
        &answer(200, error_body(20301, "No valid targets!"), None),
        &[TOKEN],
        false,
        NOW,
    );
    assert!(matches!(
        outcomes(&one, &[TOKEN], false, NOW)[0],
        Outcome::InvalidToken { .. }
    ));
}

#[test]
fn success_over_the_public_quota_is_still_accepted_with_its_bad_regids() {
    // Xiaomi took the message: it discards the over-quota part itself (receipt type 128).
    let over =
        ok_body(json!({"id": ID, "bad_regids": OTHER, "day_acked": "1001", "day_quota": "1000"}));
    let v = classify(&answer(200, over.clone(), None), &[TOKEN, OTHER], true, NOW);
    assert_eq!(v.action, Action::Accepted);
    assert_eq!(
        v.public_quota,
        Some(PublicQuota {
            acked: 1001,
            quota: 1000
        })
    );
    assert!(v.public_quota.unwrap().is_over());
    let o = outcomes(&v, &[TOKEN, OTHER], false, NOW);
    assert!(
        matches!(&o[0], Outcome::Accepted { vendor_message_id: Some(id) } if id == ID),
        "{o:?}"
    );
    assert!(
        matches!(&o[1], Outcome::InvalidToken { reason, .. } if reason.contains("bad_regids")),
        "{o:?}"
    );
    assert!(!degrades(&v, 2, false));
    // A private message is not counted against the public quota: the figures are ignored.
    let v = classify(&answer(200, over, None), &[TOKEN], false, NOW);
    assert_eq!(v.public_quota, None);
    assert!(matches!(
        &outcomes(&v, &[TOKEN], false, NOW)[0],
        Outcome::Accepted { vendor_message_id: Some(id) } if id == ID
    ));
    // Numbers or strings; at the quota is not over it, nor is a zero quota.
    let within = ok_body(json!({"id": ID, "day_acked": 1000, "day_quota": 1000}));
    let v = classify(&answer(200, within, None), &[TOKEN], true, NOW);
    assert!(!v.public_quota.unwrap().is_over());
    assert!(matches!(
        outcomes(&v, &[TOKEN], false, NOW)[0],
        Outcome::Accepted { .. }
    ));
    assert!(!PublicQuota { acked: 5, quota: 0 }.is_over());
}

#[test]
fn retry_after_wins_over_the_default_wait() {
    let v = classify(
        &answer(200, error_body(10027, "slow"), Some("7")),
        &[TOKEN],
        false,
        NOW,
    );
    assert_eq!(v.after, Some(Duration::from_secs(7)));
    let v = classify(
        &answer(429, b"".to_vec(), Some("Sun, 01 Mar 2026 10:00:05 GMT")),
        &[TOKEN],
        false,
        NOW,
    );
    assert_eq!(v.after, Some(Duration::from_secs(5)));
    assert_eq!(
        retry_after(Some("Sun, 01 Mar 2026 09:00:00 GMT"), NOW),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(Some("soon"), NOW), None);
}

#[test]
fn what_degrades_health() {
    let v = |code: i64| {
        classify(
            &answer(200, error_body(code, "x"), None),
            &[TOKEN],
            false,
            NOW,
        )
    };
    assert!(degrades(&v(21301), 1, false));
    assert!(degrades(&v(22022), 1, false));
    assert!(degrades(&v(27001), 1, false));
    assert!(degrades(&v(10001), 1, false));
    assert!(degrades(&v(40404), 1, false));
    assert!(!degrades(&v(65009), 1, false));
    assert!(!degrades(&v(10034), 1, false));
    assert!(degrades(&network("could not connect"), 1, false));
}
