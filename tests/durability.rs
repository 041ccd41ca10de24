//! Nothing accepted is lost: notifications are accepted over REST, the `pushgate` process is
//! killed with SIGKILL mid-stream, restarted, and every accepted notification still reaches
//! the simulator — on the embedded defaults and on PostgreSQL + RabbitMQ. Duplicates (sends
//! repeated because the kill hit between the vendor's answer and the stored outcome) are
//! counted and must stay few. The same holds when, mid-stream, the broker closes pushgate's
//! connections and its PostgreSQL database goes away for a few seconds (as in a restart).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use push_sim::types::{FaultSpec, Vendor};
use push_sim::{Sim, SimConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, pushgate, wait_for_health};

const ADMIN: &str = "durability-admin-token-0123";
const MASTER_KEY: &str = "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=";
const NOTIFICATIONS: usize = 150;

struct Instance {
    child: Child,
    base: String,
}

fn start(dir: &Path, port: u16, sim: &Sim, extra_env: &[(String, String)]) -> Instance {
    let mut cmd = pushgate(dir);
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .env("PUSHGATE_ADMIN_TOKEN", ADMIN)
        .env("PUSHGATE_MASTER_KEY", MASTER_KEY)
        .env("PUSHGATE_LOG_LEVEL", "warn")
        .env("PUSHGATE_VENDORS__FCM__BASE_URL", sim.fcm_url())
        .env("PUSHGATE_VENDORS__FCM__AUTH_URL", sim.fcm_token_url())
        .env("PUSHGATE_VENDORS__FCM__CA_FILE", sim.ca_pem_path())
        .env("PUSHGATE_PIPELINE__EMBEDDED_LEASE_SECONDS", "2")
        .env("PUSHGATE_PIPELINE__RETRY_BASE_MS", "100")
        .env("PUSHGATE_PIPELINE__MAX_IN_FLIGHT_PER_APP", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    wait_for_health(port, &mut child);
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Runs the scenario with `env` (backend selection) and returns (accepted, pushes per token).
async fn kill_and_restart(env: Vec<(String, String)>) {
    // Slow sends so the kill lands while many are in flight.
    let sim = slow_fcm(200).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let http = Client::new();
    let mut first = start(dir.path(), port, &sim, &env);
    let key = support::set_up_fcm_app(&http, ADMIN, &first.base, &first.base, NOTIFICATIONS).await;

    let mut accepted = Vec::new();
    for i in 0..NOTIFICATIONS {
        accept(&http, &first.base, &key, i).await;
        accepted.push(i);
    }
    // Let some get through, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent_tokens(&sim).len() < NOTIFICATIONS / 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let before_restart = sent_tokens(&sim).len();
    assert!(
        before_restart < NOTIFICATIONS * 3 / 4,
        "the kill came too late to test much: {before_restart} sent"
    );

    sim.control().clear_faults(Vendor::Fcm);
    let mut second = start(dir.path(), port, &sim, &env);
    await_every_one_sent(&sim, &http, &second.base, &key, &accepted).await;
    // And pushgate's own records agree.
    for i in [0, NOTIFICATIONS / 2, NOTIFICATIONS - 1] {
        let view = notification_view(&http, &second.base, &key, i).await;
        let state = view["deliveries"][0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            matches!(state.as_str(), "accepted" | "sending" | "queued"),
            "n{i}: {view}"
        );
    }
    let pushes = sent_tokens(&sim);
    let duplicates: usize = pushes.values().map(|n| n - 1).sum();
    println!(
        "accepted {}, reached the vendor before the kill {before_restart}, duplicates after restart {duplicates}",
        accepted.len()
    );
    assert!(
        duplicates <= NOTIFICATIONS / 5,
        "too many duplicates: {duplicates}"
    );
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}

/// Waits until every accepted notification `n<i>` reached the simulator (token `tok-<i>`);
/// fails with pushgate's view of a few missing ones after a minute.
async fn await_every_one_sent(sim: &Sim, http: &Client, base: &str, key: &str, accepted: &[usize]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pushes = sent_tokens(sim);
        let missing: Vec<usize> = accepted
            .iter()
            .copied()
            .filter(|i| !pushes.contains_key(&format!("tok-{i}")))
            .collect();
        if missing.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let mut views = Vec::new();
            for i in missing.iter().take(3) {
                views.push(notification_view(http, base, key, *i).await);
            }
            panic!(
                "lost: {} of {} reached the vendor; missing {missing:?}: {views:#?}",
                pushes.len(),
                accepted.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// pushgate's view of notification `n<i>` (null when it answers no JSON).
async fn notification_view(http: &Client, base: &str, key: &str, i: usize) -> Value {
    http.get(format!("{base}/v1/apps/chat/notifications/n{i}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// Accepts notification `n<i>` to device `d<i>` over REST.
async fn accept(http: &Client, base: &str, key: &str, i: usize) {
    let body = json!({"id": format!("n{i}"), "to": {"devices": [format!("d{i}")]}, "data": {"i": i.to_string()}});
    let resp = http
        .post(format!("{base}/v1/apps/chat/notifications"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "n{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_cuts_and_a_database_outage_mid_stream_lose_nothing() {
    let (env, name, prefix) = postgres_and_rabbitmq("pgout").await;
    let sim = slow_fcm(100).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let http = Client::new();
    let mut instance = start(dir.path(), port, &sim, &env);
    let key =
        support::set_up_fcm_app(&http, ADMIN, &instance.base, &instance.base, NOTIFICATIONS).await;

    // A third of the stream, then the broker drops pushgate's connections while those are
    // in flight.
    let third = NOTIFICATIONS / 3;
    for i in 0..third {
        accept(&http, &instance.base, &key, i).await;
    }
    while sent_tokens(&sim).len() < third / 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closed = support::close_rabbit_connections(&format!("pushgate {prefix}"));
    assert!(
        closed > 0,
        "no broker connection of this pushgate was found"
    );

    // The next third is accepted through the reconnect; then the database goes away for
    // three seconds while deliveries are being stored and sent.
    for i in third..2 * third {
        accept(&http, &instance.base, &key, i).await;
    }
    while sent_tokens(&sim).len() < third {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    support::postgres_outage(&name, Duration::from_secs(3)).await;

    // The rest after both outages, and every one of them arrives.
    for i in 2 * third..NOTIFICATIONS {
        accept(&http, &instance.base, &key, i).await;
    }
    let accepted: Vec<usize> = (0..NOTIFICATIONS).collect();
    await_every_one_sent(&sim, &http, &instance.base, &key, &accepted).await;
    assert!(
        instance.child.try_wait().unwrap().is_none(),
        "pushgate exited during the outages"
    );
    let duplicates: usize = sent_tokens(&sim).values().map(|n| n - 1).sum();
    println!("accepted {NOTIFICATIONS}, duplicates after the outages {duplicates}");
    assert!(
        duplicates <= NOTIFICATIONS / 5,
        "too many duplicates: {duplicates}"
    );
    instance.child.kill().unwrap();
    instance.child.wait().unwrap();
    support::drop_postgres_database(&name).await;
    support::delete_rabbit_prefix(&prefix);
}

/// A simulator whose FCM answers after `latency_ms`, so work is in flight when the test
/// strikes.
async fn slow_fcm(latency_ms: u64) -> Sim {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                latency_ms,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    sim
}

/// The environment of a pushgate on a fresh PostgreSQL database and a fresh RabbitMQ
/// prefix starting with `stem`; answers it with the database's name and the prefix.
async fn postgres_and_rabbitmq(stem: &str) -> (Vec<(String, String)>, String, String) {
    let (url, name) = support::fresh_postgres_database().await;
    let prefix = format!("{stem}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = vec![
        ("PUSHGATE_DATABASE_URL".to_string(), url),
        ("PUSHGATE_AMQP_URL".to_string(), support::amqp_url()),
        ("PUSHGATE_AMQP_PREFIX".to_string(), prefix.clone()),
    ];
    (env, name, prefix)
}

/// Successful FCM sends per token.
fn sent_tokens(sim: &Sim) -> BTreeMap<String, usize> {
    support::fcm_sends(sim)
        .into_iter()
        .map(|(token, (n, _))| (token, n))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_on_the_embedded_defaults() {
    kill_and_restart(vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_on_postgres_and_rabbitmq() {
    let (env, name, prefix) = postgres_and_rabbitmq("pgdur").await;
    kill_and_restart(env).await;
    support::drop_postgres_database(&name).await;
    support::delete_rabbit_prefix(&prefix);
}
