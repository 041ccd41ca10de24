//! Turning sqlx errors into [`StoreError`]s, grouped by what the caller should do.
//!
//! Messages name what was being done ("app chat-prod", "delivery …"), never a bound value,
//! so no secret material or key hash can leak through an error.

use push_core::{StoreError, StoreResult};
use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;
use std::future::Future;

/// How often a transaction that lost a race on a unique index is tried again.
const CONFLICT_RETRIES: usize = 5;

/// Maps a sqlx error met while working on `what`.
///
/// Unique violations become `Conflict`, foreign-key violations `NotFound` (a row refers to
/// something that does not exist), PostgreSQL data exceptions (SQLSTATE class 22: a value
/// the server cannot take, such as `\u0000` in text) `Refused`, undecodable rows `Corrupt`,
/// everything else `Unavailable`.
pub(super) fn db_error(e: sqlx::Error, what: &str) -> StoreError {
    match e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => StoreError::Conflict(format!("{what} already exists")),
            ErrorKind::ForeignKeyViolation => {
                StoreError::NotFound(format!("{what} refers to something that does not exist"))
            }
            ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                StoreError::Corrupt(format!("{what} breaks a database constraint"))
            }
            _ if db.code().is_some_and(|c| c.starts_with("22")) => {
                StoreError::Refused(format!("{what}: {}", db.message()))
            }
            _ => StoreError::Unavailable(format!("{what}: database error: {}", db.message())),
        },
        sqlx::Error::ColumnDecode { index, source } => {
            StoreError::Corrupt(format!("{what}: column {index} is unreadable: {source}"))
        }
        sqlx::Error::ColumnNotFound(column) => {
            StoreError::Corrupt(format!("{what}: column {column} is missing"))
        }
        sqlx::Error::Decode(source) => StoreError::Corrupt(format!("{what}: {source}")),
        sqlx::Error::TypeNotFound { type_name } => {
            StoreError::Corrupt(format!("{what}: unknown database type {type_name}"))
        }
        sqlx::Error::ColumnIndexOutOfBounds { index, len } => StoreError::Corrupt(format!(
            "{what}: column {index} is out of bounds (row has {len})"
        )),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(format!("{what}: no database connection available in time"))
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable(format!("{what}: the store is closed")),
        other => StoreError::Unavailable(format!("{what}: {other}")),
    }
}

/// Maps a migration failure.
pub(super) fn migrate_error(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            db_error(e, "applying migrations")
        }
        MigrateError::Source(e) => StoreError::Unavailable(format!("reading migrations: {e}")),
        // The database holds a schema this build does not know (missing, changed or
        // half-applied migrations).
        other => StoreError::Corrupt(format!("database schema: {other}")),
    }
}

/// A corrupt-row error for `column` of `what`.
pub(super) fn corrupt(what: &str, column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: column {column} is unreadable: {why}"))
}

/// Runs `op` again while it fails with `Conflict`, at most [`CONFLICT_RETRIES`] more times.
/// For transactions whose number or uniqueness check can lose a race with a concurrent
/// writer (PostgreSQL runs them at READ COMMITTED).
pub(super) async fn retry_on_conflict<T, F, Fut>(mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut retries = 0;
    loop {
        match op().await {
            Err(StoreError::Conflict(_)) if retries < CONFLICT_RETRIES => retries += 1,
            other => return other,
        }
    }
}

/// Rewords a `NotFound` from a foreign-key violation as "`parent` does not exist".
pub(super) fn missing_parent(e: StoreError, parent: &str) -> StoreError {
    match e {
        StoreError::NotFound(_) => StoreError::NotFound(format!("{parent} does not exist")),
        other => other,
    }
}
