//! The queue conformance suite: every case runs against RabbitMQ, the embedded queue on
//! SQLite (a fresh temporary file) and the embedded queue on PostgreSQL (a fresh database
//! per test).
//!
//! - RabbitMQ: `PUSHGATE_TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
//!   Each test uses its own prefix `pgtest_<uuid>` and deletes its queues and exchanges at
//!   the end.
//! - PostgreSQL: `PUSHGATE_TEST_DATABASE_URL`, default
//!   `postgres://postgres@127.0.0.1:5432/postgres`; a database `pushgate_test_<uuid>` is
//!   created and dropped.
//!
//! Neither is optional: when one cannot be reached its tests fail, naming the URL and the
//! variable to set. Each case is written once against `push_core::queue::Queue`; the
//! `conformance!` macro at the bottom generates `rabbit::<case>`, `sqlite::<case>` and
//! `postgres::<case>`. Backend-specific tests (lease expiry, connection loss) follow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use pushgate::queue::{
    AckTag, EmbeddedOptions, EmbeddedQueue, Envelope, EventStream, Queue, QueueError, QueueName,
    REASON_HEADER, RabbitOptions, RabbitQueue, Received, Subscription,
};
use pushgate::store::SqlStore;
use sqlx::{AssertSqlSafe, Connection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Fresh backends
// ---------------------------------------------------------------------------------------

const AMQP_URL_VAR: &str = "PUSHGATE_TEST_AMQP_URL";
const AMQP_URL_DEFAULT: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const PG_URL_VAR: &str = "PUSHGATE_TEST_DATABASE_URL";
const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The embedded lease in tests: short, so lease expiry is quick to observe, and long
/// enough for every case to settle its messages in time.
const TEST_LEASE: Duration = Duration::from_secs(2);
/// How long a case waits for a message that must come.
const ARRIVES: Duration = Duration::from_secs(10);
/// How long a case waits to be sure a message does not come.
const QUIET: Duration = Duration::from_millis(600);

/// The vendors every fixture prepares.
fn vendors() -> Vec<String> {
    vec!["apns".to_string(), "fcm".to_string()]
}

/// The queues a test may touch (deleted afterwards on RabbitMQ).
fn queues() -> Vec<QueueName> {
    let mut all = vec![QueueName::Ingest, QueueName::Dead];
    all.extend(vendors().into_iter().map(QueueName::Vendor));
    all
}

fn amqp_url() -> String {
    std::env::var(AMQP_URL_VAR).unwrap_or_else(|_| AMQP_URL_DEFAULT.to_string())
}

/// A backend nobody else uses; [`Fixture::open`] gives new instances of it (a new
/// connection or a new pool each time).
struct Fixture {
    kind: Kind,
    opened: Mutex<Vec<Opened>>,
}

enum Kind {
    Rabbit {
        url: String,
        prefix: String,
    },
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        admin_url: String,
        database: String,
    },
}

enum Opened {
    Rabbit(RabbitQueue),
    Embedded(SqlStore),
}

impl Fixture {
    fn rabbit() -> Fixture {
        Fixture {
            kind: Kind::Rabbit {
                url: amqp_url(),
                prefix: format!("pgtest_{}", Uuid::new_v4().simple()),
            },
            opened: Mutex::new(Vec::new()),
        }
    }

