//! Injected faults: 5xx with Retry-After, outages, timeouts, resets.

use crate::helpers::*;
use push_core::adapter::{AdapterHealth, Outcome};
use push_sim::types::{ErrorFault, FaultSpec, Outage, Vendor};
use std::time::Duration;

fn fail_once(t: &TestApns, status: u16, reason: &str, retry_after: Option<&str>) {
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                error: Some(ErrorFault {
                    rate: 1.0,
                    status,
                    reason: reason.into(),
                    retry_after: retry_after.map(str::to_string),
                    count: Some(1),
                }),
                ..Default::default()
            },
        )
        .unwrap();
}

#[tokio::test]
async fn service_unavailable_with_retry_after_is_a_retry_on_a_new_connection() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p8();
    fail_once(&t, 503, "ServiceUnavailable", Some("30"));
    let outcome = t
        .send_one(&credential, &alert(), &target(&token(1), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: Some(after), reason }
            if *after == Duration::from_secs(30) && reason.starts_with("APNs 503 ServiceUnavailable")),
        "{outcome:?}"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(1), None))
            .await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    assert_eq!(
        t.connections("apns-production"),
        2,
        "503 asks for a new connection"
    );
}

#[tokio::test]
async fn an_internal_error_is_retried_on_the_same_connection() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p12("apns-cert.p12");
    fail_once(
        &t,
        500,
        "InternalServerError",
        Some("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    let outcome = t
        .send_one(&credential, &alert(), &target(&token(2), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: Some(d), .. } if d.is_zero()),
        "a past date: {outcome:?}"
    );
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(2), None))
            .await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.connections("apns-production"), 1);
}

#[tokio::test]
async fn an_outage_is_a_retry_and_degrades_health() {
    let t = spawn_app().await;
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                outage: Some(Outage::Refuse),
                ..Default::default()
            },
        )
        .unwrap();
    let outcome = t.send_one(&p8(), &alert(), &target(&token(3), None)).await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason } if reason.contains("could not be reached")),
        "{outcome:?}"
    );
    assert!(
        !format!("{outcome:?}").contains(&token(3)),
        "no device token in reasons"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    t.sim.control().clear_faults(Vendor::Apns);
    assert!(matches!(
        t.send_one(&p8(), &alert(), &target(&token(3), None)).await,
        Outcome::Accepted { .. }
    ));
}

#[tokio::test]
async fn a_slow_apns_is_a_retry_after_the_request_timeout_not_one_per_device() {
    let t = spawn_with(|c| {
        c.request_timeout_seconds = 1;
        c.connections_per_credential = 1;
    })
    .await;
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                latency_ms: 3000,
                ..Default::default()
            },
        )
        .unwrap();
    let targets: Vec<_> = (0..5).map(|n| target(&token(n), None)).collect();
    let started = std::time::Instant::now();
    let results = t.send(&p8(), &alert(), &targets).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(&results[0].outcome, Outcome::Retry { .. }));
    let timed_out = results
        .iter()
        .filter(
            |r| matches!(&r.outcome, Outcome::Retry { reason, .. } if reason.contains("in time")),
        )
        .count();
    assert_eq!(
        timed_out, 1,
        "the first request timed out, the others did not wait their turn: {results:#?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Retry { .. }))
    );
}

#[tokio::test]
async fn a_reset_connection_is_a_retry() {
    let t = spawn_app().await;
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                reset_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let outcome = t.send_one(&p8(), &alert(), &target(&token(5), None)).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
}
