//! OPPO's delivery receipts (oppo.md §7): OPPO POSTs a JSON array to the message's
//! `call_back_url`, each element one event about one message and one or more registration
//! ids:
//!
//! ```json
//! [{"messageId": "5f4c…", "appId": "30012345", "taskId": "…",
//!   "registrationIds": "CN_b6bb…,CN_77aa…", "eventTime": 1700000001234,
//!   "param": "<delivery id>", "eventType": "push_arrive"}]
//! ```
//!
//! Each registration id of an element becomes one receipt: `tag` = `param` (the delivery id
//! pushgate put in `call_back_parameter`), `vendor_message_id` = `messageId`, `token` = the
//! registration id. Events: `push_arrive` → delivered; `regid_invalid` → token invalid;
//! `user_daily_limit` → failed (the device's daily limit for the app; the token stays);
//! `message_night_control` → informational (held or dropped by night-time control; a later
//! `push_arrive` can still mark it delivered); any other event → informational.
//!
//! OPPO does not sign its callbacks, so one is accepted only when the URL carried the app's
//! valid secret path token.

use push_core::adapter::{
    CallbackAnswer, CallbackContext, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply,
    CallbackRequest,
};
use serde_json::Value;
use time::OffsetDateTime;

/// Reads an OPPO receipt callback.
pub(crate) fn parse(
    request: &CallbackRequest,
    context: &CallbackContext<'_>,
) -> Result<CallbackAnswer, CallbackError> {
    if !context.path_token_valid {
        return Err(CallbackError::Unauthenticated(
            "OPPO does not sign receipt callbacks: the callback URL must carry the app's secret path token".to_string(),
        ));
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(CallbackError::Malformed(format!(
            "OPPO posts receipts; got {}",
            request.method
        )));
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| CallbackError::Malformed(format!("the body is not JSON: {e}")))?;
    let events = match body {
        Value::Array(events) => events,
        // One event without the array around it is read too.
        event @ Value::Object(_) => vec![event],
        _ => {
            return Err(CallbackError::Malformed(
                "OPPO posts a JSON array of receipt events".to_string(),
            ));
        }
    };
    let mut receipts = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let Value::Object(event) = event else {
            return Err(CallbackError::Malformed(format!(
                "receipt event {i} is not a JSON object"
            )));
        };
        let field = |name: &str| match event.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let Some(kind) = field("eventType") else {
            return Err(CallbackError::Malformed(format!(
                "receipt event {i} has no eventType"
            )));
        };
        let event_kind = event_of(&kind);
        let at = event
            .get("eventTime")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            });
        let tag = field("param");
        let message_id = field("messageId");
        let tokens: Vec<String> = field("registrationIds")
            .map(|ids| {
                ids.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let tokens: Vec<Option<String>> = if tokens.is_empty() {
            vec![None]
        } else {
            tokens.into_iter().map(Some).collect()
        };
        for token in tokens {
            receipts.push(CallbackReceipt {
                tag: tag.clone(),
                vendor_message_id: message_id.clone(),
                token,
                event: event_kind.clone(),
                at,
            });
        }
    }
    Ok(CallbackAnswer {
        receipts,
        reply: CallbackReply::json(r#"{"code":0,"message":"success"}"#),
    })
}

/// One OPPO `eventType` as a receipt event.
fn event_of(kind: &str) -> CallbackEvent {
    match kind {
        "push_arrive" => CallbackEvent::Delivered,
        "regid_invalid" => CallbackEvent::TokenInvalid {
            reason: "regid_invalid: OPPO says the registration id is invalid".to_string(),
        },
        "user_daily_limit" => CallbackEvent::Failed {
            reason: "user_daily_limit: the device's daily message limit for this app is reached"
                .to_string(),
        },
        "message_night_control" => CallbackEvent::Info {
            reason: "message_night_control: held or dropped by OPPO's night-time delivery control"
                .to_string(),
        },
        other => CallbackEvent::Info {
            reason: format!(
                "OPPO receipt event {}",
                other.chars().take(64).collect::<String>()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use push_core::{App, AppSettings, TenantId};
    use time::macros::datetime;

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

    fn post(body: &str) -> CallbackRequest {
        CallbackRequest {
            method: "POST".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            ..CallbackRequest::default()
        }
    }

    fn parse_with(body: &str, path_token_valid: bool) -> Result<CallbackAnswer, CallbackError> {
        let app = app();
        let context = CallbackContext {
            app: &app,
            credential: None,
            path_token_valid,
            secrets: None,
            now: OffsetDateTime::now_utc(),
        };
        parse(&post(body), &context)
    }

    #[test]
    fn every_registration_id_of_every_event_is_one_receipt() {
        let body = r#"[
          {"messageId":"5f4c","appId":"30012345","taskId":"t1","registrationIds":"CN_a,CN_b",
           "eventTime":1700000001234,"param":"d-1","eventType":"push_arrive"},
          {"messageId":"5f4d","appId":"30012345","registrationIds":"CN_c",
           "eventTime":"1700000002000","param":"d-2","eventType":"regid_invalid"},
          {"messageId":"5f4e","registrationIds":"CN_d","param":"d-3","eventType":"user_daily_limit"},
          {"messageId":"5f4f","registrationIds":"CN_e","param":"d-4","eventType":"message_night_control"},
          {"messageId":"5f50","registrationIds":"CN_f","eventType":"something_new"}
        ]"#;
        let answer = parse_with(body, true).unwrap();
        assert_eq!(answer.reply.status, 200);
        let r = &answer.receipts;
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].tag.as_deref(), Some("d-1"));
        assert_eq!(r[0].vendor_message_id.as_deref(), Some("5f4c"));
        assert_eq!(r[0].token.as_deref(), Some("CN_a"));
        assert_eq!(r[1].token.as_deref(), Some("CN_b"));
        assert_eq!(r[0].event, CallbackEvent::Delivered);
        assert_eq!(r[0].at, Some(datetime!(2023-11-14 22:13:21.234 UTC)));
        assert!(matches!(r[2].event, CallbackEvent::TokenInvalid { .. }));
        assert_eq!(r[2].at, Some(datetime!(2023-11-14 22:13:22 UTC)));
        assert!(matches!(r[3].event, CallbackEvent::Failed { .. }));
        assert!(matches!(r[4].event, CallbackEvent::Info { .. }));
        assert!(
            matches!(&r[5].event, CallbackEvent::Info { reason } if reason.contains("something_new"))
        );
        assert_eq!(r[5].tag, None);
        assert_eq!(r[5].at, None);
    }

    #[test]
    fn without_the_path_token_a_callback_is_refused() {
        let err = parse_with("[]", false).unwrap_err();
        assert!(matches!(err, CallbackError::Unauthenticated(_)), "{err:?}");
    }

    #[test]
    fn malformed_bodies_are_refused_and_a_bare_object_is_read() {
        for body in ["not json", "42", r#"["x"]"#, r#"[{"messageId":"m"}]"#] {
            let err = parse_with(body, true).unwrap_err();
            assert!(
                matches!(err, CallbackError::Malformed(_)),
                "{body}: {err:?}"
            );
        }
        let one = parse_with(
            r#"{"messageId":"m","registrationIds":"CN_a","param":"d","eventType":"push_arrive"}"#,
            true,
        )
        .unwrap();
        assert_eq!(one.receipts.len(), 1);
        assert!(parse_with("[]", true).unwrap().receipts.is_empty());
    }
}
