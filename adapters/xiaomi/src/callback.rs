//! Xiaomi's receipt callbacks (xiaomi.md §7): a form POST whose single `data` field holds a
//! JSON object keyed by message id (`data.id` of the send answer); each value names the
//! receipt `type` (one bit of the `extra.callback.type` mask), the `targets` it applies to
//! (comma-separated regids), the echoed `param` (`extra.callback.param`: the delivery id, or
//! the notification id for a batch) and a `timestamp` in ms. Receipts are batched, so one
//! POST may carry several messages.
//!
//! Xiaomi does not sign callbacks: a callback is taken only when its URL carried the app's
//! secret path token (`CallbackContext::path_token_valid`). Matching message ids to
//! deliveries is pushgate's work, not this file's.
//!
//! Mapping: 1 → delivered; 2 → clicked; 16 → token invalid (regid stale, app uninstalled);
//! 32 → failed (notifications off); 64 → failed (filtered by targeting); 128 → failed (daily
//! quota); 1024 → failed (not delivered before the ttl expired); any other type → info.

use push_core::adapter::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The longest callback body read.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Decodes a Xiaomi receipt callback into one receipt per (message, target).
pub(crate) fn parse(
    request: &CallbackRequest,
    context: &CallbackContext<'_>,
) -> Result<CallbackAnswer, CallbackError> {
    if !context.path_token_valid {
        return Err(CallbackError::Unauthenticated(
            "Xiaomi does not sign receipts: the callback URL must carry the app's secret path token"
                .to_string(),
        ));
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(CallbackError::Malformed(format!(
            "Xiaomi posts receipts; got {}",
            request.method
        )));
    }
    if request.body.len() > MAX_BODY_BYTES {
        return Err(CallbackError::Malformed(
            "the body is too large".to_string(),
        ));
    }
    let data = url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            CallbackError::Malformed(
                "no data field: Xiaomi posts a form with data=<JSON>".to_string(),
            )
        })?;
    let messages: Map<String, Value> = match serde_json::from_str(&data) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(CallbackError::Malformed(
                "data must be a JSON object keyed by message id".to_string(),
            ));
        }
        Err(e) => {
            return Err(CallbackError::Malformed(format!("data is not JSON: {e}")));
        }
    };
    let mut receipts = Vec::new();
    for (message_id, entry) in &messages {
        let Value::Object(entry) = entry else {
            return Err(CallbackError::Malformed(format!(
                "the receipt of message {message_id} is not an object"
            )));
        };
        let kind = number(entry.get("type")).ok_or_else(|| {
            CallbackError::Malformed(format!("the receipt of message {message_id} has no type"))
        })?;
        let tag = text(entry.get("param"));
        let at = number(entry.get("timestamp")).and_then(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        });
        let event = event(kind, entry);
        let targets: Vec<String> = text(entry.get("targets"))
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let receipt = |token: Option<String>| CallbackReceipt {
            tag: tag.clone(),
            vendor_message_id: Some(message_id.clone()),
            token,
            event: event.clone(),
            at,
        };
        if targets.is_empty() {
            receipts.push(receipt(None));
        } else {
            receipts.extend(targets.into_iter().map(|t| receipt(Some(t))));
        }
    }
    Ok(CallbackAnswer {
        receipts,
        reply: CallbackReply::text("ok"),
    })
}

