//! Vendor auth tokens are shared by every instance (issue 5, decision 16): two pushgate
//! instances on one PostgreSQL and one RabbitMQ send a stream of Huawei and WeChat pushes
//! through the simulator, and the simulator sees one token fetch per credential, not one
//! per instance — so scaling out never invalidates a token another instance uses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use push_sim::dev::{
    DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET, DEV_WECHAT_OA_APP_ID, DEV_WECHAT_OA_APP_SECRET,
    DEV_WECHAT_OA_TEMPLATE,
};
use push_sim::types::{RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Client, Method};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "shared-tokens-admin-token-01";
const USERS: usize = 30;

async fn instance(config: &Config, shutdown: &CancellationToken) -> String {
    let app = Application::build(config).await.expect("instance builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    base
}

fn requests(sim: &Sim, vendor: Vendor) -> Vec<RequestRecord> {
    sim.control().requests(RequestFilter {
        vendor: Some(vendor),
        ..RequestFilter::default()
    })
}

/// Successful sends of `vendor` (path ending in `suffix`) and the connections they used.
fn sends(sim: &Sim, vendor: Vendor, suffix: &str) -> (usize, BTreeSet<u64>) {
    let ok: Vec<_> = requests(sim, vendor)
        .into_iter()
        .filter(|r| r.path.contains(suffix) && r.response.status == 200)
        .collect();
    (ok.len(), ok.iter().map(|r| r.connection).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_fetch_one_huawei_and_one_wechat_token() {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (db_url, db_name) = support::fresh_postgres_database().await;
    let prefix = format!("pgtok{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let dir = tempfile::tempdir().unwrap();
    let ca = sim.ca_pem_path();
    let vendors = json!({
        "huawei": { "base_url": sim.huawei_url(), "auth_url": sim.huawei_token_url(), "ca_file": ca },
        "wechat": { "base_url": sim.wechat_url(), "auth_url": format!("{}/cgi-bin/stable_token", sim.wechat_url()), "ca_file": ca },
    });
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
    let call = |base: &str, token: &str, method: Method, path: String, body| {
        let (http, base, token) = (http.clone(), base.to_string(), token.to_string());
        async move { support::call(&http, &base, &token, method, &path, body).await }
    };
    let tenant = call(
        &a,
        ADMIN,
        Method::POST,
        "/v1/tenants".into(),
        json!({"name": "acme"}),
    )
    .await;
    let key = call(
        &a,
        ADMIN,
        Method::POST,
        format!("/v1/tenants/{}/keys", tenant["id"].as_str().unwrap()),
        json!({}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let settings = json!({
        "android": {"package_name": "com.example.chat"},
        "huawei": {"categories": {"IM": "IM"}},
        "wechat": {
            "official_account_app_id": DEV_WECHAT_OA_APP_ID,
            "templates": {"IM": DEV_WECHAT_OA_TEMPLATE},
            "template_fields": {DEV_WECHAT_OA_TEMPLATE: {"thing1": "title", "thing2": "body", "time3": "time"}}
        }
    });
    call(
        &a,
        &key,
        Method::POST,
        "/v1/apps".into(),
        json!({"id": "chat", "settings": settings}),
    )
    .await;
    call(
        &b,
        &key,
        Method::PUT,
        "/v1/apps/chat/credentials/huawei".into(),
        json!({"app_id": DEV_HUAWEI_APP_ID, "app_secret": DEV_HUAWEI_APP_SECRET}),
    )
    .await;
    call(
        &a,
        &key,
        Method::PUT,
        "/v1/apps/chat/credentials/wechat_oa".into(),
        json!({"app_id": DEV_WECHAT_OA_APP_ID, "app_secret": DEV_WECHAT_OA_APP_SECRET}),
    )
    .await;
    for i in 0..USERS {
        for (vendor, token) in [
            ("huawei", format!("hw-tok-{i}")),
            ("wechat_oa", format!("openid-{i}")),
        ] {
            call(
                &a,
                &key,
                Method::PUT,
                format!("/v1/apps/chat/devices/{vendor}-{i}"),
                json!({"user_id": format!("u{i}"), "vendor": vendor, "token": token}),
            )
            .await;
        }
    }
    // A stream of notifications through both instances; the vendor queues hand the jobs to
    // whichever instance's worker is free.
    for i in 0..USERS {
        let base = if i % 2 == 0 { &a } else { &b };
        call(
            base,
            &key,
            Method::POST,
            "/v1/apps/chat/notifications".into(),
            json!({"id": format!("m-{i}"), "to": {"users": [format!("u{i}")]},
                   "notification": {"title": "Alice", "body": "hi"}, "options": {"category": "IM"}}),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let (huawei, wechat) = loop {
        let huawei = sends(&sim, Vendor::Huawei, "messages:send");
        let wechat = sends(&sim, Vendor::Wechat, "/message/template/send");
        if huawei.0 >= USERS && wechat.0 >= USERS {
            break (huawei, wechat);
        }
        assert!(
            Instant::now() < deadline,
            "only {} Huawei and {} WeChat sends of {USERS}",
            huawei.0,
            wechat.0
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        huawei.1.len() >= 2 && wechat.1.len() >= 2,
        "both instances sent (Huawei connections {:?}, WeChat {:?})",
        huawei.1,
        wechat.1
    );
    let huawei_tokens = requests(&sim, Vendor::Huawei)
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v3/token"))
        .count();
    let wechat_tokens = requests(&sim, Vendor::Wechat)
        .iter()
        .filter(|r| r.path.ends_with("/cgi-bin/stable_token") || r.path.ends_with("/cgi-bin/token"))
        .count();
    assert_eq!(
        huawei_tokens, 1,
        "one Huawei OAuth exchange for both instances"
    );
    assert_eq!(
        wechat_tokens, 1,
        "one WeChat access_token for both instances"
    );

    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    support::drop_postgres_database(&db_name).await;
    support::delete_rabbit_prefix(&prefix);
}
