//! Typed, layered configuration: built-in defaults, then a TOML file (`--config`), then
//! `PUSHGATE_…` environment variables, then command-line flags; each layer overrides the
//! one before. Everything is checked at start-up so a bad value fails there, naming the key,
//! never at the first request.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use push_core::Secret;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Prefix of the environment variables read as configuration.
pub const ENV_PREFIX: &str = "PUSHGATE_";

/// The whole configuration of one pushgate process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP/WebSocket listener. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Directory for the embedded database and the generated master key / admin token.
    /// Default `./data`.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://…` for a SQLite file. Default: SQLite at
    /// `<data_dir>/pushgate.db`.
    pub database_url: Option<String>,
    /// `amqp://…` of the RabbitMQ cluster; unset = the embedded queue. Used by the pipeline.
    pub amqp_url: Option<String>,
    /// Prefix of every AMQP exchange and queue name. Default `pushgate`.
    pub amqp_prefix: String,
    /// The operator token for `/v1/tenants` (at least 16 characters). Required with
    /// PostgreSQL; the embedded default generates one into `<data_dir>/admin.token`.
    pub admin_token: Option<Secret>,
    /// The master key(s) sealing credentials: base64 of 32 bytes; several separated by
    /// commas, the first current. Required (this or `master_key_file`) with PostgreSQL.
    pub master_key: Option<Secret>,
    /// A file holding the master key(s), as `master_key`.
    pub master_key_file: Option<PathBuf>,
    /// `pretty` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// Log filter when `RUST_LOG` is unset, e.g. `info` or `pushgate=debug,info`. Default `info`.
    pub log_level: String,
    /// Largest accepted HTTP request body in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest accepted ingest message in bytes of JSON. Default 64 KiB.
    pub max_message_bytes: usize,
    /// Seconds a graceful shutdown waits for in-flight work. Default 30.
    pub shutdown_grace_seconds: u64,
    /// The delivery pipeline's limits (`[pipeline]`).
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// The online core (`[online]`): WebSocket heartbeats, buffers, grace windows.
    #[serde(default)]
    pub online: pushgate_online::OnlineConfig,
    /// Vendor endpoints and adapter settings (`[vendors.<vendor>]`); defaults are the
    /// vendors' real production hosts.
    #[serde(default, skip_serializing)]
    pub vendors: crate::adapters::VendorsConfig,
}

/// Limits of the delivery pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Messages each consumer (ingest, each vendor) holds unacked at once. Default 64.
    pub prefetch: u16,
    /// Ingest messages handled together at most (one round of store work and one vendor
    /// job per vendor for the whole batch). The ingest consumer holds at least twice this
    /// many unacked. Default 128.
    pub ingest_batch: u16,
    /// Milliseconds an ingest batch that is not full waits for more messages while they come
    /// as a stream (0: never; a lone message never waits). Default 10.
    pub ingest_linger_ms: u64,
    /// Attempts per delivery before it fails (the first send included). Default 8.
    pub max_attempts: u32,
    /// First retry delay in milliseconds (doubles each attempt, with jitter). Default 1000.
    pub retry_base_ms: u64,
    /// Longest retry delay in seconds. Default 600.
    pub retry_max_seconds: u64,
    /// Longest a vendor call may take before it counts as a retryable failure. Default 30.
    pub send_timeout_seconds: u64,
    /// Vendor calls in flight per app and vendor (the bulkhead). Default 32.
    pub max_in_flight_per_app: usize,
    /// Deliveries per second per app and vendor; unset = unlimited.
    pub rate_per_second_per_app: Option<f64>,
    /// Seconds an app's jobs for a vendor are parked after its credential was refused even
    /// after a refresh (the circuit breaker). Default 30.
    pub auth_failure_pause_seconds: u64,
    /// Embedded queue only: seconds a consumer holds a message before another may take it,
    /// which is how long the work of a crashed process waits. Default 60.
    pub embedded_lease_seconds: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            prefetch: 64,
            ingest_batch: crate::pipeline::DEFAULT_INGEST_BATCH,
            ingest_linger_ms: crate::pipeline::DEFAULT_INGEST_LINGER.as_millis() as u64,
            max_attempts: 8,
            retry_base_ms: 1000,
            retry_max_seconds: 600,
            send_timeout_seconds: 30,
            max_in_flight_per_app: 32,
            rate_per_second_per_app: None,
            auth_failure_pause_seconds: 30,
            embedded_lease_seconds: 60,
        }
    }
}

