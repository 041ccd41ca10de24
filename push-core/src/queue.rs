//! The queue port: durable hand-off between pushgate's stages (DESIGN.md, data flow).
//!
//! Two backends implement it — RabbitMQ (production) and an embedded queue in the SQL store
//! (the `cargo run` default) — and pass one conformance suite. Rules every backend keeps:
//! - **durable and confirmed**: `publish` returns only once the broker / database holds the
//!   messages; a crash right after loses nothing;
//! - **at least once**: a message is delivered again until it is acked (or dead-lettered); a
//!   redelivery after a crash or reconnect sets `redelivered`, and consumers are idempotent;
//! - **competing consumers**: several subscriptions on one queue (in one or many processes)
//!   share its messages; none goes to two of them at once;
//! - **bounded**: a subscription holds at most `prefetch` unacked messages;
//! - **delay**: a message published with a delay is not delivered before it (backends may
//!   round the delay up to a bucket, never down);
//! - **dead letters** carry their reason in the [`REASON_HEADER`] header and are never
//!   redelivered to the queue they left;
//! - **events** (receipts and the like) go to a topic exchange by routing key; subscribers
//!   bind with AMQP topic patterns (`chat-prod.*`, `#.token_invalid`).

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Header carrying why a message was dead-lettered.
pub const REASON_HEADER: &str = "x-pushgate-reason";

/// The queues pushgate uses; backends map them to names with the configured prefix
/// (`pushgate.ingest`, `pushgate.vendor.apns`, `pushgate.dead`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// Where ingest messages arrive (contract 1).
    Ingest,
    /// One per vendor: jobs for that vendor's workers. The name is the vendor's (`apns`).
    Vendor(String),
    /// Messages that could not be processed, with their reason.
    Dead,
    /// One per pushgate instance, for the online core's routing between instances.
    Instance(String),
    /// The online core's offline pushes waiting out their grace window (delayed messages);
    /// any instance takes them.
    Handoff,
}

impl QueueName {
    /// The backend name under `prefix`.
    pub fn full_name(&self, prefix: &str) -> String {
        match self {
            QueueName::Ingest => format!("{prefix}.ingest"),
            QueueName::Vendor(v) => format!("{prefix}.vendor.{v}"),
            QueueName::Dead => format!("{prefix}.dead"),
            QueueName::Instance(i) => format!("{prefix}.instance.{i}"),
            QueueName::Handoff => format!("{prefix}.handoff"),
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name("*"))
    }
}

/// A message: an opaque body and string headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The body (JSON for everything pushgate publishes itself).
    pub body: Vec<u8>,
    /// Headers (AMQP headers as strings; the embedded backend stores them as JSON).
    pub headers: BTreeMap<String, String>,
}

impl Envelope {
    /// A message with a body and no headers.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            headers: BTreeMap::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(key.into(), value.into());
        self
    }
}

/// Identifies one delivered message for its ack. Opaque; only the subscription's acker that
/// produced it understands it. A tag from before a reconnect is stale and its ack fails
/// harmlessly (the message is redelivered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckTag {
    /// Backend-defined (connection / channel generation, or a lease).
    pub generation: u64,
    /// Backend-defined (delivery tag, or a row id).
    pub id: u64,
}

/// A message handed to a consumer.
#[derive(Debug, Clone)]
pub struct Received {
    /// The message.
    pub envelope: Envelope,
    /// Whether it was delivered before (and not acked): handle idempotently.
    pub redelivered: bool,
    /// What to ack it with.
    pub tag: AckTag,
}

/// What went wrong in a queue backend.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The broker / database cannot be reached now; retry later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// The broker refused a publish (nack) or a declaration.
    #[error("queue refused: {0}")]
    Refused(String),
    /// An ack for a message this subscription no longer holds (after a reconnect).
    #[error("stale delivery tag; the message will be redelivered")]
    StaleTag,
}

/// A stream of messages from one queue.
#[async_trait]
pub trait Subscription: Send {
    /// The next message; `None` once the subscription is closed. Transient broker failures
    /// are retried inside (reconnecting), not returned.
    async fn next(&mut self) -> Option<Received>;
}

