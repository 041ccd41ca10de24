//! Sending: the message body is stored once (read diffusion) and every recipient's inbox
//! gets an index row with the next number of that user's sequence.
//!
//! Gap-free and strictly increasing, also under concurrent senders: the sequence is a
//! per-user counter row (`online_user_seq.head`) incremented by an upsert inside the same
//! transaction that writes the index rows. The upsert locks the counter row until commit
//! (PostgreSQL row lock; SQLite's single writer), so a second sender to the same user waits,
//! then continues from the committed value; a rolled-back send returns its numbers with it.
//! Recipients are locked in sorted order, so two group sends cannot deadlock.

use super::{OnlineStore, db_error, is_retryable, now_ms, placeholders};
use crate::protocol::{Content, Recipient};
use push_core::StoreError;
use sqlx::{Any, Row, Transaction};

/// Rows per multi-row statement.
const CHUNK: usize = 500;
/// Attempts of a send that lost a lock race (deadlock / busy).
const ATTEMPTS: usize = 5;

/// A message to store.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// The app.
    pub app: &'a str,
    /// The sender's user id.
    pub sender: &'a str,
    /// The client's message id (dedupe key per sender).
    pub client_msg_id: &'a str,
    /// Where it goes.
    pub to: &'a Recipient,
    /// What it says.
    pub content: &'a Content,
}

/// What a send stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The message id.
    pub msg_id: String,
    /// Unix milliseconds it was stored.
    pub ts: i64,
    /// The sender's own sequence.
    pub sender_seq: i64,
    /// Every recipient (the sender included) with its sequence, sorted by user.
    /// Empty for a duplicate.
    pub seqs: Vec<(String, i64)>,
    /// The client id was seen before; nothing new was stored.
    pub duplicate: bool,
}

/// Why a send was refused.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No such group (in this app).
    #[error("no such group")]
    NoSuchGroup,
    /// The sender is not a member of the group.
    #[error("the sender is not a member of this group")]
    NotMember,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const INSERT_MESSAGE: &str = "INSERT INTO online_messages \
    (app_id, message_id, sender, client_msg_id, to_kind, to_id, content, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
    ON CONFLICT (app_id, sender, client_msg_id) DO NOTHING RETURNING message_id";

const FIND_DUPLICATE: &str = "SELECT m.message_id, m.created_at, i.seq FROM online_messages m \
    JOIN online_inbox i ON i.app_id = m.app_id AND i.user_id = m.sender AND i.message_id = m.message_id \
    WHERE m.app_id = $1 AND m.sender = $2 AND m.client_msg_id = $3";

const GROUP_MEMBERS: &str = "SELECT user_id FROM online_group_members \
    WHERE app_id = $1 AND group_id = $2 ORDER BY user_id";

const GROUP_EXISTS: &str = "SELECT 1 FROM online_groups WHERE app_id = $1 AND group_id = $2";

impl OnlineStore {
    /// Stores `message` once and indexes it for every recipient (the sender too, so the
    /// sender's other devices see it). A repeated (sender, client id) stores nothing and
    /// answers the first message's id and sequence.
    pub async fn send(&self, message: &Outgoing<'_>) -> Result<Stored, SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(message).await {
                Err(Attempt::Retry(e)) if attempt < ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "send lost a lock race; retrying");
                }
                Err(Attempt::Retry(e)) => return Err(db_error(e, "storing a message").into()),
                Err(Attempt::Fail(e)) => return Err(e),
                Ok(stored) => return Ok(stored),
            }
        }
    }

    async fn send_once(&self, m: &Outgoing<'_>) -> Result<Stored, Attempt> {
        let mut tx = self.begin().await.map_err(SendError::from)?;
        let recipients = recipients(&mut tx, m).await?;
        let msg_id = uuid::Uuid::now_v7().to_string();
        let ts = now_ms();
        let content = serde_json::to_string(m.content)
            .map_err(|_| StoreError::Corrupt("message content".into()))
            .map_err(SendError::from)?;
        let inserted = sqlx::query(INSERT_MESSAGE)
            .bind(m.app)
            .bind(&msg_id)
            .bind(m.sender)
            .bind(m.client_msg_id)
            .bind(m.to.kind())
            .bind(m.to.id())
            .bind(content)
            .bind(ts)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| attempt_error(e, "storing a message"))?;
        if inserted.is_none() {
            drop(tx);
            return self.duplicate(m).await.map_err(Attempt::Fail);
        }
        let seqs = allocate(&mut tx, m.app, &recipients).await?;
        index(&mut tx, m.app, &msg_id, &seqs).await?;
        tx.commit()
            .await
            .map_err(|e| attempt_error(e, "committing a message"))?;
        let sender_seq = seqs
            .iter()
            .find(|(u, _)| u == m.sender)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        Ok(Stored {
            msg_id,
            ts,
            sender_seq,
            seqs,
            duplicate: false,
        })
    }

    async fn duplicate(&self, m: &Outgoing<'_>) -> Result<Stored, SendError> {
        let row = sqlx::query(FIND_DUPLICATE)
            .bind(m.app)
            .bind(m.sender)
            .bind(m.client_msg_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "finding a repeated message"))?;
        let get = |e| db_error(e, "reading a repeated message");
        Ok(Stored {
            msg_id: row.try_get(0).map_err(get)?,
            ts: row.try_get(1).map_err(get)?,
            sender_seq: row.try_get(2).map_err(get)?,
            seqs: Vec::new(),
            duplicate: true,
        })
    }
}

