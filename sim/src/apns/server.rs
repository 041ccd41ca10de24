//! The APNs endpoint: one request through faults, routing, authentication, topic, header,
//! payload and device-token checks, in that order; the answer is recorded and, when
//! accepted, kept as the stored notification of its (token, topic). GOAWAYs (faults `goaway`,
//! `idle_timeout_ms`) are the listener's: a request they leave unanswered never gets here.

use std::sync::{Arc, Mutex};

use http::request::Parts;
use http::{Request, Response};
use hyper::body::Incoming;

use super::auth::{self, TokenConnection};
use super::cert::CertIdentity;
use super::keys::{KeyRegistry, SigningKey};
use super::reason::Reason;
use super::validate::{self, PushType};
use crate::control::types::{ApnsEnvironment, RecordedResponse, RequestRecord, Vendor};
use crate::counters::Event;
use crate::faults::FaultAction;
use crate::server::{self, ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{self, Body, ReadBody};

/// Bodies are read up to this size; anything longer is `PayloadTooLarge` anyway.
const MAX_READ: usize = 64 * 1024;

/// One APNs personality.
#[derive(Debug)]
pub(crate) struct ApnsEndpoint {
    env: ApnsEnvironment,
    state: Arc<SimState>,
}

impl ApnsEndpoint {
    /// The personality for `env`.
    pub(crate) fn new(env: ApnsEnvironment, state: Arc<SimState>) -> Self {
        ApnsEndpoint { env, state }
    }
}

/// How a connection authenticates, fixed at the handshake.
#[derive(Debug)]
pub(crate) enum ApnsConn {
    /// No client certificate: every request carries a provider JWT.
    Token {
        /// Connection number and reset switch.
        info: ConnInfo,
        /// Provider-token state.
        state: Mutex<TokenConnection>,
        /// Whether a request has been accepted yet. Until then requests on the connection are
        /// handled one at a time (APNs allows one stream before the first success).
        accepted: tokio::sync::Mutex<bool>,
    },
    /// A verified client certificate (`None`: it names no usable topic → `BadCertificate`).
    Certificate {
        /// Connection number and reset switch.
        info: ConnInfo,
        /// What the certificate allows.
        identity: Option<CertIdentity>,
    },
}

impl ApnsConn {
    fn info(&self) -> &ConnInfo {
        match self {
            ApnsConn::Token { info, .. } | ApnsConn::Certificate { info, .. } => info,
        }
    }
}

/// What authenticated a request.
enum Credential<'c> {
    /// The connection's client certificate.
    Certificate(&'c CertIdentity),
    /// The provider token's signing key.
    Key(Arc<SigningKey>),
}

impl Credential<'_> {
    /// The topic of a request without `apns-topic`: only a single-topic certificate has one.
    fn default_topic(&self) -> Option<&str> {
        match self {
            Credential::Certificate(id) => id.default_topic(),
            Credential::Key(_) => None,
        }
    }

    /// Whether this credential may push to `topic` (of app `bundle`): a certificate lists full
    /// topics; a key's team (and a topic-specific key's scope) lists bundle ids.
    fn grants(&self, keys: &KeyRegistry, topic: &str, bundle: &str) -> bool {
        match self {
            Credential::Certificate(id) => id.topics.iter().any(|t| t == topic),
            Credential::Key(key) => {
                keys.team_has(&key.team_id, bundle)
                    && key.topics.as_ref().is_none_or(|t| t.contains(bundle))
            }
        }
    }
}

/// The outcome of one request.
#[derive(Debug, Default)]
struct Answer {
    status: u16,
    reason: Option<String>,
    timestamp: Option<i64>,
    retry_after: Option<String>,
    token: Option<String>,
    topic: Option<String>,
}

impl Answer {
    fn fail(&mut self, reason: Reason) {
        self.status = reason.status();
        self.reason = Some(reason.as_str().to_string());
    }
}

impl Endpoint for ApnsEndpoint {
    type Conn = ApnsConn;

