//! The classifier table, one test row per documented code (fcm.md §6), and Retry-After.

use super::*;
use serde_json::json;
use std::collections::HashSet;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const TOKEN: &str = "dXNlci10b2tlbi0xMjM0NTY3ODkw:APA91bHunTheToken";

fn google(
    code: u16,
    status: &str,
    message: &str,
    error_code: Option<&str>,
    fields: &[&str],
) -> Vec<u8> {
    let mut details = Vec::new();
    if let Some(e) = error_code {
        details.push(json!({ "@type": FCM_ERROR_TYPE, "errorCode": e }));
    }
    if !fields.is_empty() {
        let violations: Vec<_> = fields
            .iter()
            .map(|f| json!({ "field": f, "description": "Invalid value" }))
            .collect();
        details.push(json!({ "@type": BAD_REQUEST_TYPE, "fieldViolations": violations }));
    }
    serde_json::to_vec(&json!({
        "error": { "code": code, "message": message, "status": status, "details": details }
    }))
    .unwrap()
}

fn fcm(code: u16, status: &str, error_code: &str) -> Vec<u8> {
    google(code, status, "FCM said no", Some(error_code), &[])
}

fn answer(status: u16, body: Vec<u8>, retry_after: Option<&str>) -> Answer {
    Answer {
        status,
        retry_after: retry_after.map(str::to_string),
        body,
    }
}

