//! The named cases. Each takes a [`Harness`] and asserts real behaviour against the
//! simulator; none knows a vendor's wire format.

use super::Harness;
use push_core::adapter::{AdapterExt, Outcome};
use push_core::{IngestMessage, NotificationContent, Options, Target};
use push_sim::types::{ErrorFault, FaultSpec};
use std::collections::BTreeMap;
use std::time::Duration;

/// A chat notification every vendor can carry.
pub fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "conformance-1".into(),
        app: "chat-prod".into(),
        to: Target::Devices(vec!["d1".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming?".into()),
            badge: Some(1),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(3600),
            collapse_key: Some("conv-42".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

fn assert_accepted(outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Accepted { .. }),
        "expected Accepted, got {outcome:?}"
    );
}

/// A live token gets `Accepted` after exactly one request.
pub async fn success(h: &Harness) {
    let token = h.hooks.live_token(1);
    assert_accepted(&h.send_one(&chat_message(), &token).await);
    assert_eq!(
        h.sends_to(&token).len(),
        1,
        "exactly one request reached the vendor"
    );
}

/// Several targets, each with its own outcome keyed by delivery id: two live tokens and an
/// uninstalled one. Vendors without batches get one call per target.
pub async fn mixed_batch_results(h: &Harness) {
    let live = [h.hooks.live_token(10), h.hooks.live_token(11)];
    let dead = h.hooks.live_token(12);
    h.hooks.uninstall(&h.sim, &dead).await;
    let targets = [h.target(&live[0]), h.target(&dead), h.target(&live[1])];
    let message = chat_message();
    let mut results = Vec::new();
    if h.adapter.capabilities().max_batch >= targets.len() {
        results = h.send(&message, &targets).await;
    } else {
        for t in &targets {
            results.extend(h.send(&message, std::slice::from_ref(t)).await);
        }
    }
    assert_eq!(results.len(), 3, "{results:?}");
    let outcome_of = |i: usize| {
        results
            .iter()
            .find(|r| r.delivery_id == targets[i].delivery_id)
            .map(|r| r.outcome.clone())
            .unwrap_or_else(|| panic!("no outcome for target {i}: {results:?}"))
    };
    assert_accepted(&outcome_of(0));
    assert!(
        matches!(outcome_of(1), Outcome::InvalidToken { .. }),
        "{:?}",
        outcome_of(1)
    );
    assert_accepted(&outcome_of(2));
}

/// An uninstalled token is `InvalidToken` (never a retry), after one request.
pub async fn unregistered_token_is_invalid(h: &Harness) {
    let token = h.hooks.live_token(20);
    h.hooks.uninstall(&h.sim, &token).await;
    let outcome = h.send_one(&chat_message(), &token).await;
    assert!(
        matches!(outcome, Outcome::InvalidToken { .. }),
        "{outcome:?}"
    );
    assert_eq!(h.sends_to(&token).len(), 1);
}

/// A payload over the vendor's limit is `Rejected` and nothing is sent.
pub async fn oversized_payload_is_rejected_without_a_request(h: &Harness) {
    let token = h.hooks.live_token(30);
    let limit = h.adapter.capabilities().max_payload_bytes;
    let mut message = chat_message();
    message.data.insert("blob".into(), "x".repeat(limit + 1));
    let outcome = h.send_one(&message, &token).await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    assert!(
        h.sends_to(&token).is_empty(),
        "an oversized payload must not reach the vendor"
    );
}

/// A payload the vendor would refuse as malformed is `Rejected` and nothing is sent.
pub async fn malformed_payload_is_rejected_without_a_request(h: &Harness) {
    let Some(message) = h.hooks.malformed() else {
        panic!("this vendor declares no malformed-payload rule: leave the case out of its list");
    };
    let token = h.hooks.live_token(31);
    let outcome = h.send_one(&message, &token).await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    assert!(
        h.sends_to(&token).is_empty(),
        "a malformed payload must not reach the vendor"
    );
}

fn fault(error: ErrorFault) -> FaultSpec {
    FaultSpec {
        error: Some(error),
        ..FaultSpec::default()
    }
}

/// 429 with Retry-After is `Retry` with at least that delay.
pub async fn rate_limited_with_retry_after(h: &Harness) {
    let token = h.hooks.live_token(40);
    h.sim
        .control()
        .set_faults(h.vendor, fault(h.hooks.rate_limited(7)))
        .expect("fault accepted");
    let outcome = h.send_one(&chat_message(), &token).await;
    h.sim.control().clear_faults(h.vendor);
    match outcome {
        Outcome::Retry {
            after: Some(after), ..
        } => assert!(after >= Duration::from_secs(7), "{after:?}"),
        other => panic!("expected Retry with a delay, got {other:?}"),
    }
}

/// A 5xx is `Retry`, and the next send goes through.
pub async fn server_error_is_retry(h: &Harness) {
    let token = h.hooks.live_token(50);
    h.sim
        .control()
        .set_faults(h.vendor, fault(h.hooks.server_error()))
        .expect("fault accepted");
    let outcome = h.send_one(&chat_message(), &token).await;
    h.sim.control().clear_faults(h.vendor);
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert_accepted(&h.send_one(&chat_message(), &token).await);
}

/// Refused auth is `AuthFailed`; after `forget_auth` the next send works, with exactly the
/// number of new auth tokens the vendor's rules allow.
pub async fn expired_auth_refreshes_exactly_once(h: &Harness) {
    let token = h.hooks.live_token(60);
    assert_accepted(&h.send_one(&chat_message(), &token).await);
    let before = h.hooks.auth_tokens_seen(&h.sim);
    h.hooks.expire_auth(&h.sim).await;
    let outcome = h.send_one(&chat_message(), &token).await;
    assert!(matches!(outcome, Outcome::AuthFailed { .. }), "{outcome:?}");
    h.adapter.forget_auth(h.credential.id);
    assert_accepted(&h.send_one(&chat_message(), &token).await);
    assert_accepted(&h.send_one(&chat_message(), &token).await);
    let refreshes = h.hooks.auth_tokens_seen(&h.sim) - before;
    assert_eq!(
        refreshes,
        h.hooks.refreshes_after_expiry(),
        "new auth tokens after one refusal"
    );
}

/// A vendor slower than the adapter's timeout gives `Retry`, not a hang.
pub async fn timeout_is_retry(h: &Harness) {
    let token = h.hooks.live_token(70);
    let spec = FaultSpec {
        latency_ms: 4_000,
        ..FaultSpec::default()
    };
    h.sim
        .control()
        .set_faults(h.vendor, spec)
        .expect("fault accepted");
    let started = std::time::Instant::now();
    let outcome = h.send_one(&chat_message(), &token).await;
    h.sim.control().clear_faults(h.vendor);
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the adapter's own timeout must fire first"
    );
}

/// No outcome reason, Debug output or health text carries key material.
pub async fn no_secrets_in_outcomes_or_debug(h: &Harness) {
    let token = h.hooks.live_token(80);
    let mut shown = Vec::new();
    h.hooks.expire_auth(&h.sim).await;
    shown.push(format!("{:?}", h.send_one(&chat_message(), &token).await));
    h.sim
        .control()
        .set_faults(h.vendor, fault(h.hooks.server_error()))
        .expect("fault accepted");
    shown.push(format!("{:?}", h.send_one(&chat_message(), &token).await));
    h.sim.control().clear_faults(h.vendor);
    shown.push(format!("{:?}", h.credential));
    shown.push(format!("{:?}", h.adapter.health()));
    for text in shown {
        for secret in h.hooks.secrets() {
            assert!(!text.contains(&secret), "a secret leaked into: {text}");
        }
    }
}