impl PipelineConfig {
    /// The vendor workers' policies these settings describe.
    pub fn worker_limits(&self) -> crate::pipeline::worker::WorkerLimits {
        use std::time::Duration;
        crate::pipeline::worker::WorkerLimits {
            retry: push_core::adapter::RetryPolicy {
                base: Duration::from_millis(self.retry_base_ms),
                max_delay: Duration::from_secs(self.retry_max_seconds),
                max_attempts: self.max_attempts,
            },
            guard: push_core::adapter::GuardConfig {
                timeout: Duration::from_secs(self.send_timeout_seconds),
                max_in_flight: self.max_in_flight_per_app,
                rate_per_second: self.rate_per_second_per_app,
                burst: 10,
            },
            admission_wait: Duration::from_millis(250),
            park_when_saturated: Duration::from_secs(1),
            park_after_auth_failure: Duration::from_secs(self.auth_failure_pause_seconds),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable, multi-line.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            amqp_url: None,
            amqp_prefix: "pushgate".to_string(),
            admin_token: None,
            master_key: None,
            master_key_file: None,
            log_format: LogFormat::Pretty,
            log_level: "info".to_string(),
            max_body_bytes: 1024 * 1024,
            max_message_bytes: push_core::validation::DEFAULT_MAX_MESSAGE_BYTES,
            shutdown_grace_seconds: 30,
            pipeline: PipelineConfig::default(),
            online: pushgate_online::OnlineConfig::default(),
            vendors: crate::adapters::VendorsConfig::default(),
        }
    }
}

