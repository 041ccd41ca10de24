//! URL verification, signatures, plain and safe mode, and every TEMPLATESENDJOBFINISH status.

use super::*;
use crate::crypt::{self, ServerKeys};

const TOKEN: &str = "pushgate-callback-token";
const AES: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wx00000000000000a1";

fn event(status: &str, msg_id: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\
         <FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\
         <CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>\
         <Status><![CDATA[{status}]]></Status></xml>"
    )
}

fn request(method: &str, query: &[(&str, &str)], body: &str) -> CallbackRequest {
    CallbackRequest {
        method: method.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn signed(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let (ts, nonce) = ("1409659813", "263014780");
    let mut q = vec![
        ("signature".to_string(), crypt::sign(&[TOKEN, ts, nonce])),
        ("timestamp".to_string(), ts.to_string()),
        ("nonce".to_string(), nonce.to_string()),
    ];
    q.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    q
}

fn keys() -> ServerKeys {
    ServerKeys::new(TOKEN, Some(AES)).unwrap()
}

fn trusted(keys: &ServerKeys) -> Trust<'_> {
    Trust {
        keys: Some(keys),
        app_id: Some(APP_ID),
        now: OffsetDateTime::from_unix_timestamp(1409659813 + 30).unwrap(),
    }
}

#[test]
fn url_verification_echoes_echostr_when_signed() {
    let k = keys();
    let mut r = request("GET", &[], "");
    r.query = signed(&[("echostr", "5837397749597083")]);
    let answer = parse(&r, &trusted(&k)).unwrap();
    assert!(answer.receipts.is_empty());
    assert_eq!(answer.reply.body, b"5837397749597083");
    r.query[0].1 = "0".repeat(40);
    assert!(matches!(
        parse(&r, &trusted(&k)),
        Err(CallbackError::Unauthenticated(_))
    ));
}

#[test]
fn a_plain_event_is_one_receipt_and_answered_success() {
    let k = keys();
    let mut r = request("POST", &[], &event("success", "3487542469355618313"));
    r.query = signed(&[]);
    let answer = parse(&r, &trusted(&k)).unwrap();
    assert_eq!(answer.reply.body, b"success");
    assert_eq!(
        answer.receipts,
        vec![CallbackReceipt {
            tag: None,
            vendor_message_id: Some("3487542469355618313".into()),
            token: Some("oia2TjuEGTNoeX76QEjQNrcURxG8".into()),
            event: CallbackEvent::Delivered,
            at: OffsetDateTime::from_unix_timestamp(1395658920).ok(),
        }]
    );
}

#[test]
fn unsigned_stale_or_badly_signed_events_are_refused() {
    let k = keys();
    let r = request(
        "POST",
        &[("timestamp", "1409659813"), ("nonce", "2")],
        &event("success", "1"),
    );
    assert!(matches!(
        parse(&r, &trusted(&k)),
        Err(CallbackError::Unauthenticated(_))
    ));
    let mut signed_request = request("POST", &[], &event("success", "1"));
    signed_request.query = signed(&[]);
    assert!(parse(&signed_request, &trusted(&k)).is_ok());
    let late = Trust {
        now: OffsetDateTime::from_unix_timestamp(1409659813 + 601).unwrap(),
        ..trusted(&k)
    };
    let err = parse(&signed_request, &late).unwrap_err();
    assert!(
        matches!(&err, CallbackError::Unauthenticated(m) if m.contains("10 minutes")),
        "{err:?}"
    );
}

#[test]
fn an_app_without_callback_secrets_is_refused() {
    let mut r = request("POST", &[], &event("success", "1"));
    r.query = signed(&[]);
    let k = keys();
    let none = Trust {
        keys: None,
        ..trusted(&k)
    };
    let err = parse(&r, &none).unwrap_err();
    assert!(
        matches!(&err, CallbackError::Unauthenticated(m) if m.contains("callback secrets")),
        "{err:?}"
    );
}

#[test]
fn a_safe_mode_event_is_verified_and_decrypted() {
    let k = keys();
    let key = crypt::aes_key(AES).unwrap();
    let encrypted = crypt::encrypt(
        &key,
        &event("failed:user block", "200228332"),
        APP_ID,
        [3; 16],
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    );
    let (ts, nonce) = ("1409659813", "263014780");
    let msg_signature = crypt::sign(&[TOKEN, ts, nonce, &encrypted]);
    let mut r = request("POST", &[], &body);
    r.query = signed(&[("encrypt_type", "aes"), ("msg_signature", &msg_signature)]);
    let answer = parse(&r, &trusted(&k)).unwrap();
    assert_eq!(answer.reply.body, b"success");
    assert_eq!(answer.receipts.len(), 1);
    assert_eq!(
        answer.receipts[0].vendor_message_id.as_deref(),
        Some("200228332")
    );
    assert!(matches!(
        answer.receipts[0].event,
        CallbackEvent::TokenInvalid { .. }
    ));
    // A wrong msg_signature, or a message for another AppID, is refused.
    let mut bad = r.clone();
    bad.query.retain(|(k, _)| k != "msg_signature");
    bad.query.push(("msg_signature".into(), "0".repeat(40)));
    assert!(matches!(
        parse(&bad, &trusted(&k)),
        Err(CallbackError::Unauthenticated(_))
    ));
    let other = Trust {
        app_id: Some("wx00000000000000b2"),
        ..trusted(&k)
    };
    assert!(matches!(
        parse(&r, &other),
        Err(CallbackError::Malformed(_))
    ));
}

#[test]
fn every_template_status_maps_to_one_event() {
    assert_eq!(template_status("success"), CallbackEvent::Delivered);
    // §6.1: a block fails the delivery and deactivates the channel for this user.
    assert!(
        matches!(template_status("failed:user block"), CallbackEvent::TokenInvalid { reason } if reason.starts_with("failed:user block"))
    );
    assert!(
        matches!(template_status("failed: system failed"), CallbackEvent::Failed { reason } if reason.contains("system failed"))
    );
    assert!(
        matches!(template_status("failed:freq limit"), CallbackEvent::Failed { reason } if reason.contains("frequency"))
    );
    assert!(
        matches!(template_status("failed:something new"), CallbackEvent::Failed { reason } if reason.contains("unknown"))
    );
    assert!(matches!(
        template_status("pending"),
        CallbackEvent::Info { .. }
    ));
}

#[test]
fn other_events_and_messages_carry_no_receipt() {
    let subscribe = "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>";
    assert!(receipts(subscribe).unwrap().is_empty());
    let text = "<xml><MsgType><![CDATA[text]]></MsgType><Content>hi &amp; bye</Content></xml>";
    assert!(receipts(text).unwrap().is_empty());
    assert_eq!(field(text, "Content").as_deref(), Some("hi & bye"));
    assert!(receipts("{\"json\":1}").is_err());
    let no_id = "<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><Status>success</Status></xml>";
    assert!(matches!(receipts(no_id), Err(CallbackError::Malformed(_))));
}

#[test]
fn subscribe_sent_events_give_one_receipt_per_list_entry() {
    let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oMP1]]></FromUserName>\
        <CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_sent_event]]></Event>\
        <SubscribeMsgSentEvent><List><TemplateId><![CDATA[t1]]></TemplateId><MsgID><![CDATA[1700827132819554304]]></MsgID>\
        <ErrorCode><![CDATA[0]]></ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List>\
        <List><TemplateId><![CDATA[t2]]></TemplateId><MsgID><![CDATA[1700827132819554305]]></MsgID>\
        <ErrorCode><![CDATA[10005]]></ErrorCode><ErrorStatus><![CDATA[system fail]]></ErrorStatus></List></SubscribeMsgSentEvent></xml>";
    let r = receipts(xml).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].event, CallbackEvent::Delivered);
    assert_eq!(
        r[0].vendor_message_id.as_deref(),
        Some("1700827132819554304")
    );
    assert!(matches!(&r[1].event, CallbackEvent::Failed { reason } if reason.contains("10005")));
    assert_eq!(r[1].token.as_deref(), Some("oMP1"));
}
