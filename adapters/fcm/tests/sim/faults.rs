//! Injected faults: 5xx with Retry-After, quotas, timeouts, outages.

use crate::helpers::*;
use push_core::adapter::{AdapterHealth, Outcome};
use push_sim::types::{ErrorFault, FaultSpec, Outage, SettingsUpdate, Vendor};
use std::time::Duration;

fn fail_sends(t: &TestApp, status: u16, reason: &str, retry_after: Option<&str>) {
    t.sim
        .control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                error: Some(ErrorFault {
                    rate: 1.0,
                    status,
                    reason: reason.into(),
                    retry_after: retry_after.map(str::to_string),
                    count: None,
                }),
                ..FaultSpec::default()
            },
        )
        .unwrap();
}

/// A sim and adapter whose access token is already cached (so faults hit sends only).
async fn warmed_app(timeout_seconds: u64) -> TestApp {
    let t = spawn_app_with_timeout(timeout_seconds).await;
    assert!(matches!(
        t.send(&chat_message(), "warm").await,
        Outcome::Accepted { .. }
    ));
    t
}

#[tokio::test]
async fn unavailable_with_retry_after_is_retry_after() {
    let t = warmed_app(5).await;
    fail_sends(&t, 503, "UNAVAILABLE", Some("30"));
    let outcome = t.send(&chat_message(), "tok").await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(30)));
    assert!(
        matches!(t.adapter.health(), AdapterHealth::Degraded { reason } if reason.contains("UNAVAILABLE"))
    );

    let date = httpdate_in(90);
    fail_sends(&t, 503, "", Some(&date));
    let after = retry_after(&t.send(&chat_message(), "tok").await).unwrap();
    assert!(
        (85..=90).contains(&after.as_secs()),
        "{after:?} from {date}"
    );

    fail_sends(&t, 500, "INTERNAL", None);
    assert_eq!(retry_after(&t.send(&chat_message(), "tok").await), None);

    t.sim.control().clear_faults(Vendor::Fcm);
    assert!(matches!(
        t.send(&chat_message(), "tok").await,
        Outcome::Accepted { .. }
    ));
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn quota_exceeded_waits_at_least_a_minute() {
    let t = warmed_app(5).await;
    fail_sends(&t, 429, "QUOTA_EXCEEDED", Some("5"));
    assert_eq!(
        retry_after(&t.send(&chat_message(), "tok").await),
        Some(Duration::from_secs(60))
    );
    fail_sends(&t, 429, "", None);
    assert_eq!(
        retry_after(&t.send(&chat_message(), "tok").await),
        Some(Duration::from_secs(60)),
        "429 without detail is treated like QUOTA_EXCEEDED"
    );
    t.sim.shutdown().await;
}

#[tokio::test]
async fn the_project_quota_is_retry_after_the_window() {
    let t = warmed_app(5).await;
    t.sim.control().update_settings(SettingsUpdate {
        fcm_project_quota_per_minute: Some(1),
        ..SettingsUpdate::default()
    });
    let _ = t.send(&chat_message(), "tok-1").await;
    let outcome = t.send(&chat_message(), "tok-2").await;
    let after = retry_after(&outcome).unwrap();
    assert!(after >= Duration::from_secs(60), "{after:?}");
    assert!(matches!(&outcome, Outcome::Retry { reason, .. } if reason.contains("QUOTA_EXCEEDED")));
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_timeout_is_retry() {
    let t = warmed_app(1).await;
    t.sim
        .control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                latency_ms: 1500,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason } if reason.contains("timeout")),
        "{outcome:?}"
    );
    assert!(matches!(t.adapter.health(), AdapterHealth::Degraded { .. }));
    t.sim.shutdown().await;
}

#[tokio::test]
async fn refused_connections_are_retry_and_recover() {
    let t = warmed_app(5).await;
    let outage = |outage| FaultSpec {
        outage,
        ..FaultSpec::default()
    };
    t.sim
        .control()
        .set_faults(Vendor::Fcm, outage(Some(Outage::Refuse)))
        .unwrap();
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(
        matches!(outcome, Outcome::Retry { after: None, .. }),
        "{outcome:?}"
    );
    t.sim.control().clear_faults(Vendor::Fcm);
    // The listener is bound again when the outage ends.
    let mut recovered = false;
    for _ in 0..50 {
        if matches!(
            t.send(&chat_message(), "tok").await,
            Outcome::Accepted { .. }
        ) {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered);
    assert_eq!(t.adapter.health(), AdapterHealth::Healthy);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retry() {
    let t = spawn_app().await;
    t.sim
        .control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                outage: Some(Outage::Unavailable),
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let outcome = t.send(&chat_message(), "tok").await;
    assert!(
        matches!(&outcome, Outcome::Retry { reason, .. } if reason.contains("token endpoint") && reason.contains("503")),
        "{outcome:?}"
    );
    assert!(t.sends().is_empty());
    t.sim.shutdown().await;
}

/// An IMF-fixdate `seconds` from now.
fn httpdate_in(seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.format(&format).unwrap()
}
