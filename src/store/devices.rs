//! Devices, keyed by (app, device id). A token belongs to at most one device of an app and
//! channel (a unique index over non-null tokens): registering it on a new device takes it
//! from the old one, which is left without a token and deactivated with the reason.
//! A device is active when it is not deactivated and has a token.

use super::SqlStore;
use super::error::{db_error, missing_parent, retry_on_conflict};
use super::rows::{DeviceRow, device_columns, millis};
use push_core::{Device, DeviceRegistration, StoreResult};
use sqlx::AssertSqlSafe;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// How many ids one `IN (…)` list of [`SqlStore::get_devices_impl`] binds.
const IDS_PER_QUERY: usize = 200;

const TAKE_TOKEN: &str = "UPDATE devices \
     SET token = NULL, deactivated_at = $5, deactivation_reason = $6 \
     WHERE app_id = $1 AND channel = $2 AND token = $3 AND device_id <> $4";
const UPSERT_DEVICE: &str = concat!(
    "INSERT INTO devices (app_id, device_id, user_id, channel, token, apns_environment, \
     last_seen_at, created_at, deactivated_at, deactivation_reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, NULL) \
     ON CONFLICT (app_id, device_id) DO UPDATE SET \
     user_id = excluded.user_id, channel = excluded.channel, token = excluded.token, \
     apns_environment = excluded.apns_environment, last_seen_at = excluded.last_seen_at, \
     deactivated_at = NULL, deactivation_reason = NULL \
     RETURNING ",
    device_columns!()
);
const GET_DEVICE: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE app_id = $1 AND device_id = $2"
);
const DELETE_DEVICE: &str = "DELETE FROM devices WHERE app_id = $1 AND device_id = $2";
const DEACTIVATE_DEVICE: &str = "UPDATE devices \
     SET deactivated_at = COALESCE(deactivated_at, $3), \
         deactivation_reason = COALESCE(deactivation_reason, $4) \
     WHERE app_id = $1 AND device_id = $2";
const USER_DEVICES_ACTIVE: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE app_id = $1 AND user_id = $2 \
     AND deactivated_at IS NULL AND token IS NOT NULL ORDER BY device_id"
);
const USER_DEVICES_ALL: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE app_id = $1 AND user_id = $2 ORDER BY device_id"
);

impl SqlStore {
    /// One transaction: take the token from any other device of the app and channel, then
    /// insert or refresh this device as active. Retried when a concurrent registration of
    /// the same token wins the race for the unique index.
    pub(super) async fn upsert_device_impl(
        &self,
        reg: &DeviceRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<Device> {
        let what = format!("device {}/{}", reg.app_id, reg.device_id);
        let now = millis(now);
        let moved = format!("token moved to device {}", reg.device_id);
        let fail =
            |e: sqlx::Error| missing_parent(db_error(e, &what), &format!("app {}", reg.app_id));
        retry_on_conflict(|| async {
            let mut tx = self.begin().await?;
            sqlx::query(TAKE_TOKEN)
                .bind(&reg.app_id)
                .bind(reg.channel.as_str())
                .bind(&reg.token)
                .bind(&reg.device_id)
                .bind(now)
                .bind(&moved)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            let row = sqlx::query_as::<_, DeviceRow>(UPSERT_DEVICE)
                .bind(&reg.app_id)
                .bind(&reg.device_id)
                .bind(&reg.user_id)
                .bind(reg.channel.as_str())
                .bind(&reg.token)
                .bind(reg.apns_environment.map(|e| e.as_str()))
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            row.into_device()
        })
        .await
    }

    pub(super) async fn get_device_impl(
        &self,
        app: &str,
        device_id: &str,
    ) -> StoreResult<Option<Device>> {
        sqlx::query_as::<_, DeviceRow>(GET_DEVICE)
            .bind(app)
            .bind(device_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("device {app}/{device_id}")))?
            .map(DeviceRow::into_device)
            .transpose()
    }

    /// The devices with these ids, by device id; duplicates and unknown ids are ignored.
    pub(super) async fn get_devices_impl(
        &self,
        app: &str,
        device_ids: &[String],
    ) -> StoreResult<Vec<Device>> {
        let ids: Vec<&String> = device_ids
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            // Only placeholders are generated; every value is bound.
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                concat!(
                    "SELECT ",
                    device_columns!(),
                    " FROM devices WHERE app_id = $1 AND device_id IN ({})"
                ),
                placeholders.join(", ")
            );
            let mut query = sqlx::query_as::<_, DeviceRow>(AssertSqlSafe(sql))
                .persistent(false)
                .bind(app);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(e, &format!("devices of app {app}")))?;
            for row in rows {
                out.push(row.into_device()?);
            }
        }
        out.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        Ok(out)
    }

    pub(super) async fn delete_device_impl(&self, app: &str, device_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(DELETE_DEVICE)
            .bind(app)
            .bind(device_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("device {app}/{device_id}")))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deactivates a device. An already deactivated device keeps its first reason and time,
    /// so repeated reports (e.g. several in-flight deliveries answered `Unregistered`) do
    /// not hide why it stopped.
    pub(super) async fn deactivate_device_impl(
        &self,
        app: &str,
        device_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(DEACTIVATE_DEVICE)
            .bind(app)
            .bind(device_id)
            .bind(millis(now))
            .bind(reason)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("device {app}/{device_id}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn list_user_devices_impl(
        &self,
        app: &str,
        user_id: &str,
        include_inactive: bool,
    ) -> StoreResult<Vec<Device>> {
        let sql = if include_inactive {
            USER_DEVICES_ALL
        } else {
            USER_DEVICES_ACTIVE
        };
        sqlx::query_as::<_, DeviceRow>(sql)
            .bind(app)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("devices of user {user_id} of app {app}")))?
            .into_iter()
            .map(DeviceRow::into_device)
            .collect()
    }
}
