//! After a message is stored: push `msg` frames to its recipients' live connections (here,
//! and through other instances' queues), and queue the offline hand-off for the rest. After
//! a repeated send: queue the offline hand-off again.

use crate::core::Shared;
use crate::protocol::{Content, Recipient};
use crate::relay::RelayMessage;
use crate::store::messages::Stored;
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use std::collections::BTreeMap;

/// The part of a `msg` frame that all recipients share.
#[derive(Serialize)]
struct Tail<'a> {
    msg_id: &'a str,
    from: &'a str,
    to: &'a Recipient,
    #[serde(flatten)]
    content: &'a Content,
    ts: i64,
}

/// The shared part of a `msg` frame as JSON object members, without braces.
pub fn msg_tail(msg_id: &str, from: &str, to: &Recipient, content: &Content, ts: i64) -> String {
    let json = serde_json::to_string(&Tail {
        msg_id,
        from,
        to,
        content,
        ts,
    })
    .unwrap_or_else(|_| "{}".to_string());
    // `{"msg_id":…}` → `"msg_id":…`
    json[1..json.len() - 1].to_string()
}

/// The `msg` frame of one recipient: the shared tail plus their sequence number.
pub fn msg_frame(seq: i64, tail: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(r#"{{"type":"msg","seq":{seq},{tail}}}"#))
}

/// A stored message on its way out.
pub(crate) struct Outbound<'a> {
    pub app: &'a str,
    pub sender: &'a str,
    pub sender_conn: u64,
    pub to: &'a Recipient,
    pub content: &'a Content,
    pub stored: &'a Stored,
}

/// Delivers to live connections and queues the offline hand-off.
pub(crate) async fn dispatch(shared: &Shared, out: Outbound<'_>) {
    let Outbound {
        app,
        sender,
        sender_conn,
        to,
        content,
        stored,
    } = out;
    let tail = msg_tail(&stored.msg_id, sender, to, content, stored.ts);
    for (user, seq) in &stored.seqs {
        let skip = (user == sender).then_some(sender_conn);
        shared.hub.deliver(app, user, &msg_frame(*seq, &tail), skip);
    }
    if let Some(cluster) = &shared.cluster {
        let users: Vec<&str> = stored.seqs.iter().map(|(u, _)| u.as_str()).collect();
        match shared
            .store
            .locate(app, &users, shared.presence_fresh_since())
            .await
        {
            Ok(found) => {
                let seq_of: BTreeMap<&str, i64> =
                    stored.seqs.iter().map(|(u, s)| (u.as_str(), *s)).collect();
                let mut by_instance: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
                for located in found {
                    if located.instance == cluster.instance {
                        continue;
                    }
                    if let Some(seq) = seq_of.get(located.user.as_str()) {
                        let list = by_instance.entry(located.instance).or_default();
                        if !list.iter().any(|(u, _)| *u == located.user) {
                            list.push((located.user, *seq));
                        }
                    }
                }
                for (instance, to) in by_instance {
                    let message = RelayMessage::Deliver {
                        app: app.to_string(),
                        tail: tail.clone(),
                        to,
                    };
                    if let Err(e) = cluster.send(&instance, &message).await {
                        tracing::warn!(error = %e, %instance, "cannot relay a message; recipients will pull it");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot locate recipients on other instances"),
        }
    }
    let recipients: Vec<(String, i64)> = stored
        .seqs
        .iter()
        .filter(|(u, _)| u != sender)
        .cloned()
        .collect();
    if !recipients.is_empty() {
        shared
            .offline
            .enqueue(crate::offline::OfflineJob::new(
                app,
                &stored.msg_id,
                sender,
                to,
                content,
                recipients,
                shared.config.grace(to.is_group()),
            ))
            .await;
    }
}

/// Queues the offline hand-off of message `msg_id` again, for a repeated send by `sender`:
/// the first send may have stopped between storing the message and queueing its hand-off
/// (the client repeats a send it got no `sent` for). Harmless when the hand-off was queued
/// the first time: ingest accepts each push id (`online:<msg_id>:<device hash>`) once, and
/// devices that acked the message or are online are skipped. Nothing is queued for a
/// message older than a push's lifetime. Live connections are not sent the message again
/// (they pull it). A store error is answered, so the client repeats the send later.
pub(crate) async fn hand_off_again(
    shared: &Shared,
    app: &str,
    sender: &str,
    msg_id: &str,
) -> Result<(), push_core::StoreError> {
    let Some(repeat) = shared.store.repeat_of(app, msg_id).await? else {
        return Ok(());
    };
    let age_ms = crate::store::now_ms().saturating_sub(repeat.ts);
    let lifetime_ms = i64::try_from(crate::offline::PUSH_TTL_SECONDS * 1000).unwrap_or(i64::MAX);
    if repeat.recipients.is_empty() || age_ms > lifetime_ms {
        return Ok(());
    }
    tracing::debug!(
        app,
        msg_id,
        "repeated send; queueing its offline hand-off again"
    );
    shared
        .offline
        .enqueue(crate::offline::OfflineJob::new(
            app,
            msg_id,
            sender,
            &repeat.to,
            &repeat.content,
            repeat.recipients,
            shared.config.grace(repeat.to.is_group()),
        ))
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_msg_frame_is_the_tail_with_type_and_seq() {
        let content = Content {
            text: "hi \"you\"".into(),
            title: None,
            data: None,
        };
        let tail = msg_tail("m1", "alice", &Recipient::Group("g".into()), &content, 7);
        let frame = msg_frame(42, &tail);
        let parsed: crate::protocol::InboxMessage = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(parsed.seq, 42);
        assert_eq!(parsed.content.text, "hi \"you\"");
        assert!(
            frame
                .as_str()
                .starts_with(r#"{"type":"msg","seq":42,"msg_id":"m1""#)
        );
    }
}
