//! Helpers shared by the integration tests that run the `pushgate` binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pushgate");

/// A command with a clean environment: no PUSHGATE_ variables from the caller leak in.
pub fn pushgate(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the child answers `/healthz`, failing with its stderr if it exits.
pub fn wait_for_health(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                stderr.read_to_string(&mut err).unwrap();
            }
            panic!("pushgate exited early with {status}: {err}");
        }
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pushgate did not become healthy on port {port}");
}

/// The test PostgreSQL server URL.
pub fn postgres_base_url() -> String {
    std::env::var("PUSHGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The test RabbitMQ URL.
pub fn amqp_url() -> String {
    std::env::var("PUSHGATE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

async fn postgres_admin(sql: String) {
    use sqlx::Connection;
    let base = postgres_base_url();
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is unreachable at {base} (set PUSHGATE_TEST_DATABASE_URL): {e}")
        });
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The URL and name of a fresh, empty PostgreSQL database.
pub async fn fresh_postgres_database() -> (String, String) {
    let name = format!("pushgate_test_bin_{}", uuid::Uuid::new_v4().simple());
    postgres_admin(format!("CREATE DATABASE {name}")).await;
    let base = postgres_base_url();
    match base.rsplit_once('/') {
        Some((server, _)) => (format!("{server}/{name}"), name),
        None => panic!("PUSHGATE_TEST_DATABASE_URL has no database part: {base}"),
    }
}

/// Cuts a database off as a PostgreSQL restart would, for `outage`: every connection to it
/// is terminated and new ones are refused until the outage ends. Other databases of the
/// server (other tests) are not touched.
pub async fn postgres_outage(name: &str, outage: std::time::Duration) {
    postgres_admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    postgres_admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    tokio::time::sleep(outage).await;
    postgres_admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
}

/// Closes every broker connection whose client-provided name contains `needle`, as
/// `rabbitmqctl close_all_connections` would, without touching other users of the broker;
/// answers how many were closed.
pub fn close_rabbit_connections(needle: &str) -> usize {
    let listed = Command::new("rabbitmqctl")
        .args(["list_connections", "-q", "pid", "client_properties"])
        .output()
        .expect("rabbitmqctl is needed to cut broker connections");
    assert!(
        listed.status.success(),
        "rabbitmqctl list_connections failed"
    );
    let pids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    for pid in &pids {
        let closed = Command::new("rabbitmqctl")
            .args(["close_connection", pid, "test: broker connection cut"])
            .output()
            .expect("rabbitmqctl close_connection");
        assert!(closed.status.success(), "closing {pid} failed");
    }
    pids.len()
}

/// Drops a database made by [`fresh_postgres_database`].
pub async fn drop_postgres_database(name: &str) {
    postgres_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

/// Deletes every RabbitMQ queue and exchange whose name starts with `prefix.` (test cleanup).
pub fn delete_rabbit_prefix(prefix: &str) {
    for (kind, list) in [("queue", "list_queues"), ("exchange", "list_exchanges")] {
        let Ok(out) = Command::new("rabbitmqctl")
            .args(["-q", list, "name"])
            .output()
        else {
            return;
        };
        for name in String::from_utf8_lossy(&out.stdout).lines().map(str::trim) {
            if name.starts_with(&format!("{prefix}.")) {
                let _ = Command::new("rabbitmqadmin")
                    .args(["delete", kind, &format!("name={name}")])
                    .output();
                if kind == "queue" {
                    let _ = Command::new("rabbitmqctl")
                        .args(["-q", "delete_queue", name])
                        .output();
                }
            }
        }
    }
}

/// A REST call that must succeed; answers the JSON body.
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let resp = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let value: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

/// Over REST on `base`: a tenant and its API key, app `chat` with the dev FCM service
/// account as credential, and `devices` FCM devices `d<i>` of users `u<i>` with tokens
/// `tok-<i>`, registered alternately on `base` and `other` (another instance, or `base`).
/// Answers the API key.
pub async fn set_up_fcm_app(
    http: &reqwest::Client,
    admin: &str,
    base: &str,
    other: &str,
    devices: usize,
) -> String {
    use reqwest::Method;
    use serde_json::json;
    let tenant = call(
        http,
        base,
        admin,
        Method::POST,
        "/v1/tenants",
        json!({"name": "acme"}),
    )
    .await;
    let id = tenant["id"].as_str().unwrap();
    let key = call(
        http,
        base,
        admin,
        Method::POST,
        &format!("/v1/tenants/{id}/keys"),
        json!({}),
    )
    .await;
    let key = key["key"].as_str().unwrap().to_string();
    call(
        http,
        other,
        &key,
        Method::POST,
        "/v1/apps",
        json!({"id": "chat"}),
    )
    .await;
    let sa: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(push_sim::repo_certs_dir().join("fcm-service-account.json"))
            .unwrap(),
    )
    .unwrap();
    call(
        http,
        base,
        &key,
        Method::PUT,
        "/v1/apps/chat/credentials/fcm",
        json!({ "service_account": sa }),
    )
    .await;
    for i in 0..devices {
        let body =
            json!({"user_id": format!("u{i}"), "vendor": "fcm", "token": format!("tok-{i}")});
        let at = if i % 2 == 0 { base } else { other };
        call(
            http,
            at,
            &key,
            Method::PUT,
            &format!("/v1/apps/chat/devices/d{i}"),
            body,
        )
        .await;
    }
    key
}

/// Successful FCM sends per token, with the connections they came over.
pub fn fcm_sends(
    sim: &push_sim::Sim,
) -> std::collections::BTreeMap<String, (usize, std::collections::BTreeSet<u64>)> {
    use push_sim::types::{RequestFilter, Vendor};
    let mut out: std::collections::BTreeMap<String, (usize, std::collections::BTreeSet<u64>)> =
        Default::default();
    for r in sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Fcm),
        ..RequestFilter::default()
    }) {
        if r.path.ends_with("/messages:send")
            && r.response.status == 200
            && let Some(token) = r.token
        {
            let entry = out.entry(token).or_default();
            entry.0 += 1;
            entry.1.insert(r.connection);
        }
    }
    out
}

