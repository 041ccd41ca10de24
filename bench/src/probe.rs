//! What the benchmark observes besides throughput and latency, to show where the time goes:
//! CPU time per process (from `/proc`), PostgreSQL's commit, row and WAL counters, pushgate's
//! `/metrics`, RabbitMQ queue depths, and pushgate's resident memory.

use anyhow::{Context, Result};
use push_sim::types::{Counters, RequestRecord};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The simulator's control API.
#[derive(Clone)]
pub struct SimClient {
    http: reqwest::Client,
    base: String,
}

impl SimClient {
    /// A client of the control API at `base`.
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// Every counter.
    pub async fn counters(&self) -> Result<Counters> {
        self.http
            .get(format!("{}/counters", self.base))
            .send()
            .await
            .context("reading the simulator's counters")?
            .error_for_status()?
            .json()
            .await
            .context("reading the simulator's counters")
    }

    /// Push requests received so far (every vendor request but OAuth2 token requests).
    pub async fn pushes(&self) -> Result<u64> {
        let c = self.counters().await?;
        Ok(c.endpoints
            .values()
            .map(|e| e.requests.saturating_sub(e.auth_requests))
            .sum())
    }

    /// Requests recorded after `since` (a sequence number), oldest first.
    pub async fn requests_since(&self, since: u64) -> Result<Vec<RequestRecord>> {
        self.http
            .get(format!("{}/requests?since={since}", self.base))
            .send()
            .await
            .context("reading the simulator's request log")?
            .error_for_status()?
            .json()
            .await
            .context("reading the simulator's request log")
    }

    /// The sequence number of the newest recorded request (0 when none).
    pub async fn last_seq(&self) -> Result<u64> {
        let newest: Vec<RequestRecord> = self
            .http
            .get(format!("{}/requests?limit=1", self.base))
            .send()
            .await
            .context("reading the simulator's request log")?
            .error_for_status()?
            .json()
            .await
            .context("reading the simulator's request log")?;
        Ok(newest.last().map_or(0, |r| r.seq))
    }
}