    async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("push.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        Fixture {
            kind: Kind::Sqlite { url, _dir: dir },
            opened: Mutex::new(Vec::new()),
        }
    }

    async fn postgres() -> Fixture {
        let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| PG_URL_DEFAULT.to_string());
        let database = format!("pushgate_test_{}", Uuid::new_v4().simple());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL is required for the queue conformance suite and is unreachable at \
                 {admin_url} ({e}). Start it, or set {PG_URL_VAR} to a server where this user \
                 may CREATE DATABASE."
            ),
        };
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating database {database} via {PG_URL_VAR}: {e}"));
        admin.close().await.ok();
        let url = with_database(&admin_url, &database);
        let store = SqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        Fixture {
            kind: Kind::Postgres {
                url,
                admin_url,
                database,
            },
            opened: Mutex::new(Vec::new()),
        }
    }

    /// A new, prepared instance of the backend.
    async fn open(&self) -> Arc<dyn Queue> {
        let queue: Arc<dyn Queue> = match &self.kind {
            Kind::Rabbit { url, prefix } => {
                let options = RabbitOptions {
                    prefix: prefix.clone(),
                    ..RabbitOptions::default()
                };
                let queue = match RabbitQueue::connect_with(url, options).await {
                    Ok(queue) => queue,
                    Err(e) => panic!(
                        "RabbitMQ is required for the queue conformance suite and is \
                         unreachable at {url} ({e}). Start it, or set {AMQP_URL_VAR} to a \
                         broker where this user may declare queues and exchanges."
                    ),
                };
                self.opened
                    .lock()
                    .unwrap()
                    .push(Opened::Rabbit(queue.clone()));
                Arc::new(queue)
            }
            Kind::Sqlite { url, .. } | Kind::Postgres { url, .. } => {
                let store = SqlStore::connect(url).await.unwrap();
                let queue = EmbeddedQueue::with_options(
                    &store,
                    EmbeddedOptions {
                        lease: TEST_LEASE,
                        poll_interval: Duration::from_millis(100),
                        ..EmbeddedOptions::default()
                    },
                );
                self.opened.lock().unwrap().push(Opened::Embedded(store));
                Arc::new(queue)
            }
        };
        queue.prepare(&vendors()).await.unwrap();
        queue
    }

    /// Closes every instance and deletes what the test created. (A failed test leaves its
    /// queues or database behind, for inspection.)
    async fn finish(self) {
        let opened = std::mem::take(&mut *self.opened.lock().unwrap());
        for o in opened {
            match o {
                Opened::Rabbit(q) => q.close().await,
                Opened::Embedded(store) => store.close().await,
            }
        }
        match self.kind {
            Kind::Rabbit { url, prefix } => {
                // On a connection of its own: deleting a queue cancels its consumers, which
                // must not race with the closing of their channels on the same connection.
                let q = RabbitQueue::connect(&url, &prefix).await.unwrap();
                q.delete_topology(&queues()).await.unwrap();
                q.close().await;
            }
            Kind::Sqlite { .. } => {}
            Kind::Postgres {
                admin_url,
                database,
                ..
            } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .unwrap();
                admin.close().await.ok();
            }
        }
    }
}

/// `url` with its database name replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let path_start = main[authority_start..]
        .find('/')
        .map_or(main.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &main[..path_start])
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn apns() -> QueueName {
    QueueName::Vendor("apns".into())
}

fn fcm() -> QueueName {
    QueueName::Vendor("fcm".into())
}

/// Message number `n`: JSON body `{"n":n}` and header `n`.
fn msg(n: u32) -> Envelope {
    Envelope::new(format!("{{\"n\":{n}}}")).with_header("n", n.to_string())
}

/// The number of a message made by [`msg`].
fn n_of(r: &Received) -> u32 {
    r.envelope.headers["n"].parse().unwrap()
}

fn msgs(range: std::ops::Range<u32>) -> Vec<Envelope> {
    range.map(msg).collect()
}

/// The next message within `wait`, if any.
async fn next_within(sub: &mut Box<dyn Subscription>, wait: Duration) -> Option<Received> {
    tokio::time::timeout(wait, sub.next()).await.ok().flatten()
}

/// The next message; fails the test when none comes within [`ARRIVES`].
async fn expect_next(sub: &mut Box<dyn Subscription>, what: &str) -> Received {
    match next_within(sub, ARRIVES).await {
        Some(r) => r,
        None => panic!("no message within {ARRIVES:?}: {what}"),
    }
}

/// Fails the test when a message comes within [`QUIET`].
async fn expect_quiet(sub: &mut Box<dyn Subscription>, what: &str) {
    if let Some(r) = next_within(sub, QUIET).await {
        panic!("unexpected message {:?}: {what}", r.envelope);
    }
}

