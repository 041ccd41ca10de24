//! The official account's server URL (wechat.md §6): the GET URL verification and the
//! POSTed XML events, in plain or safe (AES) mode, read into [`CallbackReceipt`]s.
//!
//! Authentication: the server `Token` and `EncodingAESKey` are the app's pushgate-made
//! callback secrets (`CallbackContext::secrets`, shown by `GET /v1/apps/{app}/callbacks` for
//! the tenant to enter in the official account's server configuration). `signature` (plain
//! mode and the GET verification) or `msg_signature` (safe mode, covering the `Encrypt`
//! text) must verify and `timestamp` be within 10 minutes of now; the path token alone is
//! not enough, since WeChat always signs. An app without callback secrets yet is refused.
//!
//! Events: `TEMPLATESENDJOBFINISH` gives one receipt (`MsgID` = the `msgid` of the send,
//! `FromUserName` = the openid): `success` → delivered; `failed:user block` → token invalid
//! (§6.1: mark failed and deactivate the channel for this user — the user refuses the
//! account's messages, as 43101 on a send; the device of this openid is deactivated until
//! the client registers it again); `failed: system failed`, `failed:freq limit` and any
//! other `failed…` → failed. `subscribe_msg_sent_event` gives one receipt per `List` entry
//! (`ErrorCode` 0 → delivered, else failed). Every other event or message is answered and
//! carries no receipt. The reply is always the literal `success` (WeChat retries anything
//! else three times); a GET verification echoes `echostr`.
//!
//! XML: WeChat's events are flat elements, some in CDATA, so the few fields are read by
//! hand (no XML crate in the workspace): [`field`] takes the first `<Tag>…</Tag>`, strips a
//! CDATA section or unescapes the five XML entities.

use crate::crypt::ServerKeys;
use push_core::adapter::{
    CallbackAnswer, CallbackError, CallbackEvent, CallbackReceipt, CallbackReply, CallbackRequest,
};
use time::OffsetDateTime;

/// The furthest a callback's `timestamp` may be from now.
const MAX_SKEW_SECONDS: i64 = 600;

/// How a callback may be authenticated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trust<'a> {
    /// The server keys, when the app has callback secrets.
    pub keys: Option<&'a ServerKeys>,
    /// The AppID a safe-mode message must end with.
    pub app_id: Option<&'a str>,
    /// Now, for the timestamp check.
    pub now: OffsetDateTime,
}

fn unauthenticated(why: &str) -> CallbackError {
    CallbackError::Unauthenticated(why.to_string())
}

fn malformed(why: &str) -> CallbackError {
    CallbackError::Malformed(why.to_string())
}

/// Reads one callback request.
pub(crate) fn parse(
    request: &CallbackRequest,
    trust: &Trust<'_>,
) -> Result<CallbackAnswer, CallbackError> {
    let q = |name| request.query_param(name).unwrap_or_default();
    let (timestamp, nonce) = (q("timestamp"), q("nonce"));
    let aes = q("encrypt_type").eq_ignore_ascii_case("aes");
    let body =
        std::str::from_utf8(&request.body).map_err(|_| malformed("the body is not UTF-8"))?;
    let Some(keys) = trust.keys else {
        return Err(unauthenticated(
            "the app has no callback secrets yet: GET /v1/apps/{app}/callbacks and enter its Token and EncodingAESKey in the official account's server configuration",
        ));
    };
    let fresh = timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (t - trust.now.unix_timestamp()).abs() <= MAX_SKEW_SECONDS);
    if !fresh {
        return Err(unauthenticated(
            "timestamp missing or more than 10 minutes off",
        ));
    }
    if (!aes || request.method.eq_ignore_ascii_case("GET"))
        && !keys.verify(q("signature"), &[timestamp, nonce])
    {
        return Err(unauthenticated("signature does not verify"));
    }
    if request.method.eq_ignore_ascii_case("GET") {
        let echostr = request
            .query_param("echostr")
            .ok_or_else(|| malformed("a GET without echostr"))?;
        return Ok(CallbackAnswer {
            receipts: Vec::new(),
            reply: CallbackReply::text(echostr),
        });
    }
    let xml = if aes {
        let encrypted = field(body, "Encrypt").ok_or_else(|| malformed("no <Encrypt> element"))?;
        if !keys.verify(q("msg_signature"), &[timestamp, nonce, &encrypted]) {
            return Err(unauthenticated("msg_signature does not verify"));
        }
        keys.decrypt(&encrypted, trust.app_id)
            .map_err(|e| malformed(&e))?
    } else {
        body.to_string()
    };
    Ok(CallbackAnswer {
        receipts: receipts(&xml)?,
        reply: CallbackReply::text("success"),
    })
}

