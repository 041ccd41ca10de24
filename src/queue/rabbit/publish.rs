//! Confirmed publishing and the AMQP form of an [`Envelope`].
//!
//! A batch goes out on the link's confirm-mode channel: every message is written first,
//! then all confirms are awaited together (one round trip for the batch, not one per
//! message). Messages are persistent (`delivery_mode` 2), `application/json`, headers as
//! AMQP long strings, and `mandatory`, so a message no queue takes comes back and the
//! publish is refused instead of silently lost. A broker nack is [`QueueError::Refused`].
//! When the connection fails mid-batch the whole batch is published again on the next
//! connection (at least once: the broker may then hold some messages twice), until the
//! deadline; then the publish fails with [`QueueError::Unavailable`].

use super::link::Link;
use super::topology::{NOT_BEFORE_HEADER, short};
use lapin::message::Delivery;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Confirmation};
use push_core::queue::{Envelope, QueueError};
use std::collections::BTreeMap;
use tokio::time::Instant;

/// Where a batch goes.
#[derive(Debug, Clone)]
pub(super) struct Route {
    /// The exchange ("" = the default exchange, routing by queue name).
    pub exchange: ShortString,
    /// The routing key.
    pub routing_key: ShortString,
    /// Whether an unroutable message is an error.
    pub mandatory: bool,
}

/// A message ready to go out.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    body: Vec<u8>,
    headers: FieldTable,
}

/// Headers the broker adds: when dead-lettering (the delay queues do) and, on quorum
/// queues, when redelivering (`x-delivery-count`). pushgate's envelopes leave them out.
fn is_broker_header(key: &str) -> bool {
    key == "x-death"
        || key == "x-delivery-count"
        || key.starts_with("x-first-death-")
        || key.starts_with("x-last-death-")
}

impl Outgoing {
    /// `envelope` in AMQP form, refusing header names longer than 255 bytes.
    pub fn new(envelope: &Envelope) -> Result<Outgoing, QueueError> {
        let mut headers = FieldTable::default();
        for (key, value) in &envelope.headers {
            headers.insert(
                short(key)?,
                AMQPValue::LongString(LongString::from(value.as_str())),
            );
        }
        Ok(Outgoing {
            body: envelope.body.clone(),
            headers,
        })
    }

    /// Adds (or replaces) a header.
    pub fn with_header(mut self, key: &str, value: String) -> Result<Outgoing, QueueError> {
        self.headers
            .insert(short(key)?, AMQPValue::LongString(LongString::from(value)));
        Ok(self)
    }

    fn properties(&self) -> BasicProperties {
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_headers(self.headers.clone())
    }
}

/// A received message as an envelope, and its [`NOT_BEFORE_HEADER`] (unix ms) if any.
/// String headers are kept as they are, numbers and booleans as their text; the broker's
/// dead-lettering headers and other nested values are left out.
pub(super) fn envelope_of(delivery: &Delivery) -> (Envelope, Option<i64>) {
    let mut headers = BTreeMap::new();
    let mut not_before = None;
    if let Some(table) = delivery.properties.headers() {
        for (key, value) in table.inner() {
            let key = key.as_str();
            if is_broker_header(key) {
                continue;
            }
            let text = match value {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_string(),
                AMQPValue::Boolean(b) => b.to_string(),
                AMQPValue::ShortShortInt(n) => n.to_string(),
                AMQPValue::ShortShortUInt(n) => n.to_string(),
                AMQPValue::ShortInt(n) => n.to_string(),
                AMQPValue::ShortUInt(n) => n.to_string(),
                AMQPValue::LongInt(n) => n.to_string(),
                AMQPValue::LongUInt(n) => n.to_string(),
                AMQPValue::LongLongInt(n) => n.to_string(),
                AMQPValue::Timestamp(n) => n.to_string(),
                AMQPValue::Float(n) => n.to_string(),
                AMQPValue::Double(n) => n.to_string(),
                _ => continue,
            };
            if key == NOT_BEFORE_HEADER {
                not_before = text.parse().ok();
                continue;
            }
            headers.insert(key.to_string(), text);
        }
    }
    (
        Envelope {
            body: delivery.data.clone(),
            headers,
        },
        not_before,
    )
}

/// Why one attempt failed.
enum Failure {
    /// The broker said no: do not try again.
    Refused(String),
    /// The connection failed: try again on a new one.
    Lost(String),
}

/// Publishes `messages` along `route` with confirms, retrying on new connections until
/// `deadline`.
pub(super) async fn publish_confirmed(
    link: &Link,
    route: &Route,
    messages: &[Outgoing],
    deadline: Instant,
) -> Result<(), QueueError> {
    if messages.is_empty() {
        return Ok(());
    }
    loop {
        let (live, channel) = link.publisher(deadline).await?;
        let attempt = async {
            let mut confirms = Vec::with_capacity(messages.len());
            for message in messages {
                let confirm = channel
                    .basic_publish(
                        route.exchange.clone(),
                        route.routing_key.clone(),
                        BasicPublishOptions {
                            mandatory: route.mandatory,
                            immediate: false,
                        },
                        &message.body,
                        message.properties(),
                    )
                    .await
                    .map_err(|e| Failure::Lost(e.to_string()))?;
                confirms.push(confirm);
            }
            let mut failure = None;
            for confirm in confirms {
                match confirm.await {
                    Ok(Confirmation::Ack(None)) => {}
                    Ok(Confirmation::Ack(Some(returned))) => {
                        failure.get_or_insert(Failure::Refused(format!(
                            "no queue takes messages routed to {:?} with key {:?} ({})",
                            route.exchange.as_str(),
                            route.routing_key.as_str(),
                            returned.reply_text.as_str()
                        )));
                    }
                    Ok(Confirmation::Nack(_)) => {
                        failure.get_or_insert(Failure::Refused(
                            "the broker did not take a message (nack)".to_string(),
                        ));
                    }
                    Ok(Confirmation::NotRequested) => {
                        failure.get_or_insert(Failure::Lost(
                            "the channel lost confirm mode".to_string(),
                        ));
                    }
                    Err(e) => {
                        failure.get_or_insert(Failure::Lost(e.to_string()));
                    }
                }
            }
            failure.map_or(Ok(()), Err)
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(Failure::Refused(why))) => return Err(QueueError::Refused(link.scrub(&why))),
            Ok(Err(Failure::Lost(why))) => {
                tracing::warn!(broker = %link.shown(), error = %link.scrub(&why), "publishing failed; trying again on a new connection");
                if live.conn.status().connected() && channel.status().connected() {
                    live.mark_broken();
                }
                if Instant::now() >= deadline {
                    return Err(link.unavailable("publishing", why));
                }
            }
            Err(_) => {
                live.mark_broken();
                return Err(link.unavailable("publishing", "no confirm before the deadline"));
            }
        }
    }
}