async fn next_event_within(
    events: &mut Box<dyn EventStream>,
    wait: Duration,
) -> Option<(String, Vec<u8>)> {
    tokio::time::timeout(wait, events.next())
        .await
        .ok()
        .flatten()
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

async fn published_messages_arrive_with_body_and_headers(fx: &Fixture) {
    let q = fx.open().await;
    let special = Envelope::new(r#"{"title":"Grüße ✓","n":0}"#)
        .with_header("n", "0")
        .with_header("x-pushgate-app", "chat-prod")
        .with_header("empty", "");
    let mut batch = vec![special.clone()];
    batch.extend(msgs(1..3));
    q.publish(&apns(), batch.clone(), None).await.unwrap();

    let (mut sub, acker) = q.subscribe(&apns(), 10).await.unwrap();
    let mut tags = Vec::new();
    for want in &batch {
        let got = expect_next(&mut sub, "a published message").await;
        assert_eq!(&got.envelope, want, "same body and headers, in order");
        assert!(!got.redelivered);
        tags.push(got.tag);
    }
    acker.ack(&tags).await.unwrap();

    // Ingest goes through the ingest route of contract 1.
    q.publish(&QueueName::Ingest, vec![msg(7)], None)
        .await
        .unwrap();
    let (mut ingest, ingest_acker) = q.subscribe(&QueueName::Ingest, 1).await.unwrap();
    let got = expect_next(&mut ingest, "an ingest message").await;
    assert_eq!(got.envelope, msg(7));
    ingest_acker.ack(&[got.tag]).await.unwrap();
    expect_quiet(&mut sub, "everything was acked").await;
}

async fn acked_messages_are_not_redelivered(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), msgs(0..3), None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 10).await.unwrap();
    let a = expect_next(&mut sub, "first").await;
    let b = expect_next(&mut sub, "second").await;
    let c = expect_next(&mut sub, "third").await;
    // Two oldest together (a `multiple` ack where the backend has one), then the last.
    acker.ack(&[b.tag, a.tag]).await.unwrap();
    acker.ack(&[c.tag]).await.unwrap();
    drop(sub);
    drop(acker);
    let (mut again, _acker) = q.subscribe(&apns(), 10).await.unwrap();
    expect_quiet(&mut again, "acked messages are gone").await;
    assert_eq!(q.depth(&apns()).await.unwrap(), 0);
}

async fn unacked_messages_come_back_redelivered_after_the_subscription_is_dropped(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), msgs(0..2), None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 10).await.unwrap();
    let first = expect_next(&mut sub, "first").await;
    let second = expect_next(&mut sub, "second").await;
    assert!(!first.redelivered && !second.redelivered);
    drop(sub);

    let (mut again, again_acker) = q.subscribe(&apns(), 10).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = expect_next(&mut again, "an unacked message comes back").await;
        assert!(r.redelivered, "flagged as redelivered");
        seen.push(n_of(&r));
        again_acker.ack(&[r.tag]).await.unwrap();
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![0, 1]);
    // The old subscription's tags are stale now.
    let late = acker.ack(&[first.tag]).await;
    assert!(matches!(late, Err(QueueError::StaleTag)), "{late:?}");
}

async fn delayed_messages_are_not_delivered_early(fx: &Fixture) {
    let q = fx.open().await;
    let delay = Duration::from_millis(400);
    let start = Instant::now();
    q.publish(&fcm(), vec![msg(1)], Some(delay)).await.unwrap();
    q.publish(&fcm(), vec![msg(2)], None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&fcm(), 10).await.unwrap();
    let first = expect_next(&mut sub, "the undelayed message").await;
    assert_eq!(
        n_of(&first),
        2,
        "the undelayed message overtakes the delayed one"
    );
    let second = expect_next(&mut sub, "the delayed message").await;
    let waited = start.elapsed();
    assert_eq!(n_of(&second), 1);
    assert_eq!(second.envelope, msg(1), "no headers added on the way");
    assert!(
        waited >= delay,
        "delivered after {waited:?}, before its delay {delay:?}"
    );
    assert!(!second.redelivered);
    acker.ack(&[first.tag, second.tag]).await.unwrap();
}

async fn dead_lettered_messages_go_to_dead_with_their_reason(fx: &Fixture) {
    let q = fx.open().await;
    let bad = msg(1).with_header("x-pushgate-app", "chat-prod");
    q.publish(&apns(), vec![bad.clone()], None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 5).await.unwrap();
    let got = expect_next(&mut sub, "the message").await;
    acker
        .dead_letter(got.tag, &got.envelope, "unparseable payload")
        .await
        .unwrap();

    let (mut dead, dead_acker) = q.subscribe(&QueueName::Dead, 5).await.unwrap();
    let d = expect_next(&mut dead, "the dead letter").await;
    assert_eq!(d.envelope.body, bad.body);
    assert_eq!(d.envelope.headers[REASON_HEADER], "unparseable payload");
    for (k, v) in &bad.headers {
        assert_eq!(&d.envelope.headers[k], v, "original header {k} kept");
    }
    dead_acker.ack(&[d.tag]).await.unwrap();

    drop(sub);
    let (mut again, _a) = q.subscribe(&apns(), 5).await.unwrap();
    expect_quiet(&mut again, "a dead letter never returns to its queue").await;
    let stale = acker.ack(&[got.tag]).await;
    assert!(matches!(stale, Err(QueueError::StaleTag)), "{stale:?}");
}

