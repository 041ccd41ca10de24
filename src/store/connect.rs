//! Opening the pool: which backend a URL names, creating a SQLite file and its directory,
//! SQLite pragmas (WAL, foreign keys, busy timeout), and keeping passwords out of errors.

use super::Backend;
use crate::url_secrets::{percent_decode, redact, scrub};
use push_core::StoreError;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool};
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long connecting, or waiting for a pooled connection, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a SQLite writer waits for the write lock before failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// Connections of a PostgreSQL pool. The pipeline's handlers (prefetch 64 per queue) hold a
/// connection only for one statement or one short transaction, so a few more than sqlx's
/// default of 10 keep them from queueing for one without crowding the server.
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// Connections of the PostgreSQL pool for the statements with kept plans (the pipeline's
/// batch statements, the REST calls' key and app lookups): each holds a connection for one
/// short statement; two ingest batches and a vendor consumer's jobs are the most at once.
const POSTGRES_PIPELINE_CONNECTIONS: u32 = 8;

/// What a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A PostgreSQL server; the URL as given.
    Postgres(String),
    /// A SQLite file: the URL rebuilt around its absolute path, and whether it is read-only.
    SqliteFile { url: String, read_only: bool },
    /// A private in-memory SQLite database.
    SqliteMemory,
}

/// The pools of one store.
pub(super) struct Pools {
    /// Every statement but those with kept plans.
    pub(super) main: AnyPool,
    /// The statements with kept plans (see [`pipeline_session`]); the main pool again on
    /// SQLite, which plans every statement anew anyway.
    pub(super) pipeline: AnyPool,
    /// Which database the pools reach.
    pub(super) backend: Backend,
}

impl Pools {
    fn single(pool: AnyPool, backend: Backend) -> Self {
        Self {
            main: pool.clone(),
            pipeline: pool,
            backend,
        }
    }
}

/// Connects to `database_url`, checking that the database answers before returning.
pub(super) async fn open(database_url: &str) -> Result<Pools, StoreError> {
    sqlx::any::install_default_drivers();
    let shown = redact(database_url);
    let fail = |why: String| {
        StoreError::Unavailable(scrub(
            &format!("cannot open database {shown}: {why}"),
            database_url,
        ))
    };
    match parse(database_url).map_err(fail)? {
        Target::Postgres(url) => {
            // One direct connection first: a pool would retry an unreachable server until its
            // timeout and then report only that it timed out. On loopback without an explicit
            // sslmode, plaintext is tried first (see `loopback_without_tls`); a server that
            // refuses it gets the URL as given.
            let url = match loopback_without_tls(&url) {
                Some(plain) => match probe(&plain).await {
                    Ok(conn) => {
                        conn.close().await.ok();
                        tracing::debug!(
                            "PostgreSQL on loopback without an sslmode: not using TLS (sslmode=disable)"
                        );
                        plain
                    }
                    Err(why) => {
                        tracing::info!(error = %scrub(&why, &plain), "PostgreSQL refused a plaintext loopback connection; using the URL's default sslmode");
                        probe(&url).await.map_err(fail)?.close().await.ok();
                        url
                    }
                },
                None => {
                    probe(&url).await.map_err(fail)?.close().await.ok();
                    url
                }
            };
            // No ping before each acquire of a busy connection: sqlx already pings every
            // connection when it is returned to the pool. One that sat idle is pinged first
            // (`alive_after_idle`), so a server restart does not fail the next request of
            // every idle connection.
            let pool = postgres_pool(POSTGRES_MAX_CONNECTIONS)
                .after_connect(|conn, _| Box::pin(postgres_session(conn)))
                .connect(&url)
                .await
                .map_err(|e| fail(e.to_string()))?;
            // Lazy: a process that never runs the pipeline never opens these connections.
            let pipeline = postgres_pool(POSTGRES_PIPELINE_CONNECTIONS)
                .after_connect(|conn, _| Box::pin(pipeline_session(conn)))
                .connect_lazy(&url)
                .map_err(|e| fail(e.to_string()))?;
            Ok(Pools {
                main: pool,
                pipeline,
                backend: Backend::Postgres,
            })
        }
        Target::SqliteFile { url, read_only } => {
            let mut conn = probe(&url).await.map_err(fail)?;
            if !read_only {
                enable_wal(&mut conn).await.map_err(fail)?;
            }
            conn.close().await.ok();
            // A SQLite "connection" is a file handle: nothing to ping before use.
            let pool = AnyPoolOptions::new()
                .test_before_acquire(false)
                .acquire_timeout(CONNECT_TIMEOUT)
                .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
                .connect(&url)
                .await
                .map_err(|e| fail(e.to_string()))?;
            Ok(Pools::single(pool, Backend::Sqlite))
        }
        Target::SqliteMemory => {
            // Every new connection to `:memory:` would be a new, empty database, and the
            // database vanishes with its last connection: keep exactly one, forever.
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .acquire_timeout(CONNECT_TIMEOUT)
                .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
                .connect("sqlite::memory:")
                .await
                .map_err(|e| fail(e.to_string()))?;
            Ok(Pools::single(pool, Backend::Sqlite))
        }
    }
}

