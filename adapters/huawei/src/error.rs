//! The classifier: every Huawei answer to a send becomes exactly one [`Outcome`] per token.
//!
//! Huawei answers `{"code": "80000000", "msg": …, "requestId": …}` with HTTP 200 for most
//! results, errors included (huawei.md §6–7), so the [`RULES`] table is searched in three
//! stages: HTTP statuses that win over any body (429 and 502–504: flow control or a
//! gateway), then the body's `code` (a string of digits; a number is tolerated), then the
//! HTTP status alone when there is no code (garbage, HTML or empty bodies).
//!
//! Decisions (huawei.md §7):
//! - `80100000` (partial success): `msg` is a JSON document *inside a string*; tokens in its
//!   `illegal_tokens` are `InvalidToken`, the others `Accepted(requestId)`.
//! - `80300007` (all tokens invalid) is also what a credential of the wrong app gets, so it
//!   deactivates devices only when that cannot be the explanation — see [`outcomes`].
//! - `80200001` / `80200003` are `AuthFailed` (the dispatcher forgets the access token and
//!   retries once); `80300002` (Push Kit not enabled, no permission) is `AuthFailed` too,
//!   so the credential is flagged — no device is deactivated.
//! - `81000001`, unknown `81…` codes, 429, 5xx, timeouts and network errors retry
//!   (honouring `Retry-After`); unknown `80…` and other codes are `Rejected` and logged.
//! - A 2xx without a Huawei code is `Retry`: Huawei answers even its errors with a code, so
//!   such a body came from something else (a proxy, a wrong `base_url`), and only
//!   `80000000` / `80100000` prove the message was taken.
//! - A 2xx that is not valid JSON but *opens* with `{"code":"80000000"` or `"80100000"` (an
//!   answer cut short — the client keeps at most [`crate::client::MAX_BODY_BYTES`]) is
//!   read by that code: §7 says never to retry a 2xx with either, since resending would
//!   duplicate what Huawei already took. Every token is then `Accepted` (without a
//!   `requestId`); an illegal token that could not be read stays active until a later send
//!   names it.
//!
//! Reasons carry the code, the HTTP status, what to do and Huawei's `msg` (cut to 200
//! characters, device tokens replaced by `[token]`); never a secret or access token.

