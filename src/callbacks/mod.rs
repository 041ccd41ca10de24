//! Receipt callbacks (`/v1/callbacks/{vendor}/{app}[/{path token}]`): a vendor tells
//! pushgate what became of messages it took. The adapter authenticates and decodes the
//! request ([`push_core::adapter::Adapter::parse_callback`]); this module does the
//! vendor-neutral rest: finds the app, checks the secret path token, matches each receipt to
//! its delivery ([`matching`]), moves it to delivered / opened / failed, deactivates devices
//! whose token the receipt says is gone, and publishes the receipt events. Receipts for
//! message ids pushgate does not know are ignored (counted), so a replayed or foreign
//! callback changes nothing.
//!
//! Client acks ([`client_ack`]) are the same reports from the app on the device (or the
//! tenant's backend), for vendors without receipts (APNs, FCM): they go through the same
//! guarded transitions and publish the same events.

pub mod client_ack;
mod matching;
pub mod token;

use crate::pipeline::credentials::CredentialCache;
use crate::pipeline::events::EventPublisher;
use push_core::adapter::{
    AdapterRegistry, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use push_core::{Channel, Delivery, DeliveryState, Device, Store, StoreError, Transition};
use std::sync::Arc;

/// Why a callback was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CallbackFailure {
    /// No such app, or no adapter for the vendor in this build (404).
    #[error("no callback endpoint here")]
    NotFound,
    /// The adapter refused the request.
    #[error(transparent)]
    Refused(#[from] CallbackError),
    /// The store failed; the vendor should retry (503).
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
}

/// Handles receipt callbacks and client acks ([`client_ack`]).
#[derive(Clone)]
pub struct CallbackService {
    store: Arc<dyn Store>,
    adapters: Arc<AdapterRegistry>,
    credentials: Arc<CredentialCache>,
    events: EventPublisher,
}

/// What one callback did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Receipts that moved a delivery.
    pub moved: usize,
    /// Devices deactivated.
    pub deactivated: usize,
    /// Receipts for unknown messages or tokens, duplicates and out-of-order ones.
    pub ignored: usize,
}

impl CallbackService {
    /// A service over the store, the adapters, the credential cache and the events exchange.
    pub fn new(
        store: Arc<dyn Store>,
        adapters: Arc<AdapterRegistry>,
        credentials: Arc<CredentialCache>,
        events: EventPublisher,
    ) -> Self {
        CallbackService {
            store,
            adapters,
            credentials,
            events,
        }
    }

    /// Handles one callback request for `vendor` (`huawei`, `xiaomi`, `oppo`, `vivo`,
    /// `honor`, `wechat`) and `app`; `path_token` is the optional last URL segment.
    pub async fn handle(
        &self,
        vendor: &str,
        app_id: &str,
        path_token: Option<&str>,
        request: CallbackRequest,
    ) -> Result<CallbackReply, CallbackFailure> {
        let channel = channel_of(vendor).ok_or(CallbackFailure::NotFound)?;
        let adapter = self
            .adapters
            .get(channel)
            .ok_or(CallbackFailure::NotFound)?;
        let app = self
            .store
            .get_app(app_id)
            .await?
            .ok_or(CallbackFailure::NotFound)?;
        let secrets = self.store.callback_secrets(app_id).await?;
        let path_token_valid = match (path_token, &secrets) {
            (Some(given), Some(stored)) => token::matches(stored.token.expose(), given),
            _ => false,
        };
        let credential = self.credentials.active(app_id, channel).await.ok();
        let context = CallbackContext {
            app: &app,
            credential: credential.as_ref().map(|c| c.secret.as_ref()),
            path_token_valid,
            secrets: secrets.as_ref(),
            now: push_core::now(),
        };
        let answer = adapter.parse_callback(&request, &context).inspect_err(|e| {
            metrics::counter!("pushgate_callbacks_refused_total", "vendor" => vendor.to_string())
                .increment(1);
            tracing::warn!(app = app_id, vendor, error = %e, "receipt callback refused");
        })?;
        let mut applied = Applied::default();
        for receipt in &answer.receipts {
            self.apply(app_id, channel, receipt, &mut applied).await?;
        }
        metrics::counter!("pushgate_callback_receipts_total", "vendor" => vendor.to_string(), "result" => "moved")
            .increment(applied.moved as u64);
        metrics::counter!("pushgate_callback_receipts_total", "vendor" => vendor.to_string(), "result" => "ignored")
            .increment(applied.ignored as u64);
        tracing::debug!(
            app = app_id,
            vendor,
            receipts = answer.receipts.len(),
            moved = applied.moved,
            deactivated = applied.deactivated,
            ignored = applied.ignored,
            "receipt callback"
        );
        Ok(answer.reply)
    }

