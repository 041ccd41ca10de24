//! The pipeline's batched store operations: many deliveries per statement, few round trips.
//!
//! - [`SqlStore::transition_deliveries_impl`] moves several deliveries with their receipts.
//!   On PostgreSQL each target state is one statement: a data-modifying CTE updates the
//!   deliveries whose state is a legal predecessor (the same guard as a single transition)
//!   and inserts a receipt for each row it updated. On SQLite (in-process, so round trips
//!   are cheap) the single-delivery statements run in one transaction.
//! - [`SqlStore::insert_deliveries_pg`] inserts queued deliveries and their receipts in one
//!   statement per chunk.
//! - [`SqlStore::load_job_impl`] reads a vendor job's deliveries with their devices, then
//!   their notifications with the app: two joined queries over one pooled connection.
//! - [`SqlStore::list_users_devices_impl`] resolves many users in one query.
//!
//! Every id list and row set is one JSON parameter, so a statement's text is the same for
//! one row or five hundred; id lists are read through [`rows_by_ids`], one index probe per
//! id on PostgreSQL.

use super::error::{db_error, missing_parent};
use super::rows::{
    DeliveryDeviceRow, DeliveryRow, DeviceRow, NotificationAppRow, delivery_columns,
    device_columns, millis, time_of,
};
use super::{Backend, SqlStore};
use push_core::store::JobContext;
use push_core::{
    Delivery, DeliveryId, DeliveryState, Device, StoreError, StoreResult, StoredNotification,
    Transition,
};
use sqlx::{Any, Executor};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;
use time::OffsetDateTime;

/// Rows per multi-row statement: ≤ 11 parameters a row stays far below PostgreSQL's 65535
/// and SQLite's 32766 bound parameters.
const ROWS_PER_STATEMENT: usize = 500;
/// The PostgreSQL statement moving deliveries to one state: parameters $1 state, $2
/// attempts increment, $3 time, $4–$6 the legal predecessors, $7 a JSON array of
/// `{vid, vreason, vvmid}` (id, receipt reason, vendor message id). Its text is the same for
/// any number of rows.
///
/// A pipeline statement, whose plan is kept (see `connect::pipeline_session`): the rows
/// to update are named by `id = ANY (…)`, which can only be read by primary-key probes;
/// joining on `d.id = v.vid` alone let a plan made on a nearly empty table hash the whole
/// table at every run. The join on `id` (not on a probed `ctid`) keeps PostgreSQL's
/// re-check of a row changed concurrently: the newest version is moved if its state
/// still allows it.
pub(super) const PG_TRANSITION: &str = concat!(
    "WITH v AS (SELECT * FROM json_to_recordset($7::json) ",
    "AS x(vid text COLLATE \"C\", vreason text, vvmid text)), ",
    "moved AS (UPDATE deliveries AS d SET state = $1, ",
    "reason = COALESCE(v.vreason, d.reason), ",
    "vendor_message_id = COALESCE(v.vvmid, d.vendor_message_id), ",
    "attempts = d.attempts + $2, updated_at = $3 ",
    "FROM v WHERE d.id = v.vid AND d.id = ANY (ARRAY(SELECT vid FROM v)) ",
    "AND d.state IN ($4, $5, $6) ",
    "RETURNING d.id, d.app_id, d.notification_id, d.device_id, d.channel, d.state, ",
    "d.reason, d.vendor_message_id, d.attempts, d.created_at, d.updated_at, ",
    "v.vreason AS receipt_reason), ",
    "receipted AS (INSERT INTO receipts (delivery_id, app_id, notification_id, ",
    "device_id, channel, state, reason, vendor_message_id, recorded_at) ",
    "SELECT id, app_id, notification_id, device_id, channel, state, receipt_reason, ",
    "vendor_message_id, $3 FROM moved) ",
    "SELECT ",
    delivery_columns!(),
    " FROM moved"
);

