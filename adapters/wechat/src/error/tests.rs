//! The errcode table, one test row per code of wechat.md §5 (and §4.4's obsolete codes),
//! plus answers without an errcode, Retry-After, 64-bit msgids and what degrades health.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:42 UTC);
const OPENID: &str = "oXcRZ6wVBijRu9rmTbGIAl_1_FOc";

fn wechat(errcode: i64, errmsg: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "errcode": errcode,
        "errmsg": format!("{errmsg} rid: 6385c6c1-0fcadca1-22c1fc91"),
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Accepted,
    Retry,
    InvalidToken,
    AuthFailed,
    Rejected,
    Quota,
}

fn kind(o: &Outcome) -> Want {
    match o {
        Outcome::Accepted { .. } => Want::Accepted,
        Outcome::Retry { .. } => Want::Retry,
        Outcome::InvalidToken { .. } => Want::InvalidToken,
        Outcome::AuthFailed { .. } => Want::AuthFailed,
        Outcome::Rejected { .. } => Want::Rejected,
        Outcome::QuotaExhausted { .. } => Want::Quota,
    }
}

#[rustfmt::skip]
fn rows() -> Vec<(i64, &'static str, Want, bool, &'static str)> {
    use Want::*;
    // (errcode, errmsg, outcome, degrades, the reason says)
    vec![
        (0, "ok", Accepted, false, ""),
        (-1, "system error", Retry, true, "busy"),
        (40001, "invalid credential, access_token is invalid or not latest", AuthFailed, true, "superseded"),
        (40002, "invalid grant_type", Rejected, true, "bug"),
        (40003, "invalid openid", InvalidToken, false, "openid"),
        (40013, "invalid appid", Rejected, true, "mini_program_app_id"),
        (40014, "invalid access_token", AuthFailed, true, "access_token"),
        (40036, "invalid template_id size", Rejected, true, "template id"),
        (40037, "invalid template_id", Rejected, true, "settings.wechat"),
        (40125, "invalid appsecret", AuthFailed, true, "AppSecret"),
        (40164, "invalid ip 1.2.3.4, not in whitelist", AuthFailed, true, "whitelist"),
        (41001, "access_token missing", Rejected, true, "bug"),
        (41028, "invalid form id", Rejected, true, "wrong endpoint"),
        (41029, "form id used count reach limit", Rejected, true, "wrong endpoint"),
        (41030, "invalid page", Rejected, true, "page"),
        (42001, "access_token expired", AuthFailed, true, "expired"),
        (43003, "require https", Rejected, true, "https"),
        (43004, "require subscribe", InvalidToken, false, "follow"),
        (43101, "user refuse to accept the msg", InvalidToken, false, "consent"),
        (44002, "empty post data", Rejected, true, "bug"),
        (45009, "reach max api daily quota limit", Quota, true, "daily quota"),
        (45011, "api minute-quota reach limit must slower retry next minute", Retry, true, "per-minute"),
        (47001, "data format error", Rejected, true, "JSON"),
        (47003, "argument invalid! data.thing3.value invalid", Rejected, true, "type rule"),
        (48001, "api unauthorized", AuthFailed, true, "may not use"),
        (48004, "api forbidden for irregularities", AuthFailed, true, "banned"),
        (99999, "something new", Rejected, true, "unknown WeChat errcode"),
    ]
}

#[test]
fn every_documented_errcode_has_one_outcome() {
    for (code, msg, want, degrades, says) in rows() {
        let v = classify(&answer(200, wechat(code, msg), None), OPENID, NOW);
        assert_eq!(kind(&v.outcome), want, "errcode {code}: {v:?}");
        assert_eq!(v.degrades, degrades, "errcode {code} degrades: {v:?}");
        assert!(v.outcome.reason().contains(says), "errcode {code}: {v:?}");
        if code != 0 {
            assert!(
                v.outcome.reason().contains(&format!("errcode {code}")),
                "{v:?}"
            );
            assert!(
                v.outcome.reason().contains("rid: 6385c6c1"),
                "the rid is kept: {v:?}"
            );
        }
    }
}

#[test]
fn every_table_row_is_tested() {
    let tested: Vec<i64> = rows().iter().map(|r| r.0).collect();
    for rule in RULES {
        assert!(
            tested.contains(&rule.errcode),
            "no row for {}",
            rule.errcode
        );
    }
}

