//! Reading the inbox: pull after a sequence (paged), the head, and per-device acks
//! (sliding window). Unread for a device = head − that device's ack position.

use super::{OnlineStore, db_error, now_ms};
use crate::protocol::{Content, InboxMessage, Recipient};
use push_core::StoreError;
use sqlx::Row;

const PULL: &str = "SELECT i.seq, m.message_id, m.sender, m.to_kind, m.to_id, m.content, m.created_at \
    FROM online_inbox i JOIN online_messages m ON m.app_id = i.app_id AND m.message_id = i.message_id \
    WHERE i.app_id = $1 AND i.user_id = $2 AND i.seq > $3 ORDER BY i.seq LIMIT $4";

const HEAD: &str = "SELECT head FROM online_user_seq WHERE app_id = $1 AND user_id = $2";

const ACKED: &str =
    "SELECT acked FROM online_acks WHERE app_id = $1 AND user_id = $2 AND device_id = $3";

const ACKS_OF_USER: &str =
    "SELECT device_id, acked FROM online_acks WHERE app_id = $1 AND user_id = $2";

/// Moves the ack position forward only: a late, smaller ack never moves it back.
const ACK: &str = "INSERT INTO online_acks (app_id, user_id, device_id, acked, updated_at) \
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET \
    acked = CASE WHEN excluded.acked > online_acks.acked THEN excluded.acked ELSE online_acks.acked END, \
    updated_at = excluded.updated_at RETURNING acked";

/// A page of the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Messages after the asked sequence, oldest first.
    pub messages: Vec<InboxMessage>,
    /// Whether more follow.
    pub more: bool,
}

/// Why an ack was refused.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// Negative, or beyond the inbox head.
    #[error("seq must be between 0 and the inbox head ({head})")]
    OutOfRange {
        /// The head.
        head: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OnlineStore {
    /// Up to `limit` messages of `user`'s inbox after `after`.
    pub async fn pull(
        &self,
        app: &str,
        user: &str,
        after: i64,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let rows = sqlx::query(PULL)
            .bind(app)
            .bind(user)
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "pulling an inbox"))?;
        let more = rows.len() > limit as usize;
        let messages = rows
            .iter()
            .take(limit as usize)
            .map(read_message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { messages, more })
    }

    /// The user's inbox head (0 when nothing was ever sent to them).
    pub async fn head(&self, app: &str, user: &str) -> Result<i64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar(HEAD)
            .bind(app)
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading an inbox head"))?;
        Ok(head.unwrap_or(0))
    }

    /// The device's ack position (0 when it never acked).
    pub async fn acked(&self, app: &str, user: &str, device: &str) -> Result<i64, StoreError> {
        let acked: Option<i64> = sqlx::query_scalar(ACKED)
            .bind(app)
            .bind(user)
            .bind(device)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading an ack position"))?;
        Ok(acked.unwrap_or(0))
    }

    /// Every device's ack position of `user`.
    pub async fn acks_of_user(
        &self,
        app: &str,
        user: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(ACKS_OF_USER)
            .bind(app)
            .bind(user)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading ack positions"))?;
        rows.iter()
            .map(|r| {
                let get = |e| db_error(e, "reading ack positions");
                Ok((r.try_get(0).map_err(get)?, r.try_get(1).map_err(get)?))
            })
            .collect()
    }

    /// Records that `device` holds everything up to `seq`; answers (ack position, unread).
    pub async fn ack(
        &self,
        app: &str,
        user: &str,
        device: &str,
        seq: i64,
    ) -> Result<(i64, i64), AckError> {
        let head = self.head(app, user).await?;
        if seq < 0 || seq > head {
            return Err(AckError::OutOfRange { head });
        }
        let acked: i64 = sqlx::query_scalar(ACK)
            .bind(app)
            .bind(user)
            .bind(device)
            .bind(seq)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "storing an ack"))?;
        Ok((acked, (head - acked).max(0)))
    }
}

fn read_message(row: &sqlx::any::AnyRow) -> Result<InboxMessage, StoreError> {
    let get = |e| db_error(e, "reading an inbox row");
    let kind: String = row.try_get(3).map_err(get)?;
    let to_id: String = row.try_get(4).map_err(get)?;
    let content: String = row.try_get(5).map_err(get)?;
    let content: Content = serde_json::from_str(&content)
        .map_err(|_| StoreError::Corrupt("message content is not JSON".into()))?;
    Ok(InboxMessage {
        seq: row.try_get(0).map_err(get)?,
        msg_id: row.try_get(1).map_err(get)?,
        from: row.try_get(2).map_err(get)?,
        to: if kind == "group" {
            Recipient::Group(to_id)
        } else {
            Recipient::User(to_id)
        },
        content,
        ts: row.try_get(6).map_err(get)?,
    })
}
