//! The load phases: closed-loop sustained throughput (AMQP 1:1, AMQP group, REST 1:1) and
//! open-loop latency at a fixed rate (AMQP or REST), each with the resources it used.

use crate::amqp::Publisher;
use crate::probe::{
    CpuSample, DepthWatch, PgSample, PushWatch, RssWatch, SimClient, cpu_sample, metrics_sample,
    pg_sample, quantile, rabbit_queues,
};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, Semaphore};

/// The app every message goes to.
pub const APP: &str = "bench";

/// Marks a message's sequence number inside its `data`, so the simulator's request log can
/// be matched to publish times (APNs puts `data` in the payload, FCM in `message.data`).
const MARKER: &str = "bqm-";

/// How a phase sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// 1:1 ingest messages on AMQP.
    Amqp,
    /// Group ingest messages (one message → `group_size` devices) on AMQP.
    AmqpGroup,
    /// 1:1 notifications on `POST /v1/apps/{app}/notifications`.
    Rest,
}

/// Tunables of the phases.
#[derive(Debug, Clone)]
pub struct Tunables {
    /// Devices of the 1:1 pool (users `u0…`, one device each).
    pub devices: u64,
    /// Devices per group message (users `u0…u{group_size-1}`).
    pub group_size: u64,
    /// Closed loop: at most this many deliveries published and not yet seen by the sim.
    pub backlog: u64,
    /// Closed loop, groups: at most this many group messages outstanding.
    pub group_backlog: u64,
    /// Concurrent REST requests of the closed loop.
    pub rest_concurrency: usize,
    /// Seconds before a measurement window opens.
    pub warmup: Duration,
    /// Length of a throughput window.
    pub window: Duration,
    /// Length of an open-loop latency run.
    pub latency: Duration,
    /// How long a drain may take before the phase is reported as not drained.
    pub drain_timeout: Duration,
}

/// Everything a phase needs.
pub struct Bench {
    /// Tunables.
    pub t: Tunables,
    /// HTTP client (REST and control API).
    pub http: reqwest::Client,
    /// pushgate's base URL.
    pub base: String,
    /// The tenant's API key.
    pub key: String,
    /// The simulator's control API.
    pub sim: SimClient,
    /// Pushes the simulator saw.
    pub watch: PushWatch,
    /// pushgate's memory.
    pub rss: RssWatch,
    /// Queue depths.
    pub depths: DepthWatch,
    /// Connection to the run's database, for statistics.
    pub pg: Mutex<sqlx::PgConnection>,
    /// The run's database.
    pub db_name: String,
    /// The run's AMQP prefix.
    pub prefix: String,
    /// Publisher to the ingest exchange.
    pub ingest: Publisher,
    /// pushgate's pid.
    pub pushgate_pid: u32,
    /// The simulator's pid.
    pub sim_pid: u32,
    /// Clock ticks per second of `/proc` CPU times.
    pub tick_hz: f64,
    /// Next message sequence number (unique in the run).
    pub seq: AtomicU64,
}

/// Counters at one instant.
struct Snapshot {
    at: Instant,
    pushes: u64,
    cpu: CpuSample,
    pg: PgSample,
    metrics: BTreeMap<String, f64>,
}

/// What a measurement window used.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Seconds.
    pub secs: f64,
    /// Pushes the simulator received.
    pub pushes: u64,
    /// CPU per process group, in cores (1.0 = one core busy all the time).
    pub cpu: BTreeMap<&'static str, f64>,
    /// Share of the whole machine's CPU that was busy (0..1).
    pub machine_busy: f64,
    /// PostgreSQL commits.
    pub commits: i64,
    /// PostgreSQL rollbacks.
    pub rollbacks: i64,
    /// Rows read (fetched + returned).
    pub rows_read: i64,
    /// WAL records.
    pub wal_records: i64,
    /// WAL bytes.
    pub wal_bytes: i64,
    /// WAL flushes.
    pub wal_syncs: i64,
    /// Per table: (inserted, updated).
    pub tables: BTreeMap<String, (i64, i64)>,
    /// Changes of pushgate's metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Ready messages per queue: (mean, max).
    pub depths: BTreeMap<String, (f64, u32)>,
    /// `rabbitmqctl list_queues` at the end of the window.
    pub rabbit: Vec<(String, String, String, String)>,
    /// Peak RSS of pushgate in the window, KiB.
    pub rss_peak_kib: u64,
}

