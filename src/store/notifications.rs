//! Notifications: the accepted ingest message, as JSON, keyed by (app, producer id). A
//! repeated id of the same app is not stored again, which is how replays are suppressed.

use super::SqlStore;
use super::error::{corrupt, db_error, missing_parent};
use super::rows::{millis, time_of, to_json};
use push_core::{IngestMessage, StoreResult, StoredNotification};
use sqlx::AssertSqlSafe;
use std::collections::{BTreeSet, HashSet};
use time::OffsetDateTime;

/// Notifications per multi-row insert (4 parameters each).
const NOTIFICATIONS_PER_STATEMENT: usize = 500;

/// PostgreSQL: inserts the notifications of a JSON array (`$1`) unless their (app, id)
/// exists; answers the (app, id) of those inserted. One text for any number of rows. A
/// pipeline statement (kept plan; see `connect::pipeline_session`).
pub(super) const PG_INSERT_NOTIFICATIONS: &str = "INSERT INTO notifications (app_id, id, message, accepted_at) \
     SELECT app_id, id, message, accepted_at FROM json_to_recordset($1::json) \
     AS x(app_id text, id text, message text, accepted_at bigint) \
     ON CONFLICT (app_id, id) DO NOTHING RETURNING app_id, id";

/// A row of [`PG_INSERT_NOTIFICATIONS`].
#[derive(serde::Serialize)]
struct NotificationRow<'a> {
    app_id: &'a str,
    id: &'a str,
    message: String,
    accepted_at: i64,
}

/// SQLite: the statement inserting `rows` notifications unless their (app, id) exists;
/// answers the (app, id) of those inserted (SQLite 3.35+ has `RETURNING`).
fn insert_notifications_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p = 1 + 4 * r;
            format!("(${}, ${}, ${}, ${})", p, p + 1, p + 2, p + 3)
        })
        .collect();
    format!(
        "INSERT INTO notifications (app_id, id, message, accepted_at) VALUES {} \
         ON CONFLICT (app_id, id) DO NOTHING RETURNING app_id, id",
        values.join(", ")
    )
}

const INSERT_NOTIFICATION: &str = "INSERT INTO notifications (app_id, id, message, accepted_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (app_id, id) DO NOTHING";
const GET_NOTIFICATION: &str =
    "SELECT message, accepted_at FROM notifications WHERE app_id = $1 AND id = $2";

impl SqlStore {
    pub(super) async fn insert_notification_impl(
        &self,
        message: &IngestMessage,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let what = format!("notification {} of app {}", message.id, message.app);
        let done = sqlx::query(INSERT_NOTIFICATION)
            .bind(&message.app)
            .bind(&message.id)
            .bind(to_json(message, &what)?)
            .bind(millis(now))
            .execute(&self.pool)
            .await
            .map_err(|e| missing_parent(db_error(e, &what), &format!("app {}", message.app)))?;
        Ok(done.rows_affected() == 1)
    }

    /// See [`push_core::Store::insert_notifications`]: one multi-row statement per chunk,
    /// all chunks in one transaction when there are several.
    pub(super) async fn insert_notifications_impl(
        &self,
        messages: &[&IngestMessage],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<bool>> {
        // A repeat within the call is never new; only first occurrences are written.
        let mut seen = HashSet::new();
        let firsts: Vec<&IngestMessage> = messages
            .iter()
            .copied()
            .filter(|m| seen.insert((m.app.as_str(), m.id.as_str())))
            .collect();
        if firsts.is_empty() {
            return Ok(Vec::new());
        }
        let apps: Vec<&str> = firsts
            .iter()
            .map(|m| m.app.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let what = format!(
            "{} notifications of app(s) {}",
            firsts.len(),
            apps.join(", ")
        );
        let fail = |e: sqlx::Error| {
            missing_parent(db_error(e, &what), &format!("app {}", apps.join(" or ")))
        };
        let chunks: Vec<&[&IngestMessage]> = firsts.chunks(NOTIFICATIONS_PER_STATEMENT).collect();
        let mut tx = if chunks.len() > 1 {
            Some(self.begin_on(&self.pipeline).await?)
        } else {
            None
        };
        let mut inserted: Vec<(String, String)> = Vec::with_capacity(firsts.len());
        for chunk in chunks {
            let query = match self.backend {
                super::Backend::Postgres => {
                    let mut rows = Vec::with_capacity(chunk.len());
                    for m in chunk {
                        rows.push(NotificationRow {
                            app_id: &m.app,
                            id: &m.id,
                            message: to_json(*m, &what)?,
                            accepted_at: millis(now),
                        });
                    }
                    sqlx::query_as::<_, (String, String)>(PG_INSERT_NOTIFICATIONS)
                        .bind(to_json(&rows, &what)?)
                }
                super::Backend::Sqlite => {
                    let sql = insert_notifications_sql(chunk.len());
                    let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql))
                        .persistent(chunk.len() == 1);
                    for m in chunk {
                        query = query
                            .bind(m.app.as_str())
                            .bind(m.id.as_str())
                            .bind(to_json(*m, &what)?)
                            .bind(millis(now));
                    }
                    query
                }
            };
            let rows = match tx.as_mut() {
                Some(tx) => query.fetch_all(&mut **tx).await,
                None => query.fetch_all(&self.pipeline).await,
            }
            .map_err(fail)?;
            inserted.extend(rows);
        }
        if let Some(tx) = tx {
            tx.commit().await.map_err(fail)?;
        }
        // The first occurrence of an inserted (app, id) is the new one.
        let inserted: HashSet<(&str, &str)> = inserted
            .iter()
            .map(|(app, id)| (app.as_str(), id.as_str()))
            .collect();
        let mut claimed = HashSet::new();
        Ok(messages
            .iter()
            .map(|m| {
                let key = (m.app.as_str(), m.id.as_str());
                claimed.insert(key) && inserted.contains(&key)
            })
            .collect())
    }

    pub(super) async fn get_notification_impl(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<Option<StoredNotification>> {
        let what = format!("notification {id} of app {app}");
        let row: Option<(String, i64)> = sqlx::query_as(GET_NOTIFICATION)
            .bind(app)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &what))?;
        let Some((message, accepted_at)) = row else {
            return Ok(None);
        };
        Ok(Some(StoredNotification {
            message: serde_json::from_str(&message).map_err(|e| corrupt(&what, "message", e))?,
            accepted_at: time_of(accepted_at, &what, "accepted_at")?,
        }))
    }
}
