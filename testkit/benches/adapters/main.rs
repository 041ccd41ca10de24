//! Adapter throughput against push-sim on loopback: how many notifications per second the
//! APNs (token auth) and FCM adapters get through at 1, 64 and 512 concurrent sends, next to
//! the sim's own ceiling measured in the same run by a bare HTTP/2 client (reqwest) sending
//! the very bytes the adapter sent, so the adapter's overhead shows as a ratio. The goal is
//! at least 0.80 of the bare rate at 512 in flight. Results: `docs/benchmarks.md`.
//!
//! ```sh
//! cargo bench -p pushgate-testkit --bench adapters                     # sim in a child process
//! cargo bench -p pushgate-testkit --bench adapters -- --sim in-process # sim on our runtime
//! cargo bench -p pushgate-testkit --bench adapters -- --help           # levels, durations…
//! ```
//!
//! For each vendor and level, the bare client and the adapter each get a warm-up (1 s) and
//! a measured 5 s, taken in 5 alternating slices (bare, adapter, bare, …) so that load from
//! elsewhere on the machine hits both alike, with exactly `level` requests outstanding at
//! all times (one worker per request, back to back). The adapter is called through
//! `Adapter::send` with one target per call; the bare client posts the body the adapter's
//! probe send produced (read back from the sim's request log) over the same number of
//! HTTP/2 connections, with a provider / access token obtained once. Every answer must be
//! a success: failures are listed and make the run fail.
//!
//! Client, sim and anything else running share the machine's cores, so next to the rates
//! each cell reports the CPU time one request cost the benchmark process and the sim
//! process (from `/proc`, warm-up included), the TLS connections opened during the run, and
//! the share of the machine other processes used meanwhile (a busy machine makes the rates
//! meaningless; the CPU costs stay comparable).

mod apns;
mod cpu;
mod fcm;
mod load;
mod sim;
mod subject;

use anyhow::Context;
use clap::Parser;
use cpu::Usage;
use load::{Measured, Window};
use push_core::IngestMessage;
use push_sim::types::Vendor;
use sim::{Placement, RunningSim};
use std::sync::Arc;
use std::time::Duration;

/// Adapter throughput against push-sim (see docs/benchmarks.md).
#[derive(Debug, Parser)]
#[command(name = "adapters")]
struct Args {
    /// Where the sim runs: a child process (its own runtime) or this process's runtime.
    #[arg(long, value_enum, default_value_t = Placement::Process)]
    sim: Placement,
    /// Concurrent sends to measure at.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 64, 512])]
    levels: Vec<usize>,
    /// Vendors to measure.
    #[arg(long, value_delimiter = ',', default_values = ["apns", "fcm"])]
    vendors: Vec<String>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Warm-up seconds before each side's first slice (later slices: 0.2 s at most).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Bare and adapter take turns this many times per cell, `secs / slices` each.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    slices: u32,
    /// Worker threads of the benchmark's runtime (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// HTTP/2 connections of the APNs adapter (`connections_per_credential`) and of the
    /// bare APNs client.
    #[arg(long, default_value_t = 2)]
    apns_connections: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Internal: run as the sim child process.
    #[arg(long, hide = true)]
    serve_sim: bool,
}

/// One side (bare or adapter) of one cell.
#[derive(Default)]
struct Side {
    measured: Measured,
    usage: Usage,
    /// TLS connections the sim accepted during the run.
    new_connections: u64,
}

impl Side {
    /// Adds one slice, measured between two snapshots.
    fn absorb(&mut self, measured: Measured, from: &(cpu::Sample, u64), to: &(cpu::Sample, u64)) {
        self.measured.merge(measured);
        self.usage.add(from.0.until(&to.0));
        self.new_connections += to.1.saturating_sub(from.1);
    }

    /// CPU microseconds per request of the client process and of the sim.
    fn cost_us(&self) -> (Option<f64>, Option<f64>) {
        let per =
            |ns: Option<u64>| ns.map(|ns| ns as f64 / 1000.0 / self.measured.done.max(1) as f64);
        (per(self.usage.client_ns), per(self.usage.sim_ns))
    }
}

