//! Presence in the store, for several instances: which instance holds the live connection
//! of each (app, user, device). Each instance refreshes its rows every heartbeat; a row not
//! refreshed for [`STALE_AFTER_HEARTBEATS`] heartbeats belongs to a dead instance and is
//! ignored (and purged).

use super::{OnlineStore, db_error, list};
use push_core::StoreError;
use sqlx::Row;

/// Heartbeats after which an unrefreshed presence row counts as gone.
pub const STALE_AFTER_HEARTBEATS: i64 = 3;

/// Where one device is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The user.
    pub user: String,
    /// The device.
    pub device: String,
    /// The instance holding its connection.
    pub instance: String,
    /// The connection there.
    pub conn_id: i64,
}

/// One connection, as presence names it.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The app.
    pub app: &'a str,
    /// The user.
    pub user: &'a str,
    /// The device.
    pub device: &'a str,
    /// The instance holding it.
    pub instance: &'a str,
    /// Its id on that instance.
    pub conn_id: i64,
}

const FIND: &str = "SELECT instance_id, conn_id, seen_at FROM online_presence \
    WHERE app_id = $1 AND user_id = $2 AND device_id = $3";
const UPSERT: &str = "INSERT INTO online_presence (app_id, user_id, device_id, instance_id, conn_id, seen_at) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET \
    instance_id = excluded.instance_id, conn_id = excluded.conn_id, seen_at = excluded.seen_at";
const REMOVE: &str = "DELETE FROM online_presence WHERE app_id = $1 AND user_id = $2 \
    AND device_id = $3 AND instance_id = $4 AND conn_id = $5";
const TOUCH: &str = "UPDATE online_presence SET seen_at = $1 WHERE instance_id = $2";
const PURGE: &str = "DELETE FROM online_presence WHERE seen_at < $1";
const DROP_INSTANCE: &str = "DELETE FROM online_presence WHERE instance_id = $1";

impl OnlineStore {
    /// Records a connection; answers the live connection it replaces on another
    /// instance or with another id (to be kicked), if any was fresh (`seen_at >= fresh_since`).
    pub async fn claim_presence(
        &self,
        conn: Connection<'_>,
        now: i64,
        fresh_since: i64,
    ) -> Result<Option<Located>, StoreError> {
        let Connection {
            app,
            user,
            device,
            instance,
            conn_id,
        } = conn;
        let previous = sqlx::query(FIND)
            .bind(app)
            .bind(user)
            .bind(device)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading presence"))?;
        sqlx::query(UPSERT)
            .bind(app)
            .bind(user)
            .bind(device)
            .bind(instance)
            .bind(conn_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "recording presence"))?;
        let Some(row) = previous else {
            return Ok(None);
        };
        let get = |e| db_error(e, "reading presence");
        let old_instance: String = row.try_get(0).map_err(get)?;
        let old_conn: i64 = row.try_get(1).map_err(get)?;
        let seen: i64 = row.try_get(2).map_err(get)?;
        Ok(
            (seen >= fresh_since && (old_instance != instance || old_conn != conn_id)).then(|| {
                Located {
                    user: user.into(),
                    device: device.into(),
                    instance: old_instance,
                    conn_id: old_conn,
                }
            }),
        )
    }

    /// Removes a connection's presence (only that connection's: a newer login stays).
    pub async fn release_presence(&self, conn: Connection<'_>) -> Result<(), StoreError> {
        let Connection {
            app,
            user,
            device,
            instance,
            conn_id,
        } = conn;
        sqlx::query(REMOVE)
            .bind(app)
            .bind(user)
            .bind(device)
            .bind(instance)
            .bind(conn_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "removing presence"))?;
        Ok(())
    }

    /// Marks every connection of `instance` as alive at `now`.
    pub async fn touch_presence(&self, instance: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(TOUCH)
            .bind(now)
            .bind(instance)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "refreshing presence"))?;
        Ok(())
    }

    /// Deletes rows not refreshed since `cutoff` (instances that died).
    pub async fn purge_presence(&self, cutoff: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(PURGE)
            .bind(cutoff)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "purging presence"))?;
        Ok(done.rows_affected())
    }

    /// Deletes every row of `instance` (on its shutdown).
    pub async fn drop_instance_presence(&self, instance: &str) -> Result<(), StoreError> {
        sqlx::query(DROP_INSTANCE)
            .bind(instance)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "removing an instance's presence"))?;
        Ok(())
    }

    /// The fresh connections of `users` (every device), on any instance.
    pub async fn locate(
        &self,
        app: &str,
        users: &[&str],
        fresh_since: i64,
    ) -> Result<Vec<Located>, StoreError> {
        let mut found = Vec::new();
        for chunk in users.chunks(500) {
            let sql = format!(
                "SELECT user_id, device_id, instance_id, conn_id FROM online_presence \
                 WHERE app_id = $1 AND seen_at >= $2 AND user_id IN ({})",
                list(chunk.len(), 3)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(app)
                .bind(fresh_since);
            for user in chunk {
                q = q.bind(*user);
            }
            let rows = q
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(e, "locating connections"))?;
            for row in rows {
                let get = |e| db_error(e, "reading presence");
                found.push(Located {
                    user: row.try_get(0).map_err(get)?,
                    device: row.try_get(1).map_err(get)?,
                    instance: row.try_get(2).map_err(get)?,
                    conn_id: row.try_get(3).map_err(get)?,
                });
            }
        }
        Ok(found)
    }
}
