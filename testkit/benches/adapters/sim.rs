//! The simulator under load: started in this process (sharing the benchmark's runtime) or
//! as a child process (this same executable re-run with `--serve-sim`, with its own
//! runtime), and asked over its HTTP control API in both cases, so nothing else differs.

use anyhow::{Context, bail};
use push_sim::types::{Counters, RequestRecord, Vendor};
use push_sim::{Sim, SimConfig};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where the sim listens; the child prints this as one JSON line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    /// APNs production base URL.
    pub apns: String,
    /// FCM base URL.
    pub fcm: String,
    /// FCM's OAuth2 token endpoint.
    pub fcm_token: String,
    /// The control API.
    pub control: String,
    /// The CA clients trust.
    pub ca_pem: PathBuf,
}

/// How the sim runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Placement {
    /// A child process with its own tokio runtime (the reported figures).
    Process,
    /// Inside the benchmark's runtime: sim and clients share its worker threads.
    InProcess,
}

enum Runner {
    InProcess(Box<Sim>),
    Process(Child),
}

/// A running sim.
pub struct RunningSim {
    /// Its URLs.
    pub endpoints: Endpoints,
    runner: Runner,
    control: reqwest::Client,
}

fn config() -> SimConfig {
    SimConfig {
        preload_dev: true,
        // Every well-formed token is accepted: no registration needed, no errors expected.
        accept_unknown_tokens: true,
        // Each worker sends thousands of messages a minute to its one FCM token; FCM's
        // 240/min per-device limit would turn the load into 429s.
        fcm_device_per_minute: None,
        ..SimConfig::default()
    }
}

fn endpoints_of(sim: &Sim) -> Endpoints {
    Endpoints {
        apns: sim.apns_production_url(),
        fcm: sim.fcm_url(),
        fcm_token: sim.fcm_token_url(),
        control: sim.control_url(),
        ca_pem: sim.ca_pem_path(),
    }
}

/// The child's `main`: serves until its stdin closes (the parent exited or is done).
pub fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the sim's runtime")?;
    runtime.block_on(async {
        let sim = Sim::start(config()).await.context("starting push-sim")?;
        println!("{}", serde_json::to_string(&endpoints_of(&sim))?);
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .context("waiting for stdin to close")?;
        sim.shutdown().await;
        Ok(())
    })
}

impl RunningSim {
    /// Starts the sim where `placement` says.
    pub async fn start(placement: Placement) -> anyhow::Result<Self> {
        let (endpoints, runner) = match placement {
            Placement::InProcess => {
                let sim = Sim::start(config()).await.context("starting push-sim")?;
                (endpoints_of(&sim), Runner::InProcess(Box::new(sim)))
            }
            Placement::Process => {
                let exe = std::env::current_exe().context("finding this executable")?;
                let mut child = Command::new(exe)
                    .arg("--serve-sim")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .context("starting the sim process")?;
                let stdout = child.stdout.take().context("the sim's stdout")?;
                let line = tokio::task::spawn_blocking(move || {
                    let mut line = String::new();
                    BufReader::new(stdout).read_line(&mut line).map(|_| line)
                })
                .await
                .context("reading the sim's address line")?
                .context("reading the sim's address line")?;
                let endpoints: Endpoints = serde_json::from_str(&line)
                    .with_context(|| format!("the sim process printed {line:?}"))?;
                (endpoints, Runner::Process(child))
            }
        };
        Ok(Self {
            endpoints,
            runner,
            control: reqwest::Client::new(),
        })
    }

    /// The sim child's process id (`None` when it runs in this process).
    pub fn pid(&self) -> Option<u32> {
        match &self.runner {
            Runner::InProcess(_) => None,
            Runner::Process(child) => Some(child.id()),
        }
    }

    /// The sim's counters.
    pub async fn counters(&self) -> anyhow::Result<Counters> {
        let url = format!("{}/counters", self.endpoints.control);
        Ok(self.control.get(url).send().await?.json().await?)
    }

    /// The newest request the sim recorded for `token`.
    pub async fn last_request(&self, vendor: Vendor, token: &str) -> anyhow::Result<RequestRecord> {
        let vendor = vendor.as_str();
        let url = reqwest::Url::parse_with_params(
            &format!("{}/requests", self.endpoints.control),
            [("vendor", vendor), ("token", token), ("limit", "1")],
        )?;
        let records: Vec<RequestRecord> = self.control.get(url).send().await?.json().await?;
        match records.into_iter().last() {
            Some(record) => Ok(record),
            None => bail!("the sim recorded no {vendor} request for the probe token"),
        }
    }

    /// Stops the sim: the in-process one gracefully, the child by closing its stdin (and
    /// killing it if it has not exited 10 s later).
    pub async fn stop(self) {
        match self.runner {
            Runner::InProcess(sim) => sim.shutdown().await,
            Runner::Process(mut child) => {
                drop(child.stdin.take());
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while std::time::Instant::now() < deadline {
                    if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                eprintln!("the sim process did not stop in 10 s; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
