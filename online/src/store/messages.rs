//! Sending: the message body is stored once (read diffusion) and every recipient's inbox
//! gets an index row with the next number of that user's sequence.
//!
//! Gap-free and strictly increasing, also under concurrent senders: the sequence is a
//! per-user counter row (`online_user_seq.head`) incremented by an upsert inside the same
//! transaction that writes the index rows. The upsert locks the counter row until commit
//! (PostgreSQL row lock; SQLite's single writer), so a second sender to the same user waits,
//! then continues from the committed value; a rolled-back send returns its numbers with it.
//! Recipients are locked in sorted order, so two group sends cannot deadlock.
//!
//! A repeated send finds the message and its recipients' sequences again
//! ([`OnlineStore::repeat_of`]), so its offline hand-off can be queued again.

use super::{Dialect, OnlineStore, db_error, is_retryable, now_ms};
use crate::protocol::{Content, Recipient};
use push_core::StoreError;
use sqlx::{Any, Row, Transaction};

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

const INDEX_FROM_JSON: &str = "INSERT INTO online_inbox (app_id, user_id, seq, message_id) \
    SELECT $1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), $2 FROM json_each($3)";

const GROUP_EXISTS: &str = "SELECT 1 FROM online_groups WHERE app_id = $1 AND group_id = $2";

const MESSAGE: &str = "SELECT sender, to_kind, to_id, content, created_at FROM online_messages \
    WHERE app_id = $1 AND message_id = $2";

/// Each recipient's sequence of message `$2`, found by walking its inbox down from the head
/// (an index range scan that stops at the first match), at most `$3` entries deep.
const REPEAT_SEQ: &str = "SELECT s.user_id, (SELECT i.seq FROM online_inbox i \
    WHERE i.app_id = s.app_id AND i.user_id = s.user_id AND i.seq > s.head - $3 \
    AND i.message_id = $2 ORDER BY i.seq DESC LIMIT 1) \
    FROM online_user_seq s WHERE s.app_id = $1 AND s.user_id <> $4 AND s.user_id IN ";

/// How deep below each recipient's inbox head [`OnlineStore::repeat_of`] looks for the
/// message. A client repeats an unanswered send within moments, so the message sits near
/// the head; the bound keeps a stale repeat to a big group from walking whole inboxes. A
/// recipient who got more messages since has had pushes for those.
pub const REPEAT_LOOKBACK: i64 = 256;

/// A stored message as a repeated send hands it off again.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// Where it went.
    pub to: Recipient,
    /// What it says.
    pub content: Content,
    /// Unix milliseconds it was stored.
    pub ts: i64,
    /// Its recipients other than the sender, with their sequence, sorted by user: those
    /// whose inbox holds it within [`REPEAT_LOOKBACK`] of the head.
    pub recipients: Vec<(String, i64)>,
}

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

    /// One transaction, a fixed number of statements whatever the group size: the counters
    /// of all recipients in one upsert (its rows read straight from the group's members),
    /// the body once, and all index rows in one insert (on PostgreSQL the index rows go in
    /// the counters' statement). The recipient list travels as one JSON parameter, not as a
    /// bind parameter per row (SQLite looks bind names up linearly: quadratic in the rows).
    async fn send_once(&self, m: &Outgoing<'_>) -> Result<Stored, Attempt> {
        let msg_id = uuid::Uuid::now_v7().to_string();
        let ts = now_ms();
        let content = serde_json::to_string(m.content)
            .map_err(|_| StoreError::Corrupt("message content".into()))
            .map_err(SendError::from)?;
        let mut tx = self.begin().await.map_err(SendError::from)?;
        let seqs = allocate(&mut tx, self.dialect, m, &msg_id).await?;
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
            // Rolls the counters (and index rows) back.
            drop(tx);
            return self.duplicate(m).await.map_err(Attempt::Fail);
        }
        if self.dialect == Dialect::Sqlite {
            index(&mut tx, m.app, &msg_id, &seqs).await?;
        }
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

    /// Message `msg_id` with its recipients (see [`Repeat`]), for the hand-off of a repeated
    /// send: the first send may have stopped between storing the message and queueing its
    /// hand-off. `None` when there is no such message.
    pub async fn repeat_of(&self, app: &str, msg_id: &str) -> Result<Option<Repeat>, StoreError> {
        let Some(row) = sqlx::query(MESSAGE)
            .bind(app)
            .bind(msg_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "reading a message"))?
        else {
            return Ok(None);
        };
        let get = |e| db_error(e, "reading a message");
        let sender: String = row.try_get(0).map_err(get)?;
        let kind: String = row.try_get(1).map_err(get)?;
        let to_id: String = row.try_get(2).map_err(get)?;
        let content: String = row.try_get(3).map_err(get)?;
        let content: Content = serde_json::from_str(&content)
            .map_err(|_| StoreError::Corrupt("message content is not JSON".into()))?;
        let to = if kind == "group" {
            Recipient::Group(to_id)
        } else {
            Recipient::User(to_id)
        };
        let ts: i64 = row.try_get(4).map_err(get)?;
        // Today's members of a group: one who left is not pushed, one who joined since
        // has no inbox entry of the message.
        let query = match &to {
            Recipient::Group(group) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "{REPEAT_SEQ}(SELECT user_id FROM online_group_members WHERE app_id = $5 AND group_id = $6)"
            )))
            .bind(app)
            .bind(msg_id)
            .bind(REPEAT_LOOKBACK)
            .bind(&sender)
            .bind(app)
            .bind(group.as_str()),
            Recipient::User(user) => sqlx::query(sqlx::AssertSqlSafe(format!("{REPEAT_SEQ}($5)")))
                .bind(app)
                .bind(msg_id)
                .bind(REPEAT_LOOKBACK)
                .bind(&sender)
                .bind(user.as_str()),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "finding a message's recipients"))?;
        let mut recipients = Vec::with_capacity(rows.len());
        for row in rows {
            let get = |e| db_error(e, "reading a message's recipients");
            let seq: Option<i64> = row.try_get(1).map_err(get)?;
            if let Some(seq) = seq {
                recipients.push((row.try_get(0).map_err(get)?, seq));
            }
        }
        recipients.sort();
        Ok(Some(Repeat {
            to,
            content,
            ts,
            recipients,
        }))
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

