//! The markdown report: headline figures, the goals, and where the time went.

use crate::amqp::Ceiling;
use crate::load::{Latency, Load, Sustained, Usage};
use crate::probe::label;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Everything a run measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Facts about the machine and the run.
    pub facts: Vec<(String, String)>,
    /// Broker ceilings.
    pub ceilings: Vec<Ceiling>,
    /// Sustained phases.
    pub sustained: Vec<Sustained>,
    /// Latency phases.
    pub latency: Vec<Latency>,
    /// pushgate's VmHWM at the end (KiB).
    pub hwm_kib: Option<u64>,
    /// The simulator's VmHWM at the end (KiB).
    pub sim_hwm_kib: Option<u64>,
}

fn load_name(load: Load) -> &'static str {
    match load {
        Load::Amqp => "1:1 over AMQP",
        Load::AmqpGroup => "group (1 → N) over AMQP",
        Load::Rest => "1:1 over REST",
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Results {
    fn ceiling(&self) -> Option<f64> {
        self.ceilings.iter().map(|c| c.rate).reduce(f64::max)
    }

    fn sustained_of(&self, load: Load) -> Option<&Sustained> {
        self.sustained.iter().find(|s| s.load == load)
    }

    fn latency_of(&self, load: Load) -> Option<&Latency> {
        self.latency.iter().find(|l| l.load == load)
    }

    /// The whole report.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| fact | value |\n|---|---|");
        for (k, v) in &self.facts {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out.push('\n');
        self.headline(&mut out);
        out.push('\n');
        self.goals(&mut out);
        out.push('\n');
        self.where_time_goes(&mut out);
        out
    }

    fn headline(&self, out: &mut String) {
        let _ = writeln!(out, "| measurement | result |\n|---|---|");
        for c in &self.ceilings {
            let _ = writeln!(
                out,
                "| broker ceiling: quorum queue, publish with confirms + consume with {} | **{:.0} msg/s** ({} messages; RabbitMQ {:.0} µs CPU per message, client {:.0} µs; {:.2} cores busy) |",
                c.acks, c.rate, c.messages, c.broker_us, c.client_us, c.machine_cores
            );
        }
        for s in &self.sustained {
            let accepted = if s.load == Load::AmqpGroup {
                format!("{:.1} group messages", s.messages_rate)
            } else {
                format!("{:.0}", s.messages_rate)
            };
            let mut extra = format!(
                "{accepted} accepted/s; drain after stop: {}",
                s.drain_secs
                    .map_or("not drained".to_string(), |d| format!("{d:.1} s"))
            );
            if let Some((p50, p99)) = s.rest_accept_ms {
                let _ = write!(extra, "; POST answered p50 {p50:.1} ms, p99 {p99:.1} ms");
            }
            if s.errors > 0 {
                let _ = write!(extra, "; {} errors", s.errors);
            }
            let _ = writeln!(
                out,
                "| {}, sustained (closed loop) | **{:.0} deliveries/s** ({extra}) |",
                load_name(s.load),
                s.rate
            );
        }
        for l in &self.latency {
            let _ = writeln!(
                out,
                "| {}, publish → simulator at {:.0}/s (achieved {:.0}/s, {} of {} matched{}) | **p50 {:.1} ms, p99 {:.1} ms** (p90 {:.1}, max {:.1}) |",
                load_name(l.load),
                l.target_rate,
                l.published_rate,
                l.matched,
                l.published,
                if l.duplicates > 0 {
                    format!(", {} pushed twice", l.duplicates)
                } else {
                    String::new()
                },
                l.ms.0,
                l.ms.2,
                l.ms.1,
                l.ms.3
            );
        }
        if let Some(hwm) = self.hwm_kib {
            let phases: Vec<String> = self
                .sustained
                .iter()
                .map(|s| format!("{} {:.0}", load_name(s.load), mib(s.usage.rss_peak_kib)))
                .collect();
            let _ = writeln!(
                out,
                "| pushgate peak RSS (VmHWM at the end) | **{:.1} MiB** (window peaks, MiB: {}) |",
                mib(hwm),
                phases.join(", ")
            );
        }
        if let Some(hwm) = self.sim_hwm_kib {
            let _ = writeln!(
                out,
                "| push-sim peak RSS (its request log keeps the last 100,000 requests) | {:.0} MiB |",
                mib(hwm)
            );
        }
    }

    fn goals(&self, out: &mut String) {
        let _ = writeln!(out, "| goal | target | measured | met |\n|---|---|---|---|");
        let ceiling = self.ceiling();
        let yes = |ok: bool| if ok { "yes" } else { "**no**" };
        if let (Some(c), Some(s)) = (ceiling, self.sustained_of(Load::Amqp)) {
            let ratio = s.rate / c;
            let _ = writeln!(
                out,
                "| 1:1 throughput vs broker ceiling | ≥ 0.6× ({:.0}/s) | {:.0}/s = {ratio:.2}× | {} |",
                0.6 * c,
                s.rate,
                yes(ratio >= 0.6)
            );
        }
        if let (Some(c), Some(s)) = (ceiling, self.sustained_of(Load::AmqpGroup)) {
            let ratio = s.rate / c;
            let _ = writeln!(
                out,
                "| group fan-out vs broker ceiling | ≥ 5× ({:.0}/s) | {:.0}/s = {ratio:.2}× | {} |",
                5.0 * c,
                s.rate,
                yes(ratio >= 5.0)
            );
        }
        if let Some(l) = self.latency_of(Load::Amqp) {
            let complete = l.matched == l.published;
            let _ = writeln!(
                out,
                "| p99 publish → vendor at half the sustained rate | < 50 ms | {:.1} ms{} | {} |",
                l.ms.2,
                if complete {
                    ""
                } else {
                    " (not every message matched)"
                },
                yes(l.ms.2 < 50.0 && complete)
            );
        }
        if let Some(hwm) = self.hwm_kib {
            let _ = writeln!(
                out,
                "| pushgate RSS | < 150 MiB | {:.1} MiB | {} |",
                mib(hwm),
                yes(mib(hwm) < 150.0)
            );
        }
    }

    fn where_time_goes(&self, out: &mut String) {
        let mut phases: Vec<(String, f64, &Usage)> = Vec::new();
        for s in &self.sustained {
            phases.push((
                format!("{} (sustained)", load_name(s.load)),
                s.rate,
                &s.usage,
            ));
        }
        for l in &self.latency {
            let rate = if l.usage.secs > 0.0 {
                l.usage.pushes as f64 / l.usage.secs
            } else {
                0.0
            };
            phases.push((
                format!(
                    "{} at {:.0}/s (latency run)",
                    load_name(l.load),
                    l.target_rate
                ),
                rate,
                &l.usage,
            ));
        }
        if phases.is_empty() {
            return;
        }
        let header: Vec<&str> = phases.iter().map(|p| p.0.as_str()).collect();
        let _ = writeln!(
            out,
            "| per delivery, in the window | {} |",
            header.join(" | ")
        );
        let _ = writeln!(out, "|---|{}", "---|".repeat(phases.len()));
        let row = |out: &mut String, name: &str, f: &dyn Fn(f64, &Usage) -> String| {
            let cells: Vec<String> = phases.iter().map(|(_, rate, u)| f(*rate, u)).collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        };
        row(out, "deliveries/s", &|r, _| format!("{r:.0}"));
        row(out, "machine CPU busy (2 cores = 100%)", &|_, u| {
            format!("{:.0}%", u.machine_busy * 100.0)
        });
        for proc in [
            "pushgate", "rabbitmq", "postgres", "push-sim", "bench", "other",
        ] {
            row(
                out,
                &if proc == "other" {
                    "processes outside the run: cores busy / CPU µs per delivery".to_string()
                } else {
                    format!("{proc}: cores busy / CPU µs per delivery")
                },
                &|_, u| {
                    let cores = u.cpu.get(proc).copied().unwrap_or(0.0);
                    let per = if u.pushes > 0 {
                        cores * u.secs * 1e6 / u.pushes as f64
                    } else {
                        f64::NAN
                    };
                    format!("{cores:.2} / {per:.0}")
                },
            );
        }
        let per = |v: f64, u: &Usage| {
            if u.pushes > 0 {
                format!("{:.2}", v / u.pushes as f64)
            } else {
                "–".to_string()
            }
        };
        row(out, "PostgreSQL commits", &|_, u| per(u.commits as f64, u));
        row(out, "PostgreSQL rollbacks", &|_, u| {
            per(u.rollbacks as f64, u)
        });
        row(out, "PostgreSQL WAL flushes (cluster)", &|_, u| {
            per(u.wal_syncs as f64, u)
        });
        row(out, "PostgreSQL WAL records (cluster)", &|_, u| {
            per(u.wal_records as f64, u)
        });
        row(out, "PostgreSQL WAL bytes (cluster)", &|_, u| {
            per(u.wal_bytes as f64, u)
        });
        row(out, "PostgreSQL rows read", &|_, u| {
            per(u.rows_read as f64, u)
        });
        let mut tables: Vec<String> = phases
            .iter()
            .flat_map(|(_, _, u)| u.tables.keys().cloned())
            .collect();
        tables.sort();
        tables.dedup();
        for t in tables {
            let any = phases
                .iter()
                .any(|(_, _, u)| u.tables.get(&t).is_some_and(|(i, up)| *i != 0 || *up != 0));
            if !any {
                continue;
            }
            row(out, &format!("rows inserted / updated: `{t}`"), &|_, u| {
                let (i, up) = u.tables.get(&t).copied().unwrap_or((0, 0));
                format!("{} / {}", per(i as f64, u), per(up as f64, u))
            });
        }
        let mut queues: Vec<String> = phases
            .iter()
            .flat_map(|(_, _, u)| u.depths.keys().cloned())
            .collect();
        queues.sort();
        queues.dedup();
        for q in queues {
            let short = q.split_once('.').map_or(q.as_str(), |(_, s)| s).to_string();
            row(out, &format!("ready in `{short}`: mean / max"), &|_, u| {
                u.depths
                    .get(&q)
                    .map_or("–".to_string(), |(m, x)| format!("{m:.0} / {x}"))
            });
        }
        row(out, "unacked at window end (rabbitmqctl)", &|_, u| {
            let parts: Vec<String> = u
                .rabbit
                .iter()
                .filter(|(_, ready, unacked, _)| ready != "0" || unacked != "0")
                .map(|(name, ready, unacked, _)| {
                    let short = name.split_once('.').map_or(name.as_str(), |(_, s)| s);
                    format!("{short}: {ready} ready, {unacked} unacked")
                })
                .collect();
            if parts.is_empty() {
                "–".to_string()
            } else {
                parts.join("; ")
            }
        });
        row(
            out,
            "vendor call, mean ms (`pushgate_vendor_send_seconds`)",
            &|_, u| mean_by(&u.metrics, "pushgate_vendor_send_seconds", "vendor", 1000.0),
        );
        row(
            out,
            "queue lag, mean ms (`pushgate_queue_lag_seconds`)",
            &|_, u| mean_by(&u.metrics, "pushgate_queue_lag_seconds", "queue", 1000.0),
        );
        row(
            out,
            "jobs parked (`pushgate_jobs_parked_total`)",
            &|_, u| {
                let n: f64 = u
                    .metrics
                    .iter()
                    .filter(|(k, _)| k.starts_with("pushgate_jobs_parked_total"))
                    .map(|(_, v)| v)
                    .sum();
                format!("{:.0}", n.abs())
            },
        );
        row(out, "outcomes (`pushgate_deliveries_total`)", &|_, u| {
            let mut by: BTreeMap<String, f64> = BTreeMap::new();
            for (k, v) in &u.metrics {
                if k.starts_with("pushgate_deliveries_total")
                    && let Some(o) = label(k, "outcome")
                {
                    *by.entry(o.to_string()).or_default() += v;
                }
            }
            if by.is_empty() {
                "–".to_string()
            } else {
                by.iter()
                    .map(|(k, v)| format!("{k} {v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        });
    }
}

/// Mean of a histogram/summary per label value: `_sum / _count`, scaled.
fn mean_by(metrics: &BTreeMap<String, f64>, name: &str, by: &str, scale: f64) -> String {
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (k, v) in metrics {
        let key = label(k, by).unwrap_or("").to_string();
        if k.starts_with(&format!("{name}_sum")) {
            sums.entry(key).or_default().0 += v;
        } else if k.starts_with(&format!("{name}_count")) {
            sums.entry(key).or_default().1 += v;
        }
    }
    let parts: Vec<String> = sums
        .iter()
        .filter(|(_, (_, c))| *c > 0.0)
        .map(|(k, (s, c))| format!("{k} {:.1}", s / c * scale))
        .collect();
    if parts.is_empty() {
        "–".to_string()
    } else {
        parts.join(", ")
    }
}
