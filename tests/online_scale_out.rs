//! Two pushgate instances on one PostgreSQL and one RabbitMQ, no shared memory: a client on
//! each, delivering to each other through the instance queues, with presence in the store;
//! a second login on the other instance kicks the first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod online_support;
mod support;

use online_support::*;
use pushgate::config::Config;
use reqwest::Client;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_to_each_others_connections_through_rabbitmq() {
    let (db_url, db_name) = support::fresh_postgres_database().await;
    let prefix = format!(
        "pgonline{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(db_url),
        amqp_url: Some(support::amqp_url()),
        amqp_prefix: prefix.clone(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        master_key: Some(push_core::Secret::new(
            "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=",
        )),
        ..Config::default()
    };
    config.online.instance_id = Some(format!("{prefix}-a"));
    let a = start(&config, None).await;
    config.online.instance_id = Some(format!("{prefix}-b"));
    let b = start(&config, None).await;
    let http = Client::new();
    app_with_key(&http, &a.base, "chat").await;

    let mut alice = connect(&a, &token("chat", "alice", "phone", 600)).await;
    let mut bob = connect(&b, &token("chat", "bob", "phone", 600)).await;
    let sent = alice.send_msg("a1", json!({"user": "bob"}), "from A").await;
    let got = bob.next().await;
    assert_eq!(got["type"], "msg", "{got}");
    assert_eq!(
        (got["text"].as_str(), got["seq"].as_i64()),
        (Some("from A"), Some(1))
    );
    assert_eq!(got["msg_id"], sent["msg_id"]);
    bob.send_msg("b1", json!({"user": "alice"}), "from B").await;
    let got = alice.next().await;
    assert_eq!(got["text"], "from B");

    // Latency through the broker, roughly: 20 round trips.
    let started = std::time::Instant::now();
    for i in 0..20 {
        alice
            .send_msg(&format!("p{i}"), json!({"user": "bob"}), "ping")
            .await;
        assert_eq!(bob.next().await["text"], "ping");
    }
    eprintln!("20 cross-instance deliveries took {:?}", started.elapsed());

    // Bob logs in with the same device on instance A: his connection on B is kicked.
    let _bob_again = connect(&a, &token("chat", "bob", "phone", 600)).await;
    let kicked = bob.next().await;
    assert_eq!(kicked["type"], "kicked", "{kicked}");
    assert_eq!(bob.closed(Duration::from_secs(5)).await, Some(4001));

    drop(alice);
    drop(a);
    drop(b);
    tokio::time::sleep(Duration::from_millis(500)).await;
    support::delete_rabbit_prefix(&prefix);
    support::drop_postgres_database(&db_name).await;
}
