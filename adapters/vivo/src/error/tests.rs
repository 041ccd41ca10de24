//! The result-code table, one row per code of vivo.md §6, and the per-regId outcomes.

use super::*;

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        retry_after: None,
        body: body.as_bytes().to_vec(),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
}

fn kind(status: u16, body: &str, tokens: &[&str], proven: bool) -> Vec<&'static str> {
    let verdict = classify(&answer(status, body), tokens, now());
    outcomes(&verdict, tokens, proven, now())
        .iter()
        .map(Outcome::kind)
        .collect()
}

#[test]
fn every_documented_code_maps_to_one_outcome() {
    let one = ["16512345678901234567890"];
    #[rustfmt::skip]
    let table: &[(u16, &str, &str)] = &[
        (200, r#"{"result":0,"desc":"请求成功","taskId":"123"}"#, "accepted"),
        (200, r#"{"result":10200,"desc":"appId不合法"}"#, "auth_failed"),
        (200, r#"{"result":10206,"desc":"sign不正确"}"#, "auth_failed"),
        (200, r#"{"result":10207,"desc":"timestamp不合法"}"#, "auth_failed"),
        (200, r#"{"result":10250,"desc":"超过调用次数"}"#, "retry"),
        (200, r#"{"result":10070,"desc":"超过当天推送总量"}"#, "quota_exhausted"),
        (200, r#"{"result":10094,"desc":"appId与authToken不匹配"}"#, "auth_failed"),
        (200, r#"{"result":10252,"desc":"批量推送超过限制"}"#, "rejected"),
        (200, r#"{"result":10254,"desc":"全量推送次数超限"}"#, "rejected"),
        (200, r#"{"result":10302,"desc":"x","invalidUser":{"status":1,"userid":"16512345678901234567890"}}"#, "invalid_token"),
        (200, r#"{"result":10302,"desc":"x","invalidUser":{"status":"2","userid":"16512345678901234567890"}}"#, "invalid_token"),
        (200, r#"{"result":10302,"desc":"x","invalidUser":{"status":3,"userid":"16512345678901234567890"}}"#, "invalid_token"),
        (200, r#"{"result":10302,"desc":"x","invalidUser":{"status":4,"userid":"16512345678901234567890"}}"#, "rejected"),
        (200, r#"{"result":10302,"desc":"x"}"#, "invalid_token"),
        (200, r#"{"result":10000,"desc":"authToken不合法或已过期"}"#, "auth_failed"),
        (200, r#"{"result":"10051","desc":"the auth token expired"}"#, "auth_failed"),
        (200, r#"{"result":10999,"desc":"something new"}"#, "rejected"),
        (200, "<html>proxy</html>", "retry"),
        (200, "", "retry"),
        (429, r#"{"result":0}"#, "retry"),
        (502, "", "retry"),
        (503, r#"{"result":10000,"desc":"busy"}"#, "retry"),
        (500, "", "retry"),
        (401, "", "auth_failed"),
        (403, "", "auth_failed"),
        (400, "bad", "rejected"),
        (404, "", "rejected"),
        (302, "", "retry"),
    ];
    for (status, body, want) in table {
        assert_eq!(
            kind(*status, body, &one, false),
            vec![*want],
            "HTTP {status} {body}"
        );
    }
}

#[test]
fn the_table_has_no_shadowed_code_rules() {
    let codes: Vec<i64> = RULES
        .iter()
        .filter_map(|r| match r.on {
            On::Code(c) => Some(c),
            _ => None,
        })
        .collect();
    let mut unique = codes.clone();
    unique.dedup();
    assert_eq!(codes, unique);
    for code in codes {
        assert_eq!(find_rule(200, Some(code), "").on, On::Code(code));
    }
}

#[test]
fn quota_parks_until_china_midnight() {
    let verdict = classify(
        &answer(200, r#"{"result":10070,"desc":"quota"}"#),
        &["a"],
        now(),
    );
    let [Outcome::QuotaExhausted { resets_at, reason }] =
        &outcomes(&verdict, &["a"], true, now())[..]
    else {
        panic!("expected quota exhausted");
    };
    assert!(reason.contains("10070"), "{reason}");
    assert_eq!(*resets_at, next_china_midnight(now()));
    assert!(degrades(&verdict, &["a"], true));
}

#[test]
fn list_answers_give_each_regid_its_outcome() {
    let tokens = ["r1", "r2", "r3", "r4"];
    let body = r#"{"result":0,"desc":"ok","taskId":"777",
        "invalidUsers":[{"status":2,"userid":"r2"},{"status":4,"userid":"r4"}]}"#;
    let verdict = classify(&answer(200, body), &tokens, now());
    let out = outcomes(&verdict, &tokens, false, now());
    assert_eq!(
        out[0],
        Outcome::Accepted {
            vendor_message_id: Some("777".into())
        }
    );
    assert!(matches!(out[1], Outcome::InvalidToken { .. }));
    assert_eq!(out[2], out[0]);
    assert!(matches!(out[3], Outcome::Rejected { .. }));
    assert!(!degrades(&verdict, &tokens, false));
}

#[test]
fn an_all_invalid_list_deactivates_only_for_a_proven_credential() {
    let tokens = ["r1", "r2"];
    let body = r#"{"result":0,"taskId":"1","invalidUsers":[{"status":1,"userid":"r1"},{"status":1,"userid":"r2"}]}"#;
    let verdict = classify(&answer(200, body), &tokens, now());
    let unproven = outcomes(&verdict, &tokens, false, now());
    assert!(
        unproven
            .iter()
            .all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("AppID"))),
        "{unproven:?}"
    );
    assert!(degrades(&verdict, &tokens, false));
    let proven = outcomes(&verdict, &tokens, true, now());
    assert!(
        proven
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. }))
    );
    assert!(!degrades(&verdict, &tokens, true));
    // A 10302 on a list is guarded the same way.
    let verdict = classify(
        &answer(200, r#"{"result":10302,"desc":"x"}"#),
        &tokens,
        now(),
    );
    assert!(
        outcomes(&verdict, &tokens, false, now())
            .iter()
            .all(|o| matches!(o, Outcome::Rejected { .. }))
    );
}

#[test]
fn reasons_scrub_regids_and_carry_the_desc() {
    let body = r#"{"result":10999,"desc":"regId 16512345678901234567890 odd"}"#;
    let verdict = classify(&answer(200, body), &["16512345678901234567890"], now());
    assert!(verdict.reason.contains("10999"), "{}", verdict.reason);
    assert!(verdict.reason.contains("[token]"), "{}", verdict.reason);
    assert!(!verdict.reason.contains("16512345678901234567890"));
    assert!(degrades(&verdict, &["x"], true));
}

#[test]
fn retry_after_is_honoured() {
    let mut a = answer(429, "");
    a.retry_after = Some("7".into());
    let verdict = classify(&a, &["t"], now());
    assert_eq!(verdict.after, Some(Duration::from_secs(7)));
    let date = Some("Tue, 14 Nov 2023 22:13:40 GMT");
    assert_eq!(retry_after(date, now()), Some(Duration::from_secs(20)));
    assert_eq!(retry_after(Some("soon"), now()), None);
}

#[test]
fn transport_failures_retry() {
    let verdict = network("no answer within 2 s (timeout)");
    assert_eq!(kind_of(&verdict), vec!["retry"]);
}

fn kind_of(verdict: &Verdict) -> Vec<&'static str> {
    outcomes(verdict, &["t"], false, now())
        .iter()
        .map(Outcome::kind)
        .collect()
}
