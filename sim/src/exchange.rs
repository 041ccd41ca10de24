//! The request/answer plumbing the JSON and form endpoints share (Huawei, Xiaomi, OPPO,
//! vivo, Honor, WeChat): [`Received::read`] counts the request, reads its body and applies the
//! latency fault; [`finish`] records the exchange in the request log and answers it, or drops
//! the connection when the reset fault fires. What a request means and what to answer stays
//! in each vendor's module.

use http::Request;
use http::Response;
use http::request::Parts;
use hyper::body::Incoming;

use crate::control::types::{RecordedResponse, RequestRecord, Vendor};
use crate::counters::Event;
use crate::server::{self, ConnInfo};
use crate::state::Core;
use crate::wire::{self, Body, ReadBody};

/// A request as received: counted, its body read, the latency fault applied.
#[derive(Debug)]
pub(crate) struct Received {
    /// Method, URI, version and headers.
    pub parts: Parts,
    /// The body, read up to the endpoint's limit.
    pub body: ReadBody,
    /// When it arrived, sim clock, Unix ms.
    pub at_ms: i64,
}

impl Received {
    /// Counts the request for `vendor`'s `endpoint`, reads at most `max_read` body bytes and
    /// waits out the vendor's latency fault.
    pub(crate) async fn read(
        core: &Core,
        vendor: Vendor,
        endpoint: &'static str,
        req: Request<Incoming>,
        max_read: usize,
    ) -> Received {
        core.counters.count(vendor, endpoint, Event::Request);
        let at_ms = core.clock.now_ms();
        let (parts, body) = req.into_parts();
        let body = wire::read_body(body, max_read).await;
        let latency = core.faults.latency(vendor);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Received { parts, body, at_ms }
    }
}

/// What an endpoint answers, and what the request log says about the request.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// The (first) token the request addressed, for the log.
    pub token: Option<String>,
    /// Every token of a multi-token request, for the log.
    pub tokens: Vec<String>,
    /// The app (or project) of the request, for the log.
    pub topic: Option<String>,
    /// A `validate_only` request (nothing delivered).
    pub dry_run: bool,
    /// The request was processed; only then may the reset fault fire.
    pub processed: bool,
}

/// Records the exchange and answers it; when the request was processed and `vendor`'s reset
/// fault fires, the connection is dropped instead (after recording, marked `reset`).
pub(crate) async fn finish(
    core: &Core,
    vendor: Vendor,
    endpoint: &'static str,
    conn: &ConnInfo,
    received: &Received,
    reply: Reply,
) -> Response<Body> {
    let reset = reply.processed && core.faults.reset_now(vendor);
    let parts = &received.parts;
    let record = RequestRecord {
        seq: 0,
        at_ms: received.at_ms,
        vendor,
        endpoint: endpoint.to_string(),
        connection: conn.id,
        http_version: wire::version_text(parts.version),
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: wire::header_pairs(&parts.headers),
        body: String::from_utf8_lossy(&received.body.bytes).into_owned(),
        token: reply.token,
        tokens: reply.tokens,
        topic: reply.topic,
        dry_run: reply.dry_run,
        reset,
        response: RecordedResponse {
            status: reply.status,
            headers: reply.headers.clone(),
            body: String::from_utf8_lossy(&reply.body).into_owned(),
        },
    };
    core.recorder.push(record);
    let response = wire::response(reply.status, &reply.headers, reply.body);
    if reset {
        server::reset_connection(&conn.reset).await;
    }
    response
}