/// The PostgreSQL statement inserting queued deliveries, given as a JSON array of rows
/// ($1), unless their (app, notification, device) exists, with a receipt for each one
/// inserted; answers how many were inserted. One text for any number of rows. A pipeline
/// statement (kept plan).
pub(super) const PG_INSERT_DELIVERIES: &str = concat!(
    "WITH fresh AS (INSERT INTO deliveries (",
    delivery_columns!(),
    ") SELECT id, app_id, notification_id, device_id, channel, state, reason, ",
    "vendor_message_id, attempts, created_at, updated_at ",
    "FROM json_to_recordset($1::json) AS x(id text, app_id text, notification_id text, ",
    "device_id text, channel text, state text, reason text, vendor_message_id text, ",
    "attempts bigint, created_at bigint, updated_at bigint) ",
    "ON CONFLICT (app_id, notification_id, device_id) DO NOTHING ",
    "RETURNING id, app_id, notification_id, device_id, channel, state, reason, ",
    "vendor_message_id, created_at), ",
    "receipted AS (INSERT INTO receipts (delivery_id, app_id, notification_id, ",
    "device_id, channel, state, reason, vendor_message_id, recorded_at) ",
    "SELECT id, app_id, notification_id, device_id, channel, state, reason, ",
    "vendor_message_id, created_at FROM fresh) ",
    "SELECT COUNT(*) FROM fresh"
);

/// A FROM item `alias` holding the rows of `table` whose `key` is one of the strings of
/// the JSON array in parameter `$n` and that pass `filter` (SQL on the table's columns).
/// Its text does not depend on how many ids there are.
///
/// On PostgreSQL each id is one index probe, always: the rows come from a `LATERAL`
/// subquery the planner cannot flatten (`OFFSET 0`), so no plan reads the whole table or a
/// whole app's rows. A plain `IN (…)` with `app_id = $1` let the planner, misled by a
/// growing table's stale statistics, scan every delivery of the app through the
/// `(app_id, …)` index for each job. SQLite's planner turns `IN (SELECT value FROM
/// json_each(…))` into probes by itself.
pub(super) fn rows_by_ids(
    backend: Backend,
    table: &str,
    alias: &str,
    key: &str,
    n: usize,
    filter: &str,
) -> String {
    match backend {
        Backend::Postgres => format!(
            "json_array_elements_text(${n}::json) AS ids(value) CROSS JOIN LATERAL \
             (SELECT * FROM {table} WHERE {key} = ids.value COLLATE \"C\" AND {filter} \
             OFFSET 0) AS {alias}"
        ),
        Backend::Sqlite => format!(
            "(SELECT * FROM {table} WHERE {key} IN (SELECT value FROM json_each(${n})) \
             AND {filter}) AS {alias}"
        ),
    }
}

/// A vendor job's deliveries ($2, JSON array of ids, of app $1) with their devices. A
/// pipeline statement: the device of each delivery is one probe (`LATERAL`), so no kept
/// plan hashes the devices table whole.
fn job_deliveries_sql(backend: Backend) -> String {
    format!(
        concat!(
            "SELECT d.id, d.app_id, d.notification_id, d.device_id, d.channel, ",
            "d.state, d.reason, d.vendor_message_id, d.attempts, d.created_at, ",
            "d.updated_at, dv.device_id AS dv_device_id, dv.user_id AS dv_user_id, ",
            "dv.channel AS dv_channel, dv.token AS dv_token, ",
            "dv.apns_environment AS dv_apns_environment, ",
            "dv.last_seen_at AS dv_last_seen_at, dv.created_at AS dv_created_at, ",
            "dv.deactivated_at AS dv_deactivated_at, ",
            "dv.deactivation_reason AS dv_deactivation_reason ",
            "FROM {} {}"
        ),
        rows_by_ids(backend, "deliveries", "d", "id", 2, "app_id = $1"),
        left_join_one(
            backend,
            "devices",
            "dv",
            "dv.app_id = d.app_id AND dv.device_id = d.device_id"
        )
    )
}

/// The notifications ($2, JSON array of ids) of app $1, each with the app. A pipeline
/// statement.
fn job_notifications_sql(backend: Backend) -> String {
    format!(
        concat!(
            "SELECT n.id AS n_id, n.message AS n_message, ",
            "n.accepted_at AS n_accepted_at, ",
            "a.id, a.tenant_id, a.name, a.settings, a.created_at, a.updated_at ",
            "FROM {} CROSS JOIN (SELECT * FROM apps WHERE id = $1) AS a"
        ),
        rows_by_ids(backend, "notifications", "n", "id", 2, "app_id = $1")
    )
}

/// The active devices with a token of the users ($2, JSON array) of app $1. A pipeline
/// statement.
fn users_devices_sql(backend: Backend) -> String {
    format!(
        concat!("SELECT ", device_columns!(), " FROM {}"),
        rows_by_ids(
            backend,
            "devices",
            "dv",
            "user_id",
            2,
            "app_id = $1 AND deactivated_at IS NULL AND token IS NOT NULL"
        )
    )
}