/// Where the recipients come from, as SQL rows `(app_id, user_id, 1)` in user order:
/// a group's members, or a JSON array of users (`$2`).
fn recipient_rows(dialect: Dialect, to: &Recipient) -> &'static str {
    match (to, dialect) {
        (Recipient::Group(_), _) => {
            "SELECT app_id, user_id, 1 FROM online_group_members \
             WHERE app_id = $1 AND group_id = $2 ORDER BY user_id"
        }
        // `WHERE true`: SQLite's upsert after a SELECT needs a WHERE to parse.
        (Recipient::User(_), Dialect::Sqlite) => {
            "SELECT $1, value, 1 FROM json_each($2) WHERE true ORDER BY value"
        }
        (Recipient::User(_), Dialect::Postgres) => {
            "SELECT $1, u, 1 FROM json_array_elements_text($2::json) AS t(u) ORDER BY u"
        }
    }
}

/// Increments every recipient's counter (creating it at 1) in one statement, in user
/// order (PostgreSQL row locks are taken in that order, so two group sends cannot
/// deadlock); answers the new heads, sorted by user, the sender included. On PostgreSQL
/// the same statement writes the index rows (`$3` is the message id).
async fn allocate(
    tx: &mut Transaction<'static, Any>,
    dialect: Dialect,
    m: &Outgoing<'_>,
    msg_id: &str,
) -> Result<Vec<(String, i64)>, Attempt> {
    let upsert = format!(
        "INSERT INTO online_user_seq (app_id, user_id, head) {} \
         ON CONFLICT (app_id, user_id) DO UPDATE SET head = online_user_seq.head + 1 \
         RETURNING user_id, head",
        recipient_rows(dialect, m.to)
    );
    let sql = match dialect {
        Dialect::Sqlite => upsert,
        Dialect::Postgres => format!(
            "WITH s AS ({upsert}), \
             i AS (INSERT INTO online_inbox (app_id, user_id, seq, message_id) \
                   SELECT $1, user_id, head, $3 FROM s) \
             SELECT user_id, head FROM s"
        ),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(m.app);
    query = match m.to {
        Recipient::Group(group) => query.bind(group.as_str()),
        Recipient::User(user) => {
            // A message to oneself is indexed once.
            let users = if user == m.sender {
                serde_json::to_string(&[m.sender])
            } else {
                serde_json::to_string(&[m.sender, user.as_str()])
            }
            .map_err(|_| StoreError::Corrupt("recipients".into()))
            .map_err(SendError::from)?;
            query.bind(users)
        }
    };
    if dialect == Dialect::Postgres {
        query = query.bind(msg_id);
    }
    let rows = query
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| attempt_error(e, "allocating sequence numbers"))?;
    let mut seqs: Vec<(String, i64)> = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |e| attempt_error(e, "reading sequence numbers");
        seqs.push((row.try_get(0).map_err(get)?, row.try_get(1).map_err(get)?));
    }
    seqs.sort();
    if let Recipient::Group(group) = m.to {
        if seqs.is_empty() {
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
        if seqs
            .binary_search_by(|(u, _)| u.as_str().cmp(m.sender))
            .is_err()
        {
            // The caller drops the transaction: the increments roll back.
            return Err(SendError::NotMember.into());
        }
    }
    Ok(seqs)
}

/// SQLite: one index row per recipient, in one statement over a JSON array of
/// `[user, seq]` pairs.
async fn index(
    tx: &mut Transaction<'static, Any>,
    app: &str,
    msg_id: &str,
    seqs: &[(String, i64)],
) -> Result<(), Attempt> {
    let rows = serde_json::to_string(seqs)
        .map_err(|_| StoreError::Corrupt("index rows".into()))
        .map_err(SendError::from)?;
    sqlx::query(INDEX_FROM_JSON)
        .bind(app)
        .bind(msg_id)
        .bind(rows)
        .execute(&mut **tx)
        .await
        .map_err(|e| attempt_error(e, "indexing a message"))?;
    Ok(())
}
