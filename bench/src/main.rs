//! End-to-end benchmark of pushgate on PostgreSQL + RabbitMQ against the vendor simulator.
//!
//! ```sh
//! cargo build --release -p pushgate -p push-sim -p pushgate-bench
//! cargo run --release -p pushgate-bench -- --out target/bench-pipeline.md
//! ```
//!
//! Needs PostgreSQL (`--database-url`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! a role that may create databases) and RabbitMQ (`--amqp-url`, default guest on
//! 127.0.0.1:5672) running, and the release binaries `target/release/pushgate` and
//! `target/release/push-sim` (`--bin-dir`). Everything runs on loopback.
//!
//! A run:
//! 1. starts `push-sim --preload-dev` as its own process on ephemeral ports (a separate
//!    process, so its CPU is accounted apart from pushgate's and the load generator's),
//!    creates a fresh database and a unique AMQP prefix, and starts `pushgate` as a child
//!    configured by `PUSHGATE_*` variables only; sets up a tenant, an app with APNs (.p8)
//!    and FCM (service account) credentials and `--devices` users with one device each
//!    (alternately FCM and APNs) over REST, then checks one push per vendor gets through;
//! 2. measures the broker's ceiling: a quorum queue, publishing with confirms (pipelined,
//!    `--window` outstanding) while a consumer on another connection takes the same
//!    messages with manual acks — once with one ack per message, once with one
//!    `multiple` ack per 100;
//! 3. 1:1 over AMQP, closed loop (at most `--backlog` deliveries outstanding): deliveries/s
//!    reaching the simulator in a `--window-secs` window after `--warmup-secs`;
//! 4. 1:1 over AMQP, open loop at `--latency-fraction` (50%) of that rate for
//!    `--latency-secs`: publish → simulator acceptance per message (the message's sequence
//!    number travels in its `data`; the simulator's request log has `at_ms`), p50/p99;
//! 5. group messages (one ingest message to `--group-size` users, half APNs, half FCM),
//!    closed loop: deliveries/s;
//! 6. the 1:1 load through `POST /v1/apps/{app}/notifications` (closed loop with
//!    `--rest-concurrency` clients, then open loop at half its rate);
//! 7. pushgate's peak RSS (`VmHWM`).
//!
//! For each window it also records where the time went: CPU per process (from `/proc`),
//! PostgreSQL commits, WAL flushes and rows per delivery, queue depths, and pushgate's
//! metrics. At the end it kills both children, drops the database and deletes the
//! prefix's queues and exchanges — also on error or Ctrl-C.

mod amqp;
mod load;
mod probe;
mod report;
mod services;

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::StreamExt;
use load::{APP, Bench, Load, Tunables};
use probe::{DepthWatch, PushWatch, RssWatch, SimClient};
use report::Results;
use serde_json::{Value, json};
use services::{ChildProc, PushgateSpec, SimProc};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";
const MASTER_KEY: &str = "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=";

/// End-to-end benchmark of pushgate (RabbitMQ + PostgreSQL + push-sim on loopback).
#[derive(Debug, Clone, Parser)]
#[command(name = "pushgate-bench")]
struct Args {
    /// PostgreSQL server URL (any database; a fresh one is created next to it).
    #[arg(
        long,
        env = "PUSHGATE_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// RabbitMQ URL.
    #[arg(
        long,
        env = "PUSHGATE_BENCH_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// Where the `pushgate` and `push-sim` binaries are (default: the workspace's
    /// target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Users with one device each for 1:1 messages (alternately FCM and APNs).
    #[arg(long, default_value_t = 1000)]
    devices: u64,
    /// Devices per group message (the first users of the pool).
    #[arg(long, default_value_t = 200)]
    group_size: u64,
    /// Messages of each broker-ceiling measurement.
    #[arg(long, default_value_t = 30_000)]
    ceiling_messages: u64,
    /// Unconfirmed publishes at most (the publisher's pipeline window).
    #[arg(long, default_value_t = 500)]
    window: u32,
    /// Closed loop: deliveries published and not yet at the simulator, at most.
    #[arg(long, default_value_t = 2000)]
    backlog: u64,
    /// Closed loop, groups: group messages outstanding, at most.
    #[arg(long, default_value_t = 20)]
    group_backlog: u64,
    /// Concurrent clients of the REST closed loop.
    #[arg(long, default_value_t = 32)]
    rest_concurrency: usize,
    /// Seconds of load before a throughput window opens.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Seconds of a throughput window.
    #[arg(long, default_value_t = 20)]
    window_secs: u64,
    /// Seconds of an open-loop latency run.
    #[arg(long, default_value_t = 15)]
    latency_secs: u64,
    /// Latency runs publish at this share of the sustained rate.
    #[arg(long, default_value_t = 0.5)]
    latency_fraction: f64,
    /// Seconds a backlog may take to drain before the run goes on regardless.
    #[arg(long, default_value_t = 120)]
    drain_timeout_secs: u64,
    /// Phases to run, comma-separated: ceiling, amqp, latency, group, rest, rest-latency.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ceiling,amqp,latency,group,rest,rest-latency"
    )]
    phases: Vec<String>,
    /// Extra environment for pushgate, `KEY=VALUE` (repeatable), e.g.
    /// `PUSHGATE_PIPELINE__PREFETCH=256`.
    #[arg(long = "pushgate-env", value_parser = parse_env)]
    pushgate_env: Vec<(String, String)>,
    /// Before the load starts, wait up to this long for the machine to be quiet (processes
    /// outside the run using under a quarter of a core), since they would skew the
    /// figures; then go on regardless, and say so in the report.
    #[arg(long, default_value_t = 120)]
    quiet_wait_secs: u64,
    /// Also write the markdown report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// What must be undone at the end, whatever happened.
