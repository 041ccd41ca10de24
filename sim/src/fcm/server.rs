//! The FCM endpoint: routes `/token` and `messages:send`, applies faults, records requests.

use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::error::FcmFailure;
use super::{oauth, send};
use crate::control::types::{RecordedResponse, RequestRecord, Vendor};
use crate::counters::Event;
use crate::faults::FaultAction;
use crate::server::{self, ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{self, Body, ReadBody};

/// Send bodies are read up to this size; longer ones are "Message is too big".
const MAX_READ: usize = 256 * 1024;

/// The FCM + OAuth2 endpoint.
#[derive(Debug)]
pub(crate) struct FcmEndpoint {
    state: Arc<SimState>,
}

impl FcmEndpoint {
    /// The endpoint over `state`.
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        FcmEndpoint { state }
    }
}

/// Per-connection state: the connection number and reset switch.
#[derive(Debug)]
pub(crate) struct FcmConn {
    info: ConnInfo,
}

/// An answer before recording.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    token: Option<String>,
    project: Option<String>,
    dry_run: bool,
    /// Processed normally (not answered by an injected fault).
    processed: bool,
}

impl Answer {
    fn json(status: u16, headers: Vec<(String, String)>, body: &Value) -> Self {
        Answer {
            status,
            headers,
            body: body.to_string().into_bytes(),
            token: None,
            project: None,
            dry_run: false,
            processed: true,
        }
    }

    fn failure(f: &FcmFailure) -> Self {
        Answer::json(f.status, f.headers(), &f.body())
    }
}

impl Endpoint for FcmEndpoint {
    type Conn = FcmConn;

    fn vendor(&self) -> Vendor {
        Vendor::Fcm
    }

    fn name(&self) -> &'static str {
        "fcm"
    }

    fn open(&self, info: ConnInfo) -> FcmConn {
        FcmConn { info }
    }

    async fn handle(&self, conn: &FcmConn, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        core.counters
            .count(Vendor::Fcm, self.name(), Event::Request);
        let at_ms = core.clock.now_ms();
        let (parts, body) = req.into_parts();
        let body = wire::read_body(body, MAX_READ).await;
        let latency = core.faults.latency(Vendor::Fcm);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let answer = if parts.uri.path() == "/token" {
            core.counters
                .count(Vendor::Fcm, self.name(), Event::AuthRequest);
            self.token(&parts, &body)
        } else {
            match send_project(parts.uri.path()) {
                Some(project) if parts.method == Method::POST => self.send(&parts, &body, project),
                _ => not_found(parts.uri.path()),
            }
        };
        let reset = answer.processed && core.faults.reset_now(Vendor::Fcm);
        let response = self.respond(conn, &parts, &body, answer, at_ms, reset);
        if reset {
            server::reset_connection(&conn.info.reset).await;
        }
        response
    }
}

