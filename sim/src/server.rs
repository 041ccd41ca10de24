//! The vendor-neutral TLS server: one accept loop per listening port, TLS via tokio-rustls,
//! HTTP via hyper-util's auto builder (h2 only for APNs), per-connection state handed to the
//! vendor [`Endpoint`], connection counting, `refuse` outages and graceful shutdown.

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
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::control::types::Vendor;
use crate::counters::Event;
use crate::state::SimState;
use crate::wire::Body;

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

async fn serve_connection<E: Endpoint>(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    builder: Arc<auto::Builder<TokioExecutor>>,
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
    let conn_state = Arc::new(endpoint.open(info));
    let ep = endpoint.clone();
    let service = service_fn(move |req| {
        let ep = ep.clone();
        let conn_state = conn_state.clone();
        async move { Ok::<_, Infallible>(ep.handle(&conn_state, req).await) }
    });
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(endpoint = name, error = %e, "connection ended with an error");
            }
        }
        _ = generation.cancelled() => {
            // Outage: the connection is dropped without a GOAWAY.
        }
        _ = reset.cancelled() => {
            // Injected reset: dropped with requests unanswered.
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.as_mut()).await;
        }
    }
    counters.count(vendor, name, Event::Closed);
}
