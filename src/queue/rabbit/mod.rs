//! The RabbitMQ queue backend (production), on lapin.
//!
//! - **Topology** (`topology.rs`): quorum queues for ingest, vendors, dead letters and
//!   instances, the direct ingest exchange of contract 1, the topic receipts exchange for
//!   events, and quorum delay queues (TTL + dead-letter to their target) for delayed
//!   publishes, all under a configurable prefix. [`Queue::prepare`] declares the ingest,
//!   dead and vendor queues and both exchanges; every entity is also declared on first
//!   use by this instance (delay queues only then), so a publish never goes to a missing
//!   queue. Declarations are idempotent.
//! - **Publishing** (`publish.rs`): persistent JSON messages on a confirm-mode channel, a
//!   batch written then all confirms awaited; nacks and unroutable messages are refused.
//!   During an outage a publish waits for a new connection until
//!   [`RabbitOptions::publish_timeout`], then fails with [`QueueError::Unavailable`].
//! - **Delays**: rounded up to a bucket of [`RabbitOptions::delay_buckets`] (default
//!   [`DEFAULT_DELAY_BUCKETS`]: 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, 6 h); longer delays
//!   chain through the largest bucket.
//! - **Consuming** (`subscription.rs`): a channel per subscription with `basic_qos`, manual
//!   acks, stale-tag detection across reconnects; `dead_letter` publishes (confirmed) to
//!   the dead queue with the reason header and the original headers, then acks; `release`
//!   nacks with requeue.
//! - **Recovery** (`link.rs`): pushgate's own reconnect loop with backoff, not lapin's
//!   auto-recovery (see there why). Subscriptions and event streams reopen by themselves.
//! - **Events** (`events.rs`): exclusive server-named queues bound with the pattern.
//! - **depth**: a passive declare's message count (ready messages of the queue itself;
//!   delayed messages wait in delay queues and are not counted).
//!
//! The AMQP URL's password never appears in errors or logs.

mod events;
mod link;
mod publish;
mod subscription;
mod topology;

pub use events::RabbitEvents;
pub use subscription::{RabbitAcker, RabbitSubscription};
pub use topology::{DEFAULT_DELAY_BUCKETS, INSTANCE_QUEUE_EXPIRY, NOT_BEFORE_HEADER};

use async_trait::async_trait;
use link::Link;
use publish::{Outgoing, Route, publish_confirmed};
use push_core::queue::{Acker, Envelope, EventStream, Queue, QueueError, QueueName, Subscription};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use topology::{Entity, INGEST_ROUTING_KEY, Names, check_names, declare, plan, short};

/// Settings of the RabbitMQ backend.
#[derive(Debug, Clone)]
pub struct RabbitOptions {
    /// Starts every queue and exchange name. Default `pushgate`.
    pub prefix: String,
    /// Delay buckets, any order (sorted on use; an empty list means the defaults).
    /// Default [`DEFAULT_DELAY_BUCKETS`].
    pub delay_buckets: Vec<Duration>,
    /// How long a publish (or declaration) may wait for the broker, reconnecting
    /// included, before it fails with [`QueueError::Unavailable`]. Default 15 s.
    pub publish_timeout: Duration,
    /// How long one connection attempt may take. Default 10 s.
    pub connect_timeout: Duration,
    /// The longest pause between reconnect attempts (they start at 100 ms and double).
    /// Default 5 s.
    pub max_backoff: Duration,
}