/// Settles messages of one subscription; cheap to clone, shareable between workers.
#[async_trait]
pub trait Acker: Send + Sync {
    /// The messages are done with; they will not be delivered again. Backends may batch.
    async fn ack(&self, tags: &[AckTag]) -> Result<(), QueueError>;
    /// Moves a message to the dead queue with `reason` (in [`REASON_HEADER`]), then acks it.
    async fn dead_letter(
        &self,
        tag: AckTag,
        envelope: &Envelope,
        reason: &str,
    ) -> Result<(), QueueError>;
    /// Gives a message back for redelivery (to this or another consumer).
    async fn release(&self, tag: AckTag) -> Result<(), QueueError>;
}

/// An event subscription (receipts and the like).
#[async_trait]
pub trait EventStream: Send {
    /// The next event as (routing key, body); `None` once closed.
    async fn next(&mut self) -> Option<(String, Vec<u8>)>;
}

/// A durable message queue. See the module documentation for the rules.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Declares the topology (idempotently) for these vendor names, so publishes to their
    /// queues are never lost to a missing queue.
    async fn prepare(&self, vendors: &[String]) -> Result<(), QueueError>;

    /// Durably enqueues `messages` on `queue`, each delivered no sooner than `delay`.
    async fn publish(
        &self,
        queue: &QueueName,
        messages: Vec<Envelope>,
        delay: Option<Duration>,
    ) -> Result<(), QueueError>;

    /// Starts consuming `queue` with at most `prefetch` unacked messages.
    async fn subscribe(
        &self,
        queue: &QueueName,
        prefetch: u16,
    ) -> Result<(Box<dyn Subscription>, std::sync::Arc<dyn Acker>), QueueError>;

    /// Publishes an event on the events (receipts) exchange.
    async fn publish_event(&self, routing_key: &str, body: Vec<u8>) -> Result<(), QueueError>;

    /// Publishes several events, as (routing key, body), in order. Backends send them
    /// together (RabbitMQ: all written, then the confirms awaited at once); the default
    /// publishes them one by one.
    async fn publish_events(&self, events: Vec<(String, Vec<u8>)>) -> Result<(), QueueError> {
        for (routing_key, body) in events {
            self.publish_event(&routing_key, body).await?;
        }
        Ok(())
    }

    /// Receives events whose routing key matches an AMQP topic `pattern`, from now on.
    async fn subscribe_events(&self, pattern: &str) -> Result<Box<dyn EventStream>, QueueError>;

    /// Messages waiting in `queue` (ready, not in flight), for metrics.
    async fn depth(&self, queue: &QueueName) -> Result<u64, QueueError>;
}

/// Whether an AMQP topic `pattern` (`*` = one word, `#` = zero or more words, words split on
/// `.`) matches `routing_key`. The embedded backend routes events with it.
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    fn go(p: &[&str], k: &[&str]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], k) || (!k.is_empty() && go(p, &k[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &k[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &k[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = routing_key.split('.').collect();
    go(&p, &k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_match_like_amqp() {
        assert!(topic_matches("chat.*", "chat.accepted"));
        assert!(!topic_matches("chat.*", "chat.a.b"));
        assert!(topic_matches("chat.#", "chat.a.b"));
        assert!(topic_matches("chat.#", "chat"));
        assert!(topic_matches("#.token_invalid", "chat-prod.token_invalid"));
        assert!(topic_matches("#", "anything.at.all"));
        assert!(!topic_matches("other.*", "chat.accepted"));
        assert!(topic_matches("*.failed", "chat.failed"));
        assert!(!topic_matches("*.failed", "chat.accepted"));
    }

    #[test]
    fn queue_names_use_the_prefix() {
        assert_eq!(QueueName::Ingest.full_name("pushgate"), "pushgate.ingest");
        assert_eq!(
            QueueName::Vendor("apns".into()).full_name("pg"),
            "pg.vendor.apns"
        );
        assert_eq!(QueueName::Dead.full_name("pushgate"), "pushgate.dead");
    }
}
