//! The vendor-neutral TLS server: one accept loop per listening port, TLS via tokio-rustls,
//! HTTP via hyper-util's auto builder (h2 only for APNs), per-connection state handed to the
//! vendor [`Endpoint`], connection counting, `refuse` outages and graceful shutdown. On
//! HTTP/2-only listeners it also sends GOAWAYs with debug data (faults `goaway` and
//! `idle_timeout_ms`), which hyper cannot: see `goaway.rs`.

mod goaway;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::control::types::Vendor;
use crate::counters::Event;
use crate::state::SimState;
use crate::wire::{self, Body};
use goaway::{Admission, Goaway, H2Io, Streams};

/// After a GOAWAY, how long the streams at or below its last-stream-id may take to be
/// answered before the connection closes anyway.
const GOAWAY_DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// After the close, how long to wait for the client to close its side.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// What a vendor endpoint learns about a new connection.
#[derive(Debug)]
pub(crate) struct ConnInfo {
    /// Connection number, unique in this sim.
    pub id: u64,
    /// The verified client certificate chain (empty without a client certificate).
    pub peer_certs: Vec<CertificateDer<'static>>,
    /// Cancelling it drops the connection at once, without answering (fault `reset_rate`).
    pub reset: CancellationToken,
}

/// Resets the connection of `reset` instead of answering: the answer is held back until the
/// connection is gone (at most 30 s, so nothing waits forever).
pub(crate) async fn reset_connection(reset: &CancellationToken) {
    reset.cancel();
    tokio::time::sleep(Duration::from_secs(30)).await;
}

