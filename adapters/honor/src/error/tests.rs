//! The result-code table, one row per answer of honor.md §6, and the per-token outcomes.

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

fn kinds(status: u16, body: &str, tokens: &[&str], proven: bool) -> Vec<&'static str> {
    let verdict = classify(&answer(status, body), tokens, now());
    outcomes(&verdict, tokens, proven)
        .iter()
        .map(Outcome::kind)
        .collect()
}

#[test]
fn every_documented_answer_maps_to_one_outcome() {
    let one = ["tok-1"];
    #[rustfmt::skip]
    let table: &[(u16, &str, &str)] = &[
        (200, r#"{"code":200,"message":"success","data":{"sendResult":true,"requestId":"1699999999999001","failTokens":[],"expireTokens":[]}}"#, "accepted"),
        (200, r#"{"code":200,"data":{"sendResult":true,"requestId":"1","expireTokens":["tok-1"]}}"#, "invalid_token"),
        (200, r#"{"code":200,"data":{"sendResult":false,"requestId":"1","failTokens":["tok-1"]}}"#, "rejected"),
        (200, r#"{"code":200,"data":{"sendResult":false}}"#, "rejected"),
        (200, r#"{"code":200,"data":{"requestId":"1"}}"#, "rejected"),
        (200, r#"{"code":200,"data":{"sendResult":false,"requestId":"1","expireTokens":["tok-1"]}}"#, "invalid_token"),
        (200, r#"{"code":200,"data":{"sendResult":false,"requestId":"1","failTokens":["tok-2"]}}"#, "rejected"),
        (200, r#"{"code":80100000,"message":"partial","data":{"sendResult":true,"requestId":"1","failTokens":["tok-1"]}}"#, "rejected"),
        (401, r#"{"code":80200003,"message":"token expired"}"#, "auth_failed"),
        (401, "", "auth_failed"),
        (200, r#"{"code":80200001,"message":"auth"}"#, "auth_failed"),
        (200, r#"{"code":80200003,"message":"auth"}"#, "auth_failed"),
        (200, r#"{"code":80209999}"#, "auth_failed"),
        (200, r#"{"code":80100001,"message":"bad param"}"#, "rejected"),
        (400, r#"{"code":80100003}"#, "rejected"),
        (200, r#"{"code":80300007,"message":"all tokens invalid"}"#, "invalid_token"),
        (200, r#"{"code":80300008}"#, "rejected"),
        (200, r#"{"code":80300010}"#, "rejected"),
        (200, r#"{"code":"81000001"}"#, "rejected"),
        (200, r#"{"code":12345}"#, "rejected"),
        (503, r#"{"code":80000000}"#, "retry"),
        (500, "", "retry"),
        (429, "", "retry"),
        (200, "<html>", "retry"),
        (403, "", "auth_failed"),
        (404, "", "auth_failed"),
        (400, "", "rejected"),
        (302, "", "retry"),
    ];
    for (status, body, want) in table {
        assert_eq!(
            kinds(*status, body, &one, false),
            vec![*want],
            "HTTP {status} {body}"
        );
    }
}

#[test]
fn token_lists_give_each_token_its_outcome() {
    let tokens = ["a", "b", "c", "d"];
    let body = r#"{"code":80100000,"data":{"sendResult":true,"requestId":"77","failTokens":["b"],"expireTokens":["d"]}}"#;
    let verdict = classify(&answer(200, body), &tokens, now());
    let out = outcomes(&verdict, &tokens, false);
    assert_eq!(
        out[0],
        Outcome::Accepted {
            vendor_message_id: Some("77".into())
        }
    );
    assert!(matches!(out[1], Outcome::Rejected { .. }));
    assert_eq!(out[2], out[0]);
    assert!(matches!(out[3], Outcome::InvalidToken { .. }));
    assert!(!degrades(&verdict, &tokens, false));
}

#[test]
fn send_result_false_accepts_no_token() {
    let tokens = ["a", "b", "c"];
    let body = r#"{"code":200,"message":"failed","data":{"sendResult":false,"requestId":"78","failTokens":["b"],"expireTokens":["c"]}}"#;
    let verdict = classify(&answer(200, body), &tokens, now());
    assert_eq!(verdict.action, Action::NotSent);
    let out = outcomes(&verdict, &tokens, false);
    assert!(
        matches!(&out[0], Outcome::Rejected { reason } if reason.contains("not sent") && reason.contains("neither failTokens nor expireTokens")),
        "{out:?}"
    );
    assert!(
        matches!(&out[1], Outcome::Rejected { reason } if reason.contains("(failTokens)")),
        "{out:?}"
    );
    assert!(matches!(out[2], Outcome::InvalidToken { .. }), "{out:?}");
    assert!(!degrades(&verdict, &tokens, false));
    // The same lists with sendResult true: the unlisted token is accepted.
    let ok = body.replace("\"sendResult\":false", "\"sendResult\":true");
    let verdict = classify(&answer(200, &ok), &tokens, now());
    assert_eq!(
        outcomes(&verdict, &tokens, false)[0],
        Outcome::Accepted {
            vendor_message_id: Some("78".into())
        }
    );
    // A 5xx wins over a code 200 in its body.
    let v = classify(
        &answer(503, r#"{"code":200,"data":{"sendResult":false}}"#),
        &tokens,
        now(),
    );
    assert_eq!(v.action, Action::Retry);
}

#[test]
fn all_invalid_batches_are_guarded_until_proven() {
    let tokens = ["a", "b"];
    for body in [
        r#"{"code":80300007,"message":"all invalid"}"#,
        r#"{"code":200,"data":{"sendResult":true,"requestId":"1","expireTokens":["a","b"]}}"#,
        r#"{"code":200,"data":{"sendResult":false,"requestId":"1","expireTokens":["a","b"]}}"#,
    ] {
        let verdict = classify(&answer(200, body), &tokens, now());
        let unproven = outcomes(&verdict, &tokens, false);
        assert!(
            unproven.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated"))),
            "{unproven:?}"
        );
        assert!(degrades(&verdict, &tokens, false));
        let proven = outcomes(&verdict, &tokens, true);
        assert!(
            proven
                .iter()
                .all(|o| matches!(o, Outcome::InvalidToken { .. })),
            "{proven:?}"
        );
    }
}

#[test]
fn reasons_scrub_tokens_and_honour_retry_after() {
    let verdict = classify(
        &answer(200, r#"{"code":1,"message":"bad tok-9"}"#),
        &["tok-9"],
        now(),
    );
    assert!(verdict.reason.contains("[token]") && !verdict.reason.contains("tok-9"));
    let mut a = answer(429, "");
    a.retry_after = Some("7".into());
    assert_eq!(
        classify(&a, &["t"], now()).after,
        Some(Duration::from_secs(7))
    );
    let retry = outcomes(&network("timeout"), &["t"], false);
    assert!(matches!(retry[0], Outcome::Retry { .. }));
}

#[test]
fn code_rules_are_not_shadowed() {
    for r in RULES {
        if let On::Code(c) = r.on {
            assert_eq!(find_rule(200, Some(c)).on, On::Code(c));
        }
    }
}