use crate::client::Answer;
use push_core::adapter::Outcome;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Every token accepted.
    Accepted,
    /// Some tokens invalid, listed in `msg`.
    Partial,
    /// Every token invalid — or the credential belongs to another app (see [`outcomes`]).
    AllInvalid,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: a bug or an entitlement missing, not the message.
    RejectedAlert,
    /// Refresh the access token and retry once.
    AuthFailed,
    /// The app's console configuration: flag the credential, alert.
    AuthFailedConfig,
    /// Retry, honouring Retry-After.
    Retry,
}

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// HTTP statuses decided before the body is read (inclusive range).
    Busy(u16, u16),
    /// One result code.
    Code(&'static str),
    /// A range of result codes of the same length (inclusive).
    Codes(&'static str, &'static str),
    /// Any other code starting with this prefix (`""` = any code at all).
    Prefix(&'static str),
    /// An HTTP status range, when the body has no code.
    Http(u16, u16),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    /// What it matches.
    pub on: On,
    /// What to do.
    pub action: Action,
    /// What it means / what to do, for the reason.
    pub advice: &'static str,
}

const fn rule(on: On, action: Action, advice: &'static str) -> Rule {
    Rule { on, action, advice }
}

/// The one table (huawei.md §7), searched stage by stage, in order within each.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // HTTP statuses that win over any body
    rule(On::Busy(429, 429), Action::Retry, "Huawei flow control: slow down"),
    rule(On::Busy(502, 504), Action::Retry, "Huawei gateway or flow control: slow down"),
    // result codes
    rule(On::Code("80000000"), Action::Accepted, "success"),
    rule(On::Code("80100000"), Action::Partial, "partial success"),
    rule(On::Code("80100001"), Action::Rejected, "some request parameters are wrong"),
    rule(On::Code("80100002"), Action::Rejected, "synchronous messages take one token; pushgate sends none"),
    rule(On::Code("80100003"), Action::RejectedAlert, "message structure wrong: an adapter bug, please report it"),
    rule(On::Code("80100004"), Action::Rejected, "the message expired before it was sent (ttl)"),
    rule(On::Code("80100013"), Action::Rejected, "collapse_key invalid: it must be -1 to 100"),
    rule(On::Code("80100016"), Action::Rejected, "content: the message contains sensitive words"),
    rule(On::Code("80200001"), Action::AuthFailed, "OAuth authentication error (no token, or one issued for another App ID); a new token is fetched"),
    rule(On::Code("80200003"), Action::AuthFailed, "OAuth token expired or malformed; a new one is fetched"),
    rule(On::Code("80300002"), Action::AuthFailedConfig, "the app may not push: enable Push Kit for the App ID in AppGallery Connect (and the overseas entitlement or multi-sender project if used); no device was deactivated"),
    rule(On::Code("80300007"), Action::AllInvalid, "all tokens invalid"),
    rule(On::Code("80300008"), Action::Rejected, "payload too large: Huawei allows 4096 bytes without the tokens"),
    rule(On::Code("80300010"), Action::RejectedAlert, "token count wrong (0 or over 1000): an adapter bug, please report it"),
    rule(On::Code("80300011"), Action::RejectedAlert, "no permission for high-priority messages: apply for it in AppGallery Connect, or send with priority normal"),
    rule(On::Code("81000001"), Action::Retry, "Huawei internal error"),
    rule(On::Codes("82000001", "82000013"), Action::Rejected, "topic, group or condition error; pushgate sends to tokens only"),
    rule(On::Prefix("81"), Action::Retry, "unknown Huawei system error"),
    rule(On::Prefix(""), Action::Rejected, "unknown Huawei result code"),
    // HTTP status alone (no code in the body)
    rule(On::Http(200, 299), Action::Retry, "answer without a Huawei result code: check vendors.huawei.base_url"),
    rule(On::Http(401, 401), Action::AuthFailed, "the access token was refused; a new one is fetched"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check that Push Kit is enabled for the App ID"),
    rule(On::Http(404, 404), Action::AuthFailedConfig, "not found: check the credential's App ID and vendors.huawei.base_url"),
    rule(On::Http(400, 499), Action::Rejected, "Huawei refused the request"),
    rule(On::Http(500, 599), Action::Retry, "Huawei server error"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status: check vendors.huawei.base_url"),
];

/// Huawei's response body.
#[derive(Debug, Default, Deserialize)]
struct Body {
    code: Option<Value>,
    msg: Option<Value>,
    #[serde(rename = "requestId")]
    request_id: Option<Value>,
}

/// The partial-success document inside `msg`.
#[derive(Debug, Default, Deserialize)]
struct PartialMsg {
    #[serde(default)]
    illegal_tokens: Vec<String>,
}

/// What an answer means for the whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The deciding rule's action.
    pub action: Action,
    /// The reason for failed tokens (code, HTTP status, advice, Huawei's msg).
    pub reason: String,
    /// `requestId`, the vendor message id of accepted tokens.
    pub request_id: Option<String>,
    /// Tokens `80100000` lists as illegal.
    pub illegal: HashSet<String>,
    /// The wait Huawei asked for.
    pub after: Option<Duration>,
}

/// Classifies Huawei's answer to a send to `tokens` (which are scrubbed from the reason).
pub(crate) fn classify(answer: &Answer, tokens: &[&str], now: OffsetDateTime) -> Verdict {
    let body: Body = match serde_json::from_slice(&answer.body) {
        Ok(body) => body,
        Err(_) => {
            let code = (200..300)
                .contains(&answer.status)
                .then(|| leading_success_code(&answer.body))
                .flatten();
            if let Some(code) = code {
                tracing::warn!(
                    vendor = "huawei",
                    code,
                    bytes = answer.body.len(),
                    "unreadable answer (cut short?) opening with a success code: not retried; illegal tokens it lists are not deactivated"
                );
            }
            Body {
                code: code.map(|c| Value::String(c.to_string())),
                ..Body::default()
            }
        }
    };
    let code = match &body.code {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let msg = match &body.msg {
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let rule = find_rule(answer.status, code.as_deref());
    let http = format!("HTTP {}", answer.status);
    let mut reason = match &code {
        Some(code) if !matches!(rule.on, On::Busy(..)) => {
            format!("{code} ({http}): {}", rule.advice)
        }
        _ => format!("{http}: {}", rule.advice),
    };
    let mut illegal = HashSet::new();
    if rule.action == Action::Partial {
        let parsed: PartialMsg = match &body.msg {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
            Some(other) => serde_json::from_value(other.clone()).unwrap_or_default(),
            None => PartialMsg::default(),
        };
        illegal = parsed.illegal_tokens.into_iter().collect();
        reason = format!(
            "80100000 ({http}): Huawei lists the token as illegal (uninstalled, expired or of another app)"
        );
    } else if let Some(msg) = msg.filter(|m| !m.is_empty() && rule.action != Action::Accepted) {
        let shown: String = scrub(&msg, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (Huawei: {shown})"));
    }
    let request_id = match body.request_id {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Verdict {
        action: rule.action,
        reason,
        request_id,
        illegal,
        after: retry_after(answer.retry_after.as_deref(), now),
    }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        action: Action::Retry,
        reason: format!("Huawei: {reason}"),
        request_id: None,
        illegal: HashSet::new(),
        after: None,
    }
}

/// One outcome per token, in order.
///
/// `80300007` ("all tokens invalid") deactivates devices only when Huawei cannot mean "this
/// credential belongs to another app": when the request carried exactly one token (one
/// device, as the reference's table says), or when this credential has had a send accepted
/// before (`proven`: its App ID works, so the tokens really are dead). Otherwise every
/// token is `Rejected` with a reason asking to check the App ID and the client's
/// configuration, and no device is touched. (Not `AuthFailed`: a batch of a user's stale
/// devices right after a restart would then mark a good credential unhealthy.)
pub(crate) fn outcomes(verdict: &Verdict, tokens: &[&str], proven: bool) -> Vec<Outcome> {
    let accepted = || Outcome::Accepted {
        vendor_message_id: verdict.request_id.clone(),
    };
    let invalid = |reason: &str| Outcome::InvalidToken {
        reason: reason.to_string(),
        invalid_since: None,
    };
    let one = |reason: &str| -> Outcome {
        match verdict.action {
            Action::Accepted | Action::Partial => accepted(),
            Action::AllInvalid => invalid(reason),
            Action::Rejected | Action::RejectedAlert => Outcome::Rejected {
                reason: reason.to_string(),
            },
            Action::AuthFailed | Action::AuthFailedConfig => Outcome::AuthFailed {
                reason: reason.to_string(),
            },
            Action::Retry => Outcome::Retry {
                after: verdict.after,
                reason: reason.to_string(),
            },
        }
    };
    match verdict.action {
        Action::Partial => tokens
            .iter()
            .map(|t| {
                if verdict.illegal.contains(*t) {
                    invalid(&verdict.reason)
                } else {
                    accepted()
                }
            })
            .collect(),
        Action::AllInvalid if tokens.len() == 1 => vec![invalid(&verdict.reason)],
        Action::AllInvalid if proven => {
            let reason = format!(
                "{}; this credential has had sends accepted, so its App ID is right",
                verdict.reason
            );
            tokens.iter().map(|_| invalid(&reason)).collect()
        }
        Action::AllInvalid => {
            let reason = format!(
                "{}: Huawei says all {} tokens of this batch are invalid and this credential has had no send accepted yet — check that its App ID is the app the devices registered with (AppGallery Connect, the client's agconnect-services.json and package name); no device was deactivated",
                verdict.reason,
                tokens.len()
            );
            tokens
                .iter()
                .map(|_| Outcome::Rejected {
                    reason: reason.clone(),
                })
                .collect()
        }
        _ => tokens.iter().map(|_| one(&verdict.reason)).collect(),
    }
}

/// Whether a verdict is not the message's fault (auth, configuration, outage, an unknown
/// code): the adapter reports itself degraded with its reason.
pub(crate) fn degrades(verdict: &Verdict, tokens: usize, proven: bool) -> bool {
    match verdict.action {
        Action::Accepted | Action::Partial | Action::Rejected => {
            verdict.reason.contains("unknown Huawei result code")
        }
        Action::AllInvalid => tokens > 1 && !proven,
        Action::RejectedAlert | Action::AuthFailed | Action::AuthFailedConfig | Action::Retry => {
            true
        }
    }
}

/// The deciding rule: HTTP statuses that win, then the code, then the HTTP status.
pub(crate) fn find_rule(status: u16, code: Option<&str>) -> Rule {
    let busy = RULES
        .iter()
        .find(|r| matches!(r.on, On::Busy(lo, hi) if (lo..=hi).contains(&status)));
    let by_code = || {
        let code = code?;
        RULES.iter().find(|r| match r.on {
            On::Code(c) => c == code,
            On::Codes(lo, hi) => code.len() == lo.len() && (lo..=hi).contains(&code),
            On::Prefix(p) => code.starts_with(p),
            _ => false,
        })
    };
    let by_http = || {
        RULES
            .iter()
            .find(|r| matches!(r.on, On::Http(lo, hi) if (lo..=hi).contains(&status)))
    };
    busy.or_else(by_code)
        .or_else(by_http)
        .copied()
        .unwrap_or(rule(On::Http(0, 999), Action::Retry, "unexpected answer"))
}

/// The success code an unparseable body opens with (`{"code":"80000000"` or
/// `{"code":"80100000"`, whitespace allowed; the code may be a number): how Huawei's answer
/// starts, so a body cut short still says it was taken. Only the first key counts — a code
/// further in could be anything's.
fn leading_success_code(body: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&body[..body.len().min(64)]);
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"code\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let (quoted, rest) = match rest.strip_prefix('"') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let code = ["80000000", "80100000"]
        .into_iter()
        .find(|c| rest.starts_with(c))?;
    let after = rest.strip_prefix(code)?.trim_start();
    let closed = if quoted {
        after.starts_with('"')
    } else {
        after.starts_with(',') || after.starts_with('}')
    };
    closed.then_some(code)
}

fn scrub(text: &str, tokens: &[&str]) -> String {
    tokens
        .iter()
        .filter(|t| !t.is_empty())
        .fold(text.to_string(), |text, t| text.replace(*t, "[token]"))
}

/// Parses `Retry-After`: delay-seconds or an HTTP date, relative to `now`; a date in the
/// past means "now" (zero).
pub(crate) fn retry_after(value: Option<&str>, now: OffsetDateTime) -> Option<Duration> {
    let value = value?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
