//! Load benchmark of the online core (not a test): idle WebSocket connections with
//! heartbeats and the server's RSS per connection, then fan-out into a group with every
//! member online and the send → receipt latency at a target delivery rate.
//!
//! ```sh
//! cargo build --release -p pushgate -p pushgate-bench
//! ulimit -n 65536   # as far as the hard limit allows; each connection is one fd per side
//! target/release/online --connections 18000 --group-size 500 --rate 5000 --secs 20
//! ```
//!
//! It starts `target/release/pushgate` (`--bin-dir`) on the embedded defaults (SQLite, in
//! a temporary directory) with `[online]` heartbeats every `--heartbeat` seconds, sets up a
//! tenant, app, HS256 client key and a group over REST, and then:
//! 1. opens `--connections` idle connections from `--sources` loopback addresses
//!    (127.0.0.2, 127.0.0.3, …), keeps them through at least two heartbeats (each client
//!    reads, which answers the server's pings), and reports the server's RSS growth per
//!    connection and how many connections survived;
//! 2. connects the `--group-size` members, and one member sends to the group at
//!    `--rate` / (members − 1) messages per second for `--secs` seconds; every member
//!    records send → receipt latency (the send time travels in the text); reports deliveries
//!    per second and p50 / p99 / max latency.
//!
//! Both processes run on this machine, so the load generator's CPU competes with the server's.

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "online-bench-admin-token-0123";
const SECRET: &str = "online-bench-client-secret-0123456789";

/// Online-core load benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Idle connections to hold.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Loopback source addresses to spread them over (127.0.0.2 …).
    #[arg(long, default_value_t = 4)]
    sources: u8,
    /// Members of the fan-out group (all online).
    #[arg(long, default_value_t = 500)]
    group_size: usize,
    /// Target deliveries per second in the fan-out phase.
    #[arg(long, default_value_t = 5_000)]
    rate: usize,
    /// Length of the fan-out phase in seconds.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// Server heartbeat in seconds (idle timeout = 3×).
    #[arg(long, default_value_t = 5)]
    heartbeat: u64,
    /// Where `pushgate` is.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

async fn start_server(args: &Args) -> Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let bin = args.bin_dir.join("pushgate");
    let child = Command::new(&bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PUSHGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("PUSHGATE_DATA_DIR", dir.path())
        .env("PUSHGATE_ADMIN_TOKEN", ADMIN)
        .env("PUSHGATE_LOG_LEVEL", "warn")
        .env(
            "PUSHGATE_ONLINE__HEARTBEAT_SECONDS",
            args.heartbeat.to_string(),
        )
        .env(
            "PUSHGATE_ONLINE__IDLE_TIMEOUT_SECONDS",
            (args.heartbeat * 3).to_string(),
        )
        .env("PUSHGATE_ONLINE__OUTBOUND_BUFFER", "1024")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("pushgate did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(server)
}

async fn rest(
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
        .await?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {value}");
    }
    Ok(value)
}

async fn set_up(base: &str, group: &[String]) -> Result<()> {
    use reqwest::Method;
    let http = reqwest::Client::new();
    let t = rest(
        &http,
        base,
        ADMIN,
        Method::POST,
        "/v1/tenants",
        json!({"name": "bench"}),
    )
    .await?;
    let tid = t["id"].as_str().context("tenant id")?;
    let k = rest(
        &http,
        base,
        ADMIN,
        Method::POST,
        &format!("/v1/tenants/{tid}/keys"),
        json!({}),
    )
    .await?;
    let key = k["key"].as_str().context("key")?.to_string();
    rest(
        &http,
        base,
        &key,
        Method::POST,
        "/v1/apps",
        json!({"id": "bench"}),
    )
    .await?;
    rest(
        &http,
        base,
        &key,
        Method::PUT,
        "/v1/apps/bench/client-key",
        json!({"alg": "HS256", "secret": SECRET}),
    )
    .await?;
    rest(
        &http,
        base,
        &key,
        Method::POST,
        "/v1/apps/bench/groups",
        json!({"id": "fan", "members": group}),
    )
    .await?;
    Ok(())
}

fn token(user: &str) -> String {
    let exp = jsonwebtoken::get_current_timestamp() + 3_600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"app": "bench", "sub": user, "dev": "d", "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(server: SocketAddr, source: Ipv4Addr, user: String) -> Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(server).await?;
    let url = format!("ws://{server}/v1/ws?token={}", token(&user));
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    // The welcome frame.
    match ws.next().await {
        Some(Ok(Message::Text(_))) => Ok(ws),
        other => bail!("no welcome: {other:?}"),
    }
}

