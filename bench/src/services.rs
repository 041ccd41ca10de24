//! The processes and resources a run sets up and tears down: the simulator and pushgate as
//! child processes (killed on drop), a fresh PostgreSQL database, and the RabbitMQ queues and
//! exchanges of the run's prefix.

use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process that is killed (SIGKILL) and reaped when dropped, so an error or a panic
/// anywhere in the run never leaves it behind.
pub struct ChildProc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ChildProc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the tail of its log when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("checking a child process")? {
            bail!(
                "{} exited with {status}; its log ({}) ends with:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 40)
            );
        }
        Ok(())
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a file (for error messages).
pub fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The simulator, running as its own process on ephemeral loopback ports.
pub struct SimProc {
    /// The process.
    pub proc: ChildProc,
    /// FCM base URL.
    pub fcm_url: String,
    /// FCM OAuth2 token URL.
    pub fcm_token_url: String,
    /// APNs production URL.
    pub apns_production_url: String,
    /// APNs sandbox URL.
    pub apns_sandbox_url: String,
    /// Control API URL.
    pub control_url: String,
    /// The CA file clients must trust.
    pub ca_file: String,
}

/// Starts `push-sim --preload-dev --fcm-device-per-minute 0` (no per-device limit) on
/// ephemeral ports and reads its URLs from stdout.
pub fn start_sim(bin: &Path, log: &Path) -> Result<SimProc> {
    let log_file = std::fs::File::create(log).context("creating the simulator's log file")?;
    let mut child = Command::new(bin)
        .args([
            "--preload-dev",
            "--fcm-port",
            "0",
            "--apns-production-port",
            "0",
            "--apns-sandbox-port",
            "0",
            "--control-port",
            "0",
            // The load sends thousands of messages a minute to each of a few hundred FCM
            // tokens (group messages to the first users of the pool); FCM's 240/min
            // per-device limit would turn it into 429s.
            "--fcm-device-per-minute",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it: cargo build --release -p push-sim)",
                bin.display()
            )
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the simulator's stdout is not piped"))?;
    let proc = ChildProc {
        name: "push-sim",
        child,
        log: log.to_path_buf(),
    };
    // A thread reads stdout for as long as the process lives, so the pipe never fills.
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut sim = SimProc {
        proc,
        fcm_url: String::new(),
        fcm_token_url: String::new(),
        apns_production_url: String::new(),
        apns_sandbox_url: String::new(),
        control_url: String::new(),
        ca_file: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.ca_file.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(_) => {
                sim.proc.check_alive()?;
                bail!("push-sim printed no URLs within 30 s");
            }
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["APNs", "production", url, ..] => sim.apns_production_url = (*url).to_string(),
            ["APNs", "sandbox", url, ..] => sim.apns_sandbox_url = (*url).to_string(),
            ["FCM", url, "(token:", token] => {
                sim.fcm_url = (*url).to_string();
                sim.fcm_token_url = token.trim_end_matches(')').to_string();
            }
            ["control", url] => sim.control_url = (*url).to_string(),
            ["trust", path] => sim.ca_file = (*path).to_string(),
            _ => {}
        }
    }
    if sim.fcm_url.is_empty() || sim.apns_production_url.is_empty() || sim.control_url.is_empty() {
        bail!("push-sim's output did not name every URL");
    }
    Ok(sim)
}

/// What pushgate is started with.
pub struct PushgateSpec<'a> {
    /// The binary.
    pub bin: &'a Path,
    /// Its data directory and log file live here.
    pub dir: &'a Path,
    /// HTTP port.
    pub port: u16,
    /// PostgreSQL URL of the run's database.
    pub database_url: &'a str,
    /// RabbitMQ URL.
    pub amqp_url: &'a str,
    /// The run's AMQP prefix.
    pub prefix: &'a str,
    /// Operator token.
    pub admin_token: &'a str,
    /// Master key (base64 of 32 bytes).
    pub master_key: &'a str,
    /// The simulator to point the vendors at.
    pub sim: &'a SimProc,
    /// Extra `KEY=VALUE` environment (e.g. `PUSHGATE_PIPELINE__PREFETCH=256`).
    pub extra_env: &'a [(String, String)],
}

