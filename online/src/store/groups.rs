//! Groups and their members (managed through the REST API).

use super::{OnlineStore, db_error, now_ms, placeholders};
use push_core::StoreError;
use serde::Serialize;
use sqlx::Row;

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Its id within the app.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Number of members.
    pub members: i64,
    /// Unix milliseconds it was created.
    pub created_at: i64,
}

const CREATE: &str =
    "INSERT INTO online_groups (app_id, group_id, name, created_at) VALUES ($1, $2, $3, $4)";
const GET: &str = "SELECT g.group_id, g.name, g.created_at, \
    (SELECT COUNT(*) FROM online_group_members m WHERE m.app_id = g.app_id AND m.group_id = g.group_id) \
    FROM online_groups g WHERE g.app_id = $1 AND g.group_id = $2";
const LIST: &str = "SELECT g.group_id, g.name, g.created_at, \
    (SELECT COUNT(*) FROM online_group_members m WHERE m.app_id = g.app_id AND m.group_id = g.group_id) \
    FROM online_groups g WHERE g.app_id = $1 ORDER BY g.group_id";
const DELETE: &str = "DELETE FROM online_groups WHERE app_id = $1 AND group_id = $2";
const MEMBERS: &str =
    "SELECT user_id FROM online_group_members WHERE app_id = $1 AND group_id = $2 ORDER BY user_id";
const REMOVE: &str =
    "DELETE FROM online_group_members WHERE app_id = $1 AND group_id = $2 AND user_id = $3";
const COUNT: &str = "SELECT COUNT(*) FROM online_group_members WHERE app_id = $1 AND group_id = $2";

impl OnlineStore {
    /// Creates a group; `Conflict` when the id is taken, `NotFound` for an unknown app.
    pub async fn create_group(&self, app: &str, id: &str, name: &str) -> Result<Group, StoreError> {
        let now = now_ms();
        sqlx::query(CREATE)
            .bind(app)
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "group"))?;
        Ok(Group {
            id: id.into(),
            name: name.into(),
            members: 0,
            created_at: now,
        })
    }

    /// A group with its member count.
    pub async fn get_group(&self, app: &str, id: &str) -> Result<Option<Group>, StoreError> {
        let row = sqlx::query(GET)
            .bind(app)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading a group"))?;
        row.as_ref().map(read_group).transpose()
    }

    /// The app's groups.
    pub async fn list_groups(&self, app: &str) -> Result<Vec<Group>, StoreError> {
        let rows = sqlx::query(LIST)
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "listing groups"))?;
        rows.iter().map(read_group).collect()
    }

    /// Deletes a group and its memberships (messages stay in the inboxes). True if it
    /// existed.
    pub async fn delete_group(&self, app: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM online_group_members WHERE app_id = $1 AND group_id = $2")
            .bind(app)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "deleting group members"))?;
        let done = sqlx::query(DELETE)
            .bind(app)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "deleting a group"))?;
        tx.commit()
            .await
            .map_err(|e| db_error(e, "deleting a group"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The members' user ids, sorted.
    pub async fn members(&self, app: &str, id: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(MEMBERS)
            .bind(app)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "listing group members"))
    }

    /// Adds members (present ones are kept) unless the group would exceed `max`; answers
    /// the member count, or `None` when the limit would be passed.
    pub async fn add_members(
        &self,
        app: &str,
        id: &str,
        users: &[String],
        max: usize,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        for chunk in users.chunks(500) {
            let sql = format!(
                "INSERT INTO online_group_members (app_id, group_id, user_id, joined_at) VALUES {} \
                 ON CONFLICT (app_id, group_id, user_id) DO NOTHING",
                placeholders(chunk.len(), 4, 1)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for user in chunk {
                q = q.bind(app).bind(id).bind(user.as_str()).bind(now);
            }
            q.execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, "group member"))?;
        }
        let count: i64 = sqlx::query_scalar(COUNT)
            .bind(app)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error(e, "counting group members"))?;
        if count > max as i64 {
            return Ok(None); // dropped: rolls back
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "adding group members"))?;
        Ok(Some(count))
    }

    /// Removes a member; true if they were one.
    pub async fn remove_member(&self, app: &str, id: &str, user: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE)
            .bind(app)
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "removing a group member"))?;
        Ok(done.rows_affected() > 0)
    }
}

fn read_group(row: &sqlx::any::AnyRow) -> Result<Group, StoreError> {
    let get = |e| db_error(e, "reading a group");
    Ok(Group {
        id: row.try_get(0).map_err(get)?,
        name: row.try_get(1).map_err(get)?,
        created_at: row.try_get(2).map_err(get)?,
        members: row.try_get(3).map_err(get)?,
    })
}
