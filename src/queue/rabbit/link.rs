//! The connection to RabbitMQ and its reconnect loop.
//!
//! pushgate does not use lapin's auto-recovery: it reconnects itself, so that each
//! connection (and each consumer channel) has a *generation*, acks of an older generation
//! are recognised and reported as stale, publishes wait for a new connection only until
//! their deadline, and server-named event queues are declared afresh. Every user of the
//! link asks [`Link::live`] for the current connection; when it is gone (closed by the
//! broker, a network error, or marked broken after a timeout) the next caller reconnects,
//! one attempt at a time for everybody, with exponential backoff between failed attempts.
//!
//! The AMQP URL holds a password: it is kept here only, and every message that could
//! carry it goes through [`Link::scrub`]; logs and errors name the broker by
//! [`redact`]ed URL.

use crate::url_secrets::{redact, scrub};
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use push_core::queue::QueueError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The first pause after a failed connection attempt; it doubles up to the configured
/// maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// One connection to the broker.
pub(super) struct Live {
    /// Unique among all connections and channels of this link.
    pub generation: u64,
    /// The connection.
    pub conn: Connection,
    broken: AtomicBool,
}

impl Live {
    /// Whether the connection can still be used.
    pub fn usable(&self) -> bool {
        !self.broken.load(Ordering::SeqCst) && self.conn.status().connected()
    }

    /// Marks the connection as unusable (it stopped answering); the next caller of
    /// [`Link::live`] replaces it.
    pub fn mark_broken(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }
}

/// What only one task at a time may change.
struct State {
    live: Option<Arc<Live>>,
    /// The confirm-mode channel for publishing, and the generation of its connection.
    publisher: Option<(u64, Channel)>,
    /// Failed attempts in a row.
    failures: u32,
    /// No attempt before this.
    next_attempt: Instant,
}

/// The connection manager shared by a [`super::RabbitQueue`], its subscriptions and
/// event streams.
pub(super) struct Link {
    url: String,
    shown: String,
    connection_name: String,
    connect_timeout: Duration,
    max_backoff: Duration,
    state: Mutex<State>,
    generations: AtomicU64,
    closed: CancellationToken,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("broker", &self.shown).finish()
    }
}

impl Link {
    /// A link to `url` that has not connected yet.
    pub fn new(
        url: &str,
        connection_name: String,
        connect_timeout: Duration,
        max_backoff: Duration,
    ) -> Link {
        Link {
            url: url.to_string(),
            shown: redact(url),
            connection_name,
            connect_timeout,
            max_backoff,
            state: Mutex::new(State {
                live: None,
                publisher: None,
                failures: 0,
                next_attempt: Instant::now(),
            }),
            generations: AtomicU64::new(1),
            closed: CancellationToken::new(),
        }
    }