    async fn apply(
        &self,
        app: &str,
        channel: Channel,
        receipt: &CallbackReceipt,
        applied: &mut Applied,
    ) -> Result<(), StoreError> {
        let Some((delivery, device)) =
            matching::find(self.store.as_ref(), app, channel, receipt).await?
        else {
            applied.ignored += 1;
            return Ok(());
        };
        if !matches!(receipt.event, CallbackEvent::Info { .. }) {
            self.accept_if_sending(&delivery, receipt.vendor_message_id.clone())
                .await?;
        }
        let transition = match &receipt.event {
            CallbackEvent::Delivered => Transition::Delivered,
            CallbackEvent::Clicked => Transition::Opened,
            CallbackEvent::Failed { reason } => Transition::Failed {
                reason: format!("vendor receipt: {reason}"),
            },
            CallbackEvent::TokenInvalid { reason } => {
                if let Some(device) = &device
                    && self.deactivate(device, reason).await?
                {
                    applied.deactivated += 1;
                }
                Transition::Failed {
                    reason: format!("invalid token (vendor receipt): {reason}"),
                }
            }
            CallbackEvent::Info { .. } => {
                applied.ignored += 1;
                return Ok(());
            }
        };
        self.transition(&delivery, transition, applied).await
    }

    /// Records `accepted` for a delivery still in `sending`. A receipt or client ack that
    /// overtook the worker recording the vendor's answer proves the vendor took the message,
    /// so that comes first (the worker's own `accepted` then finds it done) and the report
    /// itself can follow.
    async fn accept_if_sending(
        &self,
        delivery: &Delivery,
        vendor_message_id: Option<String>,
    ) -> Result<(), StoreError> {
        if delivery.state != DeliveryState::Sending {
            return Ok(());
        }
        let accepted = Transition::Accepted { vendor_message_id };
        self.transition(delivery, accepted, &mut Applied::default())
            .await
    }

    /// Applies one transition, publishing its receipt event; a move the state machine refuses
    /// (a duplicate or late report) is counted as ignored, not an error.
    async fn transition(
        &self,
        delivery: &Delivery,
        transition: Transition,
        applied: &mut Applied,
    ) -> Result<(), StoreError> {
        match self
            .store
            .transition_delivery(delivery.id, &transition, push_core::now())
            .await
        {
            Ok(moved) => {
                applied.moved += 1;
                self.events.receipt(&moved).await;
                Ok(())
            }
            // A duplicate or late receipt (delivered after opened, failed after delivered).
            Err(StoreError::IllegalTransition { .. }) => {
                applied.ignored += 1;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn deactivate(&self, device: &Device, reason: &str) -> Result<bool, StoreError> {
        let reason = format!("vendor receipt: {reason}");
        crate::pipeline::deactivation::deactivate(
            &*self.store,
            &self.events,
            device.channel.as_str(),
            device,
            &reason,
        )
        .await
    }
}

/// The channel whose callbacks `vendor` (a URL segment) names.
pub fn channel_of(vendor: &str) -> Option<Channel> {
    match vendor {
        "wechat" => Some(Channel::WechatOa),
        other => other
            .parse::<Channel>()
            .ok()
            .filter(|c| !matches!(c, Channel::Apns | Channel::Fcm)),
    }
}