#[derive(Default)]
struct Cleanup {
    database: Option<String>,
    prefix: Option<String>,
    children: Vec<ChildProc>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.group_size > args.devices {
        bail!("--group-size must not exceed --devices");
    }
    let mut cleanup = Cleanup::default();
    let outcome = tokio::select! {
        r = run(&args, &mut cleanup) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    // Children first: they hold connections to the database and the broker.
    cleanup.children.clear();
    if let Some(db) = &cleanup.database
        && let Err(e) = services::drop_database(&args.database_url, db).await
    {
        eprintln!("cleanup: {e:#}");
    }
    if let Some(prefix) = &cleanup.prefix
        && let Err(e) = services::delete_rabbit_prefix(&args.amqp_url, prefix).await
    {
        eprintln!("cleanup: {e:#}");
    }
    let results = outcome?;
    let report = results.markdown();
    println!("\n{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

fn bin_dir(args: &Args) -> PathBuf {
    args.bin_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release")))
}

async fn run(args: &Args, cleanup: &mut Cleanup) -> Result<Results> {
    let wants = |p: &str| args.phases.iter().any(|x| x == p);
    let bins = bin_dir(args);
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .context("building the HTTP client")?;

    eprintln!("starting push-sim…");
    let sim: SimProc = services::start_sim(&bins.join("push-sim"), &dir.path().join("sim.log"))?;
    let sim_pid = sim.proc.pid();
    let (db_url, db_name) = services::create_database(&args.database_url).await?;
    cleanup.database = Some(db_name.clone());
    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    cleanup.prefix = Some(prefix.clone());
    let port = services::free_port()?;
    eprintln!("starting pushgate (database {db_name}, prefix {prefix})…");
    let pushgate = services::start_pushgate(
        &PushgateSpec {
            bin: &bins.join("pushgate"),
            dir: dir.path(),
            port,
            database_url: &db_url,
            amqp_url: &args.amqp_url,
            prefix: &prefix,
            admin_token: ADMIN_TOKEN,
            master_key: MASTER_KEY,
            sim: &sim,
            extra_env: &args.pushgate_env,
        },
        &http,
    )
    .await?;
    let pushgate_pid = pushgate.pid();
    let sim_control = sim.control_url.clone();
    cleanup.children.push(pushgate);
    cleanup.children.push(sim.proc);
    let base = format!("http://127.0.0.1:{port}");

    eprintln!(
        "setting up the tenant, app, credentials and {} devices…",
        args.devices
    );
    let key = set_up(&http, &base, args.devices).await?;

    let sim_client = SimClient::new(http.clone(), &sim_control);
    let watch = PushWatch::start(sim_client.clone()).await?;
    let rss = RssWatch::start(pushgate_pid);
    let depth_conn =
        lapin::Connection::connect(&args.amqp_url, lapin::ConnectionProperties::default())
            .await
            .context("connecting to RabbitMQ")?;
    let depths = DepthWatch::start(
        &depth_conn,
        ["ingest", "vendor.apns", "vendor.fcm"]
            .iter()
            .map(|q| format!("{prefix}.{q}"))
            .collect(),
    )
    .await?;
    let pg = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&db_url)
            .await
            .context("connecting to the benchmark database")?
    };
    let ingest = amqp::Publisher::connect(
        &args.amqp_url,
        &format!("{prefix}.ingest"),
        "notification",
        args.window,
    )
    .await?;
    let bench = Arc::new(Bench {
        t: Tunables {
            devices: args.devices,
            group_size: args.group_size,
            backlog: args.backlog,
            group_backlog: args.group_backlog,
            rest_concurrency: args.rest_concurrency,
            warmup: Duration::from_secs(args.warmup_secs),
            window: Duration::from_secs(args.window_secs),
            latency: Duration::from_secs(args.latency_secs),
            drain_timeout: Duration::from_secs(args.drain_timeout_secs),
        },
        http: http.clone(),
        base: base.clone(),
        key,
        sim: sim_client,
        watch: watch.clone(),
        rss: rss.clone(),
        depths,
        pg: tokio::sync::Mutex::new(pg),
        db_name: db_name.clone(),
        prefix: prefix.clone(),
        ingest,
        pushgate_pid,
        sim_pid,
        tick_hz: probe::clock_ticks_per_second(),
        seq: AtomicU64::new(0),
    });
    bench.smoke().await.with_context(|| {
        format!(
            "pushgate's log ends with:\n{}",
            services::tail(&dir.path().join("pushgate.log"), 30)
        )
    })?;
    eprintln!(
        "pushgate pid {pushgate_pid} ({base}), push-sim pid {sim_pid} (control {sim_control}): both vendors answer"
    );

    let mut quiet = probe::other_load(Duration::from_secs(2)).await;
    let quiet_deadline = std::time::Instant::now() + Duration::from_secs(args.quiet_wait_secs);
    while quiet > 0.25 && std::time::Instant::now() < quiet_deadline {
        eprintln!("other processes keep {quiet:.2} cores busy; waiting for a quiet machine…");
        quiet = probe::other_load(Duration::from_secs(3)).await;
    }
    let mut results = Results {
        facts: facts(args, &bench).await,
        ..Results::default()
    };
    results.facts.push((
        "CPU busy before the load (idle run; other processes)".into(),
        format!("{quiet:.2} cores"),
    ));
    if wants("ceiling") {
        let body = bench.one_to_one(0, true);
        for ack_every in [1, 100] {
            eprintln!("broker ceiling (ack every {ack_every})…");
            let c = amqp::ceiling(
                &args.amqp_url,
                &format!("{prefix}.bench-ceiling"),
                &body,
                args.ceiling_messages,
                args.window,
                ack_every,
            )
            .await?;
            eprintln!("  {:.0} msg/s ({})", c.rate, c.acks);
            results.ceilings.push(c);
        }
    }
    let mut amqp_rate = None;
    if wants("amqp") {
        eprintln!("1:1 over AMQP, closed loop…");
        let s = bench.sustained(Load::Amqp).await?;
        eprintln!("  {:.0} deliveries/s", s.rate);
        amqp_rate = Some(s.rate);
        results.sustained.push(s);
    }
    if wants("latency") {
        let rate = args.latency_fraction * amqp_rate.unwrap_or(1000.0);
        eprintln!("1:1 over AMQP, open loop at {rate:.0}/s…");
        let l = bench.latency(Load::Amqp, rate).await?;
        eprintln!("  p50 {:.1} ms, p99 {:.1} ms", l.ms.0, l.ms.2);
        results.latency.push(l);
    }
    if wants("group") {
        eprintln!("group messages over AMQP, closed loop…");
        let s = bench.sustained(Load::AmqpGroup).await?;
        eprintln!("  {:.0} deliveries/s", s.rate);
        results.sustained.push(s);
    }
    let mut rest_rate = None;
    if wants("rest") {
        eprintln!("1:1 over REST, closed loop…");
        let s = bench.sustained(Load::Rest).await?;
        eprintln!("  {:.0} deliveries/s", s.rate);
        rest_rate = Some(s.rate);
        results.sustained.push(s);
    }
    if wants("rest-latency") {
        let rate = args.latency_fraction * rest_rate.or(amqp_rate).unwrap_or(1000.0);
        eprintln!("1:1 over REST, open loop at {rate:.0}/s…");
        let l = bench.latency(Load::Rest, rate).await?;
        eprintln!("  p50 {:.1} ms, p99 {:.1} ms", l.ms.0, l.ms.2);
        results.latency.push(l);
    }
    results.hwm_kib = rss.hwm();
    results.sim_hwm_kib = std::fs::read_to_string(format!("/proc/{sim_pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        });
    for child in &mut cleanup.children {
        child.check_alive()?;
    }
    watch.stop();
    rss.stop();
    bench.depths.stop();
    let _ = depth_conn.close(200, "done".into()).await;
    Ok(results)
}

/// The machine and the run, for the report.
async fn facts(args: &Args, bench: &Bench) -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or("unknown".to_string(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let pg_version = {
        let mut conn = bench.pg.lock().await;
        sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|_| "unknown".to_string())
    };
    let pg_tls = {
        let mut conn = bench.pg.lock().await;
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
        )
        .bind(&bench.db_name)
        .fetch_one(&mut *conn)
        .await
        .map_or("unknown".to_string(), |(tls, all)| {
            format!("{tls} of {all} connections to the run's database use TLS")
        })
    };
    let rabbit = services::command_line("rabbitmqctl", &["-q", "version"]);
    let git = services::command_line("git", &["describe", "--always", "--dirty"]);
    let built = |name: &str| {
        std::fs::metadata(bin_dir(args).join(name))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or("unknown".to_string(), |d| format!("unix {}", d.as_secs()))
    };
    let binaries = format!(
        "pushgate built {}, push-sim built {} (`cargo build --release -p pushgate -p push-sim`)",
        built("pushgate"),
        built("push-sim")
    );
    vec![
        ("cores (nproc)".into(), cores.to_string()),
        ("CPU".into(), cpu_model),
        ("memory".into(), mem),
        ("RabbitMQ".into(), rabbit),
        ("PostgreSQL".into(), pg_version),
        ("PostgreSQL TLS".into(), pg_tls),
        ("repository (git describe at run time)".into(), git),
        ("binaries".into(), binaries),
        (
            "load".into(),
            format!(
                "{} devices (half FCM, half APNs); groups of {}; confirm window {}; backlog {} deliveries ({} group messages); REST clients {}; windows {} s after {} s warm-up; latency runs {} s at {:.0}%",
                args.devices,
                args.group_size,
                args.window,
                args.backlog,
                args.group_backlog,
                args.rest_concurrency,
                args.window_secs,
                args.warmup_secs,
                args.latency_secs,
                args.latency_fraction * 100.0
            ),
        ),
        (
            "pushgate settings".into(),
            if args.pushgate_env.is_empty() {
                "defaults (PUSHGATE_LOG_LEVEL=warn)".into()
            } else {
                args.pushgate_env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ),
    ]
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
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

/// Tenant, key, app, APNs and FCM credentials, and `devices` users with one device each;
/// answers the tenant's API key.
async fn set_up(http: &reqwest::Client, base: &str, devices: u64) -> Result<String> {
    use reqwest::Method;
    let tenant = call(
        http,
        base,
        ADMIN_TOKEN,
        Method::POST,
        "/v1/tenants",
        json!({"name": "bench"}),
    )
    .await?;
    let id = tenant["id"].as_str().context("tenant without id")?;
    let key = call(
        http,
        base,
        ADMIN_TOKEN,
        Method::POST,
        &format!("/v1/tenants/{id}/keys"),
        json!({"label": "bench"}),
    )
    .await?;
    let key = key["key"].as_str().context("key not shown")?.to_string();
    call(
        http,
        base,
        &key,
        Method::POST,
        "/v1/apps",
        json!({"id": APP, "name": "Bench", "settings": {
            "apns": {"bundle_id": "com.example.chat", "default_environment": "production"},
            "android": {"package_name": "com.example.chat"}}}),
    )
    .await?;
    let certs = push_sim::repo_certs_dir();
    let p8 = std::fs::read_to_string(certs.join("apns-authkey.p8"))
        .context("reading certs/apns-authkey.p8")?;
    call(
        http,
        base,
        &key,
        Method::PUT,
        &format!("/v1/apps/{APP}/credentials/apns"),
        json!({"key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": p8}),
    )
    .await?;
    let sa: Value = serde_json::from_str(
        &std::fs::read_to_string(certs.join("fcm-service-account.json"))
            .context("reading certs/fcm-service-account.json")?,
    )
    .context("parsing certs/fcm-service-account.json")?;
    call(
        http,
        base,
        &key,
        Method::PUT,
        &format!("/v1/apps/{APP}/credentials/fcm"),
        json!({"service_account": sa}),
    )
    .await?;
    let results: Vec<Result<Value>> = futures::stream::iter(0..devices)
        .map(|i| {
            let body = if i % 2 == 0 {
                json!({"user_id": format!("u{i}"), "vendor": "fcm", "token": format!("fcm-bench-token-{i}")})
            } else {
                json!({"user_id": format!("u{i}"), "vendor": "apns", "token": format!("{:064x}", i + 1)})
            };
            let path = format!("/v1/apps/{APP}/devices/d{i}");
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