async fn released_messages_are_redelivered(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), vec![msg(5)], None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 5).await.unwrap();
    let first = expect_next(&mut sub, "the message").await;
    acker.release(first.tag).await.unwrap();
    let again = expect_next(&mut sub, "the released message").await;
    assert_eq!(again.envelope, msg(5));
    assert!(again.redelivered);
    acker.ack(&[again.tag]).await.unwrap();
    let stale = acker.release(first.tag).await;
    assert!(matches!(stale, Err(QueueError::StaleTag)), "{stale:?}");
}

async fn prefetch_bounds_unacked_messages(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), msgs(0..6), None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 2).await.unwrap();
    let a = expect_next(&mut sub, "first").await;
    let b = expect_next(&mut sub, "second").await;
    expect_quiet(&mut sub, "two are unacked, prefetch is two").await;
    acker.ack(&[a.tag]).await.unwrap();
    let c = expect_next(&mut sub, "room for one more").await;
    expect_quiet(&mut sub, "two unacked again").await;
    acker.ack(&[b.tag, c.tag]).await.unwrap();
    let mut seen = vec![n_of(&a), n_of(&b), n_of(&c)];
    while seen.len() < 6 {
        let r = expect_next(&mut sub, "the rest").await;
        seen.push(n_of(&r));
        acker.ack(&[r.tag]).await.unwrap();
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..6).collect::<Vec<_>>());
}

async fn competing_subscriptions_share_messages(fx: &Fixture) {
    let q = fx.open().await;
    let total = 40u32;
    q.publish(&fcm(), msgs(0..total), None).await.unwrap();
    // Message number → how many consumers hold it right now; and who saw what.
    let held: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (mut sub, acker) = q.subscribe(&fcm(), 4).await.unwrap();
        let held = held.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(r) = next_within(&mut sub, Duration::from_millis(1_500)).await {
                let n = n_of(&r);
                {
                    let mut held = held.lock().unwrap();
                    let count = held.entry(n).or_default();
                    *count += 1;
                    assert_eq!(*count, 1, "message {n} held by two consumers at once");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                held.lock().unwrap().remove(&n);
                acker.ack(&[r.tag]).await.unwrap();
                seen.push(n);
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        let seen = worker.await.unwrap();
        assert!(!seen.is_empty(), "both consumers got messages");
        all.extend(seen);
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (0..total).collect::<Vec<_>>(),
        "each message exactly once"
    );
}

async fn messages_survive_a_new_backend_instance(fx: &Fixture) {
    let first = fx.open().await;
    first.publish(&fcm(), msgs(0..3), None).await.unwrap();
    drop(first);
    let second = fx.open().await;
    let (mut sub, acker) = second.subscribe(&fcm(), 10).await.unwrap();
    for n in 0..3 {
        let r = expect_next(&mut sub, "a message from the earlier instance").await;
        assert_eq!(n_of(&r), n);
        acker.ack(&[r.tag]).await.unwrap();
    }
}

async fn events_reach_matching_patterns(fx: &Fixture) {
    let q = fx.open().await;
    let mut by_app = q.subscribe_events("a.*").await.unwrap();
    let mut by_state = q.subscribe_events("#.x").await.unwrap();
    for key in ["a.x", "a.y", "b.x", "a.b.x", "c.z"] {
        q.publish_event(key, format!("{{\"key\":\"{key}\"}}").into_bytes())
            .await
            .unwrap();
    }
    for (events, want) in [
        (&mut by_app, vec!["a.x", "a.y"]),
        (&mut by_state, vec!["a.x", "b.x", "a.b.x"]),
    ] {
        for key in want {
            let (got, body) = next_event_within(events, ARRIVES)
                .await
                .unwrap_or_else(|| panic!("event {key} did not arrive"));
            assert_eq!(got, key);
            assert_eq!(body, format!("{{\"key\":\"{key}\"}}").into_bytes());
        }
        if let Some((extra, _)) = next_event_within(events, QUIET).await {
            panic!("event {extra} does not match the pattern");
        }
    }
}

async fn event_batches_arrive_whole_and_in_order_per_key(fx: &Fixture) {
    let q = fx.open().await;
    let mut all = q.subscribe_events("a.*").await.unwrap();
    let batch: Vec<(String, Vec<u8>)> = (0..30)
        .map(|i| {
            let key = if i % 3 == 0 { "a.y" } else { "a.x" };
            (key.to_string(), format!("{{\"n\":{i}}}").into_bytes())
        })
        .chain(std::iter::once(("b.x".to_string(), b"{}".to_vec())))
        .collect();
    q.publish_events(batch.clone()).await.unwrap();
    q.publish_events(Vec::new()).await.unwrap();
    let mut got: Vec<(String, Vec<u8>)> = Vec::new();
    while got.len() < 30 {
        match next_event_within(&mut all, ARRIVES).await {
            Some(event) => got.push(event),
            None => panic!("only {} of 30 events arrived", got.len()),
        }
    }
    if let Some((extra, _)) = next_event_within(&mut all, QUIET).await {
        panic!("event {extra} does not match the pattern");
    }
    for key in ["a.x", "a.y"] {
        let sent: Vec<&Vec<u8>> = batch
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, b)| b)
            .collect();
        let received: Vec<&Vec<u8>> = got
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(received, sent, "{key}: every event, in order");
    }
}