/// The receipts an event carries.
pub(crate) fn receipts(xml: &str) -> Result<Vec<CallbackReceipt>, CallbackError> {
    if !xml.trim_start().starts_with('<') {
        return Err(malformed("the body is not XML"));
    }
    if field(xml, "MsgType").as_deref() != Some("event") {
        return Ok(Vec::new());
    }
    let openid = field(xml, "FromUserName").filter(|o| !o.is_empty());
    let at = field(xml, "CreateTime")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    let event = field(xml, "Event").unwrap_or_default();
    match event.as_str() {
        "TEMPLATESENDJOBFINISH" => {
            let msg_id = field(xml, "MsgID")
                .or_else(|| field(xml, "MsgId"))
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| malformed("TEMPLATESENDJOBFINISH without a numeric MsgID"))?;
            let status = field(xml, "Status").unwrap_or_default();
            Ok(vec![CallbackReceipt {
                tag: None,
                vendor_message_id: Some(msg_id),
                token: openid,
                event: template_status(&status),
                at,
            }])
        }
        "subscribe_msg_sent_event" => Ok(elements(xml, "List")
            .into_iter()
            .filter_map(|item| {
                let msg_id = field(item, "MsgID").or_else(|| field(item, "MsgId"))?;
                let code = field(item, "ErrorCode").unwrap_or_default();
                let status = field(item, "ErrorStatus").unwrap_or_default();
                let event = if code.trim() == "0" {
                    CallbackEvent::Delivered
                } else {
                    CallbackEvent::Failed {
                        reason: format!(
                            "subscribe_msg_sent_event ErrorCode {}: {status}",
                            code.trim()
                        ),
                    }
                };
                Some(CallbackReceipt {
                    tag: None,
                    vendor_message_id: Some(msg_id.trim().to_string()),
                    token: openid.clone(),
                    event,
                    at,
                })
            })
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// What a `TEMPLATESENDJOBFINISH` status means (matched exactly; unknown failures fail).
pub(crate) fn template_status(status: &str) -> CallbackEvent {
    match status {
        "success" => CallbackEvent::Delivered,
        // The binary deactivates a device only on `TokenInvalid` (and only the device whose
        // current token is this openid: the user's mini-program device is untouched).
        "failed:user block" => CallbackEvent::TokenInvalid {
            reason: "failed:user block: the user refuses messages from this official account"
                .to_string(),
        },
        "failed: system failed" => CallbackEvent::Failed {
            reason: "failed: system failed: WeChat could not deliver it".to_string(),
        },
        "failed:freq limit" => CallbackEvent::Failed {
            reason: "failed:freq limit: WeChat's per-user frequency limit".to_string(),
        },
        other if other.starts_with("failed") => CallbackEvent::Failed {
            reason: format!(
                "{}: unknown WeChat failure",
                other.chars().take(64).collect::<String>()
            ),
        },
        other => CallbackEvent::Info {
            reason: format!(
                "unknown TEMPLATESENDJOBFINISH status {:?}",
                other.chars().take(64).collect::<String>()
            ),
        },
    }
}

/// The text of the first `<tag>…</tag>` (CDATA stripped, entities unescaped).
pub(crate) fn field(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).into_iter().next().map(text)
}

/// The inner texts of every `<tag>…</tag>`, in order (no nesting of the same tag).
fn elements<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        // Skip CDATA so a `</tag>` inside it does not end the element.
        let end = if after.trim_start().starts_with("<![CDATA[") {
            after
                .find("]]>")
                .and_then(|c| after[c..].find(&close).map(|e| c + e))
        } else {
            after.find(&close)
        };
        let Some(end) = end else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

fn text(raw: &str) -> String {
    let trimmed = raw.trim();
    if let Some(inner) = trimmed
        .strip_prefix("<![CDATA[")
        .and_then(|s| s.strip_suffix("]]>"))
    {
        return inner.to_string();
    }
    raw.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests;