/// A failed attempt: worth retrying or not.
enum Attempt {
    Retry(sqlx::Error),
    Fail(SendError),
}

impl From<SendError> for Attempt {
    fn from(e: SendError) -> Self {
        Attempt::Fail(e)
    }
}

fn attempt_error(e: sqlx::Error, what: &str) -> Attempt {
    if is_retryable(&e) {
        Attempt::Retry(e)
    } else {
        Attempt::Fail(db_error(e, what).into())
    }
}

/// The recipients, sorted and unique, the sender included.
async fn recipients(
    tx: &mut Transaction<'static, Any>,
    m: &Outgoing<'_>,
) -> Result<Vec<String>, Attempt> {
    let mut users = match m.to {
        Recipient::User(user) => vec![m.sender.to_string(), user.clone()],
        Recipient::Group(group) => {
            let members: Vec<String> = sqlx::query_scalar(GROUP_MEMBERS)
                .bind(m.app)
                .bind(group)
                .fetch_all(&mut **tx)
                .await
                .map_err(|e| attempt_error(e, "reading group members"))?;
            if members.is_empty() {
                let exists = sqlx::query(GROUP_EXISTS)
                    .bind(m.app)
                    .bind(group)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(|e| attempt_error(e, "reading a group"))?;
                if exists.is_none() {
                    return Err(SendError::NoSuchGroup.into());
                }
            }
            if members
                .binary_search_by(|u| u.as_str().cmp(m.sender))
                .is_err()
            {
                return Err(SendError::NotMember.into());
            }
            members
        }
    };
    users.sort();
    users.dedup();
    Ok(users)
}

/// Increments each user's counter (creating it at 1) in sorted order; answers the new heads.
async fn allocate(
    tx: &mut Transaction<'static, Any>,
    app: &str,
    users: &[String],
) -> Result<Vec<(String, i64)>, Attempt> {
    let mut seqs = Vec::with_capacity(users.len());
    for chunk in users.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO online_user_seq (app_id, user_id, head) VALUES {} \
             ON CONFLICT (app_id, user_id) DO UPDATE SET head = online_user_seq.head + 1 \
             RETURNING user_id, head",
            rows_with_one(chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for user in chunk {
            query = query.bind(app).bind(user.as_str());
        }
        let rows = query
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| attempt_error(e, "allocating sequence numbers"))?;
        for row in rows {
            let get = |e| attempt_error(e, "reading sequence numbers");
            seqs.push((row.try_get(0).map_err(get)?, row.try_get(1).map_err(get)?));
        }
    }
    seqs.sort();
    Ok(seqs)
}

/// `($1, $2, 1), ($3, $4, 1), …`.
fn rows_with_one(rows: usize) -> String {
    (0..rows)
        .map(|r| format!("(${}, ${}, 1)", 2 * r + 1, 2 * r + 2))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One inbox index row per recipient.
async fn index(
    tx: &mut Transaction<'static, Any>,
    app: &str,
    msg_id: &str,
    seqs: &[(String, i64)],
) -> Result<(), Attempt> {
    for chunk in seqs.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO online_inbox (app_id, user_id, seq, message_id) VALUES {}",
            placeholders(chunk.len(), 4, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (user, seq) in chunk {
            query = query.bind(app).bind(user.as_str()).bind(*seq).bind(msg_id);
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(|e| attempt_error(e, "indexing a message"))?;
    }
    Ok(())
}
