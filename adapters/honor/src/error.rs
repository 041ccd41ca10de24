//! The classifier: every Honor answer to a send becomes exactly one [`Outcome`] per token.
//!
//! Honor answers `{"code": <number>, "message": …, "data": {"sendResult", "requestId",
//! "failTokens", "expireTokens"}}` (honor.md §6). Most error codes are unverified, so the
//! [`RULES`] table is deliberately small and searched in three stages: HTTP statuses that
//! win over any body (401 → refresh the token; 429 and every 5xx → retry), then the body's
//! `code`, then the HTTP status alone when there is no code.
//!
//! Decisions (honor.md §6):
//! - success is `code == 200` **and** `data.sendResult == true`; tokens in `expireTokens` are
//!   `InvalidToken`, tokens in `failTokens` `Rejected` (Honor could not send to them; the
//!   token is kept), the others `Accepted(requestId)`. `80100000` (partial success) is read
//!   the same way.
//! - A `code 200` **without** `sendResult: true` is not a success, so no token of it is
//!   `Accepted`: `expireTokens` are still `InvalidToken` (Honor says the token is dead,
//!   whatever happened to the send) and `failTokens` `Rejected`, and every token in neither
//!   list is `Rejected` too — honor.md §6 names no transient meaning for it, so it falls
//!   under "everything else → `Rejected`"; `Retry` could deliver twice if Honor did send to
//!   some devices.
//! - `80300007`-like "all tokens invalid" and an answer listing **every** token of a batch in
//!   `expireTokens` deactivate devices only when one token was sent or the credential has had
//!   a send accepted before — otherwise `Rejected` with advice and the adapter degrades (a
//!   credential of another Honor app would explain the answer too; Huawei's guard).
//! - `80200001` / `80200003` and any `8020xxxx` (Huawei-like auth codes, unverified) and HTTP
//!   401 are `AuthFailed` (refresh once); `8010xxxx` (parameter errors) are `Rejected`;
//!   `80300008` (too large) `Rejected`, `80300010` (token count) `Rejected` as an adapter
//!   bug. Every other code is `Rejected` with the code and `message`, as honor.md advises.
//! - A 2xx without a code is `Retry`: only `code 200` proves the message was taken.
//!
//! Reasons carry the code, the HTTP status, what to do and Honor's `message` (cut to 200
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
    /// Accepted, tokens in `expireTokens` / `failTokens` excepted.
    Accepted,
    /// `code 200` without `sendResult: true`: nothing was sent; tokens in `expireTokens` are
    /// invalid, every other token is rejected.
    NotSent,
    /// Every token invalid — or a credential of another app (see [`outcomes`]).
    AllInvalid,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: an adapter bug.
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
    Status(u16, u16),
    /// One result code.
    Code(i64),
    /// Codes starting with these digits.
    Prefix(&'static str),
    /// Any other code.
    AnyCode,
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

/// The one table (honor.md §6), searched stage by stage, in order within each.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // HTTP statuses that win over any body
    rule(On::Status(401, 401), Action::AuthFailed, "the access token was refused (expired or invalid); a new one is fetched"),
    rule(On::Status(429, 429), Action::Retry, "Honor flow control: slow down"),
    rule(On::Status(500, 599), Action::Retry, "Honor flow control or server error"),
    // result codes
    rule(On::Code(200), Action::Accepted, "success"),
    rule(On::Code(80100000), Action::Accepted, "partial success"),
    rule(On::Code(80200001), Action::AuthFailed, "OAuth authentication error (no token, or one of another app); a new token is fetched"),
    rule(On::Code(80200003), Action::AuthFailed, "OAuth token expired or malformed; a new one is fetched"),
    rule(On::Code(80300007), Action::AllInvalid, "all tokens invalid"),
    rule(On::Code(80300008), Action::Rejected, "the message is too large"),
    rule(On::Code(80300010), Action::RejectedAlert, "token count wrong (0 or over 1000): an adapter bug, please report it"),
    rule(On::Prefix("8020"), Action::AuthFailed, "Honor authentication error; a new token is fetched"),
    rule(On::Prefix("8010"), Action::Rejected, "Honor refused a request parameter"),
    rule(On::AnyCode, Action::Rejected, "unknown Honor result code"),
    // HTTP status alone (no code in the body)
    rule(On::Http(200, 299), Action::Retry, "answer without a Honor result code: check vendors.honor.base_url"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check that push is enabled for the App ID in the Honor console"),
    rule(On::Http(404, 404), Action::AuthFailedConfig, "not found: check the credential's App ID and vendors.honor.base_url"),
    rule(On::Http(400, 499), Action::Rejected, "Honor refused the request"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status: check vendors.honor.base_url"),
];

#[derive(Debug, Default, Deserialize)]
struct Data {
    #[serde(rename = "sendResult")]
    send_result: Option<bool>,
    #[serde(rename = "requestId")]
    request_id: Option<Value>,
    #[serde(rename = "failTokens", default)]
    fail_tokens: Option<Vec<String>>,
    #[serde(rename = "expireTokens", default)]
    expire_tokens: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    code: Option<Value>,
    message: Option<Value>,
    #[serde(rename = "requestId")]
    request_id: Option<Value>,
    data: Option<Data>,
}

/// What an answer means for the whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The deciding rule's action.
    pub action: Action,
    /// The reason for failed tokens (code, HTTP status, advice, Honor's message).
    pub reason: String,
    /// `data.requestId`, the vendor message id of accepted tokens.
    pub request_id: Option<String>,
    /// `data.expireTokens`.
    pub expired: HashSet<String>,
    /// `data.failTokens`.
    pub failed: HashSet<String>,
    /// The wait Honor asked for.
    pub after: Option<Duration>,
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies Honor's answer to a send to `tokens` (which are scrubbed from the reason).
pub(crate) fn classify(answer: &Answer, tokens: &[&str], now: OffsetDateTime) -> Verdict {
    let body: Body = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = match &body.code {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let data = body.data.unwrap_or_default();
    let mut rule = find_rule(answer.status, code);
    let http = format!("HTTP {}", answer.status);
    let expired: HashSet<String> = data.expire_tokens.unwrap_or_default().into_iter().collect();
    let failed: HashSet<String> = data.fail_tokens.unwrap_or_default().into_iter().collect();
    // A rule matches codes only; success also needs sendResult (honor.md §6).
    if rule.on == On::Code(200) && data.send_result != Some(true) {
        rule = Rule {
            on: On::Code(200),
            action: Action::NotSent,
            advice: "Honor answered code 200 without sendResult true: the message was not sent",
        };
    }
    let mut reason = match code {
        Some(code) if !matches!(rule.on, On::Status(..)) => {
            format!("Honor {code} ({http}): {}", rule.advice)
        }
        _ => format!("Honor {http}: {}", rule.advice),
    };
    if let Some(message) = text(body.message.as_ref()).filter(|_| rule.advice != "success") {
        let shown: String = scrub(&message, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (Honor: {shown})"));
    }
    Verdict {
        action: rule.action,
        reason,
        request_id: text(data.request_id.as_ref()).or_else(|| text(body.request_id.as_ref())),
        expired,
        failed,
        after: retry_after(answer.retry_after.as_deref(), now),
    }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        action: Action::Retry,
        reason: format!("Honor: {reason}"),
        request_id: None,
        expired: HashSet::new(),
        failed: HashSet::new(),
        after: None,
    }
}

/// Whether Honor named every token of the request dead (an `80300007`-like answer, or all
/// of them in `expireTokens`, with or without `sendResult`).
fn all_dead(verdict: &Verdict, tokens: &[&str]) -> bool {
    verdict.action == Action::AllInvalid
        || (matches!(verdict.action, Action::Accepted | Action::NotSent)
            && tokens.iter().all(|t| verdict.expired.contains(*t)))
}

/// One outcome per token, in order. An all-dead answer deactivates devices only for one
/// token or a proven credential (see the module documentation).
pub(crate) fn outcomes(verdict: &Verdict, tokens: &[&str], proven: bool) -> Vec<Outcome> {
    let reason = verdict.reason.clone();
    let invalid = || Outcome::InvalidToken {
        reason: format!("{reason}; Honor lists the token as expired or invalid"),
        invalid_since: None,
    };
    let whole = match verdict.action {
        Action::Accepted | Action::NotSent | Action::AllInvalid => None,
        Action::Rejected | Action::RejectedAlert => Some(Outcome::Rejected {
            reason: reason.clone(),
        }),
        Action::AuthFailed | Action::AuthFailedConfig => Some(Outcome::AuthFailed {
            reason: reason.clone(),
        }),
        Action::Retry => Some(Outcome::Retry {
            after: verdict.after,
            reason: reason.clone(),
        }),
    };
    if let Some(outcome) = whole {
        return tokens.iter().map(|_| outcome.clone()).collect();
    }
    if all_dead(verdict, tokens) && tokens.len() > 1 && !proven {
        let reason = format!(
            "{reason}: Honor says all {} tokens of this batch are invalid and this credential has had no send accepted yet — check that its App ID and client belong to the app the devices registered with; no device was deactivated",
            tokens.len()
        );
        return tokens
            .iter()
            .map(|_| Outcome::Rejected {
                reason: reason.clone(),
            })
            .collect();
    }
    tokens
        .iter()
        .map(|t| {
            if verdict.failed.contains(*t) {
                Outcome::Rejected {
                    reason: format!("{reason}; Honor could not send to this token (failTokens)"),
                }
            } else if verdict.expired.contains(*t) || verdict.action == Action::AllInvalid {
                invalid()
            } else if verdict.action == Action::NotSent {
                Outcome::Rejected {
                    reason: format!(
                        "{reason}; this token is in neither failTokens nor expireTokens"
                    ),
                }
            } else {
                Outcome::Accepted {
                    vendor_message_id: verdict.request_id.clone(),
                }
            }
        })
        .collect()
}

/// Whether a verdict is not the message's fault: the adapter reports itself degraded.
pub(crate) fn degrades(verdict: &Verdict, tokens: &[&str], proven: bool) -> bool {
    match verdict.action {
        Action::Accepted | Action::NotSent | Action::AllInvalid => {
            all_dead(verdict, tokens) && tokens.len() > 1 && !proven
        }
        Action::Rejected => verdict.reason.contains("unknown Honor result code"),
        Action::RejectedAlert | Action::AuthFailed | Action::AuthFailedConfig | Action::Retry => {
            true
        }
    }
}

/// The deciding rule: HTTP statuses that win, then the code, then the HTTP status.
pub(crate) fn find_rule(status: u16, code: Option<i64>) -> Rule {
    let first = RULES
        .iter()
        .find(|r| matches!(r.on, On::Status(lo, hi) if (lo..=hi).contains(&status)));
    let by_code = || {
        let code = code?;
        let digits = code.to_string();
        RULES.iter().find(|r| match r.on {
            On::Code(c) => c == code,
            On::Prefix(p) => digits.starts_with(p),
            On::AnyCode => true,
            _ => false,
        })
    };
    let by_http = || {
        RULES
            .iter()
            .find(|r| matches!(r.on, On::Http(lo, hi) if (lo..=hi).contains(&status)))
    };
    first
        .or_else(by_code)
        .or_else(by_http)
        .copied()
        .unwrap_or(rule(On::Http(0, 999), Action::Retry, "unexpected answer"))
}

fn scrub(text: &str, tokens: &[&str]) -> String {
    tokens
        .iter()
        .filter(|t| !t.is_empty())
        .fold(text.to_string(), |text, t| text.replace(*t, "[token]"))
}

/// Parses `Retry-After`: delay-seconds or an HTTP date, relative to `now`.
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