/// The texts of the statements above for one backend, built once: they run for every job
/// and ingest batch, and their text never changes.
struct BuiltSql {
    job_deliveries: String,
    job_notifications: String,
    users_devices: String,
}

impl BuiltSql {
    fn new(backend: Backend) -> Self {
        Self {
            job_deliveries: job_deliveries_sql(backend),
            job_notifications: job_notifications_sql(backend),
            users_devices: users_devices_sql(backend),
        }
    }
}

/// [`BuiltSql`] of `backend`.
fn built(backend: Backend) -> &'static BuiltSql {
    static POSTGRES: LazyLock<BuiltSql> = LazyLock::new(|| BuiltSql::new(Backend::Postgres));
    static SQLITE: LazyLock<BuiltSql> = LazyLock::new(|| BuiltSql::new(Backend::Sqlite));
    match backend {
        Backend::Postgres => &POSTGRES,
        Backend::Sqlite => &SQLITE,
    }
}

/// The pipeline's PostgreSQL statements by name, as they are sent (the batch statements,
/// and the API key and app lookups of every REST call): the statements whose plans the
/// pipeline pool keeps (see `connect::pipeline_session`), for the check that
/// every one of them reads by probes alone.
pub fn pipeline_statements() -> Vec<(&'static str, String)> {
    vec![
        (
            "insert notifications",
            super::notifications::PG_INSERT_NOTIFICATIONS.to_string(),
        ),
        (
            "users' devices",
            built(Backend::Postgres).users_devices.clone(),
        ),
        ("insert deliveries", PG_INSERT_DELIVERIES.to_string()),
        (
            "job deliveries",
            built(Backend::Postgres).job_deliveries.clone(),
        ),
        (
            "job notifications",
            built(Backend::Postgres).job_notifications.clone(),
        ),
        ("move deliveries", PG_TRANSITION.to_string()),
        ("an API key", super::tenants::FIND_API_KEY.to_string()),
        ("an app", super::apps::GET_APP.to_string()),
    ]
}

/// A left join of the row of `table` (as `alias`) that `condition` names: on PostgreSQL one
/// probe per outer row (a `LATERAL` subquery the planner cannot flatten), on SQLite a plain
/// join the planner turns into probes itself.
fn left_join_one(backend: Backend, table: &str, alias: &str, condition: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "LEFT JOIN LATERAL (SELECT * FROM {table} AS {alias} WHERE {condition} OFFSET 0) \
             AS {alias} ON true"
        ),
        Backend::Sqlite => format!("LEFT JOIN {table} AS {alias} ON {condition}"),
    }
}

/// `items` as a JSON array (for the statements above). Serialising strings and numbers
/// cannot fail.
fn json_of<T: serde::Serialize>(items: &T) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// A transition row of [`PG_TRANSITION`].
#[derive(serde::Serialize)]
struct TransitionRow<'a> {
    vid: String,
    vreason: Option<&'a str>,
    vvmid: Option<&'a str>,
}

/// A delivery row of [`PG_INSERT_DELIVERIES`].
#[derive(serde::Serialize)]
struct DeliveryInsertRow<'a> {
    id: String,
    app_id: &'a str,
    notification_id: &'a str,
    device_id: &'a str,
    channel: &'static str,
    state: &'static str,
    reason: Option<&'a str>,
    vendor_message_id: Option<&'a str>,
    attempts: i64,
    created_at: i64,
    updated_at: i64,
}

/// The (up to three) legal predecessors of `to`, repeated to fill three parameters; `None`
/// for a state nothing can become.
fn guard_of(to: DeliveryState) -> Option<[DeliveryState; 3]> {
    let guard = to.predecessors();
    let first = *guard.first()?;
    Some([
        first,
        guard.get(1).copied().unwrap_or(first),
        guard.get(2).copied().unwrap_or(first),
    ])
}

