//! Injected faults: 5xx with Retry-After, outages, timeouts, resets, GOAWAYs with APNs'
//! JSON debug data, idle connection closure.

use crate::helpers::*;
use push_core::adapter::{AdapterHealth, Outcome};
use push_sim::types::{ErrorFault, FaultSpec, GoawayFault, Outage, Vendor};
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

fn goaway(t: &TestApns, reason: &str, count: Option<u64>) {
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                goaway: Some(GoawayFault {
                    reason: reason.into(),
                    count,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
}

fn open_connections(t: &TestApns) -> u64 {
    t.sim.control().counters().vendors[&Vendor::Apns].open_connections
}

#[tokio::test]
async fn a_single_shutdown_goaway_is_resent_on_a_new_connection() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p8();
    goaway(&t, "Shutdown", Some(1));
    // The request was above the GOAWAY's last-stream-id, so never processed: the HTTP/2
    // client resends it on a new connection by itself (apns.md §5).
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(6), None))
            .await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.requests().len(), 1, "processed once");
    assert_eq!(t.connections("apns-production"), 2);
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
}

#[tokio::test]
async fn a_lasting_shutdown_goaway_is_a_retry_and_the_next_send_reconnects() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p8();
    // More GOAWAYs than the HTTP/2 client resends a request (twice).
    goaway(&t, "Shutdown", None);
    let outcome = t
        .send_one(&credential, &alert(), &target(&token(7), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason }
            if reason.starts_with("APNs GOAWAY Shutdown (status 503)")),
        "{outcome:?}"
    );
    assert!(t.requests().is_empty(), "never processed");
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    let before = t.connections("apns-production");
    t.sim.control().clear_faults(Vendor::Apns);
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(7), None))
            .await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    assert_eq!(
        t.connections("apns-production"),
        before + 1,
        "a fresh connection"
    );
}

#[tokio::test]
async fn a_bad_certificate_goaway_is_an_auth_failure() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p12("apns-cert.p12");
    goaway(&t, "BadCertificate", None);
    let outcome = t
        .send_one(&credential, &alert(), &target(&token(8), None))
        .await;
    assert!(
        matches!(&outcome, Outcome::AuthFailed { reason }
            if reason.starts_with("APNs GOAWAY BadCertificate (status 403)")),
        "{outcome:?}"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    t.sim.control().clear_faults(Vendor::Apns);
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(8), None))
            .await,
        Outcome::Accepted { .. }
    ));
}

#[tokio::test]
async fn a_goaway_amid_a_batch_delivers_every_push_once() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p12("apns-cert.p12");
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                latency_ms: 200,
                goaway: Some(GoawayFault {
                    reason: "Shutdown".into(),
                    count: Some(1),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let targets: Vec<_> = (10..16).map(|n| target(&token(n), None)).collect();
    let results = t.send(&credential, &alert(), &targets).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Accepted { .. })),
        "{results:#?}"
    );
    let mut tokens: Vec<_> = t.requests().into_iter().filter_map(|r| r.token).collect();
    tokens.sort();
    let mut expected: Vec<_> = (10..16).map(token).collect();
    expected.sort();
    assert_eq!(tokens, expected, "each push processed exactly once");
    let arrived = t.sim.control().counters().vendors[&Vendor::Apns].requests;
    assert!(arrived > 6, "the GOAWAY fired: {arrived} requests arrived");
}

#[tokio::test]
async fn an_idle_closed_connection_is_replaced_on_the_next_send() {
    let t = spawn_with(|c| c.connections_per_credential = 1).await;
    let credential = p8();
    t.sim
        .control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                idle_timeout_ms: Some(300),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(9), None))
            .await,
        Outcome::Accepted { .. }
    ));
    let mut closed = false;
    for _ in 0..100 {
        if open_connections(&t) == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the sim closed the idle connection");
    assert!(matches!(
        t.send_one(&credential, &alert(), &target(&token(9), None))
            .await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.connections("apns-production"), 2);
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
}
