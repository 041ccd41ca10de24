#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Store behaviour on SQLite: sequence allocation, dedupe, pull/ack, groups, presence.
//! (PostgreSQL runs the same checks in the root crate's tests/online.rs.)

use super::OnlineStore;
use super::messages::{Outgoing, SendError};
use super::testing;
use crate::protocol::{Content, Recipient};
use std::sync::Arc;

fn content(text: &str) -> Content {
    Content {
        text: text.into(),
        title: None,
        data: None,
    }
}

async fn send(
    store: &OnlineStore,
    sender: &str,
    id: &str,
    to: Recipient,
) -> super::messages::Stored {
    store
        .send(&Outgoing {
            app: "chat",
            sender,
            client_msg_id: id,
            to: &to,
            content: &content(id),
        })
        .await
        .unwrap()
}

/// Every user's inbox holds exactly 1..=head, each once.
async fn assert_gap_free(store: &OnlineStore, users: &[&str]) {
    for user in users {
        let head = store.head("chat", user).await.unwrap();
        let page = store.pull("chat", user, 0, 1000).await.unwrap();
        let seqs: Vec<i64> = page.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "inbox of {user}");
    }
}

#[tokio::test]
async fn sequences_start_at_one_and_count_up_per_user() {
    let store = testing::sqlite().await;
    let a = send(&store, "alice", "c1", Recipient::User("bob".into())).await;
    assert_eq!(a.sender_seq, 1);
    assert_eq!(a.seqs, vec![("alice".into(), 1), ("bob".into(), 1)]);
    let b = send(&store, "bob", "c1", Recipient::User("carol".into())).await;
    assert_eq!(b.seqs, vec![("bob".into(), 2), ("carol".into(), 1)]);
    assert_eq!(store.head("chat", "bob").await.unwrap(), 2);
    assert_eq!(store.head("chat", "nobody").await.unwrap(), 0);
    assert_gap_free(&store, &["alice", "bob", "carol"]).await;
}

#[tokio::test]
async fn a_repeated_client_id_is_stored_once() {
    let store = testing::sqlite().await;
    let first = send(&store, "alice", "same", Recipient::User("bob".into())).await;
    let again = send(&store, "alice", "same", Recipient::User("bob".into())).await;
    assert!(again.duplicate);
    assert_eq!(again.msg_id, first.msg_id);
    assert_eq!(again.sender_seq, first.sender_seq);
    assert_eq!(store.head("chat", "bob").await.unwrap(), 1);
    // The same client id from another sender is another message.
    let other = send(&store, "bob", "same", Recipient::User("alice".into())).await;
    assert!(!other.duplicate);
}