/// The options both PostgreSQL pools share, for at most `max` connections.
fn postgres_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(alive_after_idle(conn, meta)))
        .acquire_timeout(CONNECT_TIMEOUT)
}

/// How long a pooled PostgreSQL connection may sit idle before it is pinged on acquire.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Whether a pooled connection may be handed out: one idle for [`PING_AFTER_IDLE`] or more
/// must answer a ping (a restarted or failed-over server has closed it); `false` makes the
/// pool drop it and open another. Busy connections are not pinged, which keeps the round
/// trip off the hot path.
async fn alive_after_idle(
    conn: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for < PING_AFTER_IDLE {
        return Ok(true);
    }
    Ok(sqlx::Connection::ping(conn).await.is_ok())
}

/// Settings of the main pool's PostgreSQL connections.
///
/// `plan_cache_mode = force_custom_plan`: a prepared statement is planned at each run with
/// the tables' current size, never with a cached generic plan. A generic plan made while a
/// table was nearly empty (a fresh install) scans the table whole for as long as the
/// connection lives once the table has grown; the batch statements of the pipeline showed
/// it (every delivery of the app read per job). Prepared statements still save the parse
/// and the describe round trip.
async fn postgres_session(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("SET plan_cache_mode = force_custom_plan")
        .await
        .map(|_| ())
}

/// Settings of the pipeline pool's PostgreSQL connections, whose statements (the pipeline's
/// batch statements and the REST calls' key and app lookups, `batch::pipeline_statements`)
/// keep their plans: `plan_cache_mode` stays `auto` (a prepared statement gets a generic
/// plan after five runs) and `enable_seqscan = off`.
///
/// Planning anew at each run cost more than running the statement once batches got small
/// (at half the sustained rate the planner took ≈ 38% of PostgreSQL's CPU, foreign-key
/// checks included: they are prepared statements of the session too). A kept plan is safe
/// only if no table size makes it read a table whole, so every pipeline statement reads
/// by index probes alone (`rows_by_ids`, `LATERAL` joins, updates naming their rows with
/// `id = ANY (…)`), and the sequential scan, the one plan that is cheapest on a nearly
/// empty table, is ruled out. `postgres_pipeline_statements_keep_plans_that_only_probe`
/// (tests/store_conformance.rs) checks the generic plan of each statement.
async fn pipeline_session(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("SET enable_seqscan = off").await.map(|_| ())
}

/// `url` with `sslmode=disable` added, when it names a PostgreSQL server on this machine
/// (`localhost`, `127.0.0.0/8`, `::1`, or a Unix socket) and says nothing about TLS itself:
/// no `sslmode` / `ssl-mode` parameter and no `PGSSLMODE` in the environment.
///
/// sqlx's default (`prefer`) encrypts whenever the server offers TLS but checks no
/// certificate, so on loopback it guards against nothing a local root user could not read
/// anyway, and it cost a quarter of pushgate's CPU in the pipeline benchmark. Any explicit
/// setting wins, and a server that refuses plaintext is connected to as the URL says.
fn loopback_without_tls(url: &str) -> Option<String> {
    if std::env::var_os("PGSSLMODE").is_some() {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let mut host_param = None;
    for (key, value) in parsed.query_pairs() {
        let key = key.to_ascii_lowercase();
        if key == "sslmode" || key == "ssl-mode" {
            return None;
        }
        if key == "host" {
            host_param = Some(value.into_owned());
        }
    }
    let local = match host_param.as_deref() {
        Some(host) => host.starts_with('/') || is_loopback_host(host),
        None => match parsed.host() {
            None => true,
            Some(url::Host::Domain(name)) => name.is_empty() || is_loopback_host(name),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        },
    };
    if !local {
        return None;
    }
    let separator = if parsed.query().is_some() { '&' } else { '?' };
    Some(format!("{url}{separator}sslmode=disable"))
}

/// Whether a host name (not a URL) names this machine over loopback.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Opens one connection, with a deadline.
async fn probe(url: &str) -> Result<AnyConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} seconds",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// Switches a SQLite file to WAL mode (a lasting property of the file), once, before the
/// pool opens several connections that could race for the exclusive lock this needs.
async fn enable_wal(conn: &mut AnyConnection) -> Result<(), String> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("enabling WAL: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; concurrent readers will wait for writers");
    }
    Ok(())
}

/// Per-connection SQLite settings. sqlx already sets both by default; they are repeated
/// here because the store relies on them.
async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA foreign_keys = ON").await?;
    let busy = format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
    conn.execute(sqlx::AssertSqlSafe(busy)).await?;
    Ok(())
}