async fn depth_counts_ready_messages(fx: &Fixture) {
    let q = fx.open().await;
    assert_eq!(q.depth(&apns()).await.unwrap(), 0);
    q.publish(&apns(), msgs(0..4), None).await.unwrap();
    q.publish(&apns(), vec![msg(9)], Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(
        q.depth(&apns()).await.unwrap(),
        4,
        "delayed messages are not ready"
    );
    let (mut sub, acker) = q.subscribe(&apns(), 1).await.unwrap();
    let r = expect_next(&mut sub, "one message").await;
    // The broker may count a delivery a moment late.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut depth = q.depth(&apns()).await.unwrap();
    while depth != 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        depth = q.depth(&apns()).await.unwrap();
    }
    assert_eq!(depth, 3, "a message in flight is not ready");
    acker.ack(&[r.tag]).await.unwrap();
    assert_eq!(q.depth(&QueueName::Dead).await.unwrap(), 0);
}

async fn a_poison_message_does_not_block_the_rest(fx: &Fixture) {
    let q = fx.open().await;
    let poison = Envelope::new("{not json").with_header("n", "0");
    let mut batch = vec![poison.clone()];
    batch.extend(msgs(1..3));
    q.publish(&QueueName::Ingest, batch, None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&QueueName::Ingest, 1).await.unwrap();
    let mut good = Vec::new();
    for _ in 0..3 {
        let r = expect_next(&mut sub, "the next message").await;
        if r.envelope.body == poison.body {
            acker
                .dead_letter(r.tag, &r.envelope, "invalid JSON")
                .await
                .unwrap();
        } else {
            good.push(n_of(&r));
            acker.ack(&[r.tag]).await.unwrap();
        }
    }
    assert_eq!(good, vec![1, 2]);
    let (mut dead, dead_acker) = q.subscribe(&QueueName::Dead, 1).await.unwrap();
    let d = expect_next(&mut dead, "the poison message").await;
    assert_eq!(d.envelope.body, poison.body);
    assert_eq!(d.envelope.headers[REASON_HEADER], "invalid JSON");
    dead_acker.ack(&[d.tag]).await.unwrap();
    expect_quiet(&mut sub, "the poison message is not redelivered").await;
}

async fn stale_and_foreign_tags_are_reported(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), msgs(0..2), None).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 5).await.unwrap();
    let a = expect_next(&mut sub, "first").await;
    acker.ack(&[a.tag]).await.unwrap();
    let twice = acker.ack(&[a.tag]).await;
    assert!(matches!(twice, Err(QueueError::StaleTag)), "{twice:?}");
    let made_up = AckTag {
        generation: 12_345,
        id: 67_890,
    };
    let foreign = acker.ack(&[made_up]).await;
    assert!(matches!(foreign, Err(QueueError::StaleTag)), "{foreign:?}");
    let dead = acker.dead_letter(made_up, &msg(0), "nope").await;
    assert!(matches!(dead, Err(QueueError::StaleTag)), "{dead:?}");
    // A mixed batch acks what it can and reports the rest.
    let b = expect_next(&mut sub, "second").await;
    let mixed = acker.ack(&[b.tag, made_up]).await;
    assert!(matches!(mixed, Err(QueueError::StaleTag)), "{mixed:?}");
    drop(sub);
    let (mut again, _a) = q.subscribe(&apns(), 5).await.unwrap();
    expect_quiet(&mut again, "the valid tag of the mixed batch was acked").await;
}

// ---------------------------------------------------------------------------------------
// Every backend, every case
// ---------------------------------------------------------------------------------------

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod rabbit {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = super::Fixture::rabbit();
                    super::$case(&fx).await;
                    fx.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = super::Fixture::sqlite().await;
                    super::$case(&fx).await;
                    fx.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = super::Fixture::postgres().await;
                    super::$case(&fx).await;
                    fx.finish().await;
                }
            )*
        }
    };
}