/// Runs one PostgreSQL transition statement for `chunk` (all with target `to`).
async fn pg_transition_chunk<'e, E>(
    executor: E,
    to: DeliveryState,
    chunk: &[&(DeliveryId, Transition)],
    now: i64,
) -> StoreResult<Vec<Delivery>>
where
    E: Executor<'e, Database = Any>,
{
    let Some(guard) = guard_of(to) else {
        return Ok(Vec::new());
    };
    let rows: Vec<TransitionRow<'_>> = chunk
        .iter()
        .map(|(id, t)| TransitionRow {
            vid: id.to_string(),
            vreason: t.reason(),
            vvmid: t.vendor_message_id(),
        })
        .collect();
    let mut query = sqlx::query_as::<_, DeliveryRow>(PG_TRANSITION)
        .bind(to.as_str())
        .bind(i64::from(to == DeliveryState::Sending))
        .bind(now);
    for state in guard {
        query = query.bind(state.as_str());
    }
    let query = query.bind(json_of(&rows));
    query
        .fetch_all(executor)
        .await
        .map_err(|e| db_error(e, "moving deliveries"))?
        .into_iter()
        .map(DeliveryRow::into_delivery)
        .collect()
}

impl SqlStore {
    /// See [`push_core::Store::transition_deliveries`].
    pub(super) async fn transition_deliveries_impl(
        &self,
        moves: &[(DeliveryId, Transition)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Delivery>> {
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        match self.backend {
            Backend::Postgres => self.transition_deliveries_pg(moves, millis(now)).await,
            Backend::Sqlite => self.transition_deliveries_one_by_one(moves, now).await,
        }
    }

    async fn transition_deliveries_pg(
        &self,
        moves: &[(DeliveryId, Transition)],
        now: i64,
    ) -> StoreResult<Vec<Delivery>> {
        type Group<'a> = (DeliveryState, Vec<&'a (DeliveryId, Transition)>);
        let mut by_target: BTreeMap<&'static str, Group<'_>> = BTreeMap::new();
        for m in moves {
            let to = m.1.target();
            by_target
                .entry(to.as_str())
                .or_insert_with(|| (to, Vec::new()))
                .1
                .push(m);
        }
        let statements: usize = by_target
            .values()
            .map(|(_, v)| v.len().div_ceil(ROWS_PER_STATEMENT))
            .sum();
        if statements == 1 {
            // One statement is atomic on its own: no BEGIN/COMMIT round trips.
            let Some((to, list)) = by_target.values().next() else {
                return Ok(Vec::new());
            };
            return pg_transition_chunk(&self.pipeline, *to, list, now).await;
        }
        let mut tx = self.begin_on(&self.pipeline).await?;
        let mut moved = Vec::with_capacity(moves.len());
        for (to, list) in by_target.values() {
            for chunk in list.chunks(ROWS_PER_STATEMENT) {
                moved.extend(pg_transition_chunk(&mut *tx, *to, chunk, now).await?);
            }
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "committing delivery changes"))?;
        Ok(moved)
    }

