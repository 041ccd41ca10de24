//! Names and declarations of pushgate's exchanges and queues on RabbitMQ, and the delay
//! buckets.
//!
//! | entity | kind | name |
//! |---|---|---|
//! | ingest exchange | direct, durable | `<prefix>.ingest`, bound with key `notification` to the ingest queue |
//! | ingest, vendor, dead, instance queues | quorum | `<prefix>.ingest`, `<prefix>.vendor.<v>`, `<prefix>.dead`, `<prefix>.instance.<i>` |
//! | | | instance queues expire after [`INSTANCE_QUEUE_EXPIRY`] unused (`x-expires`) |
//! | receipts (events) exchange | topic, durable | `<prefix>.receipts` |
//! | delay queues | quorum, TTL + dead-letter | `<prefix>.delay.<bucket>.<target>` (target without the prefix, e.g. `vendor.apns`) |
//!
//! A delay queue holds messages for exactly its bucket (`x-message-ttl`), then dead-letters
//! them through the default exchange to its target queue (`x-dead-letter-exchange` "" and
//! `x-dead-letter-routing-key` = the target). Every message of a delay queue has the same
//! TTL, so expiring at the head is exact. Delay queues are quorum queues with
//! `x-dead-letter-strategy: at-least-once` (RabbitMQ ≥ 3.10): a pending retry is replicated
//! like any other message and is not lost between the delay queue and its target, which a
//! classic queue's at-most-once dead-lettering cannot promise. (`x-overflow: reject-publish`
//! is what that strategy requires; no length limit is set, so it never rejects.)
//!
//! A delay is rounded **up** to the next bucket, so a message is never delivered early. A
//! delay longer than the largest bucket goes through the largest bucket with an
//! [`NOT_BEFORE_HEADER`]; a consumer receiving it early republishes it for the rest of the
//! delay (and acks it) instead of handing it out.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};
use push_core::queue::{QueueError, QueueName};
use std::time::Duration;

/// The default delay buckets: 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, 6 h.
pub const DEFAULT_DELAY_BUCKETS: [Duration; 7] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3_600),
    Duration::from_secs(21_600),
];

/// Header of a message delayed beyond the largest bucket: unix milliseconds before which
/// it must not be handed to a consumer. Removed before delivery.
pub const NOT_BEFORE_HEADER: &str = "x-pushgate-not-before";

/// The routing key of ingest messages (contract 1).
pub const INGEST_ROUTING_KEY: &str = "notification";

/// What to declare.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Entity {
    /// A queue (with the ingest exchange and binding for [`QueueName::Ingest`]).
    Queue(QueueName),
    /// The delay queue of `bucket` for the target queue.
    Delay(Duration, QueueName),
    /// The receipts (events) exchange.
    Events,
}

/// Names under one prefix.
#[derive(Debug, Clone)]
pub(super) struct Names {
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The queue's name.
    pub fn queue(&self, queue: &QueueName) -> String {
        queue.full_name(&self.prefix)
    }

    /// The ingest exchange.
    pub fn ingest_exchange(&self) -> String {
        format!("{}.ingest", self.prefix)
    }

    /// The events exchange.
    pub fn events_exchange(&self) -> String {
        format!("{}.receipts", self.prefix)
    }

    /// The delay queue of `bucket` in front of `target`.
    pub fn delay(&self, bucket: Duration, target: &QueueName) -> String {
        let full = self.queue(target);
        let short = full
            .strip_prefix(&format!("{}.", self.prefix))
            .unwrap_or(&full);
        format!("{}.delay.{}.{short}", self.prefix, bucket_label(bucket))
    }
}

