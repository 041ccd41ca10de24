//! Group fan-out over the vendors' batch APIs (not a test): one notification to a group whose
//! users have 1,000 Huawei and 1,000 Xiaomi devices, against the same 2,000 deliveries sent
//! as single-device notifications.
//!
//! ```sh
//! cargo build --release -p pushgate -p pushgate-bench
//! cargo run --release -p pushgate-bench --bin fanout -- --runs 3
//! # on PostgreSQL + RabbitMQ instead of the embedded defaults:
//! cargo run --release -p pushgate-bench --bin fanout -- --runs 3 \
//!   --database-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//!   --amqp-url amqp://guest:guest@127.0.0.1:5672/%2f
//! ```
//!
//! It runs push-sim in this process (`push_sim::Sim`, dev identities preloaded, unknown
//! well-formed tokens accepted) and starts `target/release/pushgate` (`--bin-dir`) as a child
//! with `[vendors.huawei]` and `[vendors.xiaomi]` pointed at the sim: on the embedded
//! defaults (SQLite and the embedded queue, in a temporary directory), or on a fresh
//! PostgreSQL database (`--database-url`, dropped at the end) and a unique RabbitMQ prefix
//! (`--amqp-url`, deleted at the end). Over REST it creates a tenant, an app with the dev
//! Huawei and Xiaomi credentials, and `--users` users each with one Huawei and one Xiaomi
//! device. One warm-up notification to every device fetches the Huawei access token and
//! opens the connections. Then, `--runs` times, alternately:
//! - **group**: one `POST /v1/apps/{app}/notifications` to every user. The pipeline splits
//!   each vendor's deliveries into jobs of the adapter's `max_batch` (1,000 for both), so
//!   each vendor gets one request per 1,000 tokens.
//! - **one by one**: the same 2,000 deliveries as 2,000 single-device notifications
//!   (`to.devices`), posted by `--concurrency` clients. pushgate has no setting for the batch
//!   size (it is the adapter's `Capabilities::max_batch`), so this is how a send per device
//!   is measured; it also pays ingest per notification, as a producer without group fan-out
//!   would.
//!
//! Each run reports the wall time from the first POST to the moment pushgate's
//! `pushgate_deliveries_total{outcome="accepted"}` counters (polled every 10 ms) have grown
//! by every delivery, the time to the last vendor request (the sim's request log), the
//! vendor requests made (sends, tokens per send, auth requests) and the CPU time of pushgate
//! and of this process (the sim and the load) from `/proc`. Any delivery that ends
//! otherwise than accepted fails the run.

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::StreamExt;
use push_sim::dev::{DEV_HUAWEI_APP_ID, DEV_HUAWEI_APP_SECRET, DEV_XIAOMI_APP_SECRET};
use push_sim::types::{RequestFilter, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ADMIN: &str = "fanout-bench-admin-token-0123456789";
const MASTER_KEY: &str = "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=";
const APP: &str = "fanout";
const PACKAGE: &str = "com.example.chat";
const VENDORS: [&str; 2] = ["huawei", "xiaomi"];

/// Group fan-out over Huawei and Xiaomi batch sends against one-by-one sends.
#[derive(Parser, Debug)]
struct Args {
    /// Users in the group; each has one Huawei and one Xiaomi device.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Measured runs of each mode (alternating group, one by one).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Concurrent REST clients posting the single-device notifications.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Where `pushgate` is (default: the workspace's target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// PostgreSQL server URL (any database; a fresh one is created next to it). Unset: the
    /// embedded SQLite store.
    #[arg(long)]
    database_url: Option<String>,
    /// RabbitMQ URL. Unset: the embedded queue.
    #[arg(long)]
    amqp_url: Option<String>,
    /// Extra environment for pushgate, `KEY=VALUE` (repeatable).
    #[arg(long = "pushgate-env", value_parser = parse_env)]
    pushgate_env: Vec<(String, String)>,
    /// Seconds a run may take before it fails.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// pushgate as a child process, killed on drop.
struct Pushgate {
    child: Child,
    base: String,
    key: String,
}

impl Drop for Pushgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resources outside this process that a run made, undone at the end whatever happened.
#[derive(Default)]
struct Cleanup {
    database: Option<(String, String)>,
    prefix: Option<(String, String)>,
}

/// One measured send.
struct RunResult {
    mode: &'static str,
    notifications: usize,
    deliveries: usize,
    /// First POST → last POST answered.
    posted: Duration,
    /// First POST → the last vendor request (sim clock).
    last_vendor_request: Duration,
    /// First POST → every delivery counted accepted by pushgate.
    all_accepted: Duration,
    /// Per vendor: (send requests, tokens in them, auth requests, non-success answers).
    requests: Vec<(&'static str, usize, usize, usize, usize)>,
    /// CPU seconds of pushgate and of this process during the run.
    cpu: (f64, f64),
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut cleanup = Cleanup::default();
    let outcome = tokio::select! {
        r = run(&args, &mut cleanup) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some((server, name)) = &cleanup.database
        && let Err(e) = drop_database(server, name).await
    {
        eprintln!("cleanup: {e:#}");
    }
    if let Some((url, prefix)) = &cleanup.prefix
        && let Err(e) = delete_rabbit_prefix(url, prefix).await
    {
        eprintln!("cleanup: {e:#}");
    }
    let results = outcome?;
    println!("\n{}", report(&args, &results));
    Ok(())
}

async fn run(args: &Args, cleanup: &mut Cleanup) -> Result<Vec<RunResult>> {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        accept_unknown_tokens: true,
        ..SimConfig::default()
    })
    .await
    .context("starting push-sim")?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let mut env: Vec<(String, String)> = vec![
        ("PUSHGATE_DATA_DIR".into(), dir.path().display().to_string()),
        ("PUSHGATE_ADMIN_TOKEN".into(), ADMIN.into()),
        ("PUSHGATE_MASTER_KEY".into(), MASTER_KEY.into()),
        ("PUSHGATE_LOG_LEVEL".into(), "warn".into()),
        (
            "PUSHGATE_VENDORS__HUAWEI__BASE_URL".into(),
            sim.huawei_url(),
        ),
        (
            "PUSHGATE_VENDORS__HUAWEI__AUTH_URL".into(),
            sim.huawei_token_url(),
        ),
        (
            "PUSHGATE_VENDORS__XIAOMI__BASE_URL".into(),
            sim.xiaomi_url(),
        ),
    ];
    for vendor in VENDORS {
        env.push((
            format!("PUSHGATE_VENDORS__{}__CA_FILE", vendor.to_uppercase()),
            sim.ca_pem_path().display().to_string(),
        ));
    }
    if let Some(server) = &args.database_url {
        let (url, name) = create_database(server).await?;
        cleanup.database = Some((server.clone(), name));
        env.push(("PUSHGATE_DATABASE_URL".into(), url));
    }
    if let Some(url) = &args.amqp_url {
        let prefix = format!("fanout{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        cleanup.prefix = Some((url.clone(), prefix.clone()));
        env.push(("PUSHGATE_AMQP_URL".into(), url.clone()));
        env.push(("PUSHGATE_AMQP_PREFIX".into(), prefix));
    }
    env.extend(args.pushgate_env.iter().cloned());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .context("building the HTTP client")?;
    eprintln!("starting pushgate…");
    let mut pg = start_pushgate(args, &env, &http).await?;
    eprintln!(
        "pushgate pid {} at {}; setting up {} users × (Huawei + Xiaomi)…",
        pg.child.id(),
        pg.base,
        args.users
    );
    pg.key = set_up(&http, &pg.base, args.users).await?;

    eprintln!("warm-up: one group notification…");
    let all_users: Vec<String> = (0..args.users).map(|i| format!("u{i}")).collect();
    measure(args, &pg, &sim, &http, "warm-up", &all_users, "warmup").await?;

    let mut results = Vec::new();
    for run in 0..args.runs {
        eprintln!("run {}: group…", run + 1);
        let r = measure(
            args,
            &pg,
            &sim,
            &http,
            "group",
            &all_users,
            &format!("g{run}"),
        )
        .await?;
        eprintln!("  all accepted after {:.1} ms", ms(r.all_accepted));
        results.push(r);
        eprintln!("run {}: one by one…", run + 1);
        let r = measure(
            args,
            &pg,
            &sim,
            &http,
            "one by one",
            &[],
            &format!("s{run}"),
        )
        .await?;
        eprintln!("  all accepted after {:.1} ms", ms(r.all_accepted));
        results.push(r);
    }
    if let Some(status) = pg.child.try_wait()? {
        bail!("pushgate exited with {status}");
    }
    drop(pg);
    sim.shutdown().await;
    Ok(results)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Sends one round (a group notification to `users`, or with `users` empty one notification
/// per device) and measures it.
async fn measure(
    args: &Args,
    pg: &Pushgate,
    sim: &Sim,
    http: &reqwest::Client,
    mode: &'static str,
    users: &[String],
    id: &str,
) -> Result<RunResult> {
    let deliveries = 2 * args.users;
    let before = accepted(http, &pg.base).await?;
    let seq = sim
        .control()
        .requests(RequestFilter {
            limit: Some(1),
            ..RequestFilter::default()
        })
        .last()
        .map_or(0, |r| r.seq);
    let cpu_before = (cpu_secs(pg.child.id()), cpu_secs(std::process::id()));
    let start_ms = unix_ms();
    let start = Instant::now();
    let notifications = if users.is_empty() {
        let devices: Vec<String> = (0..args.users)
            .flat_map(|i| [format!("h{i}"), format!("x{i}")])
            .collect();
        let posts: Vec<Result<Value>> = futures::stream::iter(devices.iter().enumerate())
            .map(|(n, device)| {
                let body = json!({"id": format!("{id}-{n}"), "to": {"devices": [device]},
                    "notification": {"title": "Alice", "body": "are you coming?"}});
                call(http, &pg.base, &pg.key, Method::POST, NOTIFICATIONS, body)
            })
            .buffer_unordered(args.concurrency.max(1))
            .collect()
            .await;
        for p in posts {
            p?;
        }
        devices.len()
    } else {
        let body = json!({"id": id, "to": {"users": users},
            "notification": {"title": "Alice", "body": "are you coming?"}});
        call(http, &pg.base, &pg.key, Method::POST, NOTIFICATIONS, body).await?;
        1
    };
    let posted = start.elapsed();
    let deadline = start + Duration::from_secs(args.timeout_secs);
    let all_accepted = loop {
        let now = accepted(http, &pg.base).await?;
        if now.1 > before.1 {
            bail!(
                "{mode}: {} deliveries ended otherwise than accepted (see pushgate_deliveries_total)",
                now.1 - before.1
            );
        }
        if now.0 >= before.0 + deliveries as u64 {
            break start.elapsed();
        }
        if Instant::now() > deadline {
            bail!(
                "{mode}: only {} of {deliveries} deliveries accepted after {} s",
                now.0 - before.0,
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let cpu = (
        cpu_secs(pg.child.id()) - cpu_before.0,
        cpu_secs(std::process::id()) - cpu_before.1,
    );
    let log = sim.control().requests(RequestFilter {
        since: Some(seq),
        ..RequestFilter::default()
    });
    let last_ms = log.iter().map(|r| r.at_ms).max().unwrap_or(start_ms);
    let requests = [(Vendor::Huawei, "huawei"), (Vendor::Xiaomi, "xiaomi")]
        .into_iter()
        .map(|(vendor, name)| {
            let of: Vec<&RequestRecord> = log.iter().filter(|r| r.vendor == vendor).collect();
            let sends: Vec<&&RequestRecord> = of.iter().filter(|r| is_send(r)).collect();
            let tokens = sends.iter().map(|r| tokens_of(r)).sum();
            let failed = of.iter().filter(|r| !vendor_ok(r)).count();
            (name, sends.len(), tokens, of.len() - sends.len(), failed)
        })
        .collect();
    Ok(RunResult {
        mode,
        notifications,
        deliveries,
        posted,
        last_vendor_request: Duration::from_millis(u64::try_from(last_ms - start_ms).unwrap_or(0)),
        all_accepted,
        requests,
        cpu,
    })
}

const NOTIFICATIONS: &str = "/v1/apps/fanout/notifications";

/// A send request (not an auth request).
fn is_send(r: &RequestRecord) -> bool {
    r.path.contains("messages:send")
        || r.path.contains("messages%3Asend")
        || r.path.contains("/message/regid")
}

/// Whether the vendor answered success.
fn vendor_ok(r: &RequestRecord) -> bool {
    if r.response.status != 200 {
        return false;
    }
    let body: Value = serde_json::from_slice(r.response.body.as_bytes()).unwrap_or(Value::Null);
    match r.vendor {
        Vendor::Huawei if is_send(r) => body["code"] == "80000000",
        Vendor::Xiaomi => body["result"] == "ok",
        _ => true,
    }
}

/// Device tokens one send request carried.
fn tokens_of(r: &RequestRecord) -> usize {
    match r.vendor {
        Vendor::Huawei => r.tokens.len().max(usize::from(r.token.is_some())),
        _ => r
            .body
            .split('&')
            .find_map(|kv| kv.strip_prefix("registration_id="))
            .map_or(0, |ids| ids.matches("%2C").count() + 1),
    }
}

/// Accepted deliveries of both vendors, and deliveries with any other outcome, from
/// pushgate's counters.
async fn accepted(http: &reqwest::Client, base: &str) -> Result<(u64, u64)> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .context("reading /metrics")?
        .text()
        .await
        .context("reading /metrics")?;
    let mut out = (0, 0);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("pushgate_deliveries_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        if !VENDORS
            .iter()
            .any(|v| labels.contains(&format!("vendor=\"{v}\"")))
        {
            continue;
        }
        let n = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        if labels.contains("outcome=\"accepted\"") {
            out.0 += n;
        } else {
            out.1 += n;
        }
    }
    Ok(out)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

async fn start_pushgate(
    args: &Args,
    env: &[(String, String)],
    http: &reqwest::Client,
) -> Result<Pushgate> {
    let bin = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release")))
        .join("pushgate");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = Command::new(&bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PUSHGATE_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().with_context(|| {
        format!(
            "starting {} (build it: cargo build --release -p pushgate)",
            bin.display()
        )
    })?;
    let mut pg = Pushgate {
        child,
        base: format!("http://127.0.0.1:{port}"),
        key: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = pg.child.try_wait()? {
            bail!("pushgate exited with {status}");
        }
        if let Ok(resp) = http.get(format!("{}/healthz", pg.base)).send().await
            && resp.status().is_success()
        {
            return Ok(pg);
        }
        if Instant::now() > deadline {
            bail!("pushgate did not answer /healthz within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Result<Value> {
    let resp = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("calling {path}"))?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {value}");
    }
    Ok(value)
}

/// Tenant, key, app with the dev Huawei and Xiaomi credentials (checked live), and `users`
/// users `u<i>` with devices `h<i>` (Huawei) and `x<i>` (Xiaomi). Answers the API key.
async fn set_up(http: &reqwest::Client, base: &str, users: usize) -> Result<String> {
    let tenant = call(
        http,
        base,
        ADMIN,
        Method::POST,
        "/v1/tenants",
        json!({"name": "fanout"}),
    )
    .await?;
    let id = tenant["id"].as_str().context("tenant without id")?;
    let key = call(
        http,
        base,
        ADMIN,
        Method::POST,
        &format!("/v1/tenants/{id}/keys"),
        json!({"label": "fanout"}),
    )
    .await?;
    let key = key["key"].as_str().context("key not shown")?.to_string();
    call(
        http,
        base,
        &key,
        Method::POST,
        "/v1/apps",
        json!({"id": APP, "settings": {"android": {"package_name": PACKAGE}}}),
    )
    .await?;
    call(
        http,
        base,
        &key,
        Method::PUT,
        &format!("/v1/apps/{APP}/credentials/huawei?check=live"),
        json!({"app_id": DEV_HUAWEI_APP_ID, "app_secret": DEV_HUAWEI_APP_SECRET}),
    )
    .await?;
    call(
        http,
        base,
        &key,
        Method::PUT,
        &format!("/v1/apps/{APP}/credentials/xiaomi?check=live"),
        json!({"app_secret": DEV_XIAOMI_APP_SECRET, "package_name": PACKAGE}),
    )
    .await?;
    let devices = (0..users).flat_map(|i| {
        [
            (
                format!("h{i}"),
                json!({"user_id": format!("u{i}"), "vendor": "huawei",
                       "token": format!("IQAAAACy0fanout{i:06}")}),
            ),
            (
                format!("x{i}"),
                json!({"user_id": format!("u{i}"), "vendor": "xiaomi",
                       "token": format!("fanoutRegid{i:06}/mi+Q=")}),
            ),
        ]
    });
    let results: Vec<Result<Value>> = futures::stream::iter(devices)
        .map(|(device, body)| {
            let path = format!("/v1/apps/{APP}/devices/{device}");
            let key = key.clone();
            async move { call(http, base, &key, Method::PUT, &path, body).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(key)
}

/// A fresh database next to `server_url`'s; answers its URL and name.
async fn create_database(server_url: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("pushgate_fanout_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .context("PostgreSQL is unreachable")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database")?;
    let _ = conn.close().await;
    let (path, query) = match server_url.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let (server, _) = path
        .rsplit_once('/')
        .context("the database URL has no database part")?;
    Ok((format!("{server}/{name}{query}"), name))
}

async fn drop_database(server_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .context("PostgreSQL is unreachable")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .with_context(|| format!("dropping database {name}"))?;
    let _ = conn.close().await;
    Ok(())
}

/// Deletes the queues named `prefix.…` (listed by `rabbitmqctl`) and the prefix's exchanges.
async fn delete_rabbit_prefix(amqp_url: &str, prefix: &str) -> Result<()> {
    let listed = Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let mut queues: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|n| n.starts_with(&format!("{prefix}.")))
        .map(str::to_string)
        .collect();
    for q in ["ingest", "dead", "vendor.huawei", "vendor.xiaomi"] {
        let name = format!("{prefix}.{q}");
        if !queues.contains(&name) {
            queues.push(name);
        }
    }
    let conn = lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
        .await
        .context("connecting to RabbitMQ for cleanup")?;
    for name in &queues {
        let channel = conn.create_channel().await?;
        let _ = channel
            .queue_delete(
                name.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
    }
    for exchange in ["ingest", "receipts"] {
        let channel = conn.create_channel().await?;
        let _ = channel
            .exchange_delete(
                format!("{prefix}.{exchange}").as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = conn.close(200, "cleanup done".into()).await;
    Ok(())
}

/// The results as markdown: the machine, every run, and the medians.
fn report(args: &Args, results: &[RunResult]) -> String {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let backend = match (&args.database_url, &args.amqp_url) {
        (None, None) => "embedded (SQLite + embedded queue)".to_string(),
        (db, amqp) => format!(
            "{} + {}",
            db.as_ref().map_or("SQLite", |_| "PostgreSQL"),
            amqp.as_ref().map_or("embedded queue", |_| "RabbitMQ")
        ),
    };
    let mut out = format!(
        "machine: {cores} cores, {cpu_model}; backend: {backend}; {} users × (1 Huawei + 1 Xiaomi device); one-by-one posted by {} clients\n\n",
        args.users, args.concurrency
    );
    out.push_str("| run | mode | notifications | POSTs answered ms | last vendor request ms | all accepted ms | deliveries/s | Huawei sends (tokens) | Xiaomi sends (regids) | auth requests | vendor errors | pushgate CPU s | bench+sim CPU s |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (i, r) in results.iter().enumerate() {
        let [h, x] = [&r.requests[0], &r.requests[1]];
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {} ({}) | {} ({}) | {} | {} | {:.2} | {:.2} |\n",
            i / 2 + 1,
            r.mode,
            r.notifications,
            ms(r.posted),
            ms(r.last_vendor_request),
            ms(r.all_accepted),
            r.deliveries as f64 / r.all_accepted.as_secs_f64(),
            h.1,
            h.2,
            x.1,
            x.2,
            h.3 + x.3,
            h.4 + x.4,
            r.cpu.0,
            r.cpu.1,
        ));
    }
    for mode in ["group", "one by one"] {
        let mut times: Vec<f64> = results
            .iter()
            .filter(|r| r.mode == mode)
            .map(|r| ms(r.all_accepted))
            .collect();
        times.sort_by(f64::total_cmp);
        if let Some(median) = times.get(times.len() / 2) {
            out.push_str(&format!(
                "\n{mode}: median all accepted {median:.1} ms over {} runs (min {:.1}, max {:.1})",
                times.len(),
                times[0],
                times[times.len() - 1]
            ));
        }
    }
    out.push('\n');
    out
}
