//! CPU accounting from `/proc` (Linux): CPU time of this process and of the sim child, and
//! how busy the whole machine was, so each run can say what one request cost each side and
//! whether something else (another build) was competing for the cores. Elsewhere every
//! figure reads as absent.

use std::time::Instant;

/// `/proc/stat` counts in `USER_HZ` ticks, which Linux fixes at 100 per second.
const NS_PER_TICK: u64 = 10_000_000;

/// CPU time (ns) of every thread of `pid` (`self` for this process), from each thread's
/// `schedstat`. Threads that exited are not counted; the runtimes' workers live throughout.
fn process_cpu_ns(pid: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        // A thread may exit between the listing and the read: skip it.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Busy CPU time (ns) of the whole machine, all cores.
fn machine_busy_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let idle = ticks.get(3)? + ticks.get(4)?;
    let all: u64 = ticks.iter().take(8).sum();
    Some((all - idle) * NS_PER_TICK)
}

/// A point in time, to subtract from a later one.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    at: Instant,
    client_ns: Option<u64>,
    sim_ns: Option<u64>,
    machine_ns: Option<u64>,
}

/// What happened between two samples (or several such intervals, added up).
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// CPU time of the benchmark process (clients; plus the sim when it runs in-process).
    pub client_ns: Option<u64>,
    /// CPU time of the sim child process.
    pub sim_ns: Option<u64>,
    /// CPU time other processes used.
    others_ns: Option<u64>,
    /// Wall time × cores: all the CPU time there was.
    capacity_ns: u64,
}

impl Usage {
    /// Adds another interval's usage.
    pub fn add(&mut self, other: Usage) {
        if self.capacity_ns == 0 {
            *self = other;
            return;
        }
        let sum = |a: Option<u64>, b: Option<u64>| Some(a? + b?);
        self.client_ns = sum(self.client_ns, other.client_ns);
        self.sim_ns = sum(self.sim_ns, other.sim_ns);
        self.others_ns = sum(self.others_ns, other.others_ns);
        self.capacity_ns += other.capacity_ns;
    }

    /// Share of the machine's cores used by other processes (0..1).
    pub fn others(&self) -> Option<f64> {
        let others = self.others_ns? as f64;
        (self.capacity_ns > 0).then(|| (others / self.capacity_ns as f64).clamp(0.0, 1.0))
    }
}

impl Sample {
    /// Now; `sim_pid` is the sim child's, if it runs in one.
    pub fn take(sim_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            client_ns: process_cpu_ns("self"),
            sim_ns: sim_pid.and_then(|pid| process_cpu_ns(&pid.to_string())),
            machine_ns: machine_busy_ns(),
        }
    }

    /// The usage from `self` to `later`.
    pub fn until(&self, later: &Sample) -> Usage {
        let delta = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?));
        let client_ns = delta(self.client_ns, later.client_ns);
        let sim_ns = delta(self.sim_ns, later.sim_ns);
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
        let wall_ns = u64::try_from(later.at.duration_since(self.at).as_nanos()).unwrap_or(0);
        let others_ns = delta(self.machine_ns, later.machine_ns)
            .map(|busy| busy.saturating_sub(client_ns.unwrap_or(0) + sim_ns.unwrap_or(0)));
        Usage {
            client_ns,
            sim_ns,
            others_ns,
            capacity_ns: wall_ns * cores,
        }
    }
}
