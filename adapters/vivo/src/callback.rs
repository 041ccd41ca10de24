//! vivo's delivery receipts (vivo.md §7): a JSON object keyed by `taskId`, each entry with
//! `targets` (comma-separated regIds), `ackTime` (epoch ms), `param` (our `callback.param`:
//! the delivery id, or for a list send the notification id), `ackType` and `subAckType`.
//! New (`callback.id`) and old (`callback` + `callback.param`) receipts share the shape.
//! Values may arrive as strings or numbers.
//!
//! vivo does not sign receipts: a callback is accepted only when its URL carried the app's
//! secret path token (`context.path_token_valid`). Every regId of `targets` becomes one
//! receipt; an entry without targets becomes one receipt without a token.
//!
//! | ackType | event |
//! |---|---|
//! | `0` / absent | delivered |
//! | `100` controlled (quota 11001, frequency 12000, expired 10012, offline 14002) | failed, token kept |
//! | `101` content review | failed |
//! | `102` target mismatch | token invalid on `subAckType` 20001 / 20002 / 20006, else failed |
//! | `103` offline message overwritten | failed |
//! | `104` not displayed | token invalid on 2183; failed otherwise (2158/2161/2162 flag an app bug) |
//! | other | informational |

use push_core::adapter::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// What vivo is answered (it only needs a quick HTTP 200).
const REPLY: &str = r#"{"result":0,"desc":"success"}"#;

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
            "vivo does not sign receipts: the callback URL must carry the app's secret path token"
                .into(),
        ));
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| CallbackError::Malformed(format!("not JSON: {e}")))?;
    let Value::Object(tasks) = body else {
        return Err(CallbackError::Malformed(
            "expected a JSON object keyed by taskId".into(),
        ));
    };
    let mut receipts = Vec::new();
    for (task_id, entry) in &tasks {
        let Value::Object(entry) = entry else {
            return Err(CallbackError::Malformed(format!(
                "the entry of task {task_id} is not an object"
            )));
        };
        receipts.extend(entry_receipts(task_id, entry));
    }
    Ok(CallbackAnswer {
        receipts,
        reply: CallbackReply::json(REPLY),
    })
}

fn entry_receipts(task_id: &str, entry: &Map<String, Value>) -> Vec<CallbackReceipt> {
    let tag = text(entry.get("param"));
    let at = number(entry.get("ackTime"))
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
    let ack = number(entry.get("ackType")).unwrap_or(0);
    let sub = number(entry.get("subAckType"));
    let event = event(ack, sub);
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
        vendor_message_id: Some(task_id.to_string()),
        token,
        event: event.clone(),
        at,
    };
    if targets.is_empty() {
        return vec![receipt(None)];
    }
    targets.into_iter().map(|t| receipt(Some(t))).collect()
}

