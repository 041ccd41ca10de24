//! The two things measured: one adapter `send` (one target), and one bare HTTP/2 request
//! carrying the same bytes, straight to the sim. Each answers `Err(reason)` for anything but
//! a success.

use push_core::adapter::{Adapter, CredentialRef, Outcome, SendRequest, SendTarget};
use push_core::{ApnsEnvironment, App, Channel, DeliveryId, IngestMessage};
use reqwest::header::HeaderMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::OffsetDateTime;

/// `adapter.send()` with one target per call; each worker has its own device token.
pub struct AdapterSends {
    /// The adapter under test.
    pub adapter: Arc<dyn Adapter>,
    /// The app (APNs bundle id and Android package).
    pub app: App,
    /// The credential every send uses.
    pub credential: CredentialRef,
    /// What every send carries.
    pub message: IngestMessage,
    /// The channel of the targets.
    pub channel: Channel,
    /// One token per worker.
    pub tokens: Vec<String>,
}

impl AdapterSends {
    /// The target of `token`, with a fresh delivery id.
    pub fn target(&self, token: &str) -> SendTarget {
        SendTarget {
            delivery_id: DeliveryId::new(),
            device_id: "bench-device".to_string(),
            channel: self.channel,
            token: token.to_string(),
            apns_environment: (self.channel == Channel::Apns)
                .then_some(ApnsEnvironment::Production),
        }
    }

    /// Sends to `token` and answers whether it was accepted.
    pub async fn send_to(&self, token: &str) -> Result<(), String> {
        let target = self.target(token);
        let results = self
            .adapter
            .send(SendRequest {
                app: &self.app,
                credential: &self.credential,
                message: &self.message,
                accepted_at: OffsetDateTime::now_utc(),
                targets: std::slice::from_ref(&target),
            })
            .await;
        match results.as_slice() {
            [one] if one.delivery_id != target.delivery_id => {
                Err("the outcome is not keyed by the target's delivery id".to_string())
            }
            [one] => match &one.outcome {
                Outcome::Accepted { .. } => Ok(()),
                other => Err(format!("adapter: {other:?}")),
            },
            many => Err(format!("adapter: {} outcomes for one target", many.len())),
        }
    }

    /// One send from `worker`.
    pub async fn send(&self, worker: usize) -> Result<(), String> {
        self.send_to(&self.tokens[worker % self.tokens.len()]).await
    }
}

/// A bare request: one POST of prepared bytes, round-robin over `clients` (one HTTP/2
/// connection each), answer read whole; a success is HTTP 200.
pub struct BareSends {
    /// One client per connection.
    pub clients: Vec<reqwest::Client>,
    /// Round-robin position.
    pub next: AtomicUsize,
    /// Per worker: where to POST and what (the body names the worker's token for FCM).
    pub requests: Vec<(reqwest::Url, String)>,
    /// Headers of every request (auth, topic, content type…).
    pub headers: HeaderMap,
    /// Whether each request gets a fresh `apns-id`, as the adapter sends one.
    pub apns_id: bool,
}

impl BareSends {
    /// One request from `worker`.
    pub async fn send(&self, worker: usize) -> Result<(), String> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        let (url, body) = &self.requests[worker % self.requests.len()];
        let mut request = self.clients[i]
            .post(url.clone())
            .headers(self.headers.clone())
            .body(body.clone());
        if self.apns_id {
            request = request.header("apns-id", uuid::Uuid::new_v4().to_string());
        }
        let response = request.send().await.map_err(|e| format!("bare: {e:?}"))?;
        let status = response.status();
        let answer = response
            .bytes()
            .await
            .map_err(|e| format!("bare: reading the body: {e:?}"))?;
        if status == reqwest::StatusCode::OK {
            Ok(())
        } else {
            Err(format!(
                "bare: HTTP {status} {}",
                String::from_utf8_lossy(&answer)
            ))
        }
    }
}