/// A sustained-throughput result.
#[derive(Debug, Clone)]
pub struct Sustained {
    /// The load.
    pub load: Load,
    /// Deliveries per second reaching the simulator in the window.
    pub rate: f64,
    /// Messages published (or REST requests accepted) per second in the window.
    pub messages_rate: f64,
    /// Requests that failed (REST non-2xx, unconfirmed publishes).
    pub errors: u64,
    /// Seconds the backlog took to drain after the load stopped (`None`: not drained).
    pub drain_secs: Option<f64>,
    /// Resources used in the window.
    pub usage: Usage,
    /// REST only: accept latency of the POSTs (p50, p99 ms).
    pub rest_accept_ms: Option<(f64, f64)>,
}

/// An open-loop latency result.
#[derive(Debug, Clone)]
pub struct Latency {
    /// The load.
    pub load: Load,
    /// The rate asked for (messages/s).
    pub target_rate: f64,
    /// The rate achieved by the publisher.
    pub published_rate: f64,
    /// Messages published.
    pub published: u64,
    /// Of those, matched to an accepted request in the simulator's log.
    pub matched: u64,
    /// Messages pushed more than once.
    pub duplicates: u64,
    /// Publish → simulator acceptance: p50, p90, p99, max (ms).
    pub ms: (f64, f64, f64, f64),
    /// Resources used while publishing.
    pub usage: Usage,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Bench {
    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// A 1:1 ingest message (with `app` for AMQP, without for REST).
    pub fn one_to_one(&self, seq: u64, with_app: bool) -> Vec<u8> {
        let user = format!("u{}", seq % self.t.devices);
        let mut body = json!({
            "id": format!("m{seq}"),
            "to": {"users": [user]},
            "notification": {"title": "Alice", "body": "are you coming?"},
            "data": {"conv": "42", "bench": format!("{MARKER}{seq}-")},
        });
        if with_app {
            body["app"] = json!(APP);
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// A group ingest message to the first `group_size` users.
    fn group(&self, seq: u64) -> Vec<u8> {
        let users: Vec<String> = (0..self.t.group_size).map(|i| format!("u{i}")).collect();
        let body = json!({
            "id": format!("g{seq}"),
            "app": APP,
            "to": {"users": users},
            "notification": {"title": "Team", "body": "meeting moved to 3pm"},
            "data": {"conv": "team-1", "bench": format!("{MARKER}{seq}-")},
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    async fn post(&self, body: Vec<u8>) -> Result<()> {
        let resp = self
            .http
            .post(format!("{}/v1/apps/{APP}/notifications", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .context("POST notification")?;
        let status = resp.status();
        if status.as_u16() != 202 {
            let text = resp.text().await.unwrap_or_default();
            bail!("POST notification: {status} {text}");
        }
        Ok(())
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        let pushes = self.sim.pushes().await?;
        let cpu = cpu_sample(self.pushgate_pid, self.sim_pid, &self.db_name);
        let pg = {
            let mut conn = self.pg.lock().await;
            pg_sample(&mut conn, &self.db_name).await?
        };
        let metrics = metrics_sample(&self.http, &self.base)
            .await
            .unwrap_or_default();
        Ok(Snapshot {
            at: Instant::now(),
            pushes,
            cpu,
            pg,
            metrics,
        })
    }

    fn usage(&self, a: &Snapshot, b: &Snapshot) -> Usage {
        let secs = b.at.duration_since(a.at).as_secs_f64();
        let mut cpu: BTreeMap<&'static str, f64> = b
            .cpu
            .ticks
            .iter()
            .map(|(k, v)| {
                let before = a.cpu.ticks.get(k).copied().unwrap_or(0);
                (*k, v.saturating_sub(before) as f64 / self.tick_hz / secs)
            })
            .collect();
        let machine_total = b.cpu.machine_total.saturating_sub(a.cpu.machine_total);
        let machine_busy = if machine_total == 0 {
            0.0
        } else {
            b.cpu.machine_busy.saturating_sub(a.cpu.machine_busy) as f64 / machine_total as f64
        };
        let ours: f64 = cpu.values().sum();
        cpu.insert(
            "other",
            (machine_busy * f64::from(b.cpu.cpus) - ours).max(0.0),
        );
        let tables =
            b.pg.tables
                .iter()
                .map(|(t, (i, u))| {
                    let (i0, u0) = a.pg.tables.get(t).copied().unwrap_or((0, 0));
                    (t.clone(), (i - i0, u - u0))
                })
                .collect();
        let metrics = b
            .metrics
            .iter()
            .filter_map(|(k, v)| {
                let d = v - a.metrics.get(k).copied().unwrap_or(0.0);
                (d != 0.0).then(|| (k.clone(), d))
            })
            .collect();
        Usage {
            secs,
            pushes: b.pushes.saturating_sub(a.pushes),
            cpu,
            machine_busy,
            commits: b.pg.commits - a.pg.commits,
            rollbacks: b.pg.rollbacks - a.pg.rollbacks,
            rows_read: b.pg.rows_read - a.pg.rows_read,
            wal_records: b.pg.wal_records - a.pg.wal_records,
            wal_bytes: b.pg.wal_bytes - a.pg.wal_bytes,
            wal_syncs: b.pg.wal_syncs - a.pg.wal_syncs,
            tables,
            metrics,
            depths: self.depths.take(),
            rabbit: Vec::new(),
            rss_peak_kib: self.rss.take_peak(),
        }
    }

    /// Waits until the simulator has seen `target` pushes; answers the seconds it took.
    async fn drain(&self, target: u64) -> Option<f64> {
        let started = Instant::now();
        self.watch
            .wait_for(target, self.t.drain_timeout)
            .await
            .then(|| started.elapsed().as_secs_f64())
    }

    /// Closed loop: publishes as fast as pushgate keeps up, with at most the backlog of
    /// deliveries outstanding; measures the deliveries reaching the simulator in a window
    /// after the warm-up, then stops and drains.
    pub async fn sustained(self: &Arc<Self>, load: Load) -> Result<Sustained> {
        let per = if load == Load::AmqpGroup {
            self.t.group_size
        } else {
            1
        };
        let backlog = if load == Load::AmqpGroup {
            self.t.group_backlog.max(1) * per
        } else {
            self.t.backlog.max(1)
        };
        let base = self.watch.total();
        let published = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_ms: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
        let drivers = if load == Load::Rest {
            self.t.rest_concurrency.max(1)
        } else {
            1
        };
        let mut tasks = Vec::new();
        for _ in 0..drivers {
            let (me, published, errors, stop, accept_ms) = (
                Arc::clone(self),
                Arc::clone(&published),
                Arc::clone(&errors),
                Arc::clone(&stop),
                Arc::clone(&accept_ms),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let seen = me.watch.total().saturating_sub(base);
                    let outstanding =
                        (published.load(Ordering::Relaxed) * per).saturating_sub(seen);
                    if outstanding + per > backlog {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                    let seq = me.next_seq();
                    published.fetch_add(1, Ordering::Relaxed);
                    match load {
                        Load::Amqp => me.ingest.publish(me.one_to_one(seq, true)).await?,
                        Load::AmqpGroup => me.ingest.publish(me.group(seq)).await?,
                        Load::Rest => {
                            let started = Instant::now();
                            match me.post(me.one_to_one(seq, false)).await {
                                Ok(()) => {
                                    if let Ok(mut v) = accept_ms.lock() {
                                        v.push(started.elapsed().as_secs_f64() * 1000.0);
                                    }
                                }
                                Err(e) => {
                                    // Not accepted: it will never be delivered.
                                    published.fetch_sub(1, Ordering::Relaxed);
                                    if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                        eprintln!("  first REST error: {e:#}");
                                    }
                                }
                            }
                        }
                    }
                }
                Ok::<_, anyhow::Error>(())
            }));
        }
        tokio::time::sleep(self.t.warmup).await;
        let s0 = self.snapshot().await?;
        let p0 = published.load(Ordering::Relaxed);
        if let Ok(mut v) = accept_ms.lock() {
            v.clear();
        }
        self.rss.take_peak();
        self.depths.take();
        tokio::time::sleep(self.t.window).await;
        let s1 = self.snapshot().await?;
        let p1 = published.load(Ordering::Relaxed);
        let mut usage = self.usage(&s0, &s1);
        let prefix = self.prefix.clone();
        usage.rabbit = tokio::task::spawn_blocking(move || rabbit_queues(&prefix))
            .await
            .unwrap_or_default();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.context("a load task panicked")??;
        }
        if load != Load::Rest {
            self.ingest.flush().await?;
        }
        let total = published.load(Ordering::Relaxed) * per;
        let drain_secs = self.drain(base + total).await;
        let rest_accept_ms = (load == Load::Rest).then(|| {
            let mut v = accept_ms.lock().map(|v| v.clone()).unwrap_or_default();
            v.sort_by(f64::total_cmp);
            (quantile(&v, 0.5), quantile(&v, 0.99))
        });
        Ok(Sustained {
            load,
            rate: usage.pushes as f64 / usage.secs,
            messages_rate: (p1 - p0) as f64 / usage.secs,
            errors: errors.load(Ordering::Relaxed),
            drain_secs,
            usage,
            rest_accept_ms,
        })
    }

    /// Open loop: publishes 1:1 messages at `rate` per second for the latency duration and
    /// measures each message's time from publish to acceptance by the simulator.
    pub async fn latency(self: &Arc<Self>, load: Load, rate: f64) -> Result<Latency> {
        let rate = rate.max(1.0);
        let log_start = self.sim.last_seq().await?;
        let base = self.watch.total();
        let count = (rate * self.t.latency.as_secs_f64()).round().max(1.0) as u64;
        let mut sent: HashMap<u64, f64> = HashMap::with_capacity(count as usize);
        let in_flight = Arc::new(Semaphore::new(512));
        let failed = Arc::new(AtomicU64::new(0));
        let s0 = self.snapshot().await?;
        self.rss.take_peak();
        self.depths.take();
        let start = tokio::time::Instant::now();
        for i in 0..count {
            tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
            let seq = self.next_seq();
            sent.insert(seq, now_ms());
            match load {
                Load::Rest => {
                    let permit = Arc::clone(&in_flight)
                        .acquire_owned()
                        .await
                        .context("semaphore closed")?;
                    let (me, failed) = (Arc::clone(self), Arc::clone(&failed));
                    tokio::spawn(async move {
                        if let Err(e) = me.post(me.one_to_one(seq, false)).await
                            && failed.fetch_add(1, Ordering::Relaxed) == 0
                        {
                            eprintln!("  first REST error: {e:#}");
                        }
                        drop(permit);
                    });
                }
                _ => self.ingest.publish(self.one_to_one(seq, true)).await?,
            }
        }
        let published_secs = start.elapsed().as_secs_f64();
        match load {
            Load::Rest => drop(in_flight.acquire_many(512).await.context("semaphore")?),
            _ => self.ingest.flush().await?,
        }
        let s1 = self.snapshot().await?;
        let mut usage = self.usage(&s0, &s1);
        let accepted = count - failed.load(Ordering::Relaxed);
        if self.drain(base + accepted).await.is_none() {
            eprintln!("  latency run did not drain within the timeout");
        }
        usage.rabbit = Vec::new();
        let records = self.sim.requests_since(log_start).await?;
        let mut latencies = Vec::with_capacity(count as usize);
        let mut seen: HashMap<u64, u32> = HashMap::new();
        for r in records
            .iter()
            .filter(|r| r.response.status == 200 && !r.dry_run)
        {
            let Some(seq) = marker(&r.body) else { continue };
            let Some(at) = sent.get(&seq) else { continue };
            let n = seen.entry(seq).or_default();
            *n += 1;
            if *n == 1 {
                latencies.push((r.at_ms as f64 - at).max(0.0));
            }
        }
        latencies.sort_by(f64::total_cmp);
        Ok(Latency {
            load,
            target_rate: rate,
            published_rate: count as f64 / published_secs,
            published: count,
            matched: latencies.len() as u64,
            duplicates: seen.values().filter(|n| **n > 1).count() as u64,
            ms: (
                quantile(&latencies, 0.5),
                quantile(&latencies, 0.9),
                quantile(&latencies, 0.99),
                latencies.last().copied().unwrap_or(f64::NAN),
            ),
            usage,
        })
    }

    /// Sends one 1:1 message to an FCM user and one to an APNs user and waits for both
    /// pushes: the configuration works before any load starts.
    pub async fn smoke(&self) -> Result<()> {
        let base = self.watch.total();
        for user in 0..2 {
            let seq = self.t.devices * 1_000_000 + user;
            let mut body: serde_json::Value = serde_json::from_slice(&self.one_to_one(seq, true))?;
            body["to"] = json!({"users": [format!("u{user}")]});
            self.ingest.publish(serde_json::to_vec(&body)?).await?;
        }
        self.ingest.flush().await?;
        if !self.watch.wait_for(base + 2, Duration::from_secs(30)).await {
            bail!("the smoke test's two notifications did not reach the simulator within 30 s");
        }
        Ok(())
    }
}

/// The sequence number marked in a pushed body.
fn marker(body: &str) -> Option<u64> {
    let start = body.find(MARKER)? + MARKER.len();
    let len = body[start..].find('-')?;
    body[start..start + len].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_both_vendors_bodies() {
        let fcm = r#"{"message":{"token":"t","data":{"bench":"bqm-1234-","conv":"42"}}}"#;
        let apns = r#"{"aps":{"alert":{"title":"Alice"}},"bench":"bqm-99-"}"#;
        assert_eq!(marker(fcm), Some(1234));
        assert_eq!(marker(apns), Some(99));
        assert_eq!(marker("{}"), None);
    }
}