    /// The broker's URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// A generation number nobody used before.
    pub fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::SeqCst)
    }

    /// Cancelled once the link is closed for good.
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// `message` with the URL's password replaced.
    pub fn scrub(&self, message: &str) -> String {
        scrub(message, &self.url)
    }

    /// An error for `what` failing because of `e`, without secrets.
    pub fn unavailable(&self, what: &str, e: impl std::fmt::Display) -> QueueError {
        QueueError::Unavailable(self.scrub(&format!("{what} on RabbitMQ {}: {e}", self.shown)))
    }

    /// The current connection, connecting first if there is none. Waits (retrying with
    /// backoff) until `deadline`, or forever when it is `None`; fails once the link is
    /// closed.
    pub async fn live(&self, deadline: Option<Instant>) -> Result<Arc<Live>, QueueError> {
        loop {
            if self.closed.is_cancelled() {
                return Err(QueueError::Unavailable(
                    "the RabbitMQ link is closed".into(),
                ));
            }
            let mut state = self.lock(deadline).await?;
            if let Some(live) = state.live.as_ref().filter(|l| l.usable()) {
                return Ok(live.clone());
            }
            let now = Instant::now();
            if now < state.next_attempt {
                let wake = state.next_attempt;
                drop(state);
                if deadline.is_some_and(|d| d <= wake) {
                    return Err(self.unreachable("no connection before the deadline"));
                }
                self.sleep_until(wake).await;
                continue;
            }
            match self.connect_once().await {
                Ok(conn) => {
                    let live = Arc::new(Live {
                        generation: self.next_generation(),
                        conn,
                        broken: AtomicBool::new(false),
                    });
                    if let Some(old) = state.live.replace(live.clone())
                        && old.conn.status().connected()
                    {
                        // Marked broken while still open: close it, so the broker requeues
                        // what its channels held.
                        tokio::spawn(async move {
                            let _ = old.conn.close(320, "replaced".into()).await;
                        });
                    }
                    if state.failures > 0 {
                        tracing::info!(broker = %self.shown, failures = state.failures, "reconnected to RabbitMQ");
                    }
                    state.publisher = None;
                    state.failures = 0;
                    return Ok(live);
                }
                Err(why) => {
                    state.failures = state.failures.saturating_add(1);
                    let backoff = backoff(state.failures, self.max_backoff);
                    state.next_attempt = Instant::now() + backoff;
                    tracing::warn!(broker = %self.shown, error = %why, failures = state.failures, retry_in_ms = backoff.as_millis() as u64, "cannot connect to RabbitMQ");
                    drop(state);
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(self.unreachable(&why));
                    }
                }
            }
        }
    }

    /// The confirm-mode publishing channel of the current connection, opening it (and the
    /// connection) when needed, until `deadline`.
    pub async fn publisher(&self, deadline: Instant) -> Result<(Arc<Live>, Channel), QueueError> {
        loop {
            let live = self.live(Some(deadline)).await?;
            let mut state = self.lock(Some(deadline)).await?;
            if let Some((generation, channel)) = &state.publisher
                && *generation == live.generation
                && channel.status().connected()
            {
                return Ok((live, channel.clone()));
            }
            let opened = async {
                let channel = live.conn.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                Ok::<_, lapin::Error>(channel)
            };
            match tokio::time::timeout_at(deadline, opened).await {
                Ok(Ok(channel)) => {
                    state.publisher = Some((live.generation, channel.clone()));
                    return Ok((live, channel));
                }
                Ok(Err(e)) => {
                    tracing::warn!(broker = %self.shown, error = %self.scrub(&e.to_string()), "cannot open the publishing channel");
                    live.mark_broken();
                }
                Err(_) => {
                    live.mark_broken();
                    return Err(self.unreachable("opening the publishing channel timed out"));
                }
            }
        }
    }

    /// Closes the connection; subscriptions end and publishes fail from now on.
    pub async fn close(&self) {
        self.closed.cancel();
        let mut state = self.state.lock().await;
        state.publisher = None;
        if let Some(live) = state.live.take() {
            let _ = live.conn.close(200, "closing".into()).await;
        }
    }

    /// Sleeps until `wake`, or until the link closes.
    pub async fn sleep_until(&self, wake: Instant) {
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = self.closed.cancelled() => {}
        }
    }

    async fn lock(
        &self,
        deadline: Option<Instant>,
    ) -> Result<tokio::sync::MutexGuard<'_, State>, QueueError> {
        match deadline {
            None => Ok(self.state.lock().await),
            Some(d) => tokio::time::timeout_at(d, self.state.lock())
                .await
                .map_err(|_| self.unreachable("still reconnecting at the deadline")),
        }
    }

    fn unreachable(&self, why: &str) -> QueueError {
        QueueError::Unavailable(
            self.scrub(&format!("RabbitMQ at {} is unreachable: {why}", self.shown)),
        )
    }

    /// One connection attempt, bounded by the connect timeout.
    async fn connect_once(&self) -> Result<Connection, String> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.connection_name.clone().into());
        match tokio::time::timeout(
            self.connect_timeout,
            Connection::connect(&self.url, properties),
        )
        .await
        {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.scrub(&e.to_string())),
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.connect_timeout.as_millis()
            )),
        }
    }
}

/// The pause after `failures` failed attempts in a row.
fn backoff(failures: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    FIRST_BACKOFF
        .saturating_mul(factor)
        .min(max.max(FIRST_BACKOFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact("amqp://guest:s3cr%40t@rabbit:5672/%2f?heartbeat=10"),
            "amqp://guest:***@rabbit:5672/%2f?heartbeat=10"
        );
        assert_eq!(redact("amqp://rabbit/%2f"), "amqp://rabbit/%2f");
        assert_eq!(redact("amqps://u@rabbit"), "amqps://u@rabbit");
    }

    #[test]
    fn messages_lose_raw_and_decoded_passwords() {
        let url = "amqp://guest:s3cr%40t@rabbit/%2f";
        assert_eq!(scrub("bad s3cr%40t or s3cr@t", url), "bad *** or ***");
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let max = Duration::from_secs(2);
        assert_eq!(backoff(1, max), Duration::from_millis(100));
        assert_eq!(backoff(2, max), Duration::from_millis(200));
        assert_eq!(backoff(5, max), Duration::from_millis(1600));
        assert_eq!(backoff(6, max), max);
        assert_eq!(backoff(60, max), max);
    }
}
