//! A stand-in adapter with scripted outcomes, for tests of the dispatcher and pipeline that
//! do not care about wire formats. It records every call.

use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, Capabilities, CheckError, CredentialFacts, CredentialRef,
    Outcome, SendRequest, TargetResult,
};
use push_core::{App, Channel, CredentialSecret, DeliveryId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// One `send` call as the stub saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSend {
    /// The notification id.
    pub notification_id: String,
    /// The credential used.
    pub credential_id: Uuid,
    /// The targets, as (delivery id, token).
    pub targets: Vec<(DeliveryId, String)>,
}

#[derive(Default)]
struct State {
    scripted: HashMap<String, VecDeque<Outcome>>,
    default: Option<Outcome>,
    sends: Vec<RecordedSend>,
    forgotten: Vec<Uuid>,
    latency: Duration,
    app_latency: HashMap<String, Duration>,
}

/// An adapter whose answers a test decides: per token a queue of outcomes, then a default
/// (accepted unless changed).
pub struct StubAdapter {
    info: AdapterInfo,
    state: Mutex<State>,
}

/// Capabilities of the stub unless a test gives others: batches of 100, 4 KiB.
pub const STUB_CAPABILITIES: Capabilities = Capabilities {
    max_batch: 100,
    max_payload_bytes: 4096,
    collapse: true,
    ttl: true,
    priority: true,
    per_token_results: true,
};

impl StubAdapter {
    /// A stub serving `channels` under the name `vendor`.
    pub fn new(
        vendor: &'static str,
        channels: &'static [Channel],
        capabilities: Capabilities,
    ) -> Self {
        Self {
            info: AdapterInfo {
                vendor,
                channels,
                capabilities,
            },
            state: Mutex::new(State::default()),
        }
    }

    /// A stub for one channel that accepts everything.
    pub fn accepting(channel: Channel) -> Self {
        let channels: &'static [Channel] = match channel {
            Channel::Apns => &[Channel::Apns],
            Channel::Fcm => &[Channel::Fcm],
            Channel::Huawei => &[Channel::Huawei],
            Channel::Xiaomi => &[Channel::Xiaomi],
            Channel::Oppo => &[Channel::Oppo],
            Channel::Vivo => &[Channel::Vivo],
            Channel::Honor => &[Channel::Honor],
            Channel::WechatOa => &[Channel::WechatOa],
            Channel::WechatMp => &[Channel::WechatMp],
        };
        Self::new(channel.as_str(), channels, STUB_CAPABILITIES)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next outcomes for `token`, in order; after them the default applies again.
    pub fn script(&self, token: &str, outcomes: impl IntoIterator<Item = Outcome>) {
        self.state()
            .scripted
            .entry(token.to_string())
            .or_default()
            .extend(outcomes);
    }

    /// The outcome of every unscripted send.
    pub fn set_default(&self, outcome: Outcome) {
        self.state().default = Some(outcome);
    }

    /// How long each `send` takes, standing in for the vendor's latency.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// How long each `send` for `app` takes (overrides [`StubAdapter::set_latency`]).
    pub fn set_app_latency(&self, app: &str, latency: Duration) {
        self.state().app_latency.insert(app.to_string(), latency);
    }

    /// Every call so far.
    pub fn sends(&self) -> Vec<RecordedSend> {
        self.state().sends.clone()
    }

    /// The credentials `forget_auth` was called for.
    pub fn forgotten(&self) -> Vec<Uuid> {
        self.state().forgotten.clone()
    }
}

#[async_trait]
impl Adapter for StubAdapter {
    fn info(&self) -> AdapterInfo {
        self.info
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        let latency = {
            let mut state = self.state();
            state.sends.push(RecordedSend {
                notification_id: request.message.id.clone(),
                credential_id: request.credential.id,
                targets: request
                    .targets
                    .iter()
                    .map(|t| (t.delivery_id, t.token.clone()))
                    .collect(),
            });
            state
                .app_latency
                .get(&request.app.id)
                .copied()
                .unwrap_or(state.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = self.state();
        let default = state.default.clone().unwrap_or(Outcome::Accepted {
            vendor_message_id: None,
        });
        request
            .targets
            .iter()
            .map(|t| {
                let scripted = state
                    .scripted
                    .get_mut(&t.token)
                    .and_then(VecDeque::pop_front);
                let outcome = match scripted.unwrap_or_else(|| default.clone()) {
                    Outcome::Accepted {
                        vendor_message_id: None,
                    } => Outcome::Accepted {
                        vendor_message_id: Some(format!("stub-{}", t.delivery_id)),
                    },
                    other => other,
                };
                TargetResult {
                    delivery_id: t.delivery_id,
                    outcome,
                }
            })
            .collect()
    }

    fn verify_credential(
        &self,
        _: &App,
        _: &CredentialSecret,
        _: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        Ok(CredentialFacts::default())
    }

    async fn check_credential(&self, _: &App, _: &CredentialRef) -> Result<(), CheckError> {
        Ok(())
    }

    fn forget_auth(&self, credential_id: Uuid) {
        self.state().forgotten.push(credential_id);
    }

    fn health(&self) -> AdapterHealth {
        AdapterHealth::Healthy
    }
}