/// A vendor API served on one port.
pub(crate) trait Endpoint: Send + Sync + 'static {
    /// Per-connection state (e.g. APNs connection binding).
    type Conn: Send + Sync + 'static;

    /// The vendor, for faults and counters.
    fn vendor(&self) -> Vendor;

    /// The endpoint name, for counters and records (`apns-sandbox`).
    fn name(&self) -> &'static str;

    /// Creates the state of a new connection.
    fn open(&self, info: ConnInfo) -> Self::Conn;

    /// Answers one request. Never fails: garbage gets the vendor's error answer.
    fn handle(
        &self,
        conn: &Self::Conn,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// A bound port waiting to be served.
pub(crate) struct Listener {
    /// The socket (already bound, so the port is known before serving starts).
    pub tcp: TcpListener,
    /// TLS configuration (ALPN, client certificates).
    pub tls: Arc<ServerConfig>,
    /// Refuse HTTP/1.1 (APNs).
    pub http2_only: bool,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` advertised to HTTP/2 clients.
    pub max_concurrent_streams: u32,
}

/// Spawns the accept loop of `listener` for `endpoint` on `tracker`.
pub(crate) fn spawn<E: Endpoint>(
    listener: Listener,
    endpoint: Arc<E>,
    state: Arc<SimState>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<()> {
    let addr = listener.tcp.local_addr()?;
    let t = tracker.clone();
    tracker.spawn(accept_loop(listener, addr, endpoint, state, shutdown, t));
    Ok(())
}

async fn accept_loop<E: Endpoint>(
    listener: Listener,
    addr: SocketAddr,
    endpoint: Arc<E>,
    state: Arc<SimState>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let Listener {
        tcp,
        tls,
        http2_only,
        max_concurrent_streams,
    } = listener;
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(max_concurrent_streams);
    if http2_only {
        builder = builder.http2_only();
    }
    let builder = Arc::new(builder);
    let mut socket = Some(tcp);
    let mut refuse = state.core.faults.refuse_watch(endpoint.vendor());
    // Cancelled when a `refuse` outage starts: drops the connections of that generation.
    let mut generation = CancellationToken::new();
    loop {
        if *refuse.borrow_and_update() {
            if socket.take().is_some() {
                tracing::info!(endpoint = endpoint.name(), "outage: refusing connections");
                generation.cancel();
                generation = CancellationToken::new();
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = refuse.changed() => if changed.is_err() { return },
            }
            continue;
        }
        let Some(tcp) = socket.as_ref() else {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    tracing::info!(endpoint = endpoint.name(), %addr, "outage over: listening again");
                    socket = Some(l);
                }
                Err(e) => {
                    tracing::warn!(endpoint = endpoint.name(), %addr, error = %e, "rebinding failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
            }
            continue;
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = refuse.changed() => if changed.is_err() { return },
            accepted = tcp.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let conn = serve_connection(
                        stream,
                        acceptor.clone(),
                        builder.clone(),
                        http2_only,
                        endpoint.clone(),
                        state.clone(),
                        shutdown.clone(),
                        generation.clone(),
                    );
                    tracker.spawn(conn);
                }
                Err(e) => {
                    tracing::warn!(endpoint = endpoint.name(), error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_connection<E: Endpoint>(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    builder: Arc<auto::Builder<TokioExecutor>>,
    http2_only: bool,
    endpoint: Arc<E>,
    state: Arc<SimState>,
    shutdown: CancellationToken,
    generation: CancellationToken,
) {
    let (vendor, name) = (endpoint.vendor(), endpoint.name());
    let counters = &state.core.counters;
    let _ = stream.set_nodelay(true);
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(endpoint = name, error = %e, "TLS handshake failed");
            counters.count(vendor, name, Event::HandshakeFailed);
            return;
        }
        Err(_) => {
            counters.count(vendor, name, Event::HandshakeFailed);
            return;
        }
    };
    let peer_certs = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let reset = CancellationToken::new();
    let info = ConnInfo {
        id: state.core.next_connection_id(),
        peer_certs,
        reset: reset.clone(),
    };
    counters.count(vendor, name, Event::Connected);
    // Only HTTP/2-only connections are followed frame by frame (HTTP/1.1 has no frames).
    let streams = http2_only.then(|| Arc::new(Streams::default()));
    let io = H2Io::new(tls, streams.clone());
    // Releases the requests held after a GOAWAY once the connection is gone.
    let closed = CancellationToken::new();
    let _closed_on_exit = closed.clone().drop_guard();
    let conn_state = Arc::new(endpoint.open(info));
    let ep = endpoint.clone();
    let st = state.clone();
    let service_streams = streams.clone();
    let service = service_fn(move |req| {
        // Runs in hyper's connection task, in the order the client opened the streams.
        let admission = service_streams.as_ref().map(|s| {
            s.admit(|last| {
                st.core
                    .faults
                    .goaway(vendor)
                    .map(|g| Goaway::with_reason(last, g.error_code, &g.reason))
            })
        });
        let (ep, conn_state, st, closed) =
            (ep.clone(), conn_state.clone(), st.clone(), closed.clone());
        async move {
            match admission {
                Some(Admission::Hold) => {
                    // Above the GOAWAY's last-stream-id: arrived, never processed, never
                    // answered (the request, body included, stays unread until the end).
                    st.core.counters.count(vendor, name, Event::Request);
                    let _unanswered = req;
                    closed.cancelled().await;
                    Ok::<_, Infallible>(wire::response(503, &[], Vec::new()))
                }
                Some(Admission::Serve(guard)) => {
                    let response = ep.handle(&conn_state, req).await;
                    guard.answered();
                    Ok(response)
                }
                None => Ok(ep.handle(&conn_state, req).await),
            }
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io.clone()), service);
    tokio::pin!(conn);
    let next_goaway = async {
        match &streams {
            Some(s) => next_goaway(s, state.core.faults.idle_watch(vendor)).await,
            None => std::future::pending().await,
        }
    };
    let goaway = tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(endpoint = name, error = %e, "connection ended with an error");
            }
            None
        }
        _ = generation.cancelled() => {
            // Outage: the connection is dropped without a GOAWAY.
            None
        }
        _ = reset.cancelled() => {
            // Injected reset: dropped with requests unanswered.
            None
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.as_mut()).await;
            None
        }
        goaway = next_goaway => Some(goaway),
    };
    if let (Some(goaway), Some(streams)) = (goaway, &streams) {
        tracing::debug!(
            endpoint = name,
            last_stream_id = goaway.last_stream_id,
            error_code = goaway.error_code,
            debug_data = %String::from_utf8_lossy(&goaway.debug_data),
            "sending GOAWAY"
        );
        // hyper keeps serving meanwhile: it may be in the middle of a frame, and the streams
        // at or below the last-stream-id still get their answers.
        let finish = async {
            if io.send_goaway(&goaway).await.is_ok() {
                streams.drained().await;
            }
        };
        let close = tokio::select! {
            _ = conn.as_mut() => true,
            _ = finish => true,
            _ = tokio::time::sleep(GOAWAY_DRAIN_LIMIT) => true,
            // An outage or injected reset drops the connection as it is.
            _ = generation.cancelled() => false,
            _ = reset.cancelled() => false,
            _ = shutdown.cancelled() => false,
        };
        if close {
            tokio::select! {
                _ = io.close(CLOSE_LINGER) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }
    counters.count(vendor, name, Event::Closed);
}

/// The next GOAWAY of a connection: one a request triggered (fault `goaway`), or the idle one
/// once the connection has been idle for the vendor's `idle_timeout_ms`.
async fn next_goaway(
    streams: &Streams,
    mut idle_timeout: watch::Receiver<Option<Duration>>,
) -> Goaway {
    // Far enough to mean "never" without overflowing `Instant`.
    const NEVER: Duration = Duration::from_secs(24 * 60 * 60);
    loop {
        let timeout = *idle_timeout.borrow_and_update();
        let check_at = match timeout.map(|t| streams.idle_goaway(t)) {
            Some(Ok(goaway)) => return goaway,
            Some(Err(at)) => at,
            None => tokio::time::Instant::now() + NEVER,
        };
        tokio::select! {
            goaway = streams.requested() => return goaway,
            changed = idle_timeout.changed() => {
                if changed.is_err() {
                    return streams.requested().await;
                }
            }
            _ = tokio::time::sleep_until(check_at) => {}
        }
    }
}