/// The event of a receipt type.
fn event(kind: i64, entry: &Map<String, Value>) -> CallbackEvent {
    let failed = |what: &str| CallbackEvent::Failed {
        reason: format!("{kind}: {what}"),
    };
    match kind {
        1 => CallbackEvent::Delivered,
        2 => CallbackEvent::Clicked,
        16 => CallbackEvent::TokenInvalid {
            reason: "16: invalid target device (regid stale or app uninstalled)".to_string(),
        },
        32 => {
            let bar = text(entry.get("barStatus"))
                .map(|b| format!(", barStatus {b}"))
                .unwrap_or_default();
            failed(&format!(
                "push disabled on the device (notifications off{bar})"
            ))
        }
        64 => failed("filtered by targeting conditions (locale, model, app version)"),
        128 => failed("discarded: the daily quota (public messages) is used up"),
        1024 => failed("expired: not delivered before the ttl ran out"),
        other => CallbackEvent::Info {
            reason: format!("{other}: unknown Xiaomi receipt type"),
        },
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use push_core::{App, AppSettings, TenantId};
    use serde_json::json;

    fn app() -> App {
        App {
            id: "chat-prod".into(),
            tenant_id: TenantId::new(),
            name: "Chat".into(),
            settings: AppSettings::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn request(data: &Value) -> CallbackRequest {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("data", &data.to_string())
            .finish();
        CallbackRequest {
            method: "POST".into(),
            query: vec![],
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.into_bytes(),
        }
    }

    fn parse_with(req: &CallbackRequest, token_ok: bool) -> Result<CallbackAnswer, CallbackError> {
        let app = app();
        let context = CallbackContext {
            app: &app,
            credential: None,
            path_token_valid: token_ok,
            secrets: None,
            now: OffsetDateTime::UNIX_EPOCH,
        };
        parse(req, &context)
    }

    #[test]
    fn the_reference_example_gives_one_receipt_per_target() {
        let data = json!({
            "scm56b45845417580378Ky": {"param": "d-7f3c0e-42", "type": 1, "targets": "regid1,regid2",
                "jobkey": "", "barStatus": "Enable", "timestamp": 1700000001234i64},
            "scm56b45845417580379Kz": {"param": "d-7f3c0e-43", "type": 16, "targets": "regid3",
                "timestamp": "1700000002345"}
        });
        let answer = parse_with(&request(&data), true).unwrap();
        assert_eq!(answer.reply.status, 200);
        assert_eq!(answer.receipts.len(), 3);
        let r = &answer.receipts[0];
        assert_eq!(r.tag.as_deref(), Some("d-7f3c0e-42"));
        assert_eq!(
            r.vendor_message_id.as_deref(),
            Some("scm56b45845417580378Ky")
        );
        assert_eq!(r.token.as_deref(), Some("regid1"));
        assert_eq!(r.event, CallbackEvent::Delivered);
        assert_eq!(r.at.unwrap().unix_timestamp(), 1_700_000_001);
        assert_eq!(answer.receipts[1].token.as_deref(), Some("regid2"));
        let dead = &answer.receipts[2];
        assert_eq!(dead.token.as_deref(), Some("regid3"));
        assert!(matches!(dead.event, CallbackEvent::TokenInvalid { .. }));
        assert_eq!(dead.at.unwrap().unix_timestamp(), 1_700_000_002);
    }

    #[test]
    fn every_type_maps_to_one_event() {
        for (kind, want) in [
            (1, "Delivered"),
            (2, "Clicked"),
            (16, "TokenInvalid"),
            (32, "Failed"),
            (64, "Failed"),
            (128, "Failed"),
            (1024, "Failed"),
            (4, "Info"),
        ] {
            let data = json!({ "scm1": {"type": kind, "targets": "r+/=", "param": "p"} });
            let answer = parse_with(&request(&data), true).unwrap();
            let got = format!("{:?}", answer.receipts[0].event);
            assert!(got.starts_with(want), "{kind}: {got}");
            assert_eq!(answer.receipts[0].token.as_deref(), Some("r+/="));
        }
        let data = json!({ "scm1": {"type": 32, "targets": "r", "barStatus": "Disable"} });
        let answer = parse_with(&request(&data), true).unwrap();
        assert!(format!("{:?}", answer.receipts[0].event).contains("notifications off"));
        assert_eq!(answer.receipts[0].tag, None);
    }

    #[test]
    fn without_the_path_token_nothing_is_read() {
        let data = json!({ "scm1": {"type": 1, "targets": "r"} });
        assert!(matches!(
            parse_with(&request(&data), false),
            Err(CallbackError::Unauthenticated(_))
        ));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let mut json_body = request(&json!({}));
        json_body.body = br#"{"scm1":{"type":1}}"#.to_vec();
        let mut not_json = request(&json!({}));
        not_json.body = b"data=%7Bnope".to_vec();
        let mut get = request(&json!({}));
        get.method = "GET".into();
        for req in [
            json_body,
            not_json,
            get,
            request(&json!([1, 2])),
            request(&json!({"scm1": 5})),
            request(&json!({"scm1": {"targets": "r"}})),
        ] {
            assert!(
                matches!(parse_with(&req, true), Err(CallbackError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(&req.body)
            );
        }
        let empty = parse_with(&request(&json!({})), true).unwrap();
        assert!(empty.receipts.is_empty());
    }
}