/// What `ackType` / `subAckType` mean.
pub(crate) fn event(ack: i64, sub: Option<i64>) -> CallbackEvent {
    let sub_text = sub.map_or_else(String::new, |s| format!(" / {s}"));
    let failed = |what: &str| CallbackEvent::Failed {
        reason: format!("vivo ackType {ack}{sub_text}: {what}"),
    };
    let gone = |what: &str| CallbackEvent::TokenInvalid {
        reason: format!("vivo ackType {ack}{sub_text}: {what}"),
    };
    match (ack, sub) {
        (0, _) => CallbackEvent::Delivered,
        (100, Some(11001)) => failed("controlled: the app's quota is exceeded"),
        (100, Some(12000)) => failed("controlled: per-user frequency limit (operation messages)"),
        (100, Some(10012)) => failed("controlled: the message expired"),
        (100, Some(14002)) => failed("controlled: the device is offline for an online-only push"),
        (100, _) => failed("controlled (not sent)"),
        (101, _) => failed("content review rejected the message"),
        (102, Some(20001)) => gone("target mismatch: not subscribed"),
        (102, Some(20002)) => gone("target mismatch: the user does not exist"),
        (102, Some(20006)) => gone("target mismatch: inactive device"),
        (102, _) => failed("target mismatch"),
        (103, _) => failed("the offline message was overwritten by a newer one"),
        (104, Some(2183)) => gone("not displayed: the regId is invalid"),
        (104, Some(1017)) => failed("not displayed: night-time suppression (operation messages)"),
        (104, Some(2124)) => failed("not displayed: duplicate operation message"),
        (104, Some(2144)) => failed("not displayed: expired"),
        (104, Some(2158)) => failed(
            "not displayed: bad deeplink parameters — check the click target (app/config bug)",
        ),
        (104, Some(2161)) => {
            failed("not displayed: the target activity is not exported (app/config bug)")
        }
        (104, Some(2162)) => {
            failed("not displayed: the target activity was not found (app/config bug)")
        }
        (104, Some(2333)) => failed(
            "not displayed: operation messages are off by default for apps installed outside official stores",
        ),
        (104, _) => failed("not displayed"),
        _ => CallbackEvent::Info {
            reason: format!("vivo ackType {ack}{sub_text} (unknown)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use push_core::{App, AppSettings, TenantId};

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

    fn call(body: &str, path_token_valid: bool) -> Result<CallbackAnswer, CallbackError> {
        let app = app();
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
    fn the_reference_example_gives_one_receipt_per_target() {
        let body = r#"{"1234567890123456789":{"targets":"16512345678901234567890,16512345678901234567891",
            "ackTime":1700000001234,"param":"d-7f3c0e-42","ackType":"0","subAckType":null}}"#;
        let answer = call(body, true).unwrap();
        assert_eq!(answer.reply.status, 200);
        assert_eq!(answer.receipts.len(), 2);
        let r = &answer.receipts[1];
        assert_eq!(r.tag.as_deref(), Some("d-7f3c0e-42"));
        assert_eq!(r.vendor_message_id.as_deref(), Some("1234567890123456789"));
        assert_eq!(r.token.as_deref(), Some("16512345678901234567891"));
        assert_eq!(r.event, CallbackEvent::Delivered);
        assert_eq!(
            r.at.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
            Some(1700000001234)
        );
    }

    #[test]
    fn numbers_and_strings_and_several_tasks() {
        let body = r#"{"1":{"targets":"a","ackType":102,"subAckType":"20002","param":"n-1"},
                      "2":{"targets":"b","ackTime":"1700000000000","ackType":"104","subAckType":2161},
                      "3":{"ackType":"100","subAckType":"12000"}}"#;
        let answer = call(body, true).unwrap();
        assert_eq!(answer.receipts.len(), 3);
        let by_task = |id: &str| {
            answer
                .receipts
                .iter()
                .find(|r| r.vendor_message_id.as_deref() == Some(id))
                .unwrap()
                .clone()
        };
        assert!(matches!(
            by_task("1").event,
            CallbackEvent::TokenInvalid { .. }
        ));
        assert!(
            matches!(by_task("2").event, CallbackEvent::Failed { ref reason } if reason.contains("app/config bug"))
        );
        let three = by_task("3");
        assert_eq!(three.token, None);
        assert!(
            matches!(three.event, CallbackEvent::Failed { ref reason } if reason.contains("12000"))
        );
    }

    #[test]
    fn every_ack_type_maps_to_one_event() {
        use CallbackEvent as E;
        let kind = |e: &E| match e {
            E::Delivered => "delivered",
            E::Failed { .. } => "failed",
            E::TokenInvalid { .. } => "invalid",
            E::Info { .. } => "info",
            E::Clicked => "clicked",
        };
        let table: &[(i64, Option<i64>, &str)] = &[
            (0, None, "delivered"),
            (100, Some(11001), "failed"),
            (100, Some(12000), "failed"),
            (100, Some(10012), "failed"),
            (100, Some(14002), "failed"),
            (101, None, "failed"),
            (102, Some(20001), "invalid"),
            (102, Some(20002), "invalid"),
            (102, Some(20006), "invalid"),
            (102, Some(1), "failed"),
            (103, None, "failed"),
            (104, Some(1017), "failed"),
            (104, Some(2124), "failed"),
            (104, Some(2144), "failed"),
            (104, Some(2158), "failed"),
            (104, Some(2161), "failed"),
            (104, Some(2162), "failed"),
            (104, Some(2183), "invalid"),
            (104, Some(2333), "failed"),
            (999, None, "info"),
        ];
        for (ack, sub, want) in table {
            assert_eq!(kind(&event(*ack, *sub)), *want, "{ack}/{sub:?}");
        }
    }

    #[test]
    fn unauthenticated_and_malformed_callbacks_are_refused() {
        assert!(matches!(
            call(r#"{"1":{"targets":"a"}}"#, false),
            Err(CallbackError::Unauthenticated(_))
        ));
        assert!(matches!(
            call("not json", true),
            Err(CallbackError::Malformed(_))
        ));
        assert!(matches!(
            call("[1]", true),
            Err(CallbackError::Malformed(_))
        ));
        assert!(matches!(
            call(r#"{"1":5}"#, true),
            Err(CallbackError::Malformed(_))
        ));
        assert_eq!(call("{}", true).unwrap().receipts, vec![]);
    }
}
