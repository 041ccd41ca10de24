//! Huawei delivery receipts (huawei.md §8): `POST {"statuses": [...]}` to the callback URL,
//! signed with `X-HUAWEI-CALLBACK-ID: timestamp=…;nonce=…;value=Base64(HMAC-SHA256(key,
//! timestamp + nonce + username))` when a key is configured in AppGallery Connect.
//!
//! pushgate's key is the app's callback token and its user name the pushgate app id (both
//! shown by `GET /v1/apps/{app}/callbacks`). A request is taken when its signature is valid
//! and fresh, or — for a receipt configuration without a key — when its URL carries the
//! app's secret path token. Each status maps to one event by the table of §8.3.

use base64::Engine;
use push_core::CredentialSecret;
use push_core::adapter::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use serde::Deserialize;
use time::OffsetDateTime;

/// The signature header.
const SIGNATURE_HEADER: &str = "x-huawei-callback-id";
/// How far a signed timestamp may be from now (replays older than this are refused).
const MAX_SKEW_MS: i128 = 10 * 60 * 1000;
/// What Huawei's older docs show as the answer; harmless to send.
const REPLY: &str = r#"{"errno":0,"errmsg":"success"}"#;

#[derive(Deserialize)]
struct Body {
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    bi_tag: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    token: Option<String>,
    status: i64,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    request_id: Option<String>,
}

/// Reads a receipt callback.
pub(crate) fn parse(
    request: &CallbackRequest,
    context: &CallbackContext<'_>,
) -> Result<CallbackAnswer, CallbackError> {
    if request.method != "POST" {
        return Err(CallbackError::Malformed(
            "Huawei posts receipts; use POST".into(),
        ));
    }
    authenticate(request, context)?;
    let body: Body = serde_json::from_slice(&request.body).map_err(|e| {
        CallbackError::Malformed(format!(
            "not a Huawei receipt body ({{\"statuses\": [...]}}): {e}"
        ))
    })?;
    let own_app_id = match context.credential {
        Some(CredentialSecret::HuaweiOauth { app_id, .. }) => Some(app_id.as_str()),
        _ => None,
    };
    let receipts = body
        .statuses
        .into_iter()
        // A receipt for another Huawei app (a shared callback URL) is not this app's.
        .filter(|s| match (own_app_id, s.appid.as_deref()) {
            (Some(own), Some(theirs)) => own == theirs,
            _ => true,
        })
        .map(|s| CallbackReceipt {
            event: event_of(s.status),
            tag: s.bi_tag.filter(|t| !t.is_empty()),
            vendor_message_id: s.request_id.filter(|r| !r.is_empty()),
            token: s.token.filter(|t| !t.is_empty()),
            at: s.timestamp.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            }),
        })
        .collect();
    Ok(CallbackAnswer {
        receipts,
        reply: CallbackReply::json(REPLY),
    })
}

/// A valid fresh signature, or the secret path token.
fn authenticate(
    request: &CallbackRequest,
    context: &CallbackContext<'_>,
) -> Result<(), CallbackError> {
    match request.header(SIGNATURE_HEADER) {
        Some(header) => {
            let Some(secrets) = context.secrets else {
                return Err(CallbackError::Unauthenticated(
                    "signed Huawei receipt, but the app has no callback secrets yet (GET /v1/apps/{app}/callbacks)".into(),
                ));
            };
            verify_signature(header, secrets.token.expose(), &context.app.id, context.now)
        }
        None if context.path_token_valid => Ok(()),
        None => Err(CallbackError::Unauthenticated(
            "Huawei receipt without X-HUAWEI-CALLBACK-ID and without the app's path token".into(),
        )),
    }
}

/// Checks `timestamp=…;nonce=…;value=…` against `key` and `username`.
pub(crate) fn verify_signature(
    header: &str,
    key: &str,
    username: &str,
    now: OffsetDateTime,
) -> Result<(), CallbackError> {
    let field = |name: &str| {
        header
            .split(';')
            .filter_map(|part| part.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let (Some(timestamp), Some(nonce), Some(value)) =
        (field("timestamp"), field("nonce"), field("value"))
    else {
        return Err(CallbackError::Unauthenticated(
            "X-HUAWEI-CALLBACK-ID lacks timestamp, nonce or value".into(),
        ));
    };
    let ms: i128 = timestamp.parse().map_err(|_| {
        CallbackError::Unauthenticated("X-HUAWEI-CALLBACK-ID timestamp is not a number".into())
    })?;
    let now_ms = now.unix_timestamp_nanos() / 1_000_000;
    if (now_ms - ms).abs() > MAX_SKEW_MS {
        return Err(CallbackError::Unauthenticated(
            "X-HUAWEI-CALLBACK-ID timestamp is more than 10 minutes off".into(),
        ));
    }
    let given = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| {
            CallbackError::Unauthenticated("X-HUAWEI-CALLBACK-ID value is not base64".into())
        })?;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    let data = format!("{timestamp}{nonce}{username}");
    aws_lc_rs::hmac::verify(&key, data.as_bytes(), &given).map_err(|_| {
        CallbackError::Unauthenticated("X-HUAWEI-CALLBACK-ID signature does not match".into())
    })
}

/// §8.3: receipt status → event.
fn event_of(status: i64) -> CallbackEvent {
    let reason = |text: &str| format!("{status}: {text}");
    match status {
        0 => CallbackEvent::Delivered,
        2 => CallbackEvent::TokenInvalid {
            reason: reason("app not installed"),
        },
        5 => CallbackEvent::TokenInvalid {
            reason: reason("token not valid for the current Android user"),
        },
        10 => CallbackEvent::TokenInvalid {
            reason: reason("device inactive for a long time"),
        },
        // Huawei suggests dropping these tokens only when it repeats; one receipt keeps it.
        6 => CallbackEvent::Failed {
            reason: reason("notifications disabled for the app on the device"),
        },
        201 => CallbackEvent::Failed {
            reason: reason("message controlled (send control)"),
        },
        14 => CallbackEvent::Failed {
            reason: reason("other error"),
        },
        15 => CallbackEvent::Failed {
            reason: reason("replaced by a newer cached message or over the offline cache limit"),
        },
        22 => CallbackEvent::Failed {
            reason: reason("user id mismatch on the device"),
        },
        31 => CallbackEvent::Failed {
            reason: reason("message type not supported by the device"),
        },
        102 => CallbackEvent::Failed {
            reason: reason("discarded by frequency control"),
        },
        144 => CallbackEvent::Failed {
            reason: reason("profile id missing"),
        },
        256 => CallbackEvent::Failed {
            reason: reason("marketing daily limit reached"),
        },
        27 => CallbackEvent::Info {
            reason: reason("app process not running; cached until it starts"),
        },
        51 => CallbackEvent::Info {
            reason: reason("device locked after reboot"),
        },
        _ => CallbackEvent::Info {
            reason: reason("undocumented receipt status"),
        },
    }
}

#[cfg(test)]
mod tests;