/// Pushes seen by the simulator, polled in the background every 100 ms (cheap: one small
/// JSON answer), for the closed-loop publishers and the drains.
#[derive(Clone)]
pub struct PushWatch {
    total: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PushWatch {
    /// Starts polling.
    pub async fn start(sim: SimClient) -> Result<Self> {
        let total = Arc::new(AtomicU64::new(sim.pushes().await?));
        let stop = Arc::new(AtomicBool::new(false));
        let watch = Self {
            total: Arc::clone(&total),
            stop: Arc::clone(&stop),
        };
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = sim.pushes().await {
                    total.store(n, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Ok(watch)
    }

    /// Pushes so far (at most 100 ms old).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Waits until at least `target` pushes were seen, or `timeout`; answers whether it
    /// got there.
    pub async fn wait_for(&self, target: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.total() < target {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Stops polling.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// pushgate's resident memory, sampled every 200 ms: the peak since the last reset.
#[derive(Clone)]
pub struct RssWatch {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssWatch {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let watch = Self {
            pid,
            peak_kib: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let w = watch.clone();
        tokio::spawn(async move {
            while !w.stop.load(Ordering::Relaxed) {
                if let Some(kib) = status_kib(w.pid, "VmRSS:") {
                    w.peak_kib.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        watch
    }

    /// The peak since the last call (KiB), and starts a new period.
    pub fn take_peak(&self) -> u64 {
        let now = status_kib(self.pid, "VmRSS:").unwrap_or(0);
        self.peak_kib.swap(now, Ordering::Relaxed).max(now)
    }

    /// The kernel's high-water mark of the process (`VmHWM`, KiB).
    pub fn hwm(&self) -> Option<u64> {
        status_kib(self.pid, "VmHWM:")
    }

    /// Stops sampling.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time of the processes that take part, in clock ticks (user + system).
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    /// Per group: pushgate, push-sim, rabbitmq (the broker's beam.smp), postgres (the server's own
    /// processes and the backends of the run's database — not other databases'), bench
    /// (this process).
    pub ticks: BTreeMap<&'static str, u64>,
    /// Busy ticks of the whole machine (`/proc/stat`, all CPUs).
    pub machine_busy: u64,
    /// Total ticks of the whole machine.
    pub machine_total: u64,
    /// CPUs in `/proc/stat`.
    pub cpus: u32,
}

/// Reads CPU counters of pushgate, the simulator, RabbitMQ, PostgreSQL (for the database
/// `db`) and this process.
pub fn cpu_sample(pushgate: u32, sim: u32, db: &str) -> CpuSample {
    let mut ticks: BTreeMap<&'static str, u64> = BTreeMap::new();
    ticks.insert("pushgate", proc_ticks(pushgate).unwrap_or(0));
    ticks.insert("push-sim", proc_ticks(sim).unwrap_or(0));
    ticks.insert("bench", proc_ticks(std::process::id()).unwrap_or(0));
    let (mut rabbit, mut postgres) = (0, 0);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
                continue;
            };
            let comm = comm.trim();
            if comm == "beam.smp" {
                // The broker, not a CLI tool's VM (rabbitmqctl also runs as beam.smp).
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains("rabbit\0boot") {
                    rabbit += proc_ticks(pid).unwrap_or(0);
                }
            } else if comm == "postgres" {
                // Client backends are titled "postgres: … <user> <db> <host>(<port>) …";
                // only the run's count, plus the server's own processes (WAL writer, …).
                let title = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if title.contains(db) || !title.contains('(') {
                    postgres += proc_ticks(pid).unwrap_or(0);
                }
            }
        }
    }
    ticks.insert("rabbitmq", rabbit);
    ticks.insert("postgres", postgres);
    let (machine_busy, machine_total, cpus) = machine_ticks().unwrap_or((0, 0, 1));
    CpuSample {
        ticks,
        machine_busy,
        machine_total,
        cpus,
    }
}

/// Cores kept busy by processes outside the run, measured over `window`.
pub async fn other_load(window: Duration) -> f64 {
    let a = machine_ticks();
    tokio::time::sleep(window).await;
    let b = machine_ticks();
    match (a, b) {
        (Some((busy0, total0, cpus)), Some((busy1, total1, _))) if total1 > total0 => {
            (busy1 - busy0) as f64 / (total1 - total0) as f64 * f64::from(cpus)
        }
        _ => 0.0,
    }
}

/// utime + stime of a process, all its threads.
fn proc_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the full line are 12 and 13 after the name and state.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// (busy, total) ticks of all CPUs, and how many CPUs there are.
fn machine_ticks() -> Option<(u64, u64, u32)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total, u32::try_from(cpus.max(1)).unwrap_or(1)))
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux unless it says otherwise).
pub fn clock_ticks_per_second() -> f64 {
    crate::services::command_line("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0)
}

/// PostgreSQL counters of the run's database (rows, commits) and of the cluster (WAL).
#[derive(Debug, Clone, Default)]
pub struct PgSample {
    /// Committed transactions.
    pub commits: i64,
    /// Rolled back transactions.
    pub rollbacks: i64,
    /// Rows fetched by index scans plus rows returned by sequential scans.
    pub rows_read: i64,
    /// WAL records (cluster-wide).
    pub wal_records: i64,
    /// WAL bytes (cluster-wide).
    pub wal_bytes: i64,
    /// WAL flushes to disk (cluster-wide; one per synchronous commit unless grouped).
    pub wal_syncs: i64,
    /// Per table: (inserted, updated) rows.
    pub tables: BTreeMap<String, (i64, i64)>,
}

/// Reads PostgreSQL's statistics views through `conn` (connected to the run's database).
pub async fn pg_sample(conn: &mut sqlx::PgConnection, db: &str) -> Result<PgSample> {
    let (commits, rollbacks, fetched, returned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT xact_commit, xact_rollback, tup_fetched, tup_returned \
         FROM pg_stat_database WHERE datname = $1",
    )
    .bind(db)
    .fetch_one(&mut *conn)
    .await
    .context("reading pg_stat_database")?;
    let (wal_records, wal_bytes, wal_syncs): (i64, i64, i64) =
        sqlx::query_as("SELECT wal_records, wal_bytes::bigint, wal_sync FROM pg_stat_wal")
            .fetch_one(&mut *conn)
            .await
            .unwrap_or((0, 0, 0));
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT relname::text, n_tup_ins, n_tup_upd FROM pg_stat_user_tables")
            .fetch_all(&mut *conn)
            .await
            .context("reading pg_stat_user_tables")?;
    Ok(PgSample {
        commits,
        rollbacks,
        rows_read: fetched + returned,
        wal_records,
        wal_bytes,
        wal_syncs,
        tables: rows.into_iter().map(|(t, i, u)| (t, (i, u))).collect(),
    })
}

/// pushgate's `/metrics`, as (series with labels → value).
pub async fn metrics_sample(http: &reqwest::Client, base: &str) -> Result<BTreeMap<String, f64>> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .context("reading pushgate's /metrics")?
        .text()
        .await
        .context("reading pushgate's /metrics")?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((series, value)) = line.rsplit_once(' ')
            && let Ok(v) = value.parse::<f64>()
        {
            out.insert(series.to_string(), v);
        }
    }
    Ok(out)
}

/// The value of `label` in a series such as `name{a="x",b="y"}`.
pub fn label<'a>(series: &'a str, label: &str) -> Option<&'a str> {
    let start = series.find(&format!("{label}=\""))? + label.len() + 2;
    let len = series[start..].find('"')?;
    Some(&series[start..start + len])
}

/// Ready-message counts of the run's queues, sampled by passive declarations every 500 ms.
pub struct DepthWatch {
    samples: Arc<std::sync::Mutex<BTreeMap<String, Vec<u32>>>>,
    stop: Arc<AtomicBool>,
}

impl DepthWatch {
    /// Starts sampling `queues` over `conn`.
    pub async fn start(conn: &lapin::Connection, queues: Vec<String>) -> Result<Self> {
        let channel = conn
            .create_channel()
            .await
            .context("opening a channel for queue depths")?;
        let samples: Arc<std::sync::Mutex<BTreeMap<String, Vec<u32>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&samples), Arc::clone(&stop));
        tokio::spawn(async move {
            while !st.load(Ordering::Relaxed) {
                for q in &queues {
                    let declared = channel
                        .queue_declare(
                            q.as_str().into(),
                            lapin::options::QueueDeclareOptions {
                                passive: true,
                                ..Default::default()
                            },
                            lapin::types::FieldTable::default(),
                        )
                        .await;
                    match declared {
                        Ok(info) => {
                            if let Ok(mut map) = s.lock() {
                                map.entry(q.clone()).or_default().push(info.message_count());
                            }
                        }
                        // A missing queue closes the channel: stop sampling.
                        Err(_) => return,
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Ok(Self { samples, stop })
    }

    /// Mean and max ready count per queue since the last call, and starts a new period.
    pub fn take(&self) -> BTreeMap<String, (f64, u32)> {
        let taken = match self.samples.lock() {
            Ok(mut map) => std::mem::take(&mut *map),
            Err(_) => BTreeMap::new(),
        };
        taken
            .into_iter()
            .map(|(q, v)| {
                let max = v.iter().copied().max().unwrap_or(0);
                let mean = if v.is_empty() {
                    0.0
                } else {
                    v.iter().map(|x| f64::from(*x)).sum::<f64>() / v.len() as f64
                };
                (q, (mean, max))
            })
            .collect()
    }

    /// Stops sampling.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `rabbitmqctl list_queues` for the run's queues: (name, ready, unacked, consumers).
pub fn rabbit_queues(prefix: &str) -> Vec<(String, String, String, String)> {
    let Ok(out) = std::process::Command::new("rabbitmqctl")
        .args([
            "-q",
            "list_queues",
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
        ])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [name, ready, unacked, consumers] if name.starts_with(&format!("{prefix}.")) => {
                    Some((
                        (*name).to_string(),
                        (*ready).to_string(),
                        (*unacked).to_string(),
                        (*consumers).to_string(),
                    ))
                }
                _ => None,
            }
        })
        .collect()
}

/// The `p`-quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
