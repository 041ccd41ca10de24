//! Per-endpoint counters: connections (to assert HTTP/2 connection reuse), handshake failures,
//! requests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::control::types::{Counters, EndpointCounters, Vendor};
use crate::record::lock;

/// What happened on an endpoint.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// A TLS connection was established.
    Connected,
    /// A connection closed.
    Closed,
    /// A TLS handshake failed.
    HandshakeFailed,
    /// A request arrived.
    Request,
    /// An OAuth2 token request arrived.
    AuthRequest,
}

/// The shared counters.
#[derive(Debug, Default)]
pub(crate) struct CounterSet {
    endpoints: Mutex<BTreeMap<String, (Vendor, EndpointCounters)>>,
}

impl CounterSet {
    /// Counts one event on `endpoint` of `vendor`.
    pub(crate) fn count(&self, vendor: Vendor, endpoint: &str, event: Event) {
        let mut map = lock(&self.endpoints);
        let (_, c) = map
            .entry(endpoint.to_string())
            .or_insert_with(|| (vendor, EndpointCounters::default()));
        match event {
            Event::Connected => {
                c.connections += 1;
                c.open_connections += 1;
            }
            Event::Closed => c.open_connections = c.open_connections.saturating_sub(1),
            Event::HandshakeFailed => c.handshake_failures += 1,
            Event::Request => c.requests += 1,
            Event::AuthRequest => c.auth_requests += 1,
        }
    }

    /// A snapshot of every counter.
    pub(crate) fn snapshot(&self) -> Counters {
        let map = lock(&self.endpoints);
        let mut out = Counters::default();
        for (name, (vendor, c)) in map.iter() {
            out.endpoints.insert(name.clone(), *c);
            let v = out.vendors.entry(*vendor).or_default();
            v.connections += c.connections;
            v.handshake_failures += c.handshake_failures;
            v.open_connections += c.open_connections;
            v.requests += c.requests;
            v.auth_requests += c.auth_requests;
        }
        out
    }

    /// Zeroes every counter except open connections (those are still open).
    pub(crate) fn reset(&self) {
        for (_, c) in lock(&self.endpoints).values_mut() {
            *c = EndpointCounters {
                open_connections: c.open_connections,
                ..EndpointCounters::default()
            };
        }
    }
}