/// The send time (unix µs) in a `msg` frame's text, found without parsing the rest of the
/// frame: the 499 receivers share the machine's two cores with the server, so each reads
/// only what the latency needs (`{"type":"msg",…,"text":"<digits>",…}`).
fn sent_at(frame: &str) -> Option<u64> {
    if !frame.starts_with(r#"{"type":"msg","#) {
        return None;
    }
    let (_, rest) = frame.split_once(r#""text":""#)?;
    let (digits, _) = rest.split_once('"')?;
    digits.parse().ok()
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = start_server(&args).await?;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse()?;
    let members: Vec<String> = (0..args.group_size).map(|i| format!("g{i}")).collect();
    set_up(&server.base, &members).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_kib();

    // Phase 1: idle connections.
    let stop = CancellationToken::new();
    let alive = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut opened = 0usize;
    let mut failed = 0usize;
    let mut batch = Vec::new();
    for i in 0..args.connections {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(args.sources.max(1))) as u8);
        batch.push(open(addr, source, format!("idle{i}")));
        if batch.len() == 200 || i + 1 == args.connections {
            for result in futures::future::join_all(batch.drain(..)).await {
                match result {
                    Ok(ws) => {
                        opened += 1;
                        let alive = Arc::clone(&alive);
                        let stop = stop.clone();
                        alive.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(async move {
                            let mut ws = ws;
                            loop {
                                tokio::select! {
                                    () = stop.cancelled() => break,
                                    m = ws.next() => match m {
                                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                                            alive.fetch_sub(1, Ordering::Relaxed);
                                            break;
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        });
                    }
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("connect failed: {e:#}");
                        }
                    }
                }
            }
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    println!(
        "idle: opened {opened} connections ({failed} failed) in {connect_secs:.1} s from {} source addresses",
        args.sources
    );
    let hold = Duration::from_secs(args.heartbeat * 2 + 2);
    tokio::time::sleep(hold).await;
    let rss_idle = server.rss_kib();
    let still = alive.load(Ordering::Relaxed);
    let per_conn = (rss_idle.saturating_sub(rss_before)) as f64 / opened.max(1) as f64;
    println!(
        "idle: after {} s ({} heartbeats) {still}/{opened} alive; server RSS {:.1} MiB before, {:.1} MiB with them: {per_conn:.2} KiB per connection",
        hold.as_secs(),
        hold.as_secs() / args.heartbeat,
        rss_before as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
    );

    // Phase 2: fan-out into the group, every member online.
    let mut receivers = Vec::new();
    let mut sender = None;
    let fan_stop = CancellationToken::new();
    for (i, member) in members.iter().enumerate() {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(args.sources.max(1))) as u8);
        let ws = open(addr, source, member.clone()).await?;
        if i == 0 {
            sender = Some(ws);
            continue;
        }
        let stop = fan_stop.clone();
        receivers.push(tokio::spawn(async move {
            let mut ws = ws;
            let mut latencies: Vec<u64> = Vec::new();
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let now = now_micros();
                            if let Some(sent) = sent_at(t.as_str()) {
                                latencies.push(now.saturating_sub(sent));
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
            latencies
        }));
    }
    let sender = sender.context("no sender")?;
    let receivers_n = members.len().saturating_sub(1).max(1);
    let msgs_per_sec = (args.rate as f64 / receivers_n as f64).max(0.1);
    let interval = Duration::from_secs_f64(1.0 / msgs_per_sec);
    let total = (msgs_per_sec * args.secs as f64).ceil() as usize;
    let rss_group = server.rss_kib();
    let (mut sink, mut stream) = sender.split();
    let acks = tokio::spawn(async move {
        let mut sent = 0usize;
        let mut errors = 0usize;
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m {
                if t.as_str().contains("\"type\":\"sent\"") {
                    sent += 1;
                } else if t.as_str().contains("\"type\":\"error\"") {
                    errors += 1;
                }
                if sent + errors >= total {
                    break;
                }
            }
        }
        (sent, errors)
    });
    let phase = Instant::now();
    let mut tick = tokio::time::interval(interval);
    for i in 0..total {
        tick.tick().await;
        let frame = json!({"type": "send", "id": format!("b{i}"), "to": {"group": "fan"}, "text": now_micros().to_string()});
        sink.send(Message::text(frame.to_string())).await?;
    }
    let send_secs = phase.elapsed().as_secs_f64();
    let (stored, errors) = tokio::time::timeout(Duration::from_secs(60), acks)
        .await
        .context("sends not confirmed in time")??;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = phase.elapsed().as_secs_f64();
    fan_stop.cancel();
    let mut all: Vec<u64> = Vec::new();
    for r in receivers {
        all.extend(r.await.unwrap_or_default());
    }
    all.sort_unstable();
    let expected = total * receivers_n;
    println!(
        "fan-out: {total} messages to {} members ({receivers_n} receivers each) in {send_secs:.1} s; {stored} stored, {errors} errors",
        members.len()
    );
    println!(
        "fan-out: {} of {expected} deliveries received; {:.0} deliveries/s over the sending window; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        all.len() as f64 / send_secs.max(0.001),
        percentile(&all, 0.50) as f64 / 1000.0,
        percentile(&all, 0.99) as f64 / 1000.0,
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    println!(
        "server RSS: {:.1} MiB with idle + group connections, {:.1} MiB after the fan-out ({elapsed:.1} s)",
        rss_group as f64 / 1024.0,
        server.rss_kib() as f64 / 1024.0
    );
    stop.cancel();
    Ok(())
}
