//! Honor's delivery receipts (honor.md §7): `{"statuses": [{token, biTag, status, timestamp,
//! appid, requestId}]}`, Huawei's v1 receipt shape with Honor's status codes. `biTag` is our
//! tag (the delivery id, or for a batch the notification id), `requestId` the vendor message
//! id `Accepted` reported. Values may arrive as strings or numbers.
//!
//! No signature scheme is documented: a callback is accepted only when its URL carried the
//! app's secret path token (`context.path_token_valid`).
//!
//! | status | event |
//! |---|---|
//! | 40000001 / 40000002 | delivered |
//! | 40000003 app not installed, 40000004 token invalid | token invalid |
//! | 40000005 notifications off, 40000006 app disabled, 40000009 discarded (quota), 40000011 click failed (alert), 40000014 other user, 40000015 display failed | failed, token kept |
//! | 40000007 | clicked |
//! | 40000013 held while the screen is off, 50000003 cached | informational |
//! | other | informational |

use push_core::adapter::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use serde_json::Value;
use time::OffsetDateTime;

/// What Honor is answered (it only needs a quick HTTP 200).
const REPLY: &str = r#"{"code":200,"message":"success"}"#;

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Decodes a receipt callback.
pub(crate) fn parse(
    request: &CallbackRequest,
    context: &CallbackContext<'_>,
) -> Result<CallbackAnswer, CallbackError> {
    if !context.path_token_valid {
        return Err(CallbackError::Unauthenticated(
            "Honor does not sign receipts: the callback URL must carry the app's secret path token"
                .into(),
        ));
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| CallbackError::Malformed(format!("not JSON: {e}")))?;
    let Some(statuses) = body.get("statuses").and_then(Value::as_array) else {
        return Err(CallbackError::Malformed(
            "expected {\"statuses\": [...]}".into(),
        ));
    };
    let mut receipts = Vec::with_capacity(statuses.len());
    for entry in statuses {
        let Some(status) = number(entry.get("status")) else {
            return Err(CallbackError::Malformed(
                "a receipt without a numeric status".into(),
            ));
        };
        let at = number(entry.get("timestamp")).and_then(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        });
        receipts.push(CallbackReceipt {
            tag: text(entry.get("biTag")),
            vendor_message_id: text(entry.get("requestId")),
            token: text(entry.get("token")),
            event: event(status),
            at,
        });
    }
    Ok(CallbackAnswer {
        receipts,
        reply: CallbackReply::json(REPLY),
    })
}

/// What a Honor receipt status means.
pub(crate) fn event(status: i64) -> CallbackEvent {
    let failed = |what: &str| CallbackEvent::Failed {
        reason: format!("Honor {status}: {what}"),
    };
    let gone = |what: &str| CallbackEvent::TokenInvalid {
        reason: format!("Honor {status}: {what}"),
    };
    let info = |what: &str| CallbackEvent::Info {
        reason: format!("Honor {status}: {what}"),
    };
    match status {
        40000001 | 40000002 => CallbackEvent::Delivered,
        40000003 => gone("the app is not installed"),
        40000004 => gone("the token is invalid or not present for this device user"),
        40000005 => failed("the app's notification switch is off"),
        40000006 => failed("the app is disabled or stopped on the device"),
        40000007 => CallbackEvent::Clicked,
        40000009 => failed("discarded by the system (usually over the daily quota)"),
        40000011 => failed(
            "the click failed to open the target page — check the click target (app/config bug)",
        ),
        40000013 => info("held by power management while the screen is off"),
        40000014 => failed("the token's user is not the device's current user"),
        40000015 => failed("display failed (intent check or tray limit)"),
        50000003 => info("app process absent; the pass-through message is cached"),
        _ => info("unknown status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use push_core::{App, AppSettings, TenantId};

    fn call(body: &str, path_token_valid: bool) -> Result<CallbackAnswer, CallbackError> {
        let app = App {
            id: "chat-prod".into(),
            tenant_id: TenantId::new(),
            name: "Chat".into(),
            settings: AppSettings::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let request = CallbackRequest {
            method: "POST".into(),
            body: body.as_bytes().to_vec(),
            ..CallbackRequest::default()
        };
        let context = CallbackContext {
            app: &app,
            credential: None,
            path_token_valid,
            secrets: None,
            now: OffsetDateTime::now_utc(),
        };
        parse(&request, &context)
    }

    #[test]
    fn the_reference_example_decodes() {
        let body = r#"{"statuses":[{"token":"tok","biTag":"n-7f3c0e","status":40000002,
            "timestamp":1700000001234,"appid":"10xxxxxx","requestId":"1699999999999001"}]}"#;
        let answer = call(body, true).unwrap();
        assert_eq!(answer.reply.status, 200);
        let r = &answer.receipts[0];
        assert_eq!(r.tag.as_deref(), Some("n-7f3c0e"));
        assert_eq!(r.vendor_message_id.as_deref(), Some("1699999999999001"));
        assert_eq!(r.token.as_deref(), Some("tok"));
        assert_eq!(r.event, CallbackEvent::Delivered);
        assert!(r.at.is_some());
    }

    #[test]
    fn every_status_maps_to_one_event() {
        use CallbackEvent as E;
        let kind = |e: &E| match e {
            E::Delivered => "delivered",
            E::Clicked => "clicked",
            E::Failed { .. } => "failed",
            E::TokenInvalid { .. } => "invalid",
            E::Info { .. } => "info",
        };
        let table = [
            (40000001, "delivered"),
            (40000002, "delivered"),
            (40000003, "invalid"),
            (40000004, "invalid"),
            (40000005, "failed"),
            (40000006, "failed"),
            (40000007, "clicked"),
            (40000009, "failed"),
            (40000011, "failed"),
            (40000013, "info"),
            (40000014, "failed"),
            (40000015, "failed"),
            (50000003, "info"),
            (12345, "info"),
        ];
        for (status, want) in table {
            assert_eq!(kind(&event(status)), want, "{status}");
        }
    }

    #[test]
    fn strings_unauthenticated_and_malformed() {
        let body = r#"{"statuses":[{"token":"t","status":"40000007","requestId":123}]}"#;
        let r = &call(body, true).unwrap().receipts[0];
        assert_eq!(r.event, CallbackEvent::Clicked);
        assert_eq!(r.vendor_message_id.as_deref(), Some("123"));
        assert!(matches!(
            call(body, false),
            Err(CallbackError::Unauthenticated(_))
        ));
        assert!(matches!(call("[]", true), Err(CallbackError::Malformed(_))));
        assert!(matches!(
            call(r#"{"statuses":[{"token":"t"}]}"#, true),
            Err(CallbackError::Malformed(_))
        ));
    }
}
