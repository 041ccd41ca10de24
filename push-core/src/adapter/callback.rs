//! Receipt callbacks: what a vendor POSTs back to pushgate about messages it took
//! (`POST /v1/callbacks/{vendor}/{app}`), and how an adapter reads it.
//!
//! The vendor-neutral work — finding the app, checking the secret path token, matching
//! receipts to deliveries, moving them to delivered / opened / failed, deactivating tokens
//! and publishing receipt events — is pushgate's. The adapter only authenticates the request
//! where the vendor signs it (Huawei's `X-HUAWEI-CALLBACK-ID`, WeChat's `signature`), decodes
//! the vendor's encoding and maps each vendor status to one [`CallbackEvent`]. It never
//! touches the store.

use crate::app::App;
use crate::credential::{CredentialSecret, Secret};
use time::OffsetDateTime;

/// An HTTP request a vendor sent to the callback endpoint.
#[derive(Debug, Clone, Default)]
pub struct CallbackRequest {
    /// `GET` (WeChat's URL verification) or `POST`.
    pub method: String,
    /// Query parameters, in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl CallbackRequest {
    /// The first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the adapter may use to judge a callback.
#[derive(Debug, Clone, Copy)]
pub struct CallbackContext<'a> {
    /// The app named in the URL.
    pub app: &'a App,
    /// The app's active credential for the vendor, if any: where callback signing keys live
    /// (Huawei's receipt user name and key, WeChat's server token and EncodingAESKey).
    pub credential: Option<&'a CredentialSecret>,
    /// Whether the URL carried the app's valid secret path token. Vendors that do not sign
    /// callbacks (Xiaomi, OPPO, vivo, Honor) are accepted only with it.
    pub path_token_valid: bool,
    /// The app's callback secrets, which the tenant enters in the vendor consoles that sign
    /// callbacks; `None` until the tenant first asked for its callback URLs.
    pub secrets: Option<&'a CallbackSecrets>,
    /// Now, for stale-timestamp checks.
    pub now: OffsetDateTime,
}

/// pushgate-generated secrets of an app's callbacks (`GET /v1/apps/{app}/callbacks` shows
/// them to the tenant, who enters them in the vendor consoles).
#[derive(Debug, Clone)]
pub struct CallbackSecrets {
    /// 32 letters and digits: the secret path segment of callback URLs, Huawei's receipt
    /// signing key (with the pushgate app id as the receipt user name) and WeChat's server
    /// `Token`.
    pub token: Secret,
    /// 43 letters and digits: WeChat's `EncodingAESKey` for the encrypted (safe) mode.
    pub aes_key: Secret,
}

/// What a receipt says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackEvent {
    /// The message reached the device.
    Delivered,
    /// The user opened it.
    Clicked,
    /// It will not reach the device; the token stays valid.
    Failed {
        /// The vendor's status and what it means, e.g. `14: other error`.
        reason: String,
    },
    /// It will not reach the device because the token is gone (app uninstalled, token
    /// expired): the device is deactivated.
    TokenInvalid {
        /// The vendor's status and what it means.
        reason: String,
    },
    /// Informational only (Huawei 27, 51): nothing changes.
    Info {
        /// The vendor's status.
        reason: String,
    },
}

/// One receipt: which message and token it is about and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReceipt {
    /// The echo field pushgate put into the message (Huawei `biTag`, Xiaomi / OPPO / vivo
    /// `callback.param`): the delivery id, or for batch sends the notification-level tag.
    pub tag: Option<String>,
    /// The vendor's message id (Huawei `requestId`, Xiaomi `id`, OPPO `messageId`, vivo
    /// `taskId`, WeChat `MsgID`), as `Outcome::Accepted` reported it.
    pub vendor_message_id: Option<String>,
    /// The device token (or openid) the receipt is about, when the vendor names it.
    pub token: Option<String>,
    /// What happened.
    pub event: CallbackEvent,
    /// When it happened, by the vendor's clock.
    pub at: Option<OffsetDateTime>,
}

/// The HTTP answer the vendor expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReply {
    /// Status code (200 unless the vendor wants otherwise).
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body (WeChat's `success` or `echostr`, Huawei's `{"errno":0,…}`).
    pub body: Vec<u8>,
}

impl CallbackReply {
    /// `200` with a JSON body.
    pub fn json(body: &str) -> Self {
        CallbackReply {
            status: 200,
            content_type: "application/json",
            body: body.as_bytes().to_vec(),
        }
    }

    /// `200` with a plain-text body.
    pub fn text(body: &str) -> Self {
        CallbackReply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A decoded callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The receipts it carried (none for WeChat's URL verification or other events).
    pub receipts: Vec<CallbackReceipt>,
    /// What to answer.
    pub reply: CallbackReply,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The signature or path token is missing or wrong (401), or signing is not set up for
    /// the app. The message never contains a secret.
    #[error("unauthenticated callback: {0}")]
    Unauthenticated(String),
    /// The body is not what the vendor sends (400).
    #[error("malformed callback: {0}")]
    Malformed(String),
    /// This adapter takes no callbacks (404).
    #[error("this vendor sends no receipt callbacks")]
    Unsupported,
}
