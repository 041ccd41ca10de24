//! The embedded queue's SQL: every statement on `queue_messages`, written once for SQLite
//! and PostgreSQL through sqlx's `Any` driver. Only leasing differs (PostgreSQL adds
//! `FOR UPDATE SKIP LOCKED`), and [`lease`] is the one place that branches on the backend.
//!
//! Times are unix milliseconds. A row is ready when `available_at <= now`; leasing moves
//! `available_at` to the lease's end and stamps `lease_token`, so a lease that is neither
//! acked nor released simply runs out and the row is ready again (see the migration).

use crate::store::Backend;
use push_core::queue::{Envelope, QueueError};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::collections::BTreeMap;

const INSERT: &str = "INSERT INTO queue_messages \
     (queue, body, headers, available_at, lease_token, deliveries, created_at) \
     VALUES ($1, $2, $3, $4, NULL, 0, $5)";

/// Leases up to `$5` ready rows of queue `$3` (ready at `$4`) under token `$1` until `$2`.
const LEASE_SQLITE: &str = "UPDATE queue_messages \
     SET lease_token = $1, available_at = $2, deliveries = deliveries + 1 \
     WHERE id IN (SELECT id FROM queue_messages WHERE queue = $3 AND available_at <= $4 \
                  ORDER BY available_at, id LIMIT $5) \
     RETURNING id, body, headers, deliveries, available_at";
/// [`LEASE_SQLITE`] that skips rows another transaction is leasing right now.
const LEASE_POSTGRES: &str = "UPDATE queue_messages \
     SET lease_token = $1, available_at = $2, deliveries = deliveries + 1 \
     WHERE id IN (SELECT id FROM queue_messages WHERE queue = $3 AND available_at <= $4 \
                  ORDER BY available_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
     RETURNING id, body, headers, deliveries, available_at";

const RENEW: &str =
    "UPDATE queue_messages SET available_at = $1 WHERE id = $2 AND lease_token = $3";
const ACK: &str = "DELETE FROM queue_messages WHERE id = $1 AND lease_token = $2";
const RELEASE: &str = "UPDATE queue_messages SET available_at = $1, lease_token = NULL \
     WHERE id = $2 AND lease_token = $3";
const MOVE: &str = "UPDATE queue_messages \
     SET queue = $1, body = $2, headers = $3, available_at = $4, lease_token = NULL, \
         deliveries = 0 \
     WHERE id = $5 AND lease_token = $6";
const DEPTH: &str = "SELECT COUNT(*) FROM queue_messages WHERE queue = $1 AND available_at <= $2";
const NEXT_READY: &str = "SELECT MIN(available_at) FROM queue_messages WHERE queue = $1";

/// A row handed to a consumer.
#[derive(Debug, Clone)]
pub(super) struct LeasedRow {
    /// The row id.
    pub id: i64,
    /// The message.
    pub envelope: Envelope,
    /// Hand-outs so far, this one included.
    pub deliveries: i64,
    /// When this lease runs out (unix ms).
    pub leased_until: i64,
}

/// Database access for the embedded queue.
#[derive(Debug, Clone)]
pub(super) struct Rows {
    pool: AnyPool,
    backend: Backend,
}