impl Default for RabbitOptions {
    fn default() -> Self {
        Self {
            prefix: "pushgate".to_string(),
            delay_buckets: DEFAULT_DELAY_BUCKETS.to_vec(),
            publish_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The RabbitMQ queue. Cloning is cheap and shares the connection.
#[derive(Debug, Clone)]
pub struct RabbitQueue {
    inner: Arc<Inner>,
}

/// What a queue, its subscriptions and event streams share.
#[derive(Debug)]
struct Inner {
    link: Link,
    names: Names,
    buckets: Vec<Duration>,
    publish_timeout: Duration,
    /// Entities this instance has declared (they are durable, so a reconnect keeps them).
    declared: tokio::sync::Mutex<HashSet<Entity>>,
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl RabbitQueue {
    /// Connects to the broker at `amqp_url` with default settings and names under
    /// `prefix`. Fails with [`QueueError::Unavailable`] when the broker cannot be reached
    /// within the connect timeout.
    pub async fn connect(amqp_url: &str, prefix: &str) -> Result<RabbitQueue, QueueError> {
        Self::connect_with(
            amqp_url,
            RabbitOptions {
                prefix: prefix.to_string(),
                ..RabbitOptions::default()
            },
        )
        .await
    }

    /// Connects with `options`.
    pub async fn connect_with(
        amqp_url: &str,
        options: RabbitOptions,
    ) -> Result<RabbitQueue, QueueError> {
        let mut buckets = options.delay_buckets.clone();
        buckets.retain(|b| !b.is_zero());
        if buckets.is_empty() {
            buckets = DEFAULT_DELAY_BUCKETS.to_vec();
        }
        buckets.sort();
        buckets.dedup();
        let link = Link::new(
            amqp_url,
            format!("pushgate {}", options.prefix),
            options.connect_timeout,
            options.max_backoff,
        );
        link.live(Some(Instant::now() + options.connect_timeout))
            .await?;
        Ok(RabbitQueue {
            inner: Arc::new(Inner {
                link,
                names: Names::new(&options.prefix),
                buckets,
                publish_timeout: options.publish_timeout,
                declared: tokio::sync::Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Closes the connection. Subscriptions and event streams end (`next` returns
    /// `None`); publishes fail.
    pub async fn close(&self) {
        self.inner.link.close().await;
    }

    /// Deletes `queues`, their delay queues and both exchanges of this prefix — for tests
    /// and for decommissioning a prefix. Messages in them are lost.
    pub async fn delete_topology(&self, queues: &[QueueName]) -> Result<(), QueueError> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.publish_timeout;
        let live = inner.link.live(Some(deadline)).await?;
        let fail = |e: lapin::Error| inner.link.unavailable("deleting the topology", e);
        let channel = live.conn.create_channel().await.map_err(fail)?;
        for queue in queues {
            let mut names = vec![inner.names.queue(queue)];
            names.extend(inner.buckets.iter().map(|b| inner.names.delay(*b, queue)));
            for name in names {
                channel
                    .queue_delete(short(&name)?, lapin::options::QueueDeleteOptions::default())
                    .await
                    .map_err(fail)?;
            }
        }
        for exchange in [inner.names.ingest_exchange(), inner.names.events_exchange()] {
            channel
                .exchange_delete(
                    short(&exchange)?,
                    lapin::options::ExchangeDeleteOptions::default(),
                )
                .await
                .map_err(fail)?;
        }
        let _ = channel.close(200, "done".into()).await;
        inner.declared.lock().await.clear();
        Ok(())
    }
}

impl Inner {
    /// Declares whatever of `entities` this instance has not declared yet.
    async fn ensure(&self, entities: &[Entity], deadline: Instant) -> Result<(), QueueError> {
        let mut declared = self.declared.lock().await;
        let missing: Vec<&Entity> = entities.iter().filter(|e| !declared.contains(e)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        for entity in &missing {
            check_names(&self.names, entity)?;
        }
        loop {
            let live = self.link.live(Some(deadline)).await?;
            let attempt = async {
                let channel = live.conn.create_channel().await?;
                for entity in &missing {
                    declare(&channel, &self.names, entity).await?;
                }
                let _ = channel.close(200, "declared".into()).await;
                Ok::<_, lapin::Error>(())
            };
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(())) => break,
                Ok(Err(e)) if e.is_amqp_soft_error() => {
                    // The broker refuses the declaration (e.g. a queue of the same name
                    // with other arguments): no retry will change that.
                    return Err(QueueError::Refused(
                        self.link.scrub(&format!("declaring the topology: {e}")),
                    ));
                }
                Ok(Err(e)) => {
                    if Instant::now() >= deadline {
                        return Err(self.link.unavailable("declaring the topology", e));
                    }
                    tracing::warn!(broker = %self.link.shown(), error = %self.link.scrub(&e.to_string()), "declaring failed; retrying");
                }
                Err(_) => {
                    live.mark_broken();
                    return Err(self.link.unavailable("declaring the topology", "timed out"));
                }
            }
        }
        declared.extend(missing.into_iter().cloned());
        Ok(())
    }

    /// Publishes `messages` to `queue` at once.
    async fn publish_now(
        &self,
        queue: &QueueName,
        messages: &[Envelope],
    ) -> Result<(), QueueError> {
        let deadline = Instant::now() + self.publish_timeout;
        self.ensure(&[Entity::Queue(queue.clone())], deadline)
            .await?;
        let route = if *queue == QueueName::Ingest {
            Route {
                exchange: short(&self.names.ingest_exchange())?,
                routing_key: INGEST_ROUTING_KEY.into(),
                mandatory: true,
            }
        } else {
            Route {
                exchange: "".into(),
                routing_key: short(&self.names.queue(queue))?,
                mandatory: true,
            }
        };
        let outgoing = messages
            .iter()
            .map(Outgoing::new)
            .collect::<Result<Vec<_>, _>>()?;
        publish_confirmed(&self.link, &route, &outgoing, deadline).await
    }

    /// Publishes `messages` to `queue` through the delay queue of `delay`'s bucket.
    async fn publish_delayed(
        &self,
        queue: &QueueName,
        messages: Vec<Envelope>,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let Some((bucket, chained)) = plan(delay, &self.buckets) else {
            return self.publish_now(queue, &messages).await;
        };
        let deadline = Instant::now() + self.publish_timeout;
        self.ensure(
            &[
                Entity::Queue(queue.clone()),
                Entity::Delay(bucket, queue.clone()),
            ],
            deadline,
        )
        .await?;
        let route = Route {
            exchange: "".into(),
            routing_key: short(&self.names.delay(bucket, queue))?,
            mandatory: true,
        };
        let not_before = chained.then(|| {
            let ms = i64::try_from(delay.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX);
            now_ms().saturating_add(ms).to_string()
        });
        let mut outgoing = Vec::with_capacity(messages.len());
        for message in &messages {
            let mut out = Outgoing::new(message)?;
            if let Some(at) = &not_before {
                out = out.with_header(NOT_BEFORE_HEADER, at.clone())?;
            }
            outgoing.push(out);
        }
        publish_confirmed(&self.link, &route, &outgoing, deadline).await
    }
}

#[async_trait]
impl Queue for RabbitQueue {
    async fn prepare(&self, vendors: &[String]) -> Result<(), QueueError> {
        let mut entities = vec![
            Entity::Queue(QueueName::Ingest),
            Entity::Queue(QueueName::Dead),
            Entity::Events,
        ];
        entities.extend(
            vendors
                .iter()
                .map(|v| Entity::Queue(QueueName::Vendor(v.clone()))),
        );
        let deadline = Instant::now() + self.inner.publish_timeout;
        self.inner.ensure(&entities, deadline).await
    }

    async fn publish(
        &self,
        queue: &QueueName,
        messages: Vec<Envelope>,
        delay: Option<Duration>,
    ) -> Result<(), QueueError> {
        if messages.is_empty() {
            return Ok(());
        }
        match delay {
            Some(delay) if !delay.is_zero() => {
                self.inner.publish_delayed(queue, messages, delay).await
            }
            _ => self.inner.publish_now(queue, &messages).await,
        }
    }

    async fn subscribe(
        &self,
        queue: &QueueName,
        prefetch: u16,
    ) -> Result<(Box<dyn Subscription>, Arc<dyn Acker>), QueueError> {
        let deadline = Instant::now() + self.inner.publish_timeout;
        self.inner
            .ensure(&[Entity::Queue(queue.clone())], deadline)
            .await?;
        let (subscription, acker) =
            subscription::open(self.inner.clone(), queue.clone(), prefetch).await?;
        Ok((Box::new(subscription), Arc::new(acker)))
    }

    async fn publish_event(&self, routing_key: &str, body: Vec<u8>) -> Result<(), QueueError> {
        let deadline = Instant::now() + self.inner.publish_timeout;
        self.inner.ensure(&[Entity::Events], deadline).await?;
        let route = Route {
            exchange: short(&self.inner.names.events_exchange())?,
            routing_key: short(routing_key)?,
            mandatory: false,
        };
        let outgoing = Outgoing::new(&Envelope::new(body))?;
        publish_confirmed(&self.inner.link, &route, &[outgoing], deadline).await
    }

    async fn publish_events(&self, events: Vec<(String, Vec<u8>)>) -> Result<(), QueueError> {
        if events.is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + self.inner.publish_timeout;
        self.inner.ensure(&[Entity::Events], deadline).await?;
        let exchange = short(&self.inner.names.events_exchange())?;
        // One confirmed batch per routing key (a batch shares its route); events of one key
        // keep their order, and the batches go out together.
        let mut by_key: Vec<(String, Vec<Outgoing>)> = Vec::new();
        for (routing_key, body) in events {
            let outgoing = Outgoing::new(&Envelope::new(body))?;
            match by_key.iter_mut().find(|(key, _)| *key == routing_key) {
                Some((_, list)) => list.push(outgoing),
                None => by_key.push((routing_key, vec![outgoing])),
            }
        }
        let mut batches = Vec::with_capacity(by_key.len());
        for (routing_key, messages) in by_key {
            let route = Route {
                exchange: exchange.clone(),
                routing_key: short(&routing_key)?,
                mandatory: false,
            };
            batches.push((route, messages));
        }
        let link = &self.inner.link;
        futures::future::try_join_all(
            batches
                .iter()
                .map(|(route, messages)| publish_confirmed(link, route, messages, deadline)),
        )
        .await?;
        Ok(())
    }

    async fn subscribe_events(&self, pattern: &str) -> Result<Box<dyn EventStream>, QueueError> {
        let deadline = Instant::now() + self.inner.publish_timeout;
        self.inner.ensure(&[Entity::Events], deadline).await?;
        Ok(Box::new(events::open(self.inner.clone(), pattern).await?))
    }

    async fn depth(&self, queue: &QueueName) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let name = short(&inner.names.queue(queue))?;
        let deadline = Instant::now() + inner.publish_timeout;
        let live = inner.link.live(Some(deadline)).await?;
        let channel = live
            .conn
            .create_channel()
            .await
            .map_err(|e| inner.link.unavailable("counting messages", e))?;
        let declared = channel
            .queue_declare(
                name.clone(),
                lapin::options::QueueDeclareOptions::default().passive(),
                lapin::types::FieldTable::default(),
            )
            .await;
        let _ = channel.close(200, "counted".into()).await;
        match declared {
            Ok(q) => Ok(u64::from(q.message_count())),
            Err(e) if e.is_amqp_soft_error() => Err(QueueError::Refused(format!(
                "queue {} does not exist",
                name.as_str()
            ))),
            Err(e) => Err(inner.link.unavailable("counting messages", e)),
        }
    }
}