/// A bucket as a short label: `500ms`, `1s`, `2m`, `6h`.
pub(super) fn bucket_label(bucket: Duration) -> String {
    let ms = bucket.as_millis();
    if ms > 0 && ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms > 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms > 0 && ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

/// Where a message delayed by `delay` goes: the smallest bucket not shorter than the
/// delay, and whether the delay is longer than every bucket (so the message must carry a
/// [`NOT_BEFORE_HEADER`]). `None` for no delay. `buckets` is sorted, non-empty.
pub(super) fn plan(delay: Duration, buckets: &[Duration]) -> Option<(Duration, bool)> {
    if delay.is_zero() {
        return None;
    }
    match buckets.iter().find(|b| **b >= delay) {
        Some(bucket) => Some((*bucket, false)),
        None => buckets.last().map(|largest| (*largest, true)),
    }
}

/// `s` as an AMQP short string (names, keys), refusing what is longer than 255 bytes.
pub(super) fn short(s: &str) -> Result<ShortString, QueueError> {
    ShortString::try_new(s)
        .map_err(|_| QueueError::Refused(format!("name longer than 255 bytes: {s:.40}…")))
}

/// How long an instance queue may go unused (no consumer) before the broker deletes it.
/// A live instance consumes its queue all the time (a reconnect takes seconds), so an
/// unused one belongs to an instance that is gone, and what it holds is only real-time
/// relay for connections that no longer exist (their messages stay in the inbox). Without
/// it every stopped instance would leave a queue behind for ever.
pub const INSTANCE_QUEUE_EXPIRY: Duration = Duration::from_secs(15 * 60);

fn quorum_arguments() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    args
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

/// Declares `entity` (idempotently) on `channel`.
pub(super) async fn declare(
    channel: &Channel,
    names: &Names,
    entity: &Entity,
) -> Result<(), lapin::Error> {
    match entity {
        Entity::Queue(queue) => {
            let name = names.queue(queue);
            let mut args = quorum_arguments();
            if matches!(queue, QueueName::Instance(_)) {
                let expiry = i64::try_from(INSTANCE_QUEUE_EXPIRY.as_millis()).unwrap_or(i64::MAX);
                args.insert("x-expires".into(), AMQPValue::LongLongInt(expiry));
            }
            channel
                .queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), args)
                .await?;
            if *queue == QueueName::Ingest {
                let exchange = names.ingest_exchange();
                channel
                    .exchange_declare(
                        exchange.as_str().into(),
                        ExchangeKind::Direct,
                        durable_exchange(),
                        FieldTable::default(),
                    )
                    .await?;
                channel
                    .queue_bind(
                        name.as_str().into(),
                        exchange.as_str().into(),
                        INGEST_ROUTING_KEY.into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        Entity::Delay(bucket, target) => {
            let mut args = quorum_arguments();
            let ttl = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
            args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from("")),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(LongString::from(names.queue(target))),
            );
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString(LongString::from("at-least-once")),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString(LongString::from("reject-publish")),
            );
            channel
                .queue_declare(
                    names.delay(*bucket, target).as_str().into(),
                    QueueDeclareOptions::durable(),
                    args,
                )
                .await?;
        }
        Entity::Events => {
            channel
                .exchange_declare(
                    names.events_exchange().as_str().into(),
                    ExchangeKind::Topic,
                    durable_exchange(),
                    FieldTable::default(),
                )
                .await?;
        }
    }
    Ok(())
}

/// Checks that every name `entity` declares fits an AMQP short string.
pub(super) fn check_names(names: &Names, entity: &Entity) -> Result<(), QueueError> {
    match entity {
        Entity::Queue(queue) => short(&names.queue(queue)).map(drop),
        Entity::Delay(bucket, target) => short(&names.delay(*bucket, target)).map(drop),
        Entity::Events => short(&names.events_exchange()).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_a_bucket() {
        let b = &DEFAULT_DELAY_BUCKETS;
        assert_eq!(plan(Duration::ZERO, b), None);
        assert_eq!(
            plan(Duration::from_millis(1), b),
            Some((Duration::from_secs(1), false))
        );
        assert_eq!(
            plan(Duration::from_secs(1), b),
            Some((Duration::from_secs(1), false))
        );
        assert_eq!(
            plan(Duration::from_millis(1_001), b),
            Some((Duration::from_secs(5), false))
        );
        assert_eq!(
            plan(Duration::from_secs(31), b),
            Some((Duration::from_secs(120), false))
        );
        assert_eq!(
            plan(Duration::from_secs(86_400), b),
            Some((Duration::from_secs(21_600), true)),
            "longer than every bucket: the largest, chained"
        );
    }

    #[test]
    fn names_carry_the_prefix_and_bucket() {
        let names = Names::new("pg");
        assert_eq!(
            names.delay(Duration::from_secs(30), &QueueName::Vendor("apns".into())),
            "pg.delay.30s.vendor.apns"
        );
        assert_eq!(
            names.delay(Duration::from_secs(7_200), &QueueName::Ingest),
            "pg.delay.2h.ingest"
        );
        assert_eq!(bucket_label(Duration::from_millis(250)), "250ms");
        assert_eq!(bucket_label(Duration::from_secs(120)), "2m");
        assert_eq!(names.events_exchange(), "pg.receipts");
        assert_eq!(names.ingest_exchange(), "pg.ingest");
    }
}
