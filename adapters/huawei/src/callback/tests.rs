//! Receipt parsing: signatures, the path-token alternative, the status table.

use super::*;
use push_core::adapter::CallbackSecrets;
use push_core::{App, AppSettings, Secret, TenantId};

const KEY: &str = "k3yOfThirtyTwoLettersAndDigits00";

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

fn secrets() -> CallbackSecrets {
    CallbackSecrets {
        token: Secret::new(KEY),
        aes_key: Secret::new("a".repeat(43)),
    }
}

fn signature(key: &str, timestamp: i64, nonce: &str, username: &str) -> String {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&k, format!("{timestamp}{nonce}{username}").as_bytes());
    let value = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    format!("timestamp={timestamp};nonce={nonce};value={value}")
}

fn request(header: Option<String>, body: &str) -> CallbackRequest {
    CallbackRequest {
        method: "POST".into(),
        query: vec![],
        headers: header
            .map(|h| vec![(SIGNATURE_HEADER.to_string(), h)])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

const NOW_MS: i64 = 1_700_000_000_000;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_MS / 1000).unwrap()
}

fn run(
    req: &CallbackRequest,
    path_token_valid: bool,
    credential: Option<&CredentialSecret>,
) -> Result<CallbackAnswer, CallbackError> {
    let app = app();
    let secrets = secrets();
    parse(
        req,
        &CallbackContext {
            app: &app,
            credential,
            path_token_valid,
            secrets: Some(&secrets),
            now: now(),
        },
    )
}

const BODY: &str = r#"{"statuses":[
  {"biTag":"n-1","appid":"10000001","token":"tokA","status":0,"timestamp":1700000001234,"requestId":"r1"},
  {"biTag":"n-1","appid":"10000001","token":"tokB","status":2,"timestamp":1700000001235,"requestId":"r1"},
  {"biTag":"n-1","appid":"10000001","token":"tokC","status":27,"timestamp":1700000001236,"requestId":"r1"}]}"#;

#[test]
fn a_signed_batch_maps_every_status() {
    let req = request(Some(signature(KEY, NOW_MS, "abc", "chat-prod")), BODY);
    let answer = run(&req, false, None).unwrap();
    assert_eq!(answer.reply.status, 200);
    let events: Vec<_> = answer.receipts.iter().map(|r| r.event.clone()).collect();
    assert_eq!(events[0], CallbackEvent::Delivered);
    assert!(
        matches!(&events[1], CallbackEvent::TokenInvalid { reason } if reason.starts_with("2:"))
    );
    assert!(matches!(&events[2], CallbackEvent::Info { .. }));
    let first = &answer.receipts[0];
    assert_eq!(first.tag.as_deref(), Some("n-1"));
    assert_eq!(first.vendor_message_id.as_deref(), Some("r1"));
    assert_eq!(first.token.as_deref(), Some("tokA"));
    assert_eq!(
        first.at.map(|t| t.unix_timestamp_nanos() / 1_000_000),
        Some(1_700_000_001_234)
    );
}

#[test]
fn bad_stale_or_missing_signatures_are_refused() {
    let wrong_key = request(Some(signature("other", NOW_MS, "abc", "chat-prod")), BODY);
    let wrong_user = request(Some(signature(KEY, NOW_MS, "abc", "someone")), BODY);
    let stale = request(
        Some(signature(KEY, NOW_MS - 11 * 60 * 1000, "abc", "chat-prod")),
        BODY,
    );
    let garbled = request(Some("timestamp=1;value=x".into()), BODY);
    for req in [wrong_key, wrong_user, stale, garbled] {
        // A valid path token does not excuse a bad signature.
        let err = run(&req, true, None).unwrap_err();
        assert!(matches!(err, CallbackError::Unauthenticated(_)), "{err:?}");
        assert!(!err.to_string().contains(KEY));
    }
    let unsigned = request(None, BODY);
    assert!(matches!(
        run(&unsigned, false, None),
        Err(CallbackError::Unauthenticated(_))
    ));
    assert_eq!(run(&unsigned, true, None).unwrap().receipts.len(), 3);
}

#[test]
fn garbage_is_malformed_and_other_apps_receipts_are_dropped() {
    let err = run(&request(None, "{\"statuses\": 5}"), true, None).unwrap_err();
    assert!(matches!(err, CallbackError::Malformed(_)));
    let own = CredentialSecret::HuaweiOauth {
        app_id: "10000002".into(),
        app_secret: Secret::new("s"),
    };
    let answer = run(&request(None, BODY), true, Some(&own)).unwrap();
    assert!(
        answer.receipts.is_empty(),
        "receipts of app 10000001 are not 10000002's"
    );
}

#[test]
fn the_status_table_follows_the_reference() {
    for (status, kind) in [
        (0, "delivered"),
        (2, "token_invalid"),
        (5, "token_invalid"),
        (10, "token_invalid"),
        (6, "failed"),
        (14, "failed"),
        (15, "failed"),
        (22, "failed"),
        (31, "failed"),
        (102, "failed"),
        (144, "failed"),
        (201, "failed"),
        (256, "failed"),
        (27, "info"),
        (51, "info"),
        (999, "info"),
    ] {
        let got = match event_of(status) {
            CallbackEvent::Delivered => "delivered",
            CallbackEvent::Clicked => "clicked",
            CallbackEvent::Failed { .. } => "failed",
            CallbackEvent::TokenInvalid { .. } => "token_invalid",
            CallbackEvent::Info { .. } => "info",
        };
        assert_eq!(got, kind, "status {status}");
    }
}
