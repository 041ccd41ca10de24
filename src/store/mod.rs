//! SQL storage: one implementation of [`push_core::Store`] for PostgreSQL and SQLite.
//!
//! Both databases are reached through sqlx's `Any` driver, so every query is written once
//! and runs unchanged on both (`$1, $2…` placeholders, which sqlx-sqlite accepts too). To
//! stay within what `Any` can carry, the schema keeps ids (UUIDs) as TEXT, timestamps as
//! BIGINT unix milliseconds, JSON as TEXT and sealed secrets as bytes; there are no boolean
//! columns. The migrations live in `migrations/postgres` and `migrations/sqlite` and
//! describe the same tables and columns.
//!
//! Each area has its own file: [`tenants`] (tenants and API keys), [`apps`], [`devices`],
//! [`notifications`], [`deliveries`] (deliveries and their receipts), [`credentials`]
//! (upload), [`credential_versions`] (activation, deletion, fallback), [`credential_upkeep`]
//! (health, expiry warnings, rewrap batches) and [`credential_audit`];
//! `port` wires them into the [`push_core::Store`] trait.

mod apps;
mod auth_tokens;
mod batch;
mod callbacks;
mod connect;
mod credential_audit;
mod credential_upkeep;
mod credential_versions;
mod credentials;
mod deliveries;
mod devices;
mod error;
mod notifications;
mod port;
mod rows;
mod tenants;

pub use auth_tokens::SealedToken;
pub use batch::pipeline_statements;
use error::db_error;
use push_core::StoreError;
use sqlx::AnyPool;
use sqlx::migrate::Migrator;
use sqlx::{Any, Transaction};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (`postgres://` or `postgresql://` URLs), for production and scale-out.
    Postgres,
    /// SQLite (`sqlite:` URLs), the embedded default.
    Sqlite,
}

impl Backend {
    /// The backend's name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PostgreSQL schema, embedded at compile time.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
/// The SQLite schema, embedded at compile time.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// A connection pool to PostgreSQL or SQLite that implements [`push_core::Store`].
///
/// Cloning is cheap and shares the pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// The statements with kept plans run here (see `connect::Pools`).
    pipeline: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Connects to `database_url` without migrating.
    ///
    /// Accepted URLs: `postgres://…` / `postgresql://…`, `sqlite://path`, `sqlite:path` and
    /// `sqlite::memory:`. A SQLite file and its parent directory are created if missing; a
    /// SQLite file database runs in WAL mode with foreign keys on and a busy timeout. Errors
    /// never contain the password of the URL.
    pub async fn connect(database_url: &str) -> Result<SqlStore, StoreError> {
        let pools = connect::open(database_url).await?;
        Ok(SqlStore {
            pool: pools.main,
            pipeline: pools.pipeline,
            backend: pools.backend,
        })
    }

    /// Applies the embedded migrations of its backend that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(error::migrate_error)
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for components that keep their own tables in the same database
    /// (the embedded queue).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool of the statements with kept plans (see [`pipeline_statements`]); the main
    /// pool on SQLite.
    pub fn pipeline_pool(&self) -> &AnyPool {
        &self.pipeline
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pipeline.close().await;
        self.pool.close().await;
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing
    /// when a read transaction tries to upgrade.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.begin_on(&self.pool).await
    }

    /// [`SqlStore::begin`] on `pool` (the main or the pipeline pool).
    async fn begin_on(&self, pool: &AnyPool) -> Result<Transaction<'static, Any>, StoreError> {
        let statement = match self.backend {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
        };
        pool.begin_with(statement)
            .await
            .map_err(|e| db_error(e, "beginning a transaction"))
    }
}
