//! The Xiaomi endpoint: routes `/v3/message/regid` and `/v2/message/regid`, applies faults,
//! records requests, queues receipts.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::codes::{BUSY, MiError, UNKNOWN};
use super::send::{self, Version};
use super::validate;
use crate::callbacks::CallbackPoster;
use crate::control::types::Vendor;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Send bodies are read up to this size; longer ones get `65009`.
const MAX_READ: usize = 1024 * 1024;

/// The Xiaomi MiPush endpoint.
#[derive(Debug)]
pub(crate) struct XiaomiEndpoint {
    state: Arc<SimState>,
    /// Posts receipts (the sim's callback poster).
    callbacks: CallbackPoster,
}

impl XiaomiEndpoint {
    /// The endpoint over `state`; receipts go out through `callbacks`.
    pub(crate) fn new(state: Arc<SimState>, callbacks: CallbackPoster) -> Self {
        XiaomiEndpoint { state, callbacks }
    }
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    regids: Vec<String>,
    app: Option<String>,
    processed: bool,
}

impl Answer {
    fn text(status: u16, body: &str) -> Self {
        Answer {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            regids: Vec::new(),
            app: None,
            processed: true,
        }
    }

    fn json(status: u16, body: &serde_json::Value) -> Self {
        Answer {
            status,
            headers: json_headers(),
            body: body.to_string().into_bytes(),
            regids: Vec::new(),
            app: None,
            processed: true,
        }
    }
}

impl Endpoint for XiaomiEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Xiaomi
    }

    fn name(&self) -> &'static str {
        "xiaomi"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Xiaomi, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let answer = match send_version(parts.uri.path()) {
            Some(version) if parts.method == Method::POST => self.send(parts, body, version),
            Some(_) => Answer::text(405, "405 Method Not Allowed"),
            None => Answer::text(404, "404 Not Found"),
        };
        let reply = Self::reply(answer);
        exchange::finish(core, Vendor::Xiaomi, self.name(), conn, &received, reply).await
    }
}

impl XiaomiEndpoint {
    fn send(&self, parts: &Parts, body: &ReadBody, version: Version) -> Answer {
        let (message_id, trace_id) = self.state.xiaomi.ids(self.state.core.clock.now_ms());
        let fault = match self.state.core.faults.decide(Vendor::Xiaomi) {
            FaultAction::None => None,
            FaultAction::Unavailable => Some((
                MiError {
                    status: 503,
                    code: BUSY,
                    reason: "service unavailable".into(),
                },
                None,
            )),
            FaultAction::Error(e) => {
                let code = e.reason.trim().parse::<i64>().unwrap_or(UNKNOWN);
                let err = MiError {
                    status: e.status,
                    code,
                    reason: "injected failure".into(),
                };
                Some((err, e.retry_after))
            }
        };
        if let Some((err, retry_after)) = fault {
            let mut a = Answer::json(err.status, &err.body(&trace_id));
            if let Some(ra) = retry_after {
                a.headers.push(("retry-after".into(), ra));
            }
            a.processed = false;
            a.regids = validate::regids_of(&body.bytes);
            return a;
        }
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let out = send::send(
            &self.state,
            send::Incoming {
                version,
                authorization: header("authorization"),
                content_type: header("content-type"),
                body: &body.bytes,
                too_large: body.too_large,
                message_id: &message_id,
                trace_id: &trace_id,
            },
        );
        self.state
            .xiaomi
            .receipts
            .schedule(&self.callbacks, out.receipts);
        let mut a = Answer::json(out.status, &out.body);
        a.regids = out.regids;
        a.app = out.app_id;
        a
    }

    /// What the request log says about an answer.
    fn reply(a: Answer) -> Reply {
        Reply {
            status: a.status,
            headers: a.headers,
            body: a.body,
            token: a.regids.first().cloned(),
            tokens: a.regids,
            topic: a.app,
            dry_run: false,
            processed: a.processed,
        }
    }
}

/// `/v3/message/regid` or `/v2/message/regid`.
fn send_version(path: &str) -> Option<Version> {
    match path.trim_end_matches('/') {
        "/v3/message/regid" => Some(Version::V3),
        "/v2/message/regid" => Some(Version::V2),
        _ => None,
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "content-type".into(),
        "application/json;charset=UTF-8".into(),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_paths() {
        assert_eq!(send_version("/v3/message/regid"), Some(Version::V3));
        assert_eq!(send_version("/v2/message/regid"), Some(Version::V2));
        assert_eq!(send_version("/v4/message/regid"), None);
        assert_eq!(send_version("/v3/message/alias"), None);
    }
}
