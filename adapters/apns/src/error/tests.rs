use super::*;
use time::macros::datetime;

/// The APNs reference, §6.3, one row per reason: status, reason, expected outcome kind,
/// whether the connection is replaced.
const REFERENCE: &[(u16, &str, &str, bool)] = &[
    (400, "BadCollapseId", "rejected", false),
    (400, "BadDeviceToken", "invalid_token", false),
    (400, "BadExpirationDate", "rejected", false),
    (400, "BadMessageId", "rejected", false),
    (400, "BadPriority", "rejected", false),
    (400, "BadTopic", "rejected", false),
    (400, "DeviceTokenNotForTopic", "invalid_token", false),
    (400, "DuplicateHeaders", "rejected", false),
    (400, "IdleTimeout", "retry", true),
    (400, "InvalidPushType", "rejected", false),
    (400, "MissingDeviceToken", "rejected", false),
    (400, "MissingTopic", "rejected", false),
    (400, "PayloadEmpty", "rejected", false),
    (400, "TopicDisallowed", "rejected", false),
    (403, "BadCertificate", "auth_failed", true),
    (403, "BadCertificateEnvironment", "auth_failed", true),
    (403, "ExpiredProviderToken", "auth_failed", false),
    (403, "Forbidden", "rejected", false),
    (403, "InvalidProviderToken", "auth_failed", true),
    (403, "MissingProviderToken", "rejected", false),
    (403, "UnrelatedKeyIdInToken", "retry", true),
    (403, "BadEnvironmentKeyIdInToken", "auth_failed", true),
    (404, "BadPath", "rejected", false),
    (405, "MethodNotAllowed", "rejected", false),
    (410, "ExpiredToken", "invalid_token", false),
    (410, "Unregistered", "invalid_token", false),
    (413, "PayloadTooLarge", "rejected", false),
    (429, "TooManyProviderTokenUpdates", "retry", true),
    (429, "TooManyRequests", "retry", false),
    (500, "InternalServerError", "retry", false),
    (503, "ServiceUnavailable", "retry", true),
    (503, "Shutdown", "retry", true),
];