    fn vendor(&self) -> Vendor {
        Vendor::Apns
    }

    fn name(&self) -> &'static str {
        match self.env {
            ApnsEnvironment::Production => "apns-production",
            ApnsEnvironment::Sandbox => "apns-sandbox",
        }
    }

    fn open(&self, info: ConnInfo) -> ApnsConn {
        match info.peer_certs.first() {
            Some(der) => ApnsConn::Certificate {
                identity: CertIdentity::from_der(der),
                info,
            },
            None => ApnsConn::Token {
                info,
                state: Mutex::new(TokenConnection::default()),
                accepted: tokio::sync::Mutex::new(false),
            },
        }
    }

    async fn handle(&self, conn: &ApnsConn, req: Request<Incoming>) -> Response<Body> {
        let core = &self.state.core;
        core.counters
            .count(Vendor::Apns, self.name(), Event::Request);
        let at_ms = core.clock.now_ms();
        let (parts, body) = req.into_parts();
        let body = wire::read_body(body, MAX_READ).await;
        let mut first = match conn {
            ApnsConn::Token { accepted, .. } => Some(accepted.lock().await).filter(|a| !**a),
            ApnsConn::Certificate { .. } => None,
        };
        let latency = core.faults.latency(Vendor::Apns);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut answer = Answer {
            status: 200,
            ..Answer::default()
        };
        let processed = self.process(conn, &parts, &body, &mut answer);
        if let Some(accepted) = first.as_mut() {
            **accepted = answer.status == 200;
        }
        drop(first);
        let reset = processed && core.faults.reset_now(Vendor::Apns);
        let response = self.respond(conn, &parts, &body, answer, at_ms, reset);
        if reset {
            server::reset_connection(&conn.info().reset).await;
        }
        response
    }
}

impl ApnsEndpoint {
    /// Fills `answer`; false if an injected error answered instead of processing.
    fn process(
        &self,
        conn: &ApnsConn,
        parts: &Parts,
        body: &ReadBody,
        answer: &mut Answer,
    ) -> bool {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        answer.token = validate::route(&parts.method, path)
            .ok()
            .map(str::to_ascii_lowercase);
        match self.state.core.faults.decide(Vendor::Apns) {
            FaultAction::None => {}
            FaultAction::Unavailable => {
                answer.fail(Reason::ServiceUnavailable);
                return false;
            }
            FaultAction::Error(e) => {
                answer.status = e.status;
                answer.reason = Some(e.reason);
                answer.retry_after = e.retry_after;
                return false;
            }
        }
        if let Err(reason) = self.check(conn, parts, body, answer) {
            answer.fail(reason);
        }
        true
    }