#[test]
fn accepted_keeps_the_64_bit_msgid_exactly() {
    let body = br#"{"errcode":0,"errmsg":"ok","msgid":3487542469355618313}"#;
    let v = classify(&answer(200, body.to_vec(), None), OPENID, NOW);
    assert_eq!(
        v.outcome,
        Outcome::Accepted {
            vendor_message_id: Some("3487542469355618313".into())
        }
    );
    let no_msgid = classify(
        &answer(200, br#"{"errcode":0,"errmsg":"ok"}"#.to_vec(), None),
        OPENID,
        NOW,
    );
    assert_eq!(
        no_msgid.outcome,
        Outcome::Accepted {
            vendor_message_id: None
        }
    );
}

/// §5: 43101 is "drop; deactivate until new consent; do not retry" — `InvalidToken`, which
/// the worker turns into a failed delivery (no retry) and a deactivated device.
#[test]
fn a_refused_or_spent_consent_deactivates_the_openid_without_retry() {
    let v = classify(
        &answer(200, wechat(43101, "user refuse to accept the msg"), None),
        OPENID,
        NOW,
    );
    match &v.outcome {
        Outcome::InvalidToken {
            reason,
            invalid_since,
        } => {
            assert!(reason.starts_with("errcode 43101: "), "{reason}");
            assert!(reason.contains("registers it again"), "{reason}");
            assert_eq!(*invalid_since, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(!v.degrades, "a user's refusal is not an operator's problem");
}

/// §5's "alert (bug)" codes on a send are the message's end, not the credential's: they
/// degrade health (the adapter's alert) but are never `AuthFailed`, which would drop the
/// token, retry, open the circuit and mark the credential unhealthy.
#[test]
fn alert_codes_reject_and_degrade_without_blaming_the_credential() {
    for code in [40002, 40036, 41001, 41028, 41029, 44002, 47001, 47003] {
        let v = classify(&answer(200, wechat(code, "x"), None), OPENID, NOW);
        assert!(
            matches!(v.outcome, Outcome::Rejected { .. }),
            "errcode {code}: {v:?}"
        );
        assert!(v.degrades, "errcode {code} alerts: {v:?}");
    }
}

#[test]
fn quota_resets_at_the_next_china_midnight_and_minute_quota_waits_for_the_minute() {
    let v = classify(&answer(200, wechat(45009, "x"), None), OPENID, NOW);
    match v.outcome {
        Outcome::QuotaExhausted { resets_at, .. } => {
            assert_eq!(resets_at, datetime!(2026-03-01 16:00:00 UTC));
        }
        other => panic!("{other:?}"),
    }
    let v = classify(&answer(200, wechat(45011, "x"), None), OPENID, NOW);
    assert!(
        matches!(v.outcome, Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(18)),
        "{v:?}"
    );
}

#[test]
fn answers_without_an_errcode_retry_and_honour_retry_after() {
    let v = classify(&answer(429, b"".to_vec(), Some("7")), OPENID, NOW);
    assert!(
        matches!(v.outcome, Outcome::Retry { after: Some(a), .. } if a == Duration::from_secs(7)),
        "{v:?}"
    );
    for (status, body) in [
        (503, "<html>busy</html>"),
        (200, "{}"),
        (404, "not found"),
        (502, ""),
    ] {
        let v = classify(&answer(status, body.as_bytes().to_vec(), None), OPENID, NOW);
        assert_eq!(kind(&v.outcome), Want::Retry, "{status} {body}");
        assert!(v.degrades);
        assert!(v.outcome.reason().contains(&format!("HTTP {status}")));
    }
    let string_code = classify(
        &answer(200, br#"{"errcode":"43004","errmsg":"x"}"#.to_vec(), None),
        OPENID,
        NOW,
    );
    assert_eq!(kind(&string_code.outcome), Want::InvalidToken);
}

#[test]
fn the_openid_is_scrubbed_from_errmsg() {
    let v = classify(
        &answer(
            200,
            wechat(40003, &format!("invalid openid {OPENID}")),
            None,
        ),
        OPENID,
        NOW,
    );
    assert!(!v.outcome.reason().contains(OPENID), "{v:?}");
    assert!(v.outcome.reason().contains("[openid]"));
}

#[test]
fn network_failures_retry() {
    let v = network("no answer within 2 s (timeout)");
    assert_eq!(kind(&v.outcome), Want::Retry);
    assert!(v.degrades);
}
