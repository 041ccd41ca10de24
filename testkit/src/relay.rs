//! Endpoints "elsewhere" for tests of configurable vendor URLs: a TCP relay on a port of its
//! own that counts the connections it carries (so traffic sent to it can be told apart from
//! traffic sent to the simulator directly; TLS passes through untouched), and a port with
//! nothing listening.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A counting TCP relay in front of one address; stops when dropped.
pub struct CountingRelay {
    port: u16,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingRelay {
    /// A relay to `target` on a free loopback port.
    pub async fn to(target: SocketAddr) -> CountingRelay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        CountingRelay {
            port,
            connections,
            task,
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// Connections carried so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The loopback address of a simulator base URL such as `https://127.0.0.1:8446`.
pub fn loopback_addr(base_url: &str) -> SocketAddr {
    let port = base_url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a base URL ending in :<port>");
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A loopback port with nothing listening on it.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    listener.local_addr().expect("a bound address").port()
}