/// Starts pushgate with a clean environment configured by `PUSHGATE_*` variables and waits
/// until `/healthz` answers.
pub async fn start_pushgate(spec: &PushgateSpec<'_>, http: &reqwest::Client) -> Result<ChildProc> {
    let log = spec.dir.join("pushgate.log");
    let log_file = std::fs::File::create(&log).context("creating pushgate's log file")?;
    let sim = spec.sim;
    let mut cmd = Command::new(spec.bin);
    cmd.current_dir(spec.dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PUSHGATE_LISTEN", format!("127.0.0.1:{}", spec.port))
        .env("PUSHGATE_DATA_DIR", spec.dir.join("data"))
        .env("PUSHGATE_DATABASE_URL", spec.database_url)
        .env("PUSHGATE_AMQP_URL", spec.amqp_url)
        .env("PUSHGATE_AMQP_PREFIX", spec.prefix)
        .env("PUSHGATE_ADMIN_TOKEN", spec.admin_token)
        .env("PUSHGATE_MASTER_KEY", spec.master_key)
        .env("PUSHGATE_LOG_LEVEL", "warn")
        .env("PUSHGATE_VENDORS__FCM__BASE_URL", &sim.fcm_url)
        .env("PUSHGATE_VENDORS__FCM__AUTH_URL", &sim.fcm_token_url)
        .env("PUSHGATE_VENDORS__FCM__CA_FILE", &sim.ca_file)
        .env("PUSHGATE_VENDORS__APNS__BASE_URL", &sim.apns_production_url)
        .env("PUSHGATE_VENDORS__APNS__SANDBOX_URL", &sim.apns_sandbox_url)
        .env("PUSHGATE_VENDORS__APNS__CA_FILE", &sim.ca_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    for (k, v) in spec.extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().with_context(|| {
        format!(
            "starting {} (build it: cargo build --release -p pushgate)",
            spec.bin.display()
        )
    })?;
    let mut proc = ChildProc {
        name: "pushgate",
        child,
        log,
    };
    let url = format!("http://127.0.0.1:{}/healthz", spec.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        proc.check_alive()?;
        if let Ok(resp) = http.get(&url).send().await
            && resp.status().is_success()
        {
            return Ok(proc);
        }
        if Instant::now() > deadline {
            bail!("pushgate did not answer {url} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free local port")?;
    Ok(listener
        .local_addr()
        .context("finding a free local port")?
        .port())
}

/// A fresh PostgreSQL database on the server of `server_url` (a URL ending in a database
/// name, e.g. `…/postgres`). Answers its URL and name.
pub async fn create_database(server_url: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("pushgate_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .with_context(|| format!("PostgreSQL is unreachable at {}", scrub(server_url)))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database")?;
    let _ = conn.close().await;
    // Keep the query (e.g. `?sslmode=disable`) for pushgate's URL.
    let (path, query) = match server_url.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let (server, _) = path
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("the database URL has no database part"))?;
    Ok((format!("{server}/{name}{query}"), name))
}

/// Drops a database made by [`create_database`].
pub async fn drop_database(server_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .with_context(|| format!("PostgreSQL is unreachable at {}", scrub(server_url)))?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .with_context(|| format!("dropping database {name}"))?;
    let _ = conn.close().await;
    Ok(())
}

/// Deletes every queue whose name starts with `prefix.` (found with `rabbitmqctl
/// list_queues`) and the prefix's two exchanges.
pub async fn delete_rabbit_prefix(amqp_url: &str, prefix: &str) -> Result<()> {
    let out = Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name"])
        .output();
    let mut queues: Vec<String> = match out {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|n| n.starts_with(&format!("{prefix}.")))
            .map(str::to_string)
            .collect(),
        Err(_) => Vec::new(),
    };
    // Known names, in case rabbitmqctl is unavailable.
    for q in [
        "ingest",
        "dead",
        "vendor.apns",
        "vendor.fcm",
        "bench-ceiling",
    ] {
        let name = format!("{prefix}.{q}");
        if !queues.contains(&name) {
            queues.push(name);
        }
    }
    let conn = lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
        .await
        .context("connecting to RabbitMQ for cleanup")?;
    for name in &queues {
        // A missing queue closes the channel: one channel per deletion.
        let channel = conn.create_channel().await.context("opening a channel")?;
        let _ = channel
            .queue_delete(
                name.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
    }
    for exchange in ["ingest", "receipts"] {
        let channel = conn.create_channel().await.context("opening a channel")?;
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

/// `url` without its password.
pub fn scrub(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A command's first line of output, or "unknown".
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string())
}