    /// SQLite: the single-delivery statements, all in one transaction.
    async fn transition_deliveries_one_by_one(
        &self,
        moves: &[(DeliveryId, Transition)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Delivery>> {
        let mut tx = self.begin().await?;
        let mut moved = Vec::with_capacity(moves.len());
        for (id, t) in moves {
            match super::deliveries::transition_in(&mut tx, *id, t, millis(now)).await {
                Ok(d) => moved.push(d),
                Err(StoreError::IllegalTransition { .. } | StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "committing delivery changes"))?;
        Ok(moved)
    }

    /// PostgreSQL: inserts new deliveries and their receipts with one statement per chunk
    /// (all in one transaction when there are several); answers how many were new.
    pub(super) async fn insert_deliveries_pg(&self, deliveries: &[Delivery]) -> StoreResult<usize> {
        let Some(first) = deliveries.first() else {
            return Ok(0);
        };
        let what = format!("deliveries of notification {}", first.notification_id);
        let parent = format!(
            "notification {} of app {}",
            first.notification_id, first.app_id
        );
        let fail = |e: sqlx::Error| missing_parent(db_error(e, &what), &parent);
        let chunks: Vec<&[Delivery]> = deliveries.chunks(ROWS_PER_STATEMENT).collect();
        let mut tx = if chunks.len() > 1 {
            Some(self.begin_on(&self.pipeline).await?)
        } else {
            None
        };
        let mut new = 0;
        for chunk in chunks {
            let rows: Vec<DeliveryInsertRow<'_>> = chunk
                .iter()
                .map(|d| DeliveryInsertRow {
                    id: d.id.to_string(),
                    app_id: &d.app_id,
                    notification_id: &d.notification_id,
                    device_id: &d.device_id,
                    channel: d.channel.as_str(),
                    state: d.state.as_str(),
                    reason: d.reason.as_deref(),
                    vendor_message_id: d.vendor_message_id.as_deref(),
                    attempts: i64::from(d.attempts),
                    created_at: millis(d.created_at),
                    updated_at: millis(d.updated_at),
                })
                .collect();
            let query = sqlx::query_scalar::<_, i64>(PG_INSERT_DELIVERIES).bind(json_of(&rows));
            let inserted = match tx.as_mut() {
                Some(tx) => query.fetch_one(&mut **tx).await,
                None => query.fetch_one(&self.pipeline).await,
            }
            .map_err(fail)?;
            new += usize::try_from(inserted).unwrap_or(0);
        }
        if let Some(tx) = tx {
            tx.commit().await.map_err(fail)?;
        }
        Ok(new)
    }

    /// See [`push_core::Store::load_job`]: the deliveries with their devices, then their
    /// notifications joined with the app, over one pooled connection.
    pub(super) async fn load_job_impl(
        &self,
        app: &str,
        ids: &[DeliveryId],
    ) -> StoreResult<Option<JobContext>> {
        let what = format!("job of {} deliveries of app {app}", ids.len());
        let mut conn = self
            .pipeline
            .acquire()
            .await
            .map_err(|e| db_error(e, &what))?;
        let wanted: Vec<String> = ids
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found: HashMap<DeliveryId, (Delivery, Option<Device>)> =
            HashMap::with_capacity(wanted.len());
        let sql = built(self.backend).job_deliveries.as_str();
        for row in sqlx::query_as::<_, DeliveryDeviceRow>(sql)
            .bind(app)
            .bind(json_of(&wanted))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(e, &what))?
        {
            let (d, device) = row.into_pair()?;
            found.insert(d.id, (d, device));
        }
        let parents: Vec<&str> = found
            .values()
            .map(|(d, _)| d.notification_id.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut app_row = None;
        let mut notifications = HashMap::with_capacity(parents.len());
        if !parents.is_empty() {
            let sql = built(self.backend).job_notifications.as_str();
            for row in sqlx::query_as::<_, NotificationAppRow>(sql)
                .bind(app)
                .bind(json_of(&parents))
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| db_error(e, &what))?
            {
                let notification = StoredNotification {
                    message: serde_json::from_str(&row.n_message)
                        .map_err(|e| super::error::corrupt(&what, "message", e))?,
                    accepted_at: time_of(row.n_accepted_at, &what, "accepted_at")?,
                };
                notifications.insert(row.n_id, notification);
                app_row.get_or_insert(row.app);
            }
        }
        drop(conn);
        let Some(app_row) = app_row else {
            return Ok(None);
        };
        let mut seen = BTreeSet::new();
        let deliveries = ids
            .iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| found.remove(id))
            .collect();
        Ok(Some(JobContext {
            app: app_row.into_app()?,
            notifications,
            deliveries,
        }))
    }

    /// See [`push_core::Store::list_users_devices`].
    pub(super) async fn list_users_devices_impl(
        &self,
        app: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<Device>> {
        let users: Vec<&String> = user_ids
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut out = Vec::new();
        if users.is_empty() {
            return Ok(out);
        }
        let sql = built(self.backend).users_devices.as_str();
        for row in sqlx::query_as::<_, DeviceRow>(sql)
            .bind(app)
            .bind(json_of(&users))
            .fetch_all(&self.pipeline)
            .await
            .map_err(|e| db_error(e, &format!("devices of users of app {app}")))?
        {
            out.push(row.into_device()?);
        }
        out.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_one_json_parameter_on_both_backends() {
        let sqlite = rows_by_ids(
            Backend::Sqlite,
            "devices",
            "dv",
            "user_id",
            2,
            "app_id = $1",
        );
        assert!(
            sqlite.contains("user_id IN (SELECT value FROM json_each($2))"),
            "{sqlite}"
        );
        let pg = rows_by_ids(
            Backend::Postgres,
            "devices",
            "dv",
            "user_id",
            3,
            "app_id = $1",
        );
        assert!(pg.contains("json_array_elements_text($3::json)"), "{pg}");
        assert!(pg.contains("OFFSET 0) AS dv"), "{pg}");
        let rows = [TransitionRow {
            vid: "a\"b".into(),
            vreason: None,
            vvmid: Some("m"),
        }];
        assert_eq!(
            json_of(&rows),
            r#"[{"vid":"a\"b","vreason":null,"vvmid":"m"}]"#
        );
    }
}
