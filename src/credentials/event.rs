//! `<app>.credential` events on the events (receipts) exchange: a certificate nears or
//! passed its expiry, or pushgate fell back from a refused version. Like receipt events they
//! are notifications; the durable record is the store (credential health, audit log), so a
//! failed publish is logged, not fatal. No event carries a secret.

use push_core::Channel;
use push_core::queue::Queue;
use serde::Serialize;
use time::OffsetDateTime;

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialEventKind {
    /// The active certificate expires within a warning threshold (30, 7 or 1 days).
    Expiring,
    /// The active certificate has expired; sends on its channel fail until a new one is uploaded.
    Expired,
    /// The vendor refused the active version; pushgate went back to the previous one.
    Fallback,
}

/// Body of a `<app>.credential` event.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialEvent {
    /// The app.
    pub app: String,
    /// The channel (`vendor` as in the API).
    pub vendor: Channel,
    /// What happened.
    pub kind: CredentialEventKind,
    /// The version concerned (for a fallback: the refused one).
    pub version: i64,
    /// For a fallback: the version now in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_version: Option<i64>,
    /// The certificate's expiry, for expiry events.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// The threshold crossed (30, 7, 1; 0 once expired), for expiry events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_days: Option<i64>,
    /// A sentence for people.
    pub reason: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl CredentialEvent {
    /// `<app>.credential`.
    pub fn routing_key(&self) -> String {
        format!("{}.credential", self.app)
    }
}

/// Publishes `event`; a failure is logged.
pub async fn publish(queue: &dyn Queue, event: &CredentialEvent) {
    let Ok(body) = serde_json::to_vec(event) else {
        return;
    };
    let routing_key = event.routing_key();
    if let Err(error) = queue.publish_event(&routing_key, body).await {
        tracing::warn!(%error, routing_key, "credential event not published (the store has the record)");
    }
}

/// The vendor's own name for a channel's credential, for messages: `APNs`, `FCM`, ….
pub fn vendor_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Apns => "APNs",
        Channel::Fcm => "FCM",
        Channel::Huawei => "Huawei",
        Channel::Honor => "Honor",
        Channel::Xiaomi => "Xiaomi",
        Channel::Oppo => "OPPO",
        Channel::Vivo => "vivo",
        Channel::WechatOa => "WeChat official account",
        Channel::WechatMp => "WeChat mini program",
    }
}