/// One row of the results.
struct Row {
    vendor: &'static str,
    level: usize,
    bare: Side,
    adapter: Side,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_sim {
        return sim::serve();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("building the runtime")?;
    runtime.block_on(run(args))
}

/// The message every send carries: a chat alert like pushgate's typical traffic.
fn chat_message() -> anyhow::Result<IngestMessage> {
    serde_json::from_value(serde_json::json!({
        "id": "bench-1",
        "app": "chat-prod",
        "to": {"devices": ["bench-device"]},
        "notification": {"title": "Alice", "body": "New message", "badge": 2},
        "data": {"conv": "conv-8841"},
        "options": {"priority": "high", "ttl": 86400, "collapse_key": "conv-8841"},
    }))
    .context("the benchmark's message")
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.levels.contains(&0) {
        anyhow::bail!("every level must be at least 1");
    }
    let warmup = Duration::try_from_secs_f64(args.warmup).context("--warmup")?;
    let measure = Duration::try_from_secs_f64(args.secs)
        .ok()
        .filter(|d| !d.is_zero())
        .context("--secs must be a positive number of seconds")?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "adapter benchmark: sim {:?}, {cores} cores, levels {:?}; per cell and side {:.1} s \
         warm-up, then {:.1} s measured in {} slices alternating with the other side",
        args.sim, args.levels, args.warmup, args.secs, args.slices
    );
    let sim = RunningSim::start(args.sim).await?;
    let workers = args.levels.iter().copied().max().unwrap_or(1);
    let mut rows = Vec::new();
    for vendor in &args.vendors {
        let (name, sim_vendor, (adapter, bare)) = match vendor.as_str() {
            "apns" => (
                "apns",
                Vendor::Apns,
                apns::setup(&sim, chat_message()?, workers, args.apns_connections).await?,
            ),
            "fcm" => (
                "fcm",
                Vendor::Fcm,
                fcm::setup(&sim, chat_message()?, workers).await?,
            ),
            other => anyhow::bail!("unknown vendor {other:?} (apns, fcm)"),
        };
        let bare = Arc::new(move |w| {
            let b = Arc::clone(&bare);
            async move { b.send(w).await }
        });
        let adapter = Arc::new(move |w| {
            let a = Arc::clone(&adapter);
            async move { a.send(w).await }
        });
        for &level in &args.levels {
            let plan = Plan {
                sim: &sim,
                vendor: sim_vendor,
                level,
                warmup,
                slice: measure / args.slices,
                slices: args.slices,
            };
            let (bare, adapter) = plan.run(&bare, &adapter).await?;
            report(name, "bare", level, &bare);
            report(name, "adapter", level, &adapter);
            rows.push(Row {
                vendor: name,
                level,
                bare,
                adapter,
            });
        }
    }
    sim.stop().await;
    print_table(&args, cores, &rows);
    let failed: u64 = rows
        .iter()
        .map(|r| r.bare.measured.failed() + r.adapter.measured.failed())
        .sum();
    if failed > 0 {
        anyhow::bail!("{failed} requests failed; the figures above are not valid");
    }
    Ok(())
}

/// How one cell is measured: bare and adapter take turns, `slices` times each, so a
/// change in background load hits both alike.
struct Plan<'a> {
    sim: &'a RunningSim,
    vendor: Vendor,
    level: usize,
    /// Before each side's first slice.
    warmup: Duration,
    /// Measured time of one slice.
    slice: Duration,
    slices: u32,
}