fn body(reason: &str) -> Vec<u8> {
    format!(r#"{{"reason":"{reason}"}}"#).into_bytes()
}

fn reason_of(outcome: &Outcome) -> &str {
    outcome.reason()
}

#[test]
fn every_documented_reason_maps_to_its_outcome() {
    for &(status, reason, kind, reconnect) in REFERENCE {
        let c = classify_response(status, None, &body(reason));
        assert_eq!(c.outcome.kind(), kind, "{status} {reason}");
        assert_eq!(c.reconnect, reconnect, "{status} {reason} reconnect");
        let text = reason_of(&c.outcome);
        assert!(
            text.starts_with(&format!("APNs {status} {reason}:")),
            "the raw reason leads the text: {text}"
        );
    }
}

#[test]
fn the_table_and_the_reference_list_the_same_reasons_once() {
    assert_eq!(REASONS.len(), REFERENCE.len());
    for row in REASONS {
        let matching = REFERENCE.iter().filter(|r| r.1 == row.reason).count();
        assert_eq!(matching, 1, "{}", row.reason);
        assert_eq!(
            REFERENCE.iter().find(|r| r.1 == row.reason).map(|r| r.0),
            Some(row.status)
        );
        assert_eq!(
            REASONS.iter().filter(|r| r.reason == row.reason).count(),
            1,
            "{}",
            row.reason
        );
    }
}

#[test]
fn credential_problems_that_a_new_token_cannot_fix_say_pause_and_alert() {
    for reason in [
        "BadCertificate",
        "BadCertificateEnvironment",
        "InvalidProviderToken",
        "BadEnvironmentKeyIdInToken",
    ] {
        let c = classify_response(403, None, &body(reason));
        assert!(reason_of(&c.outcome).contains("pause + alert"), "{reason}");
        assert_eq!(c.health, HealthEffect::Degraded);
    }
    // Apple: never retry Forbidden; a missing token is our bug. Dropped, yet alerted.
    for reason in ["Forbidden", "MissingProviderToken"] {
        let c = classify_response(403, None, &body(reason));
        assert!(
            matches!(c.outcome, Outcome::Rejected { .. }),
            "{reason}: {:?}",
            c.outcome
        );
        assert!(reason_of(&c.outcome).contains("alert"), "{reason}");
        assert_eq!(c.health, HealthEffect::Degraded, "{reason}");
    }
    let expired = classify_response(403, None, &body("ExpiredProviderToken"));
    assert!(reason_of(&expired.outcome).contains("refresh"));
}

#[test]
fn unregistered_carries_the_millisecond_timestamp() {
    let c = classify_response(
        410,
        None,
        br#"{"reason":"Unregistered","timestamp":1767225600123}"#,
    );
    assert_eq!(
        c.outcome,
        Outcome::InvalidToken {
            reason: reason_of(&c.outcome).to_string(),
            invalid_since: Some(datetime!(2026-01-01 00:00:00.123 UTC)),
        }
    );
    let expired = classify_response(410, None, &body("ExpiredToken"));
    assert!(matches!(
        expired.outcome,
        Outcome::InvalidToken {
            invalid_since: None,
            ..
        }
    ));
}

#[test]
fn retry_after_is_passed_on() {
    let c = classify_response(
        503,
        Some(Duration::from_secs(30)),
        &body("ServiceUnavailable"),
    );
    assert!(
        matches!(c.outcome, Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(30))
    );
    assert_eq!(c.health, HealthEffect::Degraded);
    let throttled = classify_response(429, Some(Duration::from_secs(5)), &body("TooManyRequests"));
    assert!(matches!(
        throttled.outcome,
        Outcome::Retry { after: Some(_), .. }
    ));
    assert_eq!(
        throttled.health,
        HealthEffect::Unchanged,
        "one busy device says nothing about APNs"
    );
}

#[test]
fn unknown_reasons_fall_back_to_their_status() {
    for (status, kind) in [
        (400, "rejected"),
        (401, "auth_failed"),
        (403, "auth_failed"),
        (404, "rejected"),
        (405, "rejected"),
        (410, "invalid_token"),
        (413, "rejected"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (302, "retry"),
    ] {
        let c = classify_response(status, None, &body("SomethingNew2031"));
        assert_eq!(c.outcome.kind(), kind, "{status}");
        assert!(reason_of(&c.outcome).contains("SomethingNew2031"));
        assert!(!c.reconnect);
    }
}

#[test]
fn garbage_missing_and_odd_bodies_fall_back_to_the_status() {
    for body in [
        &b""[..],
        b"<html>502 Bad Gateway</html>",
        b"{not json",
        b"{}",
        br#"{"reason":""}"#,
        br#"{"reason":42}"#,
        b"\xff\xfe",
    ] {
        assert_eq!(
            classify_response(410, None, body).outcome.kind(),
            "invalid_token"
        );
        assert_eq!(
            classify_response(400, None, body).outcome.kind(),
            "rejected"
        );
        assert_eq!(
            classify_response(403, None, body).outcome.kind(),
            "auth_failed"
        );
        let c = classify_response(500, None, body);
        assert_eq!(c.outcome.kind(), "retry");
        assert!(reason_of(&c.outcome).starts_with("APNs 500"));
    }
    assert_eq!(
        reason_of(&classify_response(503, None, b"").outcome),
        "APNs 503 without a body"
    );
}

#[test]
fn undocumented_reasons_are_sanitised() {
    let c = classify_response(400, None, br#"{"reason":"Odd\n<script>reason"}"#);
    assert_eq!(
        reason_of(&c.outcome),
        "APNs 400 Oddscriptreason: an undocumented reason, handled by its status"
    );
}

#[test]
fn success_is_accepted_and_healthy() {
    let c = classify_response(200, None, b"");
    assert_eq!(
        c.outcome,
        Outcome::Accepted {
            vendor_message_id: None
        }
    );
    assert_eq!(c.health, HealthEffect::Healthy);
}

#[test]
fn transport_failures_are_retries_unless_goaway_or_tls_says_otherwise() {
    let c = classify_transport("error sending request: connection refused", false, false);
    assert_eq!(c.outcome.kind(), "retry");
    assert!(c.reconnect);
    assert_eq!(c.health, HealthEffect::Degraded);
    assert_eq!(
        classify_transport("operation timed out", true, false)
            .outcome
            .kind(),
        "retry"
    );

    let goaway = r#"http2 error: connection error received: not a result of an error (b"{\"reason\":\"BadCertificate\"}")"#;
    let c = classify_transport(goaway, false, true);
    assert_eq!(c.outcome.kind(), "auth_failed");
    assert!(reason_of(&c.outcome).starts_with("APNs GOAWAY BadCertificate (status 403):"));
    let shutdown =
        r#"connection error received: not a result of an error (b"{\"reason\": \"Shutdown\"}")"#;
    assert_eq!(
        classify_transport(shutdown, false, false).outcome.kind(),
        "retry"
    );

    let alert = "client error (Connect): received fatal alert: CertificateRequired";
    assert_eq!(
        classify_transport(alert, false, true).outcome.kind(),
        "auth_failed"
    );
    assert_eq!(
        classify_transport(alert, false, false).outcome.kind(),
        "retry"
    );
}

#[test]
fn retry_after_accepts_seconds_and_dates() {
    let now = datetime!(2026-01-01 00:00:00 UTC);
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Thu, 01 Jan 2026 00:01:30 GMT", now),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}