/// Values given as command-line flags; `None` leaves the lower layers in force. Global: they
/// go before or after the subcommand (`pushgate serve --listen …`, `pushgate --listen …`).
#[derive(Debug, Clone, Default, Serialize, clap::Args)]
pub struct ConfigFlags {
    /// Listen address, e.g. 0.0.0.0:8080 [env: PUSHGATE_LISTEN]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Data directory of the embedded defaults [env: PUSHGATE_DATA_DIR]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… or sqlite://… [env: PUSHGATE_DATABASE_URL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// amqp://… of RabbitMQ [env: PUSHGATE_AMQP_URL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amqp_url: Option<String>,
    /// Log format [env: PUSHGATE_LOG_FORMAT]
    #[arg(long, value_enum, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// Log filter when RUST_LOG is unset [env: PUSHGATE_LOG_LEVEL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// The top-level keys; environment variables outside them (`PUSHGATE_TEST_…`) are ignored.
const KEYS: [&str; 16] = [
    "listen",
    "data_dir",
    "database_url",
    "amqp_url",
    "amqp_prefix",
    "admin_token",
    "master_key",
    "master_key_file",
    "log_format",
    "log_level",
    "max_body_bytes",
    "max_message_bytes",
    "shutdown_grace_seconds",
    "pipeline",
    "online",
    "vendors",
];

/// Keys whose environment values are taken verbatim, never parsed as numbers or booleans.
const RAW_KEYS: [&str; 2] = ["admin_token", "master_key"];

fn is_raw_key(key: &str) -> bool {
    RAW_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

impl Config {
    /// Loads and checks the layered configuration.
    pub fn load(file: Option<&Path>, flags: &ConfigFlags) -> Result<Config, ConfigError> {
        Self::from_figment(Self::figment(file, flags))
    }

    /// The layers, for tests that want to add their own.
    pub fn figment(file: Option<&Path>, flags: &ConfigFlags) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            KEYS.iter().any(|k| k.eq_ignore_ascii_case(top)) && !is_raw_key(top)
        }));
        // Figment parses environment values ("0123" → 123); secrets must stay exactly as given.
        for key in RAW_KEYS {
            let var = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
            if let Ok(value) = std::env::var(var) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        figment.merge(Serialized::defaults(flags))
    }

    /// Extracts and checks a configuration from prepared layers.
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        config.check()?;
        Ok(config)
    }

    /// The database URL in force: the configured one or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("pushgate.db").display()),
        }
    }

    /// Whether this runs on the embedded defaults (SQLite), where pushgate may generate
    /// its own master key and admin token.
    pub fn is_embedded(&self) -> bool {
        self.effective_database_url().starts_with("sqlite:")
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: &str| Err(ConfigError(format!("{key}: {problem}")));
        if let Some(url) = &self.database_url
            && !["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return bad(
                "database_url",
                "must start with postgres://, postgresql:// or sqlite:",
            );
        }
        if let Some(url) = &self.amqp_url
            && !(url.starts_with("amqp://") || url.starts_with("amqps://"))
        {
            return bad("amqp_url", "must start with amqp:// or amqps://");
        }
        if self.amqp_prefix.is_empty()
            || !self
                .amqp_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad("amqp_prefix", "must be letters, digits, - _ or .");
        }
        if let Some(token) = &self.admin_token
            && token.expose().chars().count() < 16
        {
            return bad("admin_token", "must be at least 16 characters");
        }
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return bad("master_key", "give master_key or master_key_file, not both");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes", "must be at least 1024");
        }
        if self.max_message_bytes < 1024 || self.max_message_bytes > self.max_body_bytes {
            return bad(
                "max_message_bytes",
                "must be at least 1024 and at most max_body_bytes",
            );
        }
        let p = &self.pipeline;
        if p.prefetch == 0 {
            return bad("pipeline.prefetch", "must be at least 1");
        }
        if p.ingest_batch == 0 {
            return bad("pipeline.ingest_batch", "must be at least 1");
        }
        if p.ingest_linger_ms > 1_000 {
            return bad("pipeline.ingest_linger_ms", "must be at most 1000");
        }
        if p.max_attempts == 0 {
            return bad("pipeline.max_attempts", "must be at least 1");
        }
        if p.send_timeout_seconds == 0 {
            return bad("pipeline.send_timeout_seconds", "must be at least 1");
        }
        if p.embedded_lease_seconds == 0 {
            return bad("pipeline.embedded_lease_seconds", "must be at least 1");
        }
        if p.max_in_flight_per_app == 0 {
            return bad("pipeline.max_in_flight_per_app", "must be at least 1");
        }
        if p.rate_per_second_per_app
            .is_some_and(|r| !(r > 0.0 && r.is_finite()))
        {
            return bad(
                "pipeline.rate_per_second_per_app",
                "must be a positive number",
            );
        }
        if let Some((key, problem)) = self.online.problem() {
            return bad(&format!("online.{key}"), problem);
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return bad(
                "log_level",
                "is not a valid filter (e.g. info, pushgate=debug)",
            );
        }
        if !self.is_embedded() && self.admin_token.is_none() {
            return bad(
                "admin_token",
                "is required with PostgreSQL (it is generated only for the embedded SQLite default)",
            );
        }
        Ok(())
    }
}

/// Figment's errors name the key and the source (file / environment variable); keep that,
/// and never print a value (it may be a secret).
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                "<root>".to_string()
            } else {
                e.path.join(".")
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key}: {}{source}", kind_text(&e.kind))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn kind_text(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", actual_type(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!("invalid {}, expected {expected}", actual_type(actual))
        }
        Kind::InvalidLength(len, expected) => format!("invalid length {len}, expected {expected}"),
        Kind::UnknownVariant(_, expected) => format!("unknown value, expected one of {expected:?}"),
        Kind::UnknownField(field, _) => format!("unknown key `{field}`"),
        Kind::MissingField(field) => format!("missing key `{field}`"),
        Kind::DuplicateField(field) => format!("duplicate key `{field}`"),
        // Parse errors of the file come as messages whose later lines quote the file, which
        // may hold secrets: keep the first line (what and where) only.
        Kind::Message(m) => m.lines().next().unwrap_or("invalid value").to_string(),
        other => other.to_string(),
    }
}

/// The kind of a wrong value without the value itself, which may be a secret.
fn actual_type(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "nothing",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another type",
    }
}

#[cfg(test)]
mod tests;