impl FcmEndpoint {
    fn token(&self, parts: &Parts, body: &ReadBody) -> Answer {
        if self.state.core.faults.unavailable(Vendor::Fcm) {
            let e = json!({"error": "temporarily_unavailable", "error_description": "The service is currently unavailable."});
            let mut a = Answer::json(503, json_headers(), &e);
            a.processed = false;
            return a;
        }
        if parts.method != Method::POST {
            let e =
                json!({"error": "invalid_request", "error_description": "Invalid request method."});
            return Answer::json(405, json_headers(), &e);
        }
        let content_type = wire_text(parts, "content-type");
        let params = oauth::parameters(content_type, &body.bytes);
        let host = parts
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| wire_text(parts, "host"));
        match oauth::exchange(&self.state, host, &params) {
            Ok(ok) => Answer::json(200, json_headers(), &ok),
            Err(e) => Answer::json(e.status, json_headers(), &e.body()),
        }
    }

    fn send(&self, parts: &Parts, body: &ReadBody, project: &str) -> Answer {
        let fault = match self.state.core.faults.decide(Vendor::Fcm) {
            FaultAction::None => None,
            FaultAction::Unavailable => Some(
                FcmFailure::new(503, "The service is currently unavailable.").code("UNAVAILABLE"),
            ),
            FaultAction::Error(e) => {
                let mut f = FcmFailure::new(e.status, fault_message(e.status));
                if !e.reason.is_empty() {
                    f = f.code(&e.reason);
                }
                f.details.retry_after = e.retry_after;
                Some(f)
            }
        };
        let mut answer = match fault {
            Some(f) => Answer {
                processed: false,
                ..Answer::failure(&f)
            },
            None => {
                let authorization = wire_text(parts, "authorization");
                let out = send::send(
                    &self.state,
                    project,
                    authorization,
                    &body.bytes,
                    body.too_large,
                );
                let mut a = match &out.result {
                    Ok(v) => Answer::json(200, json_headers(), v),
                    Err(f) => Answer::failure(f),
                };
                a.token = out.token;
                a.dry_run = out.dry_run;
                a
            }
        };
        if answer.token.is_none() {
            answer.token = serde_json::from_slice::<Value>(&body.bytes)
                .ok()
                .and_then(|v| {
                    v.pointer("/message/token")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
        }
        answer.project = Some(project.to_string());
        answer
    }

    fn respond(
        &self,
        conn: &FcmConn,
        parts: &Parts,
        body: &ReadBody,
        a: Answer,
        at_ms: i64,
        reset: bool,
    ) -> Response<Body> {
        let record = RequestRecord {
            seq: 0,
            at_ms,
            vendor: Vendor::Fcm,
            endpoint: self.name().to_string(),
            connection: conn.info.id,
            http_version: wire::version_text(parts.version),
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: wire::header_pairs(&parts.headers),
            body: String::from_utf8_lossy(&body.bytes).into_owned(),
            token: a.token,
            tokens: Vec::new(),
            topic: a.project,
            dry_run: a.dry_run,
            reset,
            response: RecordedResponse {
                status: a.status,
                headers: a.headers.clone(),
                body: String::from_utf8_lossy(&a.body).into_owned(),
            },
        };
        self.state.core.recorder.push(record);
        wire::response(a.status, &a.headers, a.body)
    }
}

/// The `{project}` of `/v1/projects/{project}/messages:send` (`:` may be percent-encoded).
fn send_project(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let project = rest
        .strip_suffix("/messages:send")
        .or_else(|| rest.strip_suffix("/messages%3Asend"))
        .or_else(|| rest.strip_suffix("/messages%3asend"))?;
    (!project.is_empty() && !project.contains('/')).then_some(project)
}

fn fault_message(status: u16) -> &'static str {
    match status {
        429 => "Quota exceeded.",
        500 => "Internal error encountered.",
        503 => "The service is currently unavailable.",
        _ => "Injected failure.",
    }
}

/// Google's front end answers unknown URLs with an HTML 404.
fn not_found(path: &str) -> Answer {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>{}</code> was not found on this server. <ins>That's all we know.</ins>",
        path.replace('<', "&lt;")
    );
    Answer {
        status: 404,
        headers: vec![("content-type".into(), "text/html; charset=UTF-8".into())],
        body: html.into_bytes(),
        token: None,
        project: None,
        dry_run: false,
        processed: true,
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "content-type".into(),
        "application/json; charset=utf-8".into(),
    )]
}

fn wire_text<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_paths() {
        assert_eq!(send_project("/v1/projects/p-1/messages:send"), Some("p-1"));
        assert_eq!(
            send_project("/v1/projects/p-1/messages%3Asend"),
            Some("p-1")
        );
        assert_eq!(send_project("/v1/projects//messages:send"), None);
        assert_eq!(send_project("/v1/projects/a/b/messages:send"), None);
        assert_eq!(send_project("/fcm/send"), None);
    }
}