/// Works out what `url` names; for a SQLite file, creates its parent directory.
fn parse(url: &str) -> Result<Target, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_string()));
    }
    let Some(rest) = strip_prefix_ignore_case(url, "sqlite://")
        .or_else(|| strip_prefix_ignore_case(url, "sqlite:"))
    else {
        return Err("unsupported URL; expected postgres://, postgresql:// or sqlite:".to_string());
    };
    let (database, query) = match rest.split_once('?') {
        Some((database, query)) => (database, query),
        None => (rest, ""),
    };
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let mode = params.iter().find(|(k, _)| *k == "mode").map(|(_, v)| *v);
    if database == ":memory:" || mode == Some("memory") {
        return Ok(Target::SqliteMemory);
    }
    let read_only = mode == Some("ro");
    let path = PathBuf::from(percent_decode(database)?);
    let path = absolute_file(&path, !read_only)?;
    let mut query = query.to_string();
    if mode.is_none() {
        // Create the file when it does not exist.
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok(Target::SqliteFile {
        url: format!("sqlite://{}?{query}", percent_encode_path(&path)?),
        read_only,
    })
}

/// The absolute path of a SQLite file, creating its parent directory if `create` is set.
/// The parent is canonicalised, so the rebuilt URL has no `.`/`..` segments to normalise.
/// (Blocking file-system calls, made once at start-up.)
fn absolute_file(path: &Path, create: bool) -> Result<PathBuf, String> {
    let Some(name) = path.file_name() else {
        return Err("the SQLite URL names no file".to_string());
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if create {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating directory {}: {e}", parent.display()))?;
    }
    let parent = std::fs::canonicalize(parent)
        .map_err(|e| format!("directory {}: {e}", parent.display()))?;
    Ok(parent.join(name))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Percent-encodes a path for a `sqlite://` URL (sqlx decodes it again).
fn percent_encode_path(path: &Path) -> Result<String, String> {
    let Some(text) = path.to_str() else {
        return Err("the SQLite path is not valid UTF-8".to_string());
    };
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cr%40t@db.example:5432/push?sslmode=require"),
            "postgres://app:***@db.example:5432/push?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://db/push?user=app&password=hunter2"),
            "postgresql://db/push?user=app&password=***"
        );
        assert_eq!(redact("postgres://app@db/push"), "postgres://app@db/push");
        assert_eq!(redact("sqlite://data/push.db"), "sqlite://data/push.db");
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let url = "postgres://app:s3cr%40t@db/push?password=other";
        let message = "failed for s3cr%40t, s3cr@t and other";
        assert_eq!(scrub(message, url), "failed for ***, *** and ***");
    }

    #[test]
    fn percent_coding_round_trips() {
        let path = Path::new("/tmp/a dir/push#1?.db");
        let encoded = percent_encode_path(path).unwrap_or_default();
        assert_eq!(encoded, "/tmp/a%20dir/push%231%3F.db");
        assert_eq!(percent_decode(&encoded).ok().as_deref(), path.to_str());
    }

    #[test]
    fn loopback_urls_without_an_sslmode_skip_tls() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        let plain = |u: &str| loopback_without_tls(u);
        assert_eq!(
            plain("postgres://postgres@127.0.0.1:5432/db").as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/db?sslmode=disable")
        );
        assert_eq!(
            plain("postgres://u@localhost/db?application_name=x").as_deref(),
            Some("postgres://u@localhost/db?application_name=x&sslmode=disable")
        );
        assert!(plain("postgresql://u@[::1]:5432/db").is_some());
        assert!(plain("postgres:///db?host=/var/run/postgresql").is_some());
        // An explicit choice, or another machine, is left alone.
        assert_eq!(plain("postgres://u@127.0.0.1/db?sslmode=require"), None);
        assert_eq!(plain("postgres://u@127.0.0.1/db?ssl-mode=prefer"), None);
        assert_eq!(plain("postgres://u@db.internal:5432/db"), None);
        assert_eq!(plain("postgres://u@10.0.0.5/db"), None);
        assert_eq!(plain("postgres://u@db.internal/db?host=10.0.0.5"), None);
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            parse("postgresql://u@h/db"),
            Ok(Target::Postgres("postgresql://u@h/db".into()))
        );
        assert_eq!(parse("sqlite::memory:"), Ok(Target::SqliteMemory));
        assert_eq!(parse("sqlite://:memory:"), Ok(Target::SqliteMemory));
        assert!(parse("mysql://h/db").is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("new").join("push.db");
        let Ok(Target::SqliteFile { url, read_only }) =
            parse(&format!("sqlite:{}", file.display()))
        else {
            panic!("not a SQLite file target");
        };
        assert!(!read_only);
        assert!(
            url.starts_with("sqlite:///") && url.ends_with("/new/push.db?mode=rwc"),
            "{url}"
        );
        assert!(file.parent().unwrap().is_dir(), "parent directory created");
    }
}
