//! The online core's tables (migrations `0005_online.sql`), reached through the same sqlx
//! `Any` pool as the rest of pushgate, so one SQL text serves PostgreSQL and SQLite.
//!
//! [`messages`] stores a message once and allocates each recipient's sequence number;
//! [`inbox`] pulls and acks; [`groups`], [`presence`] and [`client_keys`] hold the rest.

pub mod client_keys;
pub mod groups;
pub mod inbox;
pub mod messages;
pub mod presence;

use push_core::StoreError;
use sqlx::{Any, AnyPool, Transaction};

/// Which SQL database the pool talks to (they lock differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// The online core's storage. Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct OnlineStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl OnlineStore {
    /// A store over an already migrated pool.
    pub fn new(pool: AnyPool, dialect: Dialect) -> Self {
        Self { pool, dialect }
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a write transaction; on SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing to upgrade.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let statement = match self.dialect {
            Dialect::Postgres => "BEGIN",
            Dialect::Sqlite => "BEGIN IMMEDIATE",
        };
        self.pool
            .begin_with(statement)
            .await
            .map_err(|e| db_error(e, "beginning a transaction"))
    }
}

/// Maps a sqlx error met while working on `what`. Messages name the work, never a value.
pub(crate) fn db_error(e: sqlx::Error, what: &str) -> StoreError {
    use sqlx::error::ErrorKind;
    match e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => StoreError::Conflict(format!("{what} already exists")),
            ErrorKind::ForeignKeyViolation => {
                StoreError::NotFound(format!("{what} refers to something that does not exist"))
            }
            _ => StoreError::Unavailable(format!("{what}: database error: {}", db.message())),
        },
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(format!("{what}: a stored value is unreadable"))
        }
        other => StoreError::Unavailable(format!("{what}: {other}")),
    }
}

/// Whether an error is a lost race worth retrying the whole transaction for (a PostgreSQL
/// deadlock or serialization failure; SQLite busy).
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("40P01") | Some("40001") | Some("5") | Some("517")
        ),
        _ => false,
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `($1, $2, …), (…)`: `rows` groups of `width` numbered placeholders, numbered from
/// `first`.
pub(crate) fn placeholders(rows: usize, width: usize, first: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(first + r * width + c).to_string());
        }
        out.push(')');
    }
    out
}

/// `$first, $first+1, …` (`count` of them), for `IN (…)` lists.
pub(crate) fn list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod testing {
    //! SQLite databases with the online tables (and a stand-in `apps` table).

    use super::{Dialect, OnlineStore};
    use sqlx::any::AnyPoolOptions;

    const SCHEMA: &str = include_str!("../../../migrations/sqlite/0005_online.sql");

    /// The online schema on a private in-memory SQLite database (one connection).
    pub async fn sqlite() -> OnlineStore {
        open("sqlite::memory:", 1).await
    }

    /// The online schema in a SQLite file with `connections` pooled connections, for
    /// concurrency tests.
    pub async fn sqlite_file(path: &std::path::Path, connections: u32) -> OnlineStore {
        open(
            &format!("sqlite://{}?mode=rwc", path.display()),
            connections,
        )
        .await
    }

    async fn open(url: &str, connections: u32) -> OnlineStore {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect(url)
            .await
            .unwrap();
        let setup = format!(
            "CREATE TABLE apps (id TEXT NOT NULL PRIMARY KEY); INSERT INTO apps VALUES ('chat'); {SCHEMA}"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
            .execute(&pool)
            .await
            .unwrap();
        OnlineStore::new(pool, Dialect::Sqlite)
    }
}

#[cfg(test)]
mod store_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(super::placeholders(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::list(3, 2), "$2, $3, $4");
    }
}