impl Plan<'_> {
    async fn run<B, BF, A, AF>(
        &self,
        bare: &Arc<B>,
        adapter: &Arc<A>,
    ) -> anyhow::Result<(Side, Side)>
    where
        B: Fn(usize) -> BF + Send + Sync + 'static,
        BF: std::future::Future<Output = Result<(), String>> + Send + 'static,
        A: Fn(usize) -> AF + Send + Sync + 'static,
        AF: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let mut sides = [Side::default(), Side::default()];
        for slice in 0..self.slices {
            // Later slices re-ramp only briefly: connections and tokens are warm.
            let warmup = if slice == 0 {
                self.warmup
            } else {
                self.warmup.min(Duration::from_millis(200))
            };
            let window = Window {
                warmup,
                measure: self.slice,
            };
            let before = self.snapshot().await?;
            let measured = load::drive(self.level, window, bare).await;
            let middle = self.snapshot().await?;
            sides[0].absorb(measured, &before, &middle);
            let measured = load::drive(self.level, window, adapter).await;
            let after = self.snapshot().await?;
            sides[1].absorb(measured, &middle, &after);
        }
        let [bare, adapter] = sides;
        Ok((bare, adapter))
    }

    async fn snapshot(&self) -> anyhow::Result<(cpu::Sample, u64)> {
        let connections = self.sim.counters().await?.vendor(self.vendor).connections;
        Ok((cpu::Sample::take(self.sim.pid()), connections))
    }
}

fn us(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.0}"))
}

fn report(vendor: &str, side: &str, level: usize, s: &Side) {
    let m = &s.measured;
    let (client, sim) = s.cost_us();
    println!(
        "{vendor:<4} {side:<7} {level:>4} in flight: {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  \
         cpu/req client {:>4} µs sim {:>4} µs  others {:>3.0}%  {} failed",
        m.rate(),
        m.latency_ms(0.5),
        m.latency_ms(0.99),
        us(client),
        us(sim),
        s.usage.others().unwrap_or(f64::NAN) * 100.0,
        m.failed()
    );
    for (reason, n) in &m.failures {
        println!("    {n} × {reason}");
    }
}

fn print_table(args: &Args, cores: usize, rows: &[Row]) {
    println!();
    println!(
        "sim: {:?}; {cores} cores shared by the sim and the clients; {:.0} s measured per side \
         and cell in {} alternating slices",
        args.sim, args.secs, args.slices
    );
    println!();
    println!(
        "| vendor | in flight | bare req/s | bare p50 / p99 ms | adapter sends/s | adapter p50 / p99 ms | adapter / bare |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (b, a) = (&r.bare.measured, &r.adapter.measured);
        println!(
            "| {} | {} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | **{:.2}** |",
            r.vendor,
            r.level,
            b.rate(),
            b.latency_ms(0.5),
            b.latency_ms(0.99),
            a.rate(),
            a.latency_ms(0.5),
            a.latency_ms(0.99),
            a.rate() / b.rate(),
        );
    }
    println!();
    let client = match args.sim {
        Placement::Process => "client",
        Placement::InProcess => "client + sim",
    };
    println!(
        "| vendor | in flight | {client} CPU µs/req bare / adapter | sim CPU µs/req bare / adapter | CPU cost bare / adapter | new conns bare / adapter | other load bare / adapter | failed |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    let pct = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{:.0}%", v * 100.0));
    for r in rows {
        let ((bc, bs), (ac, as_)) = (r.bare.cost_us(), r.adapter.cost_us());
        // What the ratio would be if the cores were all ours and the only limit.
        let total = |c: Option<f64>, s: Option<f64>| Some(c? + s.unwrap_or(0.0));
        let cost_ratio = total(bc, bs)
            .zip(total(ac, as_))
            .map_or_else(|| "–".to_string(), |(b, a)| format!("{:.2}", b / a));
        println!(
            "| {} | {} | {} / {} | {} / {} | {} | {} / {} | {} / {} | {} |",
            r.vendor,
            r.level,
            us(bc),
            us(ac),
            us(bs),
            us(as_),
            cost_ratio,
            r.bare.new_connections,
            r.adapter.new_connections,
            pct(r.bare.usage.others()),
            pct(r.adapter.usage.others()),
            r.bare.measured.failed() + r.adapter.measured.failed(),
        );
    }
}
