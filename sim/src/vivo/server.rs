//! The vivo endpoint: routes `/message/auth` and the send paths, applies faults, records
//! requests, schedules receipts.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::auth::{self, result};
use super::receipts::Poster;
use super::send::{self, SendResult};
use crate::callbacks::CallbackPoster;
use crate::control::types::Vendor;
use crate::counters::Event;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Bodies are read up to this size; longer ones get `10252` (list) or `10101`.
const MAX_READ: usize = 1024 * 1024;

/// The vivo endpoint.
#[derive(Debug)]
pub(crate) struct VivoEndpoint {
    state: Arc<SimState>,
    poster: Poster,
}

impl VivoEndpoint {
    /// The endpoint over `state`; receipts go out through `callbacks`.
    pub(crate) fn new(state: Arc<SimState>, callbacks: CallbackPoster) -> Self {
        let poster = Poster::new(callbacks);
        VivoEndpoint { state, poster }
    }
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    tokens: Vec<String>,
    app: Option<String>,
    processed: bool,
}

impl Answer {
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Answer {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body: value.to_string().into_bytes(),
            tokens: Vec::new(),
            app: None,
            processed: true,
        }
    }

    fn text(status: u16, text: &str) -> Self {
        Answer {
            headers: vec![("content-type".into(), "text/plain".into())],
            body: text.as_bytes().to_vec(),
            ..Answer::json(status, &serde_json::Value::Null)
        }
    }
}

impl Endpoint for VivoEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Vivo
    }

    fn name(&self) -> &'static str {
        "vivo"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Vivo, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let path = parts.uri.path().to_string();
        let api = path.strip_prefix("/message/");
        let answer = match api {
            Some(_) if parts.method != Method::POST => Answer::text(405, "405 Method Not Allowed"),
            Some("auth") => {
                core.counters
                    .count(Vendor::Vivo, self.name(), Event::AuthRequest);
                self.auth(body)
            }
            Some(api @ ("send" | "saveListPayload" | "pushToList")) => self.send(parts, body, api),
            _ => Answer::text(404, "404 Not Found"),
        };
        let reply = Self::reply(answer);
        exchange::finish(core, Vendor::Vivo, self.name(), conn, &received, reply).await
    }
}

impl VivoEndpoint {
    fn auth(&self, body: &ReadBody) -> Answer {
        if self.state.core.faults.unavailable(Vendor::Vivo) {
            let mut a = Answer::json(503, &result(10000, "service unavailable"));
            a.processed = false;
            return a;
        }
        Answer::json(200, &auth::auth(&self.state, &body.bytes))
    }

    fn send(&self, parts: &Parts, body: &ReadBody, api: &str) -> Answer {
        let fault = match self.state.core.faults.decide(Vendor::Vivo) {
            FaultAction::None => None,
            FaultAction::Unavailable => Some((503, 10000, None)),
            FaultAction::Error(e) => {
                Some((e.status, e.reason.parse().unwrap_or(10000), e.retry_after))
            }
        };
        if let Some((status, code, retry_after)) = fault {
            let mut a = Answer::json(status, &result(code, "injected failure"));
            if let Some(ra) = retry_after {
                a.headers.push(("retry-after".into(), ra));
            }
            a.processed = false;
            a.tokens = tokens_of(&body.bytes);
            return a;
        }
        if body.too_large {
            let code = if api == "pushToList" {
                send::LIST_LIMIT
            } else {
                super::validate::BAD_PARAMETER
            };
            return Answer::json(200, &result(code, "body too large"));
        }
        let token = parts.headers.get("authtoken").and_then(|v| v.to_str().ok());
        let state = &self.state;
        let out: SendResult = match api {
            "send" => send::send(state, token, &body.bytes),
            "saveListPayload" => send::save_list_payload(state, token, &body.bytes),
            _ => send::push_to_list(state, token, &body.bytes),
        };
        self.poster.schedule(&state.vivo.receipts, out.receipts);
        let mut a = Answer::json(200, &out.answer);
        a.tokens = out.tokens;
        a.app = out.app;
        a
    }

    /// What the request log says about an answer.
    fn reply(a: Answer) -> Reply {
        Reply {
            status: a.status,
            headers: a.headers,
            body: a.body,
            token: a.tokens.first().cloned(),
            tokens: a.tokens,
            topic: a.app,
            dry_run: false,
            processed: a.processed,
        }
    }
}

/// The regIds of a send body, best effort (for the request log).
fn tokens_of(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    if let Some(one) = v.get("regId").and_then(serde_json::Value::as_str) {
        return vec![one.to_string()];
    }
    v.get("regIds")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
