//! The result-code table, one test row per code of oppo.md §6, plus batch entries, the
//! all-invalid guard, quotas, Retry-After and what degrades health.

use super::*;
use crate::client::Answer;
use serde_json::json;
use std::collections::HashSet;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const TOKEN: &str = "CN_b6bbd94b59cdb5df8391642c1509b7fe";

fn oppo(code: i64, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "code": code, "message": message, "data": { "messageId": "5f4c0a1b2c3d4e5f60718293" } }))
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
    Quota,
    Retry,
}

struct Row {
    name: &'static str,
    status: u16,
    body: Vec<u8>,
    want: Want,
    says: &'static str,
}

fn row(name: &'static str, status: u16, body: Vec<u8>, want: Want, says: &'static str) -> Row {
    Row {
        name,
        status,
        body,
        want,
        says,
    }
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Want::*;
    vec![
        row("success", 200, oppo(0, "Success"), Accepted, ""),
        row("flow control", 200, oppo(-2, "Server flow control"), Retry, "code -2"),
        row("unavailable", 200, oppo(-1, "Service Currently Unavailable"), Retry, "code -1"),
        row("auth token invalid", 200, oppo(11, "Invalid AuthToken"), AuthFailed, "a new one is fetched"),
        row("method not allowed", 200, oppo(12, "Http Action Not Allowed"), Rejected, "adapter bug"),
        row("call count exceeded", 200, oppo(13, "App Call Limited"), Retry, "rate limit"),
        row("invalid app key", 200, oppo(14, "Invalid AppKey"), AuthFailed, "app_key"),
        row("app key missing", 200, oppo(15, "Missing AppKey"), AuthFailed, "AppKey missing"),
        row("bad signature", 200, oppo(16, "Invalid Signature"), AuthFailed, "MasterSecret"),
        row("signature missing", 200, oppo(17, "Missing Signature"), AuthFailed, "signature missing"),
        row("timestamp missing", 200, oppo(18, "Missing Timestamp"), AuthFailed, "timestamp missing"),
        row("timestamp range", 200, oppo(19, "Invalid Timestamp"), AuthFailed, "clock"),
        row("method error low", 200, oppo(20, "Invalid Method"), Rejected, "adapter bug"),
        row("version error high", 200, oppo(24, "Invalid Version"), Rejected, "adapter bug"),
        row("encoding", 200, oppo(25, "Invalid encoding"), Rejected, "UTF-8"),
        row("ip blacklisted", 200, oppo(26, "IP Black List"), AuthFailed, "IP address"),
        row("access denied", 200, oppo(27, "Access Denied"), AuthFailed, "denied"),
        row("app disabled", 200, oppo(28, "App Disabled"), AuthFailed, "disabled"),
        row("auth token missing", 200, oppo(29, "Missing AuthToken"), AuthFailed, "auth token missing"),
        row("no push permission", 200, oppo(30, "Api Permission Denied"), AuthFailed, "API push permission"),
        row("data not found", 200, oppo(31, "Data Not Exists"), Rejected, "does not exist"),
        row("duplicate", 200, oppo(32, "Data Already Exists"), Accepted, ""),
        row("daily limit", 200, oppo(33, "The number of messages exceeds the daily limit"), Quota, "daily message limit"),
        row("picture limit", 200, oppo(34, "The number of pictures exceeds the daily limit"), Quota, "picture"),
        row("argument missing", 200, oppo(40, "Missing Required Arguments"), Rejected, "missing"),
        row("argument invalid", 200, oppo(41, "Invalid Arguments: title"), Rejected, "invalid (format"),
        row("bad picture", 200, oppo(51, "Invalid Picture"), Rejected, "picture"),
        row("frequency", 200, oppo(55, "Access frequency limited"), Retry, "frequency"),
        row("fallback link", 200, oppo(59, "No permission"), Rejected, "fallback"),
        row("classification", 200, oppo(67, "category error / private classify channel notify_level invalid"), Rejected, "settings.oppo"),
        row("regid invalid", 200, oppo(10000, "Invalid RegistrationId"), InvalidToken, "registration id illegal"),
        row("regid not subscribed", 200, oppo(10001, "RegistrationId Not Subscribed"), InvalidToken, "not subscribed"),
        row("alias invalid", 200, oppo(10002, "Invalid Alias"), Rejected, "alias"),
        row("alias not subscribed", 200, oppo(10003, "Alias Not Subscribed"), Rejected, "alias"),
        row("unknown negative", 200, oppo(-9, "x"), Retry, "unknown OPPO system code"),
        row("unknown code", 200, oppo(77, "x"), Rejected, "unknown OPPO result code"),
        row("code as string", 200, br#"{"code":"33","message":"limit"}"#.to_vec(), Quota, "code 33"),
        // HTTP statuses that win over the body
        row("429", 429, oppo(0, ""), Retry, "HTTP 429"),
        row("502", 502, b"<html>Bad Gateway</html>".to_vec(), Retry, "HTTP 502"),
        row("503 with code", 503, oppo(-1, "busy"), Retry, "HTTP 503"),
        // HTTP status alone
        row("200 garbage", 200, b"not json".to_vec(), Retry, "without an OPPO code"),
        row("200 empty object", 200, b"{}".to_vec(), Retry, "base_url"),
        row("401", 401, b"".to_vec(), AuthFailed, "HTTP 401"),
        row("403", 403, b"<html>Forbidden</html>".to_vec(), AuthFailed, "permission"),
        row("404", 404, b"<html>Not Found</html>".to_vec(), Retry, "base_url"),
        row("400 garbage", 400, b"nope".to_vec(), Rejected, "HTTP 400"),
        row("500", 500, b"".to_vec(), Retry, "HTTP 500"),
        row("302", 302, b"".to_vec(), Retry, "unexpected HTTP status"),
    ]
}

fn check(row: &Row) {
    let verdict = classify(&answer(row.status, row.body.clone(), None), &[TOKEN], NOW);
    let outcomes = outcomes(&verdict, &[TOKEN], false, false, NOW);
    assert_eq!(outcomes.len(), 1, "{}", row.name);
    let name = row.name;
    let reason = match (&outcomes[0], row.want) {
        (Outcome::Accepted { vendor_message_id }, Want::Accepted) => {
            assert_eq!(
                vendor_message_id.as_deref(),
                Some("5f4c0a1b2c3d4e5f60718293"),
                "{name}"
            );
            return;
        }
        (Outcome::QuotaExhausted { reason, resets_at }, Want::Quota) => {
            // 2026-03-01 10:00 UTC is 18:00 in China: the quota resets at 16:00 UTC.
            assert_eq!(*resets_at, datetime!(2026-03-01 16:00:00 UTC), "{name}");
            reason
        }
        (Outcome::InvalidToken { reason, .. }, Want::InvalidToken)
        | (Outcome::Rejected { reason }, Want::Rejected)
        | (Outcome::AuthFailed { reason }, Want::AuthFailed)
        | (Outcome::Retry { reason, .. }, Want::Retry) => reason,
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
        hit.insert(format!(
            "{:?}",
            find_rule(row.status, number(body.code.as_ref())).on
        ));
    }
    for rule in RULES {
        let key = format!("{:?}", rule.on);
        assert!(hit.contains(&key), "no test row for {key}");
    }
}

fn batch_answer(entries: serde_json::Value) -> Answer {
    answer(
        200,
        serde_json::to_vec(&json!({"code": 0, "message": "Success", "data": entries})).unwrap(),
        None,
    )
}

#[test]
fn batch_entries_give_each_registration_id_its_outcome() {
    let tokens = ["CN_a", "CN_b", "CN_c", "CN_d"];
    let v = classify(
        &batch_answer(json!([
            {"messageId": "m-a", "registrationId": "CN_a", "errorCode": 0, "errorMessage": "Success"},
            {"messageId": "m-b", "registrationId": "CN_b", "errorCode": 10000, "errorMessage": "Invalid RegistrationId CN_b"},
            {"messageId": "m-c", "registrationId": "CN_c"},
            {"registrationId": "CN_d", "errorCode": 33, "errorMessage": "limit"},
        ])),
        &tokens,
        NOW,
    );
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(
        matches!(&got[0], Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-a"),
        "{got:?}"
    );
    let Outcome::InvalidToken { reason, .. } = &got[1] else {
        panic!("{got:?}")
    };
    assert!(
        reason.contains("[token]") && !reason.contains("CN_b"),
        "{reason}"
    );
    assert!(matches!(&got[2], Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-c"));
    assert!(matches!(&got[3], Outcome::QuotaExhausted { .. }), "{got:?}");
}

#[test]
fn batch_entries_are_matched_by_registration_id_when_out_of_order_or_missing() {
    let tokens = ["CN_a", "CN_b", "CN_c"];
    let v = classify(
        &batch_answer(json!([
            {"messageId": "m-c", "registrationId": "CN_c", "errorCode": 0},
            {"messageId": "m-a", "registrationId": "CN_a", "errorCode": 0},
        ])),
        &tokens,
        NOW,
    );
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(matches!(&got[0], Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-a"));
    assert!(matches!(&got[1], Outcome::Retry { reason, .. } if reason.contains("no result")));
    assert!(matches!(&got[2], Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-c"));
}

#[test]
fn a_duplicate_batch_is_accepted_for_every_registration_id() {
    let tokens = ["CN_a", "CN_b", "CN_c"];
    let body = |data: Option<serde_json::Value>| {
        let mut b = json!({"code": 32, "message": "Data Already Exists"});
        if let Some(data) = data {
            b["data"] = data;
        }
        answer(200, serde_json::to_vec(&b).unwrap(), None)
    };
    // No data at all: accepted without a message id, not retried.
    let v = classify(&body(None), &tokens, NOW);
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(
        got.iter().all(|o| matches!(
            o,
            Outcome::Accepted {
                vendor_message_id: None
            }
        )),
        "{got:?}"
    );
    assert!(degraded(&v, &got).is_none());
    // A top-level message id is every registration id's.
    let v = classify(&body(Some(json!({"messageId": "m-dup"}))), &tokens, NOW);
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(
        got.iter().all(
            |o| matches!(o, Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-dup")
        ),
        "{got:?}"
    );
    // Entries still decide for their registration ids; the rest are the duplicate's.
    let v = classify(
        &body(Some(json!([
            {"messageId": "m-b", "registrationId": "CN_b", "errorCode": 0},
            {"registrationId": "CN_c", "errorCode": 10000},
        ]))),
        &tokens,
        NOW,
    );
    let got = outcomes(&v, &tokens, true, true, NOW);
    assert!(
        matches!(
            &got[0],
            Outcome::Accepted {
                vendor_message_id: None
            }
        ),
        "{got:?}"
    );
    assert!(matches!(&got[1], Outcome::Accepted { vendor_message_id: Some(id) } if id == "m-b"));
    assert!(matches!(&got[2], Outcome::InvalidToken { .. }), "{got:?}");
    // A success answer without entries still retries: only 32 says the message is there.
    let v = classify(&batch_answer(json!(null)), &tokens, NOW);
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(
        got.iter()
            .all(|o| matches!(o, Outcome::Retry { reason, .. } if reason.contains("no result"))),
        "{got:?}"
    );
}

#[test]
fn a_failed_batch_fails_every_token_alike() {
    let tokens = ["CN_a", "CN_b"];
    let v = classify(
        &answer(200, oppo(11, "Invalid AuthToken"), None),
        &tokens,
        NOW,
    );
    let got = outcomes(&v, &tokens, true, false, NOW);
    assert!(
        got.iter().all(|o| matches!(o, Outcome::AuthFailed { .. })),
        "{got:?}"
    );
    assert!(degraded(&v, &got).is_some());
}

#[test]
fn all_invalid_deactivates_only_one_token_or_with_a_proven_credential() {
    let tokens = ["CN_a", "CN_b"];
    let v = classify(
        &batch_answer(json!([
            {"registrationId": "CN_a", "errorCode": 10000},
            {"registrationId": "CN_b", "errorCode": 10001},
        ])),
        &tokens,
        NOW,
    );
    let unproven = outcomes(&v, &tokens, true, false, NOW);
    for o in &unproven {
        let Outcome::Rejected { reason } = o else {
            panic!("{o:?}")
        };
        assert!(
            reason.contains("all 2 registration ids") && reason.contains("AppKey"),
            "{reason}"
        );
    }
    assert!(
        degraded(&v, &unproven).is_some(),
        "a suspected misconfiguration degrades health"
    );
    let proven = outcomes(&v, &tokens, true, true, NOW);
    assert!(
        proven
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{proven:?}"
    );
    assert!(degraded(&v, &proven).is_none());
    let one = classify(
        &answer(200, oppo(10000, "Invalid RegistrationId"), None),
        &["CN_a"],
        NOW,
    );
    let got = outcomes(&one, &["CN_a"], false, false, NOW);
    assert!(matches!(&got[0], Outcome::InvalidToken { .. }), "{got:?}");
    assert!(degraded(&one, &got).is_none());
}

#[test]
fn retry_after_is_honoured() {
    let cases = [
        (429, b"".to_vec(), "30", Some(30)),
        (
            429,
            b"".to_vec(),
            "Sun, 01 Mar 2026 10:02:00 GMT",
            Some(120),
        ),
        (200, oppo(-2, "flow control"), "5", Some(5)),
        (502, b"".to_vec(), "garbage", None),
    ];
    for (status, body, header, want) in cases {
        let v = classify(&answer(status, body, Some(header)), &[TOKEN], NOW);
        let o = outcomes(&v, &[TOKEN], false, false, NOW);
        let Outcome::Retry { after, .. } = &o[0] else {
            panic!("{status}: {o:?}")
        };
        assert_eq!(*after, want.map(Duration::from_secs), "{status} {header}");
        assert!(degraded(&v, &o).is_some());
    }
    assert_eq!(
        retry_after(Some("Sun, 01 Mar 2026 09:00:00 GMT"), NOW),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(Some("-5"), NOW), None);
}

#[test]
fn only_faults_that_are_not_the_message_degrade_health() {
    let d = |body| {
        let v = classify(&answer(200, body, None), &[TOKEN], NOW);
        let o = outcomes(&v, &[TOKEN], false, false, NOW);
        degraded(&v, &o).is_some()
    };
    assert!(!d(oppo(0, "Success")));
    assert!(!d(oppo(41, "x")));
    assert!(!d(oppo(10000, "x")));
    assert!(
        d(oppo(67, "x")),
        "a classification refusal is configuration"
    );
    assert!(d(oppo(16, "x")));
    assert!(d(oppo(33, "x")));
    assert!(d(oppo(77, "x")), "unknown codes are worth a look");
    assert!(degraded(&network("timeout"), &[]).is_some());
}
