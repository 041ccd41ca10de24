//! The WeChat endpoint: routes the token and send paths, applies faults, records requests,
//! schedules events.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::codes;
use super::events::EventSender;
use super::send::{self, CallOutcome, SendKind};
use crate::callbacks::CallbackPoster;
use crate::control::types::Vendor;
use crate::counters::Event as Counted;
use crate::exchange::{self, Received, Reply};
use crate::faults::FaultAction;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{Body, ReadBody};

/// Bodies are read up to this size.
const MAX_READ: usize = 1024 * 1024;

/// The WeChat endpoint.
#[derive(Debug)]
pub(crate) struct WechatEndpoint {
    state: Arc<SimState>,
    events: EventSender,
}

impl WechatEndpoint {
    /// The endpoint over `state`. Events go out through `callbacks` (the sim's poster,
    /// trusting the platform roots and the sim's CA).
    pub(crate) fn new(state: Arc<SimState>, callbacks: CallbackPoster) -> Self {
        let events = EventSender::new(callbacks, state.core.clock.clone());
        WechatEndpoint { state, events }
    }
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    openid: Option<String>,
    app_id: Option<String>,
    processed: bool,
}

impl Answer {
    fn json(out: CallOutcome) -> Self {
        Answer {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/json; encoding=utf-8".into(),
            )],
            body: out.body.to_string().into_bytes(),
            openid: out.openid,
            app_id: out.app_id,
            processed: true,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Answer {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            openid: None,
            app_id: None,
            processed: true,
        }
    }
}

impl Endpoint for WechatEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Wechat
    }

    fn name(&self) -> &'static str {
        "wechat"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        let received = Received::read(core, Vendor::Wechat, self.name(), req, MAX_READ).await;
        let (parts, body) = (&received.parts, &received.body);
        let answer = self.answer(parts, body);
        let reply = Self::reply(answer, body);
        exchange::finish(core, Vendor::Wechat, self.name(), conn, &received, reply).await
    }
}

impl WechatEndpoint {
    fn answer(&self, parts: &Parts, body: &ReadBody) -> Answer {
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let path = parts.uri.path();
        let token_call = matches!(path, "/cgi-bin/token" | "/cgi-bin/stable_token");
        let send_kind = match path {
            "/cgi-bin/message/template/send" => Some(SendKind::Template),
            "/cgi-bin/message/subscribe/send" => Some(SendKind::Subscribe),
            _ => None,
        };
        if !token_call && send_kind.is_none() {
            return Answer::text(404, "404 Not Found");
        }
        if token_call {
            self.state
                .core
                .counters
                .count(Vendor::Wechat, self.name(), Counted::AuthRequest);
        }
        if let Some(fault) = self.fault() {
            return fault;
        }
        if body.too_large {
            return Answer::json(CallOutcome {
                body: codes::data_format().body(),
                openid: None,
                app_id: None,
                event: None,
            });
        }
        let out = match (path, &parts.method) {
            ("/cgi-bin/token", &Method::GET) => send::classic_token(&self.state, &query),
            ("/cgi-bin/stable_token", &Method::POST) => {
                send::stable_token(&self.state, &body.bytes)
            }
            (_, &Method::POST) => {
                let token = query
                    .iter()
                    .find(|(k, _)| k == "access_token")
                    .map(|(_, v)| v.as_str());
                let kind = send_kind.unwrap_or(SendKind::Template);
                send::send(&self.state, kind, token, &body.bytes)
            }
            _ => {
                let mut a = Answer::text(405, "405 Method Not Allowed");
                a.processed = true;
                return a;
            }
        };
        if let (Some(event), Some(app_id)) = (out.event.clone(), out.app_id.clone())
            && let Some(spec) = self.state.wechat.events.spec(&app_id)
        {
            self.events
                .schedule(&self.state.wechat.events, spec, app_id, event);
        }
        Answer::json(out)
    }

    /// An injected fault in WeChat's words: status 200 with `reason` as errcode (default
    /// -1), or any other status with an errcode body when `reason` is a number, else text.
    fn fault(&self) -> Option<Answer> {
        let mut answer = match self.state.core.faults.decide(Vendor::Wechat) {
            FaultAction::None => return None,
            FaultAction::Unavailable => Answer::text(503, "503 Service Unavailable"),
            FaultAction::Error(e) => {
                let code = e.reason.trim().parse::<i64>().ok();
                let mut a = match (e.status, code) {
                    (200, code) => Answer::json(CallOutcome {
                        body: codes::WxError::new(code.unwrap_or(-1), "injected failure").body(),
                        openid: None,
                        app_id: None,
                        event: None,
                    }),
                    (status, Some(code)) => {
                        let mut a = Answer::json(CallOutcome {
                            body: codes::WxError::new(code, "injected failure").body(),
                            openid: None,
                            app_id: None,
                            event: None,
                        });
                        a.status = status;
                        a
                    }
                    (status, None) => Answer::text(status, "injected failure"),
                };
                if let Some(ra) = e.retry_after {
                    a.headers.push(("retry-after".into(), ra));
                }
                a
            }
        };
        answer.processed = false;
        Some(answer)
    }

    /// What the request log says about an answer (the openid, or the body's `touser`).
    fn reply(a: Answer, body: &ReadBody) -> Reply {
        let openid = a.openid.clone().or_else(|| {
            serde_json::from_slice::<serde_json::Value>(&body.bytes)
                .ok()
                .and_then(|v| v.get("touser").and_then(|t| t.as_str()).map(str::to_string))
        });
        Reply {
            status: a.status,
            headers: a.headers,
            body: a.body,
            token: openid,
            tokens: Vec::new(),
            topic: a.app_id,
            dry_run: false,
            processed: a.processed,
        }
    }
}
