//! Queue backends: the two implementations of [`push_core::queue::Queue`].
//!
//! - [`RabbitQueue`] (production): quorum queues on RabbitMQ, publisher confirms, delay queues
//!   for retries, its own reconnect loop (see [`rabbit`]).
//! - [`EmbeddedQueue`] (the `cargo run` default): rows in the store's own database, SQLite or
//!   PostgreSQL, leased atomically to competing consumers (see [`embedded`]).
//!
//! Both pass one conformance suite (`tests/queue_conformance.rs`). [`open_queue`] picks one
//! from the configuration.

pub mod embedded;
pub mod rabbit;

pub use embedded::{EmbeddedOptions, EmbeddedQueue};
pub use push_core::queue::{
    AckTag, Acker, Envelope, EventStream, Queue, QueueError, QueueName, REASON_HEADER, Received,
    Subscription, topic_matches,
};
pub use rabbit::{RabbitOptions, RabbitQueue};

use crate::store::SqlStore;
use std::sync::Arc;

/// Opens the configured queue: RabbitMQ when `amqp_url` is given (connecting now, so a bad
/// URL or an unreachable broker fails at start), else the embedded queue in `store`'s
/// database. `prefix` starts every queue and exchange name (`pushgate` → `pushgate.ingest`);
/// `lease` is how long an embedded consumer holds a message before it is handed out again
/// (RabbitMQ needs none: it requeues a dead consumer's messages when its connection closes).
pub async fn open_queue(
    amqp_url: Option<&str>,
    prefix: &str,
    lease: std::time::Duration,
    store: &SqlStore,
) -> Result<Arc<dyn Queue>, QueueError> {
    match amqp_url {
        Some(url) => Ok(Arc::new(RabbitQueue::connect(url, prefix).await?)),
        None => Ok(Arc::new(EmbeddedQueue::with_options(
            store,
            EmbeddedOptions {
                prefix: prefix.to_string(),
                lease,
                ..EmbeddedOptions::default()
            },
        ))),
    }
}