/// Every `[vendors.*]` section of the config pointed at `sim` (trusting its CA).
pub fn vendors_for(sim: &push_sim::Sim) -> serde_json::Value {
    let ca = sim.ca_pem_path();
    serde_json::json!({
        "apns": { "base_url": sim.apns_production_url(),
                  "sandbox_url": sim.apns_sandbox_url(), "ca_file": ca },
        "fcm": { "base_url": sim.fcm_url(), "auth_url": sim.fcm_token_url(), "ca_file": ca },
        "huawei": { "base_url": sim.huawei_url(), "auth_url": sim.huawei_token_url(), "ca_file": ca },
        "xiaomi": { "base_url": sim.xiaomi_url(), "ca_file": ca },
        "oppo": { "base_url": sim.oppo_url(), "intl_base_url": format!("{}/intl", sim.oppo_url()),
                  "ca_file": ca },
        "vivo": { "base_url": sim.vivo_url(), "ca_file": ca },
        "honor": { "base_url": sim.honor_url(), "auth_url": sim.honor_token_url(), "ca_file": ca },
        "wechat": { "base_url": sim.wechat_url(),
                    "auth_url": format!("{}/cgi-bin/stable_token", sim.wechat_url()), "ca_file": ca },
    })
}

/// pushgate running in this process (embedded store and queue) against a simulator, with a
/// tenant and its API key. Stops when dropped.
pub struct InProcess {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client for it.
    pub http: reqwest::Client,
    /// The tenant's API key.
    pub key: String,
    /// Stops it.
    pub shutdown: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts pushgate with every vendor pointed at `sim` and the operator token `admin`, and
/// creates a tenant with an API key.
pub async fn start_in_process(sim: &push_sim::Sim, admin: &str) -> InProcess {
    let dir = tempfile::tempdir().unwrap();
    let config = pushgate::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(push_core::Secret::new(admin)),
        vendors: serde_json::from_value(vendors_for(sim)).unwrap(),
        ..pushgate::config::Config::default()
    };
    let app = pushgate::service::Application::build(&config)
        .await
        .expect("pushgate builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::new();
    let tenant = call(
        &http,
        &base,
        admin,
        reqwest::Method::POST,
        "/v1/tenants",
        serde_json::json!({"name": "acme"}),
    )
    .await;
    let key = call(
        &http,
        &base,
        admin,
        reqwest::Method::POST,
        &format!("/v1/tenants/{}/keys", tenant["id"].as_str().unwrap()),
        serde_json::json!({}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    InProcess {
        base,
        http,
        key,
        shutdown,
        _dir: dir,
    }
}
