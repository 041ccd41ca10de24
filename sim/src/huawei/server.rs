//! The Huawei endpoint: routes the token path and the send paths, applies faults, records
//! requests, schedules receipts.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::Value;

use super::codes::{INTERNAL, PushResult};
use super::receipts::ReceiptSender;
use super::send::{self, SendPath};
use super::{TOKEN_PATH, oauth};
use crate::control::types::Vendor;
use crate::counters::Event;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Send bodies are read up to this size; longer ones get `80300008`.
const MAX_READ: usize = 1024 * 1024;

/// The Huawei Push Kit + OAuth endpoint.
#[derive(Debug)]
pub(crate) struct HuaweiEndpoint {
    state: Arc<SimState>,
    receipts: ReceiptSender,
}

impl HuaweiEndpoint {
    /// The endpoint over `state`, posting receipts with `receipts`.
    pub(crate) fn new(state: Arc<SimState>, receipts: ReceiptSender) -> Self {
        HuaweiEndpoint { state, receipts }
    }
}

/// Per-connection state: the connection number and reset switch.
#[derive(Debug)]
pub(crate) struct HuaweiConn {
    info: ConnInfo,
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    tokens: Vec<String>,
    app: Option<String>,
    dry_run: bool,
    /// Processed normally (not answered by an injected fault).
    processed: bool,
}

impl Answer {
    fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Answer {
            status,
            headers,
            body,
            tokens: Vec::new(),
            app: None,
            dry_run: false,
            processed: true,
        }
    }

    fn push(r: &PushResult, request_id: &str) -> Self {
        Answer::new(
            r.status,
            json_headers(),
            r.body(request_id).to_string().into_bytes(),
        )
    }
}

impl Endpoint for HuaweiEndpoint {
    type Conn = HuaweiConn;

    fn vendor(&self) -> Vendor {
        Vendor::Huawei
    }

    fn name(&self) -> &'static str {
        "huawei"
    }

    fn open(&self, info: ConnInfo) -> HuaweiConn {
        HuaweiConn { info }
    }

    async fn handle(&self, conn: &HuaweiConn, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Huawei, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let answer = if parts.uri.path() == TOKEN_PATH {
            core.counters
                .count(Vendor::Huawei, self.name(), Event::AuthRequest);
            self.token(parts, body)
        } else {
            match send_path(parts.uri.path()) {
                Some(path) if parts.method == Method::POST => self.send(parts, body, path),
                Some(_) => Answer::new(405, text_headers(), b"405 Method Not Allowed".to_vec()),
                None => Answer::new(404, text_headers(), b"404 Not Found".to_vec()),
            }
        };
        let reply = Self::reply(answer);
        exchange::finish(
            core,
            Vendor::Huawei,
            self.name(),
            &conn.info,
            &received,
            reply,
        )
        .await
    }
}

impl HuaweiEndpoint {
    fn token(&self, parts: &Parts, body: &ReadBody) -> Answer {
        if self.state.core.faults.unavailable(Vendor::Huawei) {
            let mut a = Answer::new(
                503,
                json_headers(),
                oauth::FLOW_CONTROL.body().to_string().into_bytes(),
            );
            a.processed = false;
            return a;
        }
        if parts.method != Method::POST {
            return Answer::new(405, text_headers(), b"405 Method Not Allowed".to_vec());
        }
        let params = oauth::parameters(&body.bytes);
        match oauth::exchange(&self.state, &params) {
            Ok(text) => Answer::new(200, json_headers(), text.into_bytes()),
            Err(e) => Answer::new(e.status, json_headers(), e.body().to_string().into_bytes()),
        }
    }

    fn send(&self, parts: &Parts, body: &ReadBody, path: SendPath<'_>) -> Answer {
        let request_id = self.state.huawei.request_id(self.state.core.clock.now_ms());
        let fault = match self.state.core.faults.decide(Vendor::Huawei) {
            FaultAction::None => None,
            FaultAction::Unavailable => Some((
                PushResult {
                    status: 503,
                    code: INTERNAL.into(),
                    msg: "service unavailable".into(),
                },
                None,
            )),
            FaultAction::Error(e) => {
                let code = if e.reason.is_empty() {
                    INTERNAL.to_string()
                } else {
                    e.reason.clone()
                };
                let r = PushResult {
                    status: e.status,
                    code,
                    msg: "injected failure".into(),
                };
                Some((r, e.retry_after))
            }
        };
        let mut answer = match fault {
            Some((r, retry_after)) => {
                let mut a = Answer::push(&r, &request_id);
                if let Some(ra) = retry_after {
                    a.headers.push(("retry-after".into(), ra));
                }
                a.processed = false;
                a.tokens = tokens_of(&body.bytes);
                a
            }
            None => {
                let authorization = parts
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                let out = send::send(
                    &self.state,
                    path,
                    authorization,
                    &body.bytes,
                    body.too_large,
                    &request_id,
                );
                if let Some((spec, statuses)) = out.receipts {
                    self.receipts
                        .schedule(&self.state.huawei.receipts, spec, statuses);
                }
                let mut a = Answer::push(&out.result, &request_id);
                a.tokens = if out.tokens.is_empty() {
                    tokens_of(&body.bytes)
                } else {
                    out.tokens
                };
                a.dry_run = out.dry_run;
                a
            }
        };
        answer.app = Some(
            match path {
                SendPath::V1(a) | SendPath::V2(a) => a,
            }
            .to_string(),
        );
        answer
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
            dry_run: a.dry_run,
            processed: a.processed,
        }
    }
}

/// The tokens of a send body, best effort (for the request log).
fn tokens_of(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/message/token")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
        })
        .unwrap_or_default()
}

/// `/v1/{appId}/messages:send` or `/v2/{projectId}/messages:send` (`:` may be
/// percent-encoded).
fn send_path(path: &str) -> Option<SendPath<'_>> {
    let (v2, rest) = if let Some(r) = path.strip_prefix("/v1/") {
        (false, r)
    } else {
        (true, path.strip_prefix("/v2/")?)
    };
    let id = rest
        .strip_suffix("/messages:send")
        .or_else(|| rest.strip_suffix("/messages%3Asend"))
        .or_else(|| rest.strip_suffix("/messages%3asend"))?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(if v2 {
        SendPath::V2(id)
    } else {
        SendPath::V1(id)
    })
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "content-type".into(),
        "application/json;charset=UTF-8".into(),
    )]
}

fn text_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "text/plain".into())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_paths() {
        assert_eq!(
            send_path("/v1/10000001/messages:send"),
            Some(SendPath::V1("10000001"))
        );
        assert_eq!(
            send_path("/v2/99/messages%3Asend"),
            Some(SendPath::V2("99"))
        );
        assert_eq!(send_path("/v1//messages:send"), None);
        assert_eq!(send_path("/v3/1/messages:send"), None);
        assert_eq!(send_path("/oauth2/v3/token"), None);
    }
}