impl Rows {
    /// Rows in `pool`, a database of kind `backend`.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    /// Whether the pool was closed (the store shut down): subscriptions then end.
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// Begins a write transaction; on SQLite it takes the write lock at once, so a leasing
    /// transaction never has to upgrade a read lock (which WAL mode may refuse).
    async fn begin(&self) -> Result<Transaction<'static, Any>, QueueError> {
        let statement = match self.backend {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
        };
        self.pool
            .begin_with(statement)
            .await
            .map_err(|e| db_error(e, "beginning a transaction"))
    }

    /// Inserts `messages` on `queue`, ready from `available_at`, in one transaction.
    pub async fn insert(
        &self,
        queue: &str,
        messages: &[Envelope],
        available_at: i64,
        now: i64,
    ) -> Result<(), QueueError> {
        let mut tx = self.begin().await?;
        for message in messages {
            let headers = headers_json(&message.headers)?;
            sqlx::query(INSERT)
                .bind(queue)
                .bind(message.body.clone())
                .bind(headers)
                .bind(available_at)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, "publishing"))?;
        }
        tx.commit().await.map_err(|e| db_error(e, "publishing"))
    }

    /// Leases up to `limit` ready rows of `queue` under `token` until `leased_until`, oldest
    /// first.
    pub async fn lease(
        &self,
        queue: &str,
        token: i64,
        now: i64,
        leased_until: i64,
        limit: i64,
    ) -> Result<Vec<LeasedRow>, QueueError> {
        let statement = match self.backend {
            Backend::Postgres => LEASE_POSTGRES,
            Backend::Sqlite => LEASE_SQLITE,
        };
        let mut tx = self.begin().await?;
        let rows = sqlx::query(statement)
            .bind(token)
            .bind(leased_until)
            .bind(queue)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error(e, "leasing messages"))?;
        tx.commit()
            .await
            .map_err(|e| db_error(e, "leasing messages"))?;
        let mut leased = Vec::with_capacity(rows.len());
        for row in rows {
            let read = |e| db_error(e, "reading a leased message");
            let headers: String = row.try_get("headers").map_err(read)?;
            leased.push(LeasedRow {
                id: row.try_get("id").map_err(read)?,
                envelope: Envelope {
                    body: row.try_get("body").map_err(read)?,
                    headers: parse_headers(&headers)?,
                },
                deliveries: row.try_get("deliveries").map_err(read)?,
                leased_until: row.try_get("available_at").map_err(read)?,
            });
        }
        leased.sort_by_key(|r| r.id);
        Ok(leased)
    }

    /// Extends a lease to `leased_until`; false when the row is no longer under `token`.
    pub async fn renew(&self, id: i64, token: i64, leased_until: i64) -> Result<bool, QueueError> {
        let done = sqlx::query(RENEW)
            .bind(leased_until)
            .bind(id)
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "renewing a lease"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the rows still under their tokens, in one transaction; returns how many of
    /// `rows` (id, token) were deleted.
    pub async fn delete(&self, rows: &[(i64, i64)]) -> Result<usize, QueueError> {
        let mut tx = self.begin().await?;
        let mut deleted = 0;
        for (id, token) in rows {
            let done = sqlx::query(ACK)
                .bind(*id)
                .bind(*token)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, "acking"))?;
            deleted += usize::from(done.rows_affected() == 1);
        }
        tx.commit().await.map_err(|e| db_error(e, "acking"))?;
        Ok(deleted)
    }

    /// Ends the lease of `id` (under `token`), making it ready at `now`; false when the row
    /// is no longer under `token`.
    pub async fn release(&self, id: i64, token: i64, now: i64) -> Result<bool, QueueError> {
        let done = sqlx::query(RELEASE)
            .bind(now)
            .bind(id)
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "releasing"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves row `id` (under `token`) to queue `to` as `envelope`, ready at `now`, in one
    /// statement; false when the row is no longer under `token`.
    pub async fn move_to(
        &self,
        id: i64,
        token: i64,
        to: &str,
        envelope: &Envelope,
        now: i64,
    ) -> Result<bool, QueueError> {
        let done = sqlx::query(MOVE)
            .bind(to)
            .bind(envelope.body.clone())
            .bind(headers_json(&envelope.headers)?)
            .bind(now)
            .bind(id)
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "dead-lettering"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Rows of `queue` ready at `now`.
    pub async fn depth(&self, queue: &str, now: i64) -> Result<u64, QueueError> {
        let count: i64 = sqlx::query_scalar(DEPTH)
            .bind(queue)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "counting messages"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// When the next row of `queue` becomes ready (unix ms; maybe already past), if any.
    pub async fn next_ready(&self, queue: &str) -> Result<Option<i64>, QueueError> {
        sqlx::query_scalar(NEXT_READY)
            .bind(queue)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "looking for the next message"))
    }
}

/// Headers as the JSON text stored in the `headers` column.
fn headers_json(headers: &BTreeMap<String, String>) -> Result<String, QueueError> {
    serde_json::to_string(headers)
        .map_err(|e| QueueError::Refused(format!("headers cannot be stored: {e}")))
}

/// Headers from the `headers` column.
fn parse_headers(text: &str) -> Result<BTreeMap<String, String>, QueueError> {
    serde_json::from_str(text).map_err(|e| {
        QueueError::Unavailable(format!("a stored message has unreadable headers: {e}"))
    })
}

/// Maps a database error met while `what`. Messages name the operation, never a value.
fn db_error(e: sqlx::Error, what: &str) -> QueueError {
    match e {
        sqlx::Error::PoolClosed => QueueError::Unavailable(format!("{what}: the store is closed")),
        sqlx::Error::PoolTimedOut => {
            QueueError::Unavailable(format!("{what}: no database connection available in time"))
        }
        sqlx::Error::Database(db) => {
            QueueError::Unavailable(format!("{what}: database error: {}", db.message()))
        }
        other => QueueError::Unavailable(format!("{what}: {other}")),
    }
}