/// What a row expects.
#[derive(Debug, Clone, Copy)]
enum Want {
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
    /// Text the reason must contain.
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
    let token_msg = "The registration token is not a valid FCM registration token";
    let data_msg = "Invalid value at 'message.data[0].value' (TYPE_STRING), 42";
    vec![
        // FcmError.errorCode
        row("unspecified 5xx", 500, fcm(500, "INTERNAL", "UNSPECIFIED_ERROR"), Retry(None), "UNSPECIFIED_ERROR"),
        row("unspecified 4xx", 400, google(400, "", "?", Some("UNSPECIFIED_ERROR"), &[]), Rejected, "UNSPECIFIED_ERROR"),
        row("invalid argument: payload", 400, google(400, "INVALID_ARGUMENT", data_msg, Some("INVALID_ARGUMENT"), &["message.data[0].value"]), Rejected, "message.data[0].value"),
        row("invalid argument: token text", 400, google(400, "INVALID_ARGUMENT", token_msg, Some("INVALID_ARGUMENT"), &[]), InvalidToken, "INVALID_ARGUMENT"),
        row("invalid argument: token field", 400, google(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", Some("INVALID_ARGUMENT"), &["message.token"]), InvalidToken, "message.token"),
        row("unregistered", 404, fcm(404, "NOT_FOUND", "UNREGISTERED"), InvalidToken, "UNREGISTERED (HTTP 404)"),
        row("sender id mismatch", 403, fcm(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), InvalidToken, "SENDER_ID_MISMATCH"),
        row("quota exceeded", 429, fcm(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), Retry(Some(60)), "QUOTA_EXCEEDED"),
        row("unavailable", 503, fcm(503, "UNAVAILABLE", "UNAVAILABLE"), Retry(None), "UNAVAILABLE"),
        row("internal", 500, fcm(500, "INTERNAL", "INTERNAL"), Retry(None), "INTERNAL"),
        row("third-party auth", 401, fcm(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), Rejected, "Firebase console"),
        row("apns auth (old name)", 401, fcm(401, "UNAUTHENTICATED", "APNS_AUTH_ERROR"), Rejected, "APNS_AUTH_ERROR"),
        row("unknown error code", 503, fcm(503, "UNAVAILABLE", "BRAND_NEW_CODE"), Retry(None), "unknown FCM error BRAND_NEW_CODE"),
        // status without FcmError
        row("status invalid argument", 400, google(400, "INVALID_ARGUMENT", data_msg, None, &["message.android.ttl"]), Rejected, "INVALID_ARGUMENT (HTTP 400)"),
        row("status invalid argument: token", 400, google(400, "INVALID_ARGUMENT", token_msg, None, &[]), InvalidToken, "INVALID_ARGUMENT"),
        row("unauthenticated", 401, google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", None, &[]), AuthFailed, "UNAUTHENTICATED"),
        row("permission denied", 403, google(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied", None, &[]), AuthFailed, "enable the FCM API"),
        row("not found (wrong project)", 404, google(404, "NOT_FOUND", "Requested entity was not found.", None, &[]), AuthFailed, "project_id"),
        row("resource exhausted", 429, google(429, "RESOURCE_EXHAUSTED", "Quota exceeded", None, &[]), Retry(Some(60)), "RESOURCE_EXHAUSTED"),
        row("status unavailable", 503, google(503, "UNAVAILABLE", "The service is currently unavailable.", None, &[]), Retry(None), "UNAVAILABLE (HTTP 503)"),
        row("status internal", 500, google(500, "INTERNAL", "Internal error", None, &[]), Retry(None), "INTERNAL (HTTP 500)"),
        row("deadline exceeded", 504, google(504, "DEADLINE_EXCEEDED", "Deadline", None, &[]), Retry(None), "DEADLINE_EXCEEDED"),
        row("unknown status", 409, google(409, "ABORTED", "x", None, &[]), Rejected, "ABORTED, HTTP 409"),
        // HTTP status alone (garbage or non-JSON bodies)
        row("400 garbage", 400, b"not json".to_vec(), Rejected, "HTTP 400"),
        row("401 garbage", 401, b"".to_vec(), AuthFailed, "HTTP 401"),
        row("403 html", 403, b"<html>Forbidden</html>".to_vec(), AuthFailed, "HTTP 403"),
        row("404 html", 404, b"<html>Not Found</html>".to_vec(), AuthFailed, "base_url"),
        row("408", 408, b"".to_vec(), Retry(None), "HTTP 408"),
        row("413", 413, b"too big".to_vec(), Rejected, "HTTP 413"),
        row("429 bare", 429, b"".to_vec(), Retry(Some(60)), "HTTP 429"),
        row("502 html", 502, b"<html>Bad Gateway</html>".to_vec(), Retry(None), "HTTP 502"),
        row("302", 302, b"".to_vec(), Retry(None), "check base_url"),
    ]
}

fn check(row: &Row) {
    let verdict = classify(
        &answer(row.status, row.body.clone(), row.retry_after),
        TOKEN,
        NOW,
    );
    let name = row.name;
    let reason = match (&verdict.outcome, row.want) {
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
fn every_documented_answer_maps_to_one_outcome() {
    for row in rows() {
        check(&row);
    }
}

#[test]
fn every_rule_of_the_table_has_a_test_row() {
    let mut hit = HashSet::new();
    for row in rows() {
        let body = ErrorBody::parse(&row.body);
        if let Some(code) = &body.error_code {
            hit.insert(format!("FcmError({code:?})"));
        }
        let (rule, _) = find_rule(row.status, &body);
        hit.insert(format!("{:?}", rule.on));
    }
    for rule in RULES {
        let key = format!("{:?}", rule.on);
        if rule.on == On::Http(0, 999) {
            continue; // reached by the 302 row through the catch-all
        }
        assert!(hit.contains(&key), "no test row for {key}");
    }
}

#[test]
fn retry_after_is_honoured_and_quota_waits_at_least_a_minute() {
    let cases = [
        (503, fcm(503, "UNAVAILABLE", "UNAVAILABLE"), "30", Some(30)),
        (
            503,
            b"".to_vec(),
            "Sun, 01 Mar 2026 10:02:00 GMT",
            Some(120),
        ),
        (500, b"".to_vec(), "garbage", None),
        (
            429,
            fcm(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            "10",
            Some(60),
        ),
        (
            429,
            fcm(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
            "120",
            Some(120),
        ),
        (
            429,
            b"".to_vec(),
            "Sun, 01 Mar 2026 10:05:00 GMT",
            Some(300),
        ),
    ];
    for (status, body, header, want) in cases {
        let v = classify(&answer(status, body, Some(header)), TOKEN, NOW);
        let Outcome::Retry { after, .. } = v.outcome else {
            panic!("{status} {header}: {v:?}");
        };
        assert_eq!(after, want.map(Duration::from_secs), "{status} {header}");
        assert!(v.degrades);
    }
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    assert_eq!(
        retry_after(Some("120"), NOW),
        Some(Duration::from_secs(120))
    );
    assert_eq!(retry_after(Some(" 0 "), NOW), Some(Duration::ZERO));
    assert_eq!(
        retry_after(Some("Sun, 01 Mar 2026 10:00:42 GMT"), NOW),
        Some(Duration::from_secs(42))
    );
    assert_eq!(
        retry_after(Some("Sun, 01 Mar 2026 09:00:00 GMT"), NOW),
        Some(Duration::ZERO),
        "a past date means now"
    );
    assert_eq!(retry_after(Some("-5"), NOW), None);
    assert_eq!(retry_after(Some("soon"), NOW), None);
    assert_eq!(retry_after(Some(""), NOW), None);
    assert_eq!(retry_after(None, NOW), None);
}

#[test]
fn success_is_accepted_with_the_message_name() {
    let v = classify(
        &answer(
            200,
            br#"{"name":"projects/p/messages/0:1500415314455276%31bd1c9631bd1c96"}"#.to_vec(),
            None,
        ),
        TOKEN,
        NOW,
    );
    assert_eq!(
        v.outcome,
        Outcome::Accepted {
            vendor_message_id: Some(
                "projects/p/messages/0:1500415314455276%31bd1c9631bd1c96".into()
            )
        }
    );
    assert!(!v.degrades);
    let odd = classify(&answer(200, b"ok".to_vec(), None), TOKEN, NOW);
    assert_eq!(
        odd.outcome,
        Outcome::Accepted {
            vendor_message_id: None
        }
    );
}

#[test]
fn the_token_never_appears_in_a_reason() {
    let body = google(
        400,
        "INVALID_ARGUMENT",
        &format!("The registration token is not a valid FCM registration token: {TOKEN}"),
        Some("INVALID_ARGUMENT"),
        &[],
    );
    let v = classify(&answer(400, body, None), TOKEN, NOW);
    let Outcome::InvalidToken { reason, .. } = v.outcome else {
        panic!("{v:?}")
    };
    assert!(
        reason.contains("[token]") && !reason.contains(TOKEN),
        "{reason}"
    );
}

#[test]
fn only_faults_that_are_not_the_message_degrade_health() {
    let degrades = |status, body| classify(&answer(status, body, None), TOKEN, NOW).degrades;
    assert!(!degrades(404, fcm(404, "NOT_FOUND", "UNREGISTERED")));
    assert!(!degrades(
        400,
        fcm(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
    ));
    assert!(degrades(
        401,
        fcm(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")
    ));
    assert!(degrades(401, b"".to_vec()));
    assert!(degrades(503, b"".to_vec()));
    assert!(network("timeout").degrades);
}