#[tokio::test]
async fn a_repeat_finds_the_message_and_its_recipients_sequences() {
    use super::messages::REPEAT_LOOKBACK;
    let store = testing::sqlite().await;
    // bob has an older message, so his sequence of m1 is 2.
    send(&store, "carol", "c0", Recipient::User("bob".into())).await;
    let m1 = send(&store, "alice", "m1", Recipient::User("bob".into())).await;
    let repeat = store.repeat_of("chat", &m1.msg_id).await.unwrap().unwrap();
    assert_eq!(repeat.to, Recipient::User("bob".into()));
    assert_eq!(repeat.content, content("m1"));
    assert_eq!(repeat.ts, m1.ts);
    assert_eq!(
        repeat.recipients,
        vec![("bob".to_string(), 2)],
        "the sender is left out"
    );
    assert!(store.repeat_of("chat", "no-such").await.unwrap().is_none());
    assert!(
        store
            .repeat_of("other", &m1.msg_id)
            .await
            .unwrap()
            .is_none()
    );

    let me = send(&store, "alice", "me", Recipient::User("alice".into())).await;
    let repeat = store.repeat_of("chat", &me.msg_id).await.unwrap().unwrap();
    assert!(repeat.recipients.is_empty());

    // Group: today's members other than the sender; one who joined later has no entry.
    store.create_group("chat", "g", "G").await.unwrap();
    let members: Vec<String> = ["ann", "ben", "bob"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    store.add_members("chat", "g", &members, 10).await.unwrap();
    let g1 = send(&store, "ben", "g1", Recipient::Group("g".into())).await;
    store
        .add_members("chat", "g", &["dan".to_string()], 10)
        .await
        .unwrap();
    send(&store, "ann", "g2", Recipient::Group("g".into())).await;
    let repeat = store.repeat_of("chat", &g1.msg_id).await.unwrap().unwrap();
    let expected: Vec<(String, i64)> = g1
        .seqs
        .iter()
        .filter(|(u, _)| u != "ben")
        .cloned()
        .collect();
    assert_eq!(repeat.recipients, expected);
    assert_eq!(repeat.to, Recipient::Group("g".into()));

    // Deeper than the lookback below bob's head: not found any more.
    for i in 0..REPEAT_LOOKBACK {
        send(
            &store,
            "carol",
            &format!("n{i}"),
            Recipient::User("bob".into()),
        )
        .await;
    }
    let repeat = store.repeat_of("chat", &m1.msg_id).await.unwrap().unwrap();
    assert!(repeat.recipients.is_empty(), "{:?}", repeat.recipients);
}

#[tokio::test]
async fn a_message_to_oneself_is_indexed_once() {
    let store = testing::sqlite().await;
    let stored = send(&store, "alice", "me", Recipient::User("alice".into())).await;
    assert_eq!(stored.seqs, vec![("alice".into(), 1)]);
    assert_eq!(stored.sender_seq, 1);
    assert_gap_free(&store, &["alice"]).await;
}

#[tokio::test]
async fn a_group_message_is_stored_once_and_indexed_per_member() {
    let store = testing::sqlite().await;
    store.create_group("chat", "g", "G").await.unwrap();
    let members: Vec<String> = ["ann", "ben", "cid"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        store.add_members("chat", "g", &members, 10).await.unwrap(),
        Some(3)
    );
    let stored = send(&store, "ben", "m1", Recipient::Group("g".into())).await;
    assert_eq!(stored.seqs.len(), 3);
    let bodies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM online_messages")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(bodies, 1, "read diffusion: one body");
    let page = store.pull("chat", "cid", 0, 10).await.unwrap();
    assert_eq!(page.messages[0].msg_id, stored.msg_id);
    assert_eq!(page.messages[0].to, Recipient::Group("g".into()));
    // Outsiders and unknown groups are refused.
    let outsider = store
        .send(&Outgoing {
            app: "chat",
            sender: "zed",
            client_msg_id: "x",
            to: &Recipient::Group("g".into()),
            content: &content("x"),
        })
        .await;
    assert!(matches!(outsider, Err(SendError::NotMember)));
    let unknown = store
        .send(&Outgoing {
            app: "chat",
            sender: "ben",
            client_msg_id: "y",
            to: &Recipient::Group("nope".into()),
            content: &content("y"),
        })
        .await;
    assert!(matches!(unknown, Err(SendError::NoSuchGroup)));
    // A refused send rolls its counter increments back.
    for member in ["ann", "ben", "cid"] {
        assert_eq!(
            store.head("chat", member).await.unwrap(),
            1,
            "head of {member}"
        );
    }
    // A repeated group send is stored once and moves no counter.
    let again = send(&store, "ben", "m1", Recipient::Group("g".into())).await;
    assert!(again.duplicate);
    assert_eq!(again.msg_id, stored.msg_id);
    assert_eq!(store.head("chat", "cid").await.unwrap(), 1);
    // Group size limit.
    let many: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    assert_eq!(
        store.add_members("chat", "g", &many, 10).await.unwrap(),
        None
    );
    assert_eq!(store.members("chat", "g").await.unwrap().len(), 3);
}

#[tokio::test]
async fn sequences_stay_gap_free_under_concurrent_senders() {
    let dir = tempfile::tempdir().unwrap();
    let store = testing::sqlite_file(&dir.path().join("online.db"), 4).await;
    store.create_group("chat", "team", "Team").await.unwrap();
    let members: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    store
        .add_members("chat", "team", &members, 100)
        .await
        .unwrap();
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for s in 0..6 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let sender = format!("m{s}");
            for i in 0..15 {
                let to = if i % 2 == 0 {
                    Recipient::Group("team".into())
                } else {
                    Recipient::User("m0".into())
                };
                send(&store, &sender, &format!("{s}-{i}"), to).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let users: Vec<&str> = members.iter().map(String::as_str).collect();
    assert_gap_free(&store, &users).await;
    // m0 got every group message (6 senders × 8) plus every direct one (5 others × 7)
    // plus its own 7 direct sends (as sender) → 48 + 35 + 7.
    assert_eq!(store.head("chat", "m0").await.unwrap(), 48 + 35 + 7);
}

#[tokio::test]
async fn pull_pages_and_acks_move_forward_per_device() {
    let store = testing::sqlite().await;
    for i in 0..5 {
        send(
            &store,
            "alice",
            &format!("c{i}"),
            Recipient::User("bob".into()),
        )
        .await;
    }
    let page = store.pull("chat", "bob", 0, 2).await.unwrap();
    assert_eq!(
        page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(page.more);
    let last = store.pull("chat", "bob", 3, 10).await.unwrap();
    assert_eq!(last.messages.len(), 2);
    assert!(!last.more);
    assert_eq!(store.ack("chat", "bob", "phone", 3).await.unwrap(), (3, 2));
    // A late, smaller ack does not move the position back.
    assert_eq!(store.ack("chat", "bob", "phone", 1).await.unwrap(), (3, 2));
    assert_eq!(store.acked("chat", "bob", "laptop").await.unwrap(), 0);
    assert_eq!(store.ack("chat", "bob", "laptop", 5).await.unwrap(), (5, 0));
    assert!(store.ack("chat", "bob", "phone", 6).await.is_err());
    assert!(store.ack("chat", "bob", "phone", -1).await.is_err());
    let mut acks = store.acks_of_user("chat", "bob").await.unwrap();
    acks.sort();
    assert_eq!(acks, vec![("laptop".into(), 5), ("phone".into(), 3)]);
}

fn conn(instance: &'static str, conn_id: i64) -> super::presence::Connection<'static> {
    super::presence::Connection {
        app: "chat",
        user: "ann",
        device: "phone",
        instance,
        conn_id,
    }
}

#[tokio::test]
async fn presence_claims_report_the_live_connection_they_replace() {
    let store = testing::sqlite().await;
    let now = 1_000_000;
    let first = store
        .claim_presence(conn("i1", 7), now, now - 60_000)
        .await
        .unwrap();
    assert_eq!(first, None);
    let second = store
        .claim_presence(conn("i2", 3), now + 1, now - 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.instance.as_str(), second.conn_id), ("i1", 7));
    // The old connection's late release leaves the new one.
    store.release_presence(conn("i1", 7)).await.unwrap();
    let found = store.locate("chat", &["ann"], now - 60_000).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].instance, "i2");
    // Stale rows are ignored and purged.
    assert!(
        store
            .locate("chat", &["ann"], now + 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.purge_presence(now + 10).await.unwrap(), 1);
}
