//! Notifications: the accepted ingest message, as JSON, keyed by (app, producer id). A
//! repeated id of the same app is not stored again, which is how replays are suppressed.

use super::SqlStore;
use super::error::{corrupt, db_error, missing_parent};
use super::rows::{millis, time_of, to_json};
use push_core::{IngestMessage, StoreResult, StoredNotification};
use time::OffsetDateTime;

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
