//! The OPPO endpoint: both hosts on one port (China at the root, overseas under `/intl`),
//! the auth path and the send paths; applies faults, records requests, schedules receipts.
//!
//! Injected error faults answer sends (not the auth path) with the fault's HTTP status and
//! `{"code": <reason as a number, default -1>, "message": "injected failure"}`; an
//! `unavailable` outage answers everything with HTTP 503 and code -1.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::Value;

use super::codes::{INVALID_METHOD, METHOD_NOT_ALLOWED, Refusal, UNAVAILABLE};
use super::receipts::OppoReceiptSender;
use super::send::{self, Api};
use super::{Host, INTL_PREFIX, auth};
use crate::callbacks::CallbackPoster;
use crate::control::types::{Outage, Vendor};
use crate::counters::Event;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Bodies are read up to this size (1000 messages of a few KB); longer ones get code 41.
const MAX_READ: usize = 8 * 1024 * 1024;
/// The auth path on each host.
const AUTH_PATH: &str = "/server/v1/auth";

/// The OPPO endpoint.
#[derive(Debug)]
pub(crate) struct OppoEndpoint {
    state: Arc<SimState>,
    receipts: OppoReceiptSender,
}

impl OppoEndpoint {
    /// The endpoint over `state`; receipts go out through `callbacks`.
    pub(crate) fn new(state: Arc<SimState>, callbacks: CallbackPoster) -> Self {
        let receipts = OppoReceiptSender::new(callbacks);
        OppoEndpoint { state, receipts }
    }
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    tokens: Vec<String>,
    app_key: Option<String>,
    processed: bool,
}

impl Answer {
    fn new(status: u16, body: Value) -> Self {
        Answer {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body,
            tokens: Vec::new(),
            app_key: None,
            processed: true,
        }
    }
}

impl Endpoint for OppoEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Oppo
    }

    fn name(&self) -> &'static str {
        "oppo"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Oppo, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let path = parts.uri.path();
        let (host, path) = match path.strip_prefix(INTL_PREFIX) {
            Some(rest) if rest.starts_with('/') => (Host::Overseas, rest),
            _ => (Host::China, path),
        };
        let answer = if path == AUTH_PATH {
            core.counters
                .count(Vendor::Oppo, self.name(), Event::AuthRequest);
            self.auth(parts, body, host)
        } else if let Some(api) = Api::of(path) {
            self.send(parts, body, host, api)
        } else {
            Answer::new(404, Refusal::new(INVALID_METHOD, "Invalid Method").body())
        };
        let reply = Self::reply(answer);
        exchange::finish(core, Vendor::Oppo, self.name(), conn, &received, reply).await
    }
}

fn unavailable() -> Answer {
    let mut a = Answer::new(
        503,
        Refusal::new(UNAVAILABLE, "Service Currently Unavailable").body(),
    );
    a.processed = false;
    a
}

fn form(body: &ReadBody) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&body.bytes)
        .into_owned()
        .collect()
}

impl OppoEndpoint {
    fn auth(&self, parts: &Parts, body: &ReadBody, host: Host) -> Answer {
        if self.state.core.faults.get(Vendor::Oppo).outage == Some(Outage::Unavailable) {
            return unavailable();
        }
        if parts.method != Method::POST {
            return Answer::new(
                405,
                Refusal::new(METHOD_NOT_ALLOWED, "Http Action Not Allowed").body(),
            );
        }
        let mut a = match auth::exchange(&self.state, host, &form(body)) {
            Ok(v) => Answer::new(200, v),
            Err(r) => Answer::new(200, r.body()),
        };
        a.app_key = form(body)
            .into_iter()
            .find(|(k, _)| k == "app_key")
            .map(|(_, v)| v);
        a
    }

    fn send(&self, parts: &Parts, body: &ReadBody, host: Host, api: Api) -> Answer {
        match self.state.core.faults.decide(Vendor::Oppo) {
            FaultAction::None => {}
            FaultAction::Unavailable => {
                let mut a = unavailable();
                a.tokens = tokens_of(&form(body));
                return a;
            }
            FaultAction::Error(e) => {
                let code: i64 = e.reason.trim().parse().unwrap_or(UNAVAILABLE);
                let mut a = Answer::new(e.status, Refusal::new(code, "injected failure").body());
                if let Some(ra) = e.retry_after {
                    a.headers.push(("retry-after".into(), ra));
                }
                a.processed = false;
                a.tokens = tokens_of(&form(body));
                return a;
            }
        }
        if parts.method != Method::POST {
            return Answer::new(
                405,
                Refusal::new(METHOD_NOT_ALLOWED, "Http Action Not Allowed").body(),
            );
        }
        if body.too_large {
            return Answer::new(
                200,
                Refusal::new(41, "Invalid Arguments: request body too large").body(),
            );
        }
        let sent = send::handle(&self.state, host, api, &form(body));
        if !sent.receipts.is_empty() {
            self.receipts.schedule(
                &self.state.oppo.receipts,
                self.state.oppo.settings().receipts,
                sent.receipts,
            );
        }
        let mut a = Answer::new(200, sent.body);
        a.tokens = if sent.tokens.is_empty() {
            tokens_of(&form(body))
        } else {
            sent.tokens
        };
        a.app_key = sent.app_key;
        a
    }

    /// What the request log says about an answer.
    fn reply(a: Answer) -> Reply {
        Reply {
            status: a.status,
            headers: a.headers,
            body: a.body.to_string().into_bytes(),
            token: a.tokens.first().cloned(),
            tokens: a.tokens,
            topic: a.app_key,
            dry_run: false,
            processed: a.processed,
        }
    }
}

/// The registration ids of a send body, best effort (for the request log).
fn tokens_of(params: &[(String, String)]) -> Vec<String> {
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(m) = field("message").and_then(|m| serde_json::from_str::<Value>(m).ok()) {
        return m
            .get("target_value")
            .and_then(Value::as_str)
            .map(|t| vec![t.to_string()])
            .unwrap_or_default();
    }
    if let Some(Value::Array(list)) = field("messages").and_then(|m| serde_json::from_str(m).ok()) {
        return list
            .iter()
            .filter_map(|m| m.get("target_value").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
    }
    field("target_value")
        .map(|v| {
            v.split(';')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
