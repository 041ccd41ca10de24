//! Scale-out: two pushgate instances on one PostgreSQL and one RabbitMQ share the work; an
//! IM core publishes ingest messages with a plain AMQP client (contract 1), and every device
//! gets exactly one push — none sent twice in the normal path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use push_sim::types::{RequestFilter, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::Client;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "scale-out-admin-token-0123";
const DEVICES: usize = 200;

async fn instance(config: &Config, shutdown: &CancellationToken) -> String {
    let app = Application::build(config).await.expect("instance builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_send_each_delivery_once() {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (db_url, db_name) = support::fresh_postgres_database().await;
    let prefix = format!("pgscale{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let dir = tempfile::tempdir().unwrap();
    let vendors = json!({ "fcm": { "base_url": sim.fcm_url(), "auth_url": sim.fcm_token_url(), "ca_file": sim.ca_pem_path() } });
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(db_url),
        amqp_url: Some(support::amqp_url()),
        amqp_prefix: prefix.clone(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        master_key: Some(push_core::Secret::new(
            "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=",
        )),
        vendors: serde_json::from_value(vendors).unwrap(),
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let a = instance(&config, &shutdown).await;
    let b = instance(&config, &shutdown).await;

    let http = Client::new();
    let _key = support::set_up_fcm_app(&http, ADMIN, &a, &b, DEVICES).await;

    // The IM core's side: a plain AMQP publisher with confirms, persistent JSON messages.
    let conn = Connection::connect(&support::amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    for i in 0..DEVICES {
        let body = json!({"id": format!("im-{i}"), "app": "chat", "to": {"users": [format!("u{i}")]},
                          "notification": {"title": "Alice", "body": "hi"}});
        let confirm = channel
            .basic_publish(
                format!("{prefix}.ingest").into(),
                "notification".into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&body).unwrap(),
                properties.clone(),
            )
            .await
            .unwrap();
        assert!(confirm.await.unwrap().is_ack());
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let pushes = loop {
        let pushes = support::fcm_sends(&sim);
        if pushes.len() == DEVICES {
            break pushes;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {DEVICES} devices got a push",
            pushes.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Settle a moment, then check nothing was sent twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pushes_after = support::fcm_sends(&sim);
    let twice: Vec<_> = pushes_after.iter().filter(|(_, (n, _))| *n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    let connections: BTreeSet<u64> = pushes
        .values()
        .flat_map(|(_, c)| c.iter().copied())
        .collect();
    let token_fetches = sim
        .control()
        .requests(RequestFilter {
            vendor: Some(Vendor::Fcm),
            ..RequestFilter::default()
        })
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    assert!(
        token_fetches >= 2 && connections.len() >= 2,
        "both instances sent ({token_fetches} token fetches, {} connections)",
        connections.len()
    );

    shutdown.cancel();
    conn.close(0, "done".into()).await.ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    support::drop_postgres_database(&db_name).await;
    support::delete_rabbit_prefix(&prefix);
}