    fn check(
        &self,
        conn: &ApnsConn,
        parts: &Parts,
        body: &ReadBody,
        answer: &mut Answer,
    ) -> Result<(), Reason> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let token = validate::route(&parts.method, path)?;
        let headers = &parts.headers;
        if validate::has_duplicate_headers(headers) {
            return Err(Reason::DuplicateHeaders);
        }
        let credential = self.authenticate(conn, parts)?;
        let payload: Option<serde_json::Value> = serde_json::from_slice(&body.bytes).ok();
        let push_type = validate::push_type(headers, payload.as_ref())?;
        if let Credential::Certificate(_) = credential {
            push_type.check_certificate_auth()?;
        }
        let header_topic = validate::text(headers, "apns-topic").filter(|t| !t.is_empty());
        let (topic, bundle) = self.resolve_topic(&credential, header_topic, push_type)?;
        answer.topic = Some(topic.clone());
        validate::options(headers, push_type)?;
        if body.too_large || body.bytes.len() > push_type.max_payload() {
            return Err(Reason::PayloadTooLarge);
        }
        if body.bytes.is_empty() {
            return Err(Reason::PayloadEmpty);
        }
        let core = &self.state.core;
        let accept_unknown = core.settings().accept_unknown_tokens;
        self.state
            .apns
            .devices
            .check(
                self.env,
                token,
                &bundle,
                accept_unknown,
                core.clock.now_ms(),
            )
            .map_err(|(reason, timestamp)| {
                answer.timestamp = timestamp;
                reason
            })
    }

    /// Authenticates the request: the connection's certificate, or the provider token.
    fn authenticate<'c>(
        &self,
        conn: &'c ApnsConn,
        parts: &Parts,
    ) -> Result<Credential<'c>, Reason> {
        match conn {
            ApnsConn::Certificate { identity, .. } => {
                let id = identity.as_ref().ok_or(Reason::BadCertificate)?;
                if !id.environments.contains(&self.env) {
                    return Err(Reason::BadCertificateEnvironment);
                }
                Ok(Credential::Certificate(id))
            }
            ApnsConn::Token { state, .. } => {
                let authorization = validate::text(&parts.headers, "authorization");
                let now = self.state.core.clock.now_secs();
                let keys = &self.state.apns.keys;
                auth::authenticate(keys, state, self.env, authorization, now).map(Credential::Key)
            }
        }
    }

    /// Resolves the topic a credential may push to; returns (topic, bundle id).
    fn resolve_topic(
        &self,
        credential: &Credential<'_>,
        header_topic: Option<&str>,
        push_type: PushType,
    ) -> Result<(String, String), Reason> {
        let keys = &self.state.apns.keys;
        let topic = header_topic
            .or_else(|| credential.default_topic())
            .ok_or(Reason::MissingTopic)?;
        let bundle = push_type.bundle_of(topic)?;
        if credential.grants(keys, topic, bundle) {
            return Ok((topic.to_string(), bundle.to_string()));
        }
        // An alert/background push to another push type's topic of a permitted app.
        let foreign = push_type.suffix.is_empty()
            && validate::foreign_suffix_base(topic).is_some_and(|b| credential.grants(keys, b, b));
        Err(if foreign {
            Reason::BadTopic
        } else {
            Reason::TopicDisallowed
        })
    }

    fn respond(
        &self,
        conn: &ApnsConn,
        parts: &Parts,
        body: &ReadBody,
        answer: Answer,
        at_ms: i64,
        reset: bool,
    ) -> Response<Body> {
        let apns_id = validate::text(&parts.headers, "apns-id")
            .filter(|id| validate::is_uuid(id))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut headers = vec![("apns-id".to_string(), apns_id)];
        if self.env == ApnsEnvironment::Sandbox {
            headers.push(("apns-unique-id".into(), uuid::Uuid::new_v4().to_string()));
        }
        if let Some(r) = &answer.retry_after {
            headers.push(("retry-after".into(), r.clone()));
        }
        let body_out = match &answer.reason {
            None => Vec::new(),
            Some(reason) => {
                let mut j = serde_json::json!({ "reason": reason });
                if answer.status == 410 {
                    j["timestamp"] = answer.timestamp.unwrap_or(at_ms).into();
                }
                j.to_string().into_bytes()
            }
        };
        let record = RequestRecord {
            seq: 0,
            at_ms,
            vendor: Vendor::Apns,
            endpoint: self.name().to_string(),
            connection: conn.info().id,
            http_version: wire::version_text(parts.version),
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: wire::header_pairs(&parts.headers),
            body: String::from_utf8_lossy(&body.bytes).into_owned(),
            token: answer.token.clone(),
            tokens: Vec::new(),
            topic: answer.topic.clone(),
            dry_run: false,
            reset,
            response: RecordedResponse {
                status: answer.status,
                headers: headers.clone(),
                body: String::from_utf8_lossy(&body_out).into_owned(),
            },
        };
        let record = self.state.core.recorder.push(record);
        if answer.status == 200
            && let (Some(token), Some(topic)) = (&answer.token, &answer.topic)
        {
            self.state.apns.store(self.env, token, topic, record);
        }
        wire::response(answer.status, &headers, body_out)
    }
}
