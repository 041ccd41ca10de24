//! The Honor endpoint: routes the token paths and the send path, applies faults, records
//! requests, schedules receipts.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::receipts::Poster;
use super::{TOKEN_PATH, TOKEN_PATH_SHORT, oauth, send};
use crate::callbacks::CallbackPoster;
use crate::control::types::Vendor;
use crate::counters::Event;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Bodies are read up to this size; longer ones get `80300008`.
const MAX_READ: usize = 1024 * 1024;

/// The Honor Push + OAuth endpoint.
#[derive(Debug)]
pub(crate) struct HonorEndpoint {
    state: Arc<SimState>,
    poster: Poster,
}

impl HonorEndpoint {
    /// The endpoint over `state`; receipts go out through `callbacks`.
    pub(crate) fn new(state: Arc<SimState>, callbacks: CallbackPoster) -> Self {
        let poster = Poster::new(callbacks);
        HonorEndpoint { state, poster }
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    tokens: Vec<String>,
    app: Option<String>,
    processed: bool,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Self {
        Answer {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body: body.to_string().into_bytes(),
            tokens: Vec::new(),
            app: None,
            processed: true,
        }
    }

    fn text(status: u16, text: &str) -> Self {
        Answer {
            headers: vec![("content-type".into(), "text/plain".into())],
            body: text.as_bytes().to_vec(),
            ..Answer::json(status, &Value::Null)
        }
    }
}

/// `{appId}` of `/api/v1/{appId}/sendMessage`.
fn send_app(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/api/v1/")?
        .strip_suffix("/sendMessage")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

impl Endpoint for HonorEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Honor
    }

    fn name(&self) -> &'static str {
        "honor"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Honor, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let path = parts.uri.path().to_string();
        let answer = if path == TOKEN_PATH || path == TOKEN_PATH_SHORT {
            core.counters
                .count(Vendor::Honor, self.name(), Event::AuthRequest);
            self.token(parts, body)
        } else {
            match send_app(&path) {
                Some(app) if parts.method == Method::POST => self.send(parts, body, app),
                Some(_) => Answer::text(405, "405 Method Not Allowed"),
                None => Answer::text(404, "404 Not Found"),
            }
        };
        let reply = Self::reply(answer);
        exchange::finish(core, Vendor::Honor, self.name(), conn, &received, reply).await
    }
}

impl HonorEndpoint {
    fn token(&self, parts: &Parts, body: &ReadBody) -> Answer {
        if self.state.core.faults.unavailable(Vendor::Honor) {
            let mut a = Answer::json(503, &json!({"error": "temporarily_unavailable"}));
            a.processed = false;
            return a;
        }
        if parts.method != Method::POST {
            return Answer::text(405, "405 Method Not Allowed");
        }
        let (status, body) = oauth::exchange(&self.state, &body.bytes);
        Answer::json(status, &body)
    }

    fn send(&self, parts: &Parts, body: &ReadBody, app_id: &str) -> Answer {
        let state = &self.state;
        let fault = match state.core.faults.decide(Vendor::Honor) {
            FaultAction::None => None,
            FaultAction::Unavailable => Some((503, 80000003, None)),
            FaultAction::Error(e) => Some((
                e.status,
                e.reason.parse().unwrap_or(80000003),
                e.retry_after,
            )),
        };
        let tokens = || {
            serde_json::from_slice::<Value>(&body.bytes)
                .ok()
                .and_then(|v| {
                    v.get("token").and_then(Value::as_array).map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                })
                .unwrap_or_default()
        };
        if let Some((status, code, retry_after)) = fault {
            let mut a = Answer::json(
                status,
                &json!({"code": code, "message": "injected failure"}),
            );
            if let Some(ra) = retry_after {
                a.headers.push(("retry-after".into(), ra));
            }
            a.processed = false;
            a.tokens = tokens();
            a.app = Some(app_id.to_string());
            return a;
        }
        let mut a = if body.too_large {
            let mut a = Answer::json(
                200,
                &json!({"code": 80300008, "message": "message too large"}),
            );
            a.tokens = Vec::new();
            a
        } else {
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
            let request_id = state.honor.request_id(state.core.clock.now_ms());
            let out = send::send(
                state,
                app_id,
                header("authorization"),
                header("timestamp"),
                &body.bytes,
                &request_id,
            );
            self.poster
                .schedule(&state.honor.receipts, app_id, out.receipts);
            let mut a = Answer::json(out.status, &out.body);
            a.tokens = out.tokens;
            a
        };
        if a.tokens.is_empty() {
            a.tokens = tokens();
        }
        a.app = Some(app_id.to_string());
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

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn send_paths() {
        assert_eq!(send_app("/api/v1/104444444/sendMessage"), Some("104444444"));
        assert_eq!(send_app("/api/v1//sendMessage"), None);
        assert_eq!(send_app("/v1/1/messages:send"), None);
    }
}
