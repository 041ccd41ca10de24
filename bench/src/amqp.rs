//! The IM core's side of contract 1 — a plain lapin publisher with confirms, pipelined —
//! and the broker ceiling: the same client publishing to and consuming from a quorum queue
//! with no pushgate in between.

use crate::probe::{clock_ticks_per_second, cpu_sample};
use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A publisher on its own connection and confirm-mode channel. Up to `window` messages are
/// unconfirmed at once; each publish and its confirm run in their own task, so writes
/// pipeline instead of waiting for each other.
#[derive(Clone)]
pub struct Publisher {
    _conn: Arc<Connection>,
    channel: Channel,
    exchange: ShortString,
    routing_key: ShortString,
    window: Arc<Semaphore>,
    size: u32,
    failures: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<String>>>,
}

impl Publisher {
    /// A publisher to `exchange` with `routing_key`.
    pub async fn connect(
        amqp_url: &str,
        exchange: &str,
        routing_key: &str,
        window: u32,
    ) -> Result<Self> {
        let conn = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .context("connecting the publisher to RabbitMQ")?;
        let channel = conn
            .create_channel()
            .await
            .context("opening the publisher's channel")?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .context("enabling publisher confirms")?;
        let size = window.max(1);
        Ok(Self {
            _conn: Arc::new(conn),
            channel,
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            window: Arc::new(Semaphore::new(size as usize)),
            size,
            failures: Arc::new(AtomicU64::new(0)),
            first_error: Arc::new(Mutex::new(None)),
        })
    }

    /// Publishes one persistent JSON message; waits only for a free slot of the window.
    pub async fn publish(&self, body: Vec<u8>) -> Result<()> {
        let permit = Arc::clone(&self.window)
            .acquire_owned()
            .await
            .context("the publisher is closed")?;
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = async {
                let confirm = me
                    .channel
                    .basic_publish(
                        me.exchange.clone(),
                        me.routing_key.clone(),
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        &body,
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_content_type("application/json".into()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                match confirm.await.map_err(|e| e.to_string())? {
                    Confirmation::Ack(None) => Ok(()),
                    Confirmation::Ack(Some(_)) => Err("unroutable (returned)".to_string()),
                    Confirmation::Nack(_) => Err("nacked".to_string()),
                    Confirmation::NotRequested => Err("no confirm".to_string()),
                }
            }
            .await;
            if let Err(e) = outcome {
                me.failures.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = me.first_error.lock() {
                    first.get_or_insert(e);
                }
            }
            drop(permit);
        });
        Ok(())
    }

    /// Waits until every message published so far is confirmed; fails if any was not.
    pub async fn flush(&self) -> Result<()> {
        let all = self
            .window
            .acquire_many(self.size)
            .await
            .context("the publisher is closed")?;
        drop(all);
        let failures = self.failures.load(Ordering::Relaxed);
        if failures > 0 {
            let first = self
                .first_error
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_default();
            bail!("{failures} publishes were not confirmed (first: {first})");
        }
        Ok(())
    }
}

/// One broker-ceiling measurement.
#[derive(Debug, Clone)]
pub struct Ceiling {
    /// How the consumer acked.
    pub acks: String,
    /// Messages.
    pub messages: u64,
    /// Messages per second, first publish to last ack.
    pub rate: f64,
    /// RabbitMQ's CPU per message (publish, confirm, deliver, ack), µs.
    pub broker_us: f64,
    /// The client's CPU per message (this process: publisher and consumer), µs.
    pub client_us: f64,
    /// Cores of the machine busy meanwhile (all processes).
    pub machine_cores: f64,
}

/// Publishes `messages` copies of `body` with confirms (`window` outstanding) to a fresh
/// quorum queue while a consumer on another connection takes them with manual acks, one
/// ack per message (`ack_every` 1) or one `multiple` ack per `ack_every` messages.
pub async fn ceiling(
    amqp_url: &str,
    queue: &str,
    body: &[u8],
    messages: u64,
    window: u32,
    ack_every: u64,
) -> Result<Ceiling> {
    let consumer_conn = Connection::connect(amqp_url, ConnectionProperties::default())
        .await
        .context("connecting the ceiling consumer")?;
    let channel = consumer_conn
        .create_channel()
        .await
        .context("opening a channel")?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    // Start from an empty queue.
    let _ = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .context("declaring the ceiling's quorum queue")?;
    let prefetch = u16::try_from(window.max(2 * ack_every as u32)).unwrap_or(u16::MAX);
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .context("setting the consumer's prefetch")?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "bench-ceiling".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .context("consuming the ceiling queue")?;
    let publisher = Publisher::connect(amqp_url, "", queue, window).await?;

    let cpu0 = cpu_sample(0, 0, "");
    let started = Instant::now();
    let consume = tokio::spawn(async move {
        let mut seen = 0u64;
        while seen < messages {
            let next = tokio::time::timeout(Duration::from_secs(30), consumer.next()).await;
            let delivery = match next {
                Ok(Some(Ok(d))) => d,
                Ok(Some(Err(e))) => return Err(anyhow::anyhow!("consuming: {e}")),
                Ok(None) => bail!("the ceiling consumer was cancelled"),
                Err(_) => bail!("no message for 30 s after {seen} of {messages}"),
            };
            seen += 1;
            if ack_every <= 1 {
                channel
                    .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
                    .await
                    .context("acking")?;
            } else if seen.is_multiple_of(ack_every) || seen == messages {
                channel
                    .basic_ack(delivery.delivery_tag, BasicAckOptions { multiple: true })
                    .await
                    .context("acking")?;
            }
        }
        Ok::<_, anyhow::Error>((Instant::now(), channel))
    });
    for _ in 0..messages {
        publisher.publish(body.to_vec()).await?;
    }
    publisher.flush().await?;
    let (done, channel) = consume.await.context("the ceiling consumer panicked")??;
    let elapsed = done.duration_since(started);
    let cpu1 = cpu_sample(0, 0, "");
    let hz = clock_ticks_per_second();
    let per_msg = |group: &str| {
        let ticks = cpu1.ticks.get(group).copied().unwrap_or(0)
            - cpu0.ticks.get(group).copied().unwrap_or(0);
        ticks as f64 / hz * 1e6 / messages as f64
    };
    let machine_total = cpu1.machine_total.saturating_sub(cpu0.machine_total);
    let machine_cores = if machine_total == 0 {
        0.0
    } else {
        (cpu1.machine_busy - cpu0.machine_busy) as f64 / machine_total as f64 * f64::from(cpu1.cpus)
    };
    let _ = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
    let _ = consumer_conn.close(200, "done".into()).await;
    Ok(Ceiling {
        acks: if ack_every <= 1 {
            "one ack per message".to_string()
        } else {
            format!("one multiple-ack per {ack_every}")
        },
        messages,
        rate: messages as f64 / elapsed.as_secs_f64(),
        broker_us: per_msg("rabbitmq"),
        client_us: per_msg("bench"),
        machine_cores,
    })
}