conformance!(
    published_messages_arrive_with_body_and_headers,
    acked_messages_are_not_redelivered,
    unacked_messages_come_back_redelivered_after_the_subscription_is_dropped,
    delayed_messages_are_not_delivered_early,
    dead_lettered_messages_go_to_dead_with_their_reason,
    released_messages_are_redelivered,
    prefetch_bounds_unacked_messages,
    competing_subscriptions_share_messages,
    messages_survive_a_new_backend_instance,
    events_reach_matching_patterns,
    event_batches_arrive_whole_and_in_order_per_key,
    depth_counts_ready_messages,
    a_poison_message_does_not_block_the_rest,
    stale_and_foreign_tags_are_reported,
);

// ---------------------------------------------------------------------------------------
// Embedded only: leases
// ---------------------------------------------------------------------------------------

/// A consumer that holds a message past its lease (as a crashed one would) loses it to
/// another consumer; its late ack is stale.
async fn expired_leases_come_back_redelivered(fx: &Fixture) {
    let q = fx.open().await;
    q.publish(&apns(), vec![msg(1)], None).await.unwrap();
    let (mut crashed, crashed_acker) = q.subscribe(&apns(), 5).await.unwrap();
    let held = expect_next(&mut crashed, "the message").await;
    let taken_at = Instant::now();
    let (mut other, other_acker) = q.subscribe(&apns(), 5).await.unwrap();
    let again = expect_next(&mut other, "the message after its lease ran out").await;
    // The lease began a little before `taken_at` (when the row was leased, not handed out).
    assert!(
        taken_at.elapsed() >= TEST_LEASE / 2,
        "not before the lease ran out ({:?})",
        taken_at.elapsed()
    );
    assert!(again.redelivered);
    assert_eq!(again.envelope, held.envelope);
    let late = crashed_acker.ack(&[held.tag]).await;
    assert!(matches!(late, Err(QueueError::StaleTag)), "{late:?}");
    other_acker.ack(&[again.tag]).await.unwrap();
    drop(crashed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_expired_leases_come_back_redelivered() {
    let fx = Fixture::sqlite().await;
    expired_leases_come_back_redelivered(&fx).await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expired_leases_come_back_redelivered() {
    let fx = Fixture::postgres().await;
    expired_leases_come_back_redelivered(&fx).await;
    fx.finish().await;
}

// ---------------------------------------------------------------------------------------
// RabbitMQ only: connection loss, unreachable brokers, long delays
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_consumers_and_publishers_survive_closed_connections() {
    let fx = Fixture::rabbit();
    let Kind::Rabbit { prefix, .. } = &fx.kind else {
        unreachable!()
    };
    let prefix = prefix.clone();
    let q = fx.open().await;
    let total = 500u32;
    let cut_at = 100usize;

    let published = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let publisher = {
        let q = q.clone();
        let published = published.clone();
        tokio::spawn(async move {
            let mut failures = 0;
            for start in (0..total).step_by(10) {
                let batch = msgs(start..start + 10);
                // A publish may fail once the outage outlasts its timeout; publish again.
                while let Err(e) = q.publish(&apns(), batch.clone(), None).await {
                    failures += 1;
                    assert!(failures < 20, "publishing keeps failing: {e}");
                }
                published.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            failures
        })
    };

    let (mut sub, acker) = q.subscribe(&apns(), 20).await.unwrap();
    let mut seen: HashMap<u32, u32> = HashMap::new();
    let mut stale = 0;
    let mut cut: Option<(Instant, AckTag)> = None;
    let mut recovered_after = None;
    let mut deliveries = 0usize;
    while seen.len() < total as usize {
        let r = match next_within(&mut sub, Duration::from_secs(20)).await {
            Some(r) => r,
            None => panic!(
                "stalled after {} of {total} messages ({deliveries} deliveries)",
                seen.len()
            ),
        };
        deliveries += 1;
        *seen.entry(n_of(&r)).or_default() += 1;
        if deliveries == cut_at {
            let closed = support::close_rabbit_connections(&prefix);
            assert!(closed >= 1, "no connection of this test found to close");
            let so_far = published.load(std::sync::atomic::Ordering::SeqCst);
            eprintln!("cut after {so_far} of {total} messages were published");
            assert!(
                so_far < total,
                "the publisher is still publishing at the cut"
            );
            // Settled only once the subscription is back, on a new channel.
            cut = Some((Instant::now(), r.tag));
            continue;
        }
        if let Some((at, old)) = cut
            && recovered_after.is_none()
        {
            recovered_after = Some(at.elapsed());
            let late = acker.ack(&[old]).await;
            assert!(
                matches!(late, Err(QueueError::StaleTag)),
                "an ack from before the cut is stale: {late:?}"
            );
        }
        match acker.ack(&[r.tag]).await {
            Ok(()) => {}
            Err(QueueError::StaleTag) => stale += 1,
            Err(e) => panic!("ack failed: {e}"),
        }
    }
    let publish_failures = publisher.await.unwrap();
    let duplicates: u32 = seen.values().map(|c| c - 1).sum();
    eprintln!(
        "connection loss: {total} messages, {deliveries} deliveries, {duplicates} duplicates, \
         {stale} stale acks after the cut, {publish_failures} failed publishes, first \
         delivery {recovered_after:?} after the cut"
    );
    assert!(recovered_after.is_some(), "consuming went on after the cut");
    assert!(duplicates >= 1, "the message held at the cut came again");
    assert!(
        duplicates <= 20 + 10,
        "duplicates are bounded by what was in flight ({duplicates})"
    );
    drop(sub);
    fx.finish().await;
}

#[tokio::test]
async fn rabbit_connect_errors_name_the_broker_without_its_password() {
    let options = RabbitOptions {
        connect_timeout: Duration::from_millis(500),
        ..RabbitOptions::default()
    };
    let url = "amqp://pushgate:pa55-w0rd-xyz@127.0.0.1:1/%2f";
    let err = RabbitQueue::connect_with(url, options).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, QueueError::Unavailable(_)), "{shown}");
    assert!(!shown.contains("pa55-w0rd-xyz"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "names the broker: {shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_delays_beyond_the_largest_bucket_chain_through_it() {
    let fx = Fixture::rabbit();
    let Kind::Rabbit { url, prefix } = &fx.kind else {
        unreachable!()
    };
    let options = RabbitOptions {
        prefix: prefix.clone(),
        delay_buckets: vec![Duration::from_millis(200), Duration::from_millis(300)],
        ..RabbitOptions::default()
    };
    let q = RabbitQueue::connect_with(url, options).await.unwrap();
    q.prepare(&vendors()).await.unwrap();
    let delay = Duration::from_millis(1_000);
    let start = Instant::now();
    q.publish(&apns(), vec![msg(1)], Some(delay)).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 5).await.unwrap();
    let r = expect_next(&mut sub, "the long-delayed message").await;
    assert!(start.elapsed() >= delay, "early: {:?}", start.elapsed());
    assert_eq!(r.envelope, msg(1), "the chaining header is not handed out");
    acker.ack(&[r.tag]).await.unwrap();
    drop(sub);
    q.delete_topology(&queues()).await.unwrap();
    q.close().await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_instance_queues_expire_when_unused() {
    let fx = Fixture::rabbit();
    let Kind::Rabbit { url, prefix } = &fx.kind else {
        unreachable!()
    };
    let q = RabbitQueue::connect(url, prefix).await.unwrap();
    q.prepare(&vendors()).await.unwrap();
    let instance = QueueName::Instance("i1".into());
    q.publish(&instance, vec![msg(1)], None).await.unwrap();
    let listed = std::process::Command::new("rabbitmqctl")
        .args(["list_queues", "-q", "name", "arguments"])
        .output()
        .expect("rabbitmqctl lists queues");
    let text = String::from_utf8_lossy(&listed.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{prefix}.instance.i1")))
        .unwrap_or_else(|| panic!("the instance queue was not declared: {text}"));
    let expiry = pushgate::queue::rabbit::INSTANCE_QUEUE_EXPIRY
        .as_millis()
        .to_string();
    assert!(
        line.contains("x-expires") && line.contains(&expiry),
        "{line}"
    );
    let vendor = text
        .lines()
        .find(|l| l.starts_with(&format!("{prefix}.vendor.")))
        .unwrap_or_else(|| panic!("no vendor queue was declared: {text}"));
    assert!(
        !vendor.contains("x-expires"),
        "only instance queues expire: {vendor}"
    );
    let mut all = queues();
    all.push(instance);
    q.delete_topology(&all).await.unwrap();
    q.close().await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_subscriptions_end_when_the_queue_closes() {
    let fx = Fixture::rabbit();
    let q = fx.open().await;
    let Kind::Rabbit { url, prefix } = &fx.kind else {
        unreachable!()
    };
    let own = RabbitQueue::connect(url, prefix).await.unwrap();
    let (mut sub, _acker) = own.subscribe(&apns(), 1).await.unwrap();
    own.close().await;
    assert!(next_within(&mut sub, ARRIVES).await.is_none());
    let err = own.publish(&apns(), vec![msg(1)], None).await.unwrap_err();
    assert!(matches!(err, QueueError::Unavailable(_)), "{err}");
    drop(q);
    fx.finish().await;
}

/// A TCP proxy in front of the broker that a test can cut: while down it drops every
/// connection through it and refuses new ones.
struct Proxy {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
    /// Proxied connections still open: an outage starts only once it is zero, so no frame
    /// written before it can still reach the broker after it.
    open: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts one proxied connection for as long as its task runs.
struct OpenConnection(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = tokio::sync::watch::channel(true);
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let state = up.clone();
        let counter = open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut watch = state.subscribe();
                if !*watch.borrow() {
                    continue;
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let guard = OpenConnection(counter.clone());
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { addr, up, open }
    }

    /// Cuts every proxied connection and refuses new ones; returns once all are closed.
    async fn go_down(&self) {
        self.up.send_replace(false);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.open.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "proxied connections did not close"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn come_up(&self) {
        self.up.send_replace(true);
    }
}

/// Splits an AMQP URL into (before the host, host:port, after the host).
fn split_authority(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h.to_string()),
        None => (String::new(), authority.to_string()),
    };
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:5672")
    };
    (format!("{scheme}://{userinfo}"), host, path.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_publishes_during_an_outage_fail_in_time_and_work_again_after_it() {
    let fx = Fixture::rabbit();
    let Kind::Rabbit { url, prefix } = &fx.kind else {
        unreachable!()
    };
    let _ = fx.open().await; // Fails clearly when the broker is down.
    let (head, broker, tail) = split_authority(url);
    let proxy = Proxy::start(broker).await;
    let proxied = format!("{head}{}{tail}", proxy.addr);
    let publish_timeout = Duration::from_secs(1);
    let options = RabbitOptions {
        prefix: prefix.clone(),
        publish_timeout,
        max_backoff: Duration::from_millis(200),
        ..RabbitOptions::default()
    };
    let q = RabbitQueue::connect_with(&proxied, options).await.unwrap();
    q.prepare(&vendors()).await.unwrap();
    let (mut sub, acker) = q.subscribe(&apns(), 5).await.unwrap();
    q.publish(&apns(), vec![msg(1)], None).await.unwrap();
    let r = expect_next(&mut sub, "before the outage").await;
    acker.ack(&[r.tag]).await.unwrap();

    proxy.go_down().await;
    let start = Instant::now();
    let err = q.publish(&apns(), vec![msg(2)], None).await.unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(err, QueueError::Unavailable(_)), "{err}");
    assert!(!err.to_string().contains(":guest@"), "no password: {err}");
    assert!(
        waited < publish_timeout + Duration::from_secs(2),
        "bounded wait, took {waited:?}"
    );

    proxy.come_up();
    q.publish(&apns(), vec![msg(3)], None).await.unwrap();
    // An ack in flight when the proxy went down may never have reached the broker, so
    // message 1 can come again (at least once, marked redelivered) before message 3.
    let mut r = expect_next(&mut sub, "after the outage, on a new connection").await;
    while n_of(&r) == 1 {
        assert!(
            r.redelivered,
            "a repeat of message 1 must be marked redelivered"
        );
        acker.ack(&[r.tag]).await.unwrap();
        r = expect_next(&mut sub, "after the outage, on a new connection").await;
    }
    assert_eq!(n_of(&r), 3);
    acker.ack(&[r.tag]).await.unwrap();
    drop(sub);
    q.close().await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_queue_picks_rabbit_for_a_url_and_embedded_without() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::connect(&format!("sqlite://{}", dir.path().join("q.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let embedded =
        pushgate::queue::open_queue(None, "pg", std::time::Duration::from_secs(60), &store)
            .await
            .unwrap();
    embedded.publish(&apns(), vec![msg(1)], None).await.unwrap();
    let ready: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM queue_messages WHERE queue = 'pg.vendor.apns'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(ready, 1, "embedded rows carry the prefix");
    store.close().await;

    let fx = Fixture::rabbit();
    let _ = fx.open().await;
    let Kind::Rabbit { url, prefix } = &fx.kind else {
        unreachable!()
    };
    let rabbit = pushgate::queue::open_queue(
        Some(url),
        prefix,
        std::time::Duration::from_secs(60),
        &store,
    )
    .await
    .unwrap();
    rabbit.prepare(&vendors()).await.unwrap();
    rabbit.publish(&apns(), vec![msg(2)], None).await.unwrap();
    assert_eq!(rabbit.depth(&apns()).await.unwrap(), 1);
    drop(rabbit);
    fx.finish().await;
}
