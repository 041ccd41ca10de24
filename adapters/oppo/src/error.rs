//! The classifier: every OPPO answer becomes exactly one [`Outcome`] per registration id.
//!
//! OPPO answers `{"code": <int>, "message": …, "data": …}`, normally with HTTP 200, errors
//! included (oppo.md §6), so the [`RULES`] table is searched in three stages: HTTP statuses
//! that win over any body (429 and 502–504: flow control or a gateway), then the body's
//! `code` (a number; a string of digits is tolerated), then the HTTP status alone when the
//! body has no code (garbage, HTML, empty).
//!
//! Decisions (oppo.md §6):
//! - `unicast_batch` answers `code` 0 with one `data` entry per message
//!   (`messageId`, `registrationId`, `errorCode`, `errorMessage`); each entry's `errorCode`
//!   goes through the same table, so every registration id gets its own outcome.
//! - `10000` / `10001` (registration id invalid / not subscribed) are `InvalidToken` — but a
//!   batch in which *every* entry says so, from a credential that never had a send accepted,
//!   could be the credential of another app: then nothing is deactivated (see [`outcomes`]),
//!   as for Huawei's `80300007`.
//! - `33` (daily message limit) and `34` (daily picture limit) are `QuotaExhausted` until the
//!   next midnight in China.
//! - `11` / `29` (auth token invalid / missing) are `AuthFailed`: the dispatcher forgets the
//!   token and retries once. The credential and permission codes (14–19, 26–28, 30) are
//!   `AuthFailed` too, so the credential is flagged and alerted on.
//! - `32` (duplicate data) is taken as already accepted: pushgate's `app_message_id` makes
//!   a repeated send a duplicate. On `unicast_batch` a top-level 32 accepts every
//!   registration id that has no entry of its own (with `data.messageId` when OPPO gave
//!   one), rather than retrying it.
//! - `-2`, `-1`, `13`, `55`, unknown negative codes, 429, 5xx, timeouts and network errors
//!   retry (honouring `Retry-After`); other unknown codes are `Rejected` and logged.
//! - A 2xx without an OPPO code is `Retry`: only OPPO's `code` proves the message was taken.
//!
//! Reasons carry the code, what to do and OPPO's `message` (cut to 200 characters,
//! registration ids replaced by `[token]`); never a secret or auth token.

use crate::client::Answer;
use push_core::adapter::{Outcome, next_china_midnight};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// OPPO's "duplicate data" code: the message is already there (oppo.md §6).
const DUPLICATE: i64 = 32;

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Taken (batch: look at the entries).
    Accepted,
    /// The registration id is dead.
    InvalidToken,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: an adapter bug or the app's OPPO configuration.
    RejectedAlert,
    /// Refresh the auth token and retry once.
    AuthFailed,
    /// The credential or the app's OPPO account: flag the credential, alert.
    AuthFailedConfig,
    /// The app's daily quota is used up until midnight, China time.
    Quota,
    /// Retry, honouring Retry-After.
    Retry,
}

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// HTTP statuses decided before the body is read (inclusive range).
    Busy(u16, u16),
    /// One result code.
    Code(i64),
    /// A range of result codes (inclusive).
    Codes(i64, i64),
    /// Any other negative code.
    Negative,
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

/// The one table (oppo.md §6), searched stage by stage, in order within each.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // HTTP statuses that win over any body
    rule(On::Busy(429, 429), Action::Retry, "OPPO flow control: slow down"),
    rule(On::Busy(502, 504), Action::Retry, "OPPO gateway or flow control: slow down"),
    // result codes
    rule(On::Code(0), Action::Accepted, "success"),
    rule(On::Code(-2), Action::Retry, "OPPO server flow control: back off"),
    rule(On::Code(-1), Action::Retry, "OPPO service unavailable"),
    rule(On::Code(11), Action::AuthFailed, "auth token invalid or expired; a new one is fetched"),
    rule(On::Code(12), Action::RejectedAlert, "HTTP method not allowed: an adapter bug, please report it"),
    rule(On::Code(13), Action::Retry, "the app's call count or rate limit was exceeded: back off (alert if it lasts)"),
    rule(On::Code(14), Action::AuthFailedConfig, "invalid AppKey: check the credential's app_key in the OPPO push console"),
    rule(On::Code(15), Action::AuthFailedConfig, "AppKey missing: an adapter bug or an empty app_key"),
    rule(On::Code(16), Action::AuthFailedConfig, "invalid signature: the MasterSecret is wrong (upload the current one from the OPPO push console)"),
    rule(On::Code(17), Action::AuthFailedConfig, "signature missing: an adapter bug, please report it"),
    rule(On::Code(18), Action::AuthFailedConfig, "timestamp missing: an adapter bug, please report it"),
    rule(On::Code(19), Action::AuthFailedConfig, "timestamp out of range: check this host's clock (OPPO allows 10 minutes of difference)"),
    rule(On::Codes(20, 24), Action::RejectedAlert, "API method or version error: an adapter bug, please report it"),
    rule(On::Code(25), Action::RejectedAlert, "encoding error (not UTF-8): an adapter bug, please report it"),
    rule(On::Code(26), Action::AuthFailedConfig, "OPPO blacklisted this server's IP address: stop and contact OPPO"),
    rule(On::Code(27), Action::AuthFailedConfig, "access to this API was denied for the app: check its permissions in the OPPO push console"),
    rule(On::Code(28), Action::AuthFailedConfig, "the app is disabled at OPPO"),
    rule(On::Code(29), Action::AuthFailed, "auth token missing; a new one is fetched"),
    rule(On::Code(30), Action::AuthFailedConfig, "the app has no API push permission: enable push for it in the OPPO push console"),
    rule(On::Code(31), Action::Rejected, "data does not exist"),
    rule(On::Code(DUPLICATE), Action::Accepted, "duplicate: OPPO already has this message (same app_message_id)"),
    rule(On::Code(33), Action::Quota, "OPPO's daily message limit for the app is reached"),
    rule(On::Code(34), Action::Quota, "OPPO's daily picture-upload limit for the app is reached"),
    rule(On::Code(40), Action::Rejected, "a required argument is missing"),
    rule(On::Code(41), Action::Rejected, "an argument is invalid (format, range or length)"),
    rule(On::Code(51), Action::Rejected, "invalid picture"),
    rule(On::Code(55), Action::Retry, "OPPO limits the access frequency: back off"),
    rule(On::Code(59), Action::Rejected, "no permission for the secondary (fallback) link"),
    rule(On::Code(67), Action::RejectedAlert, "category, private channel or notify_level refused: check settings.oppo (channel registered and approved in the OPPO console, category and notify_level allowed for the app)"),
    rule(On::Code(10000), Action::InvalidToken, "registration id illegal or invalid"),
    rule(On::Code(10001), Action::InvalidToken, "registration id not subscribed (app uninstalled or push switched off)"),
    rule(On::Codes(10002, 10003), Action::Rejected, "alias illegal or not subscribed; pushgate sends to registration ids only"),
    rule(On::Negative, Action::Retry, "unknown OPPO system code"),
    rule(On::AnyCode, Action::Rejected, "unknown OPPO result code"),
    // HTTP status alone (no code in the body)
    rule(On::Http(200, 299), Action::Retry, "answer without an OPPO code: check vendors.oppo.base_url / intl_base_url (auth_url / intl_auth_url)"),
    rule(On::Http(401, 401), Action::AuthFailed, "the auth token was refused; a new one is fetched"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check the app's OPPO push permission"),
    rule(On::Http(404, 404), Action::Retry, "not found: check vendors.oppo.base_url / intl_base_url (auth_url / intl_auth_url)"),
    rule(On::Http(400, 499), Action::Rejected, "OPPO refused the request"),
    rule(On::Http(500, 599), Action::Retry, "OPPO server error"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status: check vendors.oppo.base_url / intl_base_url (auth_url / intl_auth_url)"),
];

/// The deciding rule: HTTP statuses that win, then the code, then the HTTP status.
pub(crate) fn find_rule(status: u16, code: Option<i64>) -> Rule {
    let busy = RULES
        .iter()
        .find(|r| matches!(r.on, On::Busy(lo, hi) if (lo..=hi).contains(&status)));
    let by_code = || {
        let code = code?;
        RULES.iter().find(|r| match r.on {
            On::Code(c) => c == code,
            On::Codes(lo, hi) => (lo..=hi).contains(&code),
            On::Negative => code < 0,
            On::AnyCode => true,
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

/// The rule of a code alone (auth answers, batch entries).
pub(crate) fn code_rule(code: i64) -> Rule {
    find_rule(200, Some(code))
}

/// OPPO's response body.
#[derive(Debug, Default, Deserialize)]
struct Body {
    code: Option<Value>,
    message: Option<Value>,
    data: Option<Value>,
}

/// A code that may arrive as a JSON number or string.
pub(crate) fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Null | Value::String(_) => None,
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// The result of one registration id in a batch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `registrationId`.
    pub registration_id: Option<String>,
    /// `messageId`.
    pub message_id: Option<String>,
    /// The entry's action (`errorCode` absent or 0: accepted).
    pub action: Action,
    /// The reason for a failed entry.
    pub reason: String,
}

/// What an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The deciding rule's action for the request.
    pub action: Action,
    /// OPPO's top-level `code`, when the body had one.
    pub code: Option<i64>,
    /// The reason (code, HTTP status, advice, OPPO's message).
    pub reason: String,
    /// `data.messageId` of a unicast.
    pub message_id: Option<String>,
    /// The entries of a batch answer (empty for a unicast or a failed batch).
    pub entries: Vec<Entry>,
    /// The wait OPPO asked for.
    pub after: Option<Duration>,
}

/// Classifies OPPO's answer to a send to `tokens` (which are scrubbed from reasons).
pub(crate) fn classify(answer: &Answer, tokens: &[&str], now: OffsetDateTime) -> Verdict {
    let body: Body = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = number(body.code.as_ref());
    let rule = find_rule(answer.status, code);
    let http = format!("HTTP {}", answer.status);
    let mut reason = match code {
        Some(code) if !matches!(rule.on, On::Busy(..)) => {
            format!("OPPO code {code} ({http}): {}", rule.advice)
        }
        _ => format!("OPPO {http}: {}", rule.advice),
    };
    if rule.action != Action::Accepted
        && let Some(message) = text(body.message.as_ref())
    {
        let shown: String = scrub(&message, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (OPPO: {shown})"));
    }
    let mut message_id = None;
    let mut entries = Vec::new();
    if rule.action == Action::Accepted {
        match &body.data {
            Some(Value::Array(items)) => {
                entries = items.iter().map(|item| entry(item, tokens)).collect();
            }
            Some(Value::Object(data)) => {
                message_id = text(data.get("messageId").or_else(|| data.get("message_id")));
            }
            _ => {}
        }
    }
    Verdict {
        action: rule.action,
        code,
        reason,
        message_id,
        entries,
        after: retry_after(answer.retry_after.as_deref(), now),
    }
}

fn entry(item: &Value, tokens: &[&str]) -> Entry {
    let code = number(item.get("errorCode")).unwrap_or(0);
    let rule = code_rule(code);
    let mut reason = format!("OPPO code {code}: {}", rule.advice);
    if rule.action != Action::Accepted
        && let Some(message) = text(item.get("errorMessage"))
    {
        let shown: String = scrub(&message, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (OPPO: {shown})"));
    }
    Entry {
        registration_id: text(item.get("registrationId")),
        message_id: text(item.get("messageId")),
        action: rule.action,
        reason,
    }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        action: Action::Retry,
        code: None,
        reason: format!("OPPO: {reason}"),
        message_id: None,
        entries: Vec::new(),
        after: None,
    }
}

/// The outcome of one action.
pub(crate) fn outcome(
    action: Action,
    reason: &str,
    message_id: Option<String>,
    after: Option<Duration>,
    now: OffsetDateTime,
) -> Outcome {
    let reason = reason.to_string();
    match action {
        Action::Accepted => Outcome::Accepted {
            vendor_message_id: message_id,
        },
        Action::InvalidToken => Outcome::InvalidToken {
            reason,
            invalid_since: None,
        },
        Action::Rejected | Action::RejectedAlert => Outcome::Rejected { reason },
        Action::AuthFailed | Action::AuthFailedConfig => Outcome::AuthFailed { reason },
        Action::Quota => Outcome::QuotaExhausted {
            reason,
            resets_at: next_china_midnight(now),
        },
        Action::Retry => Outcome::Retry { after, reason },
    }
}

/// One outcome per token, in order.
///
/// A batch answer gives each registration id its entry's outcome (matched by position when
/// OPPO answered one entry per message, else by `registrationId`). A registration id without
/// an entry is accepted when the whole request was a duplicate (code 32, oppo.md §6: treat
/// as already accepted), else retried — `app_message_id` makes that safe. A failed request
/// gives every token the same outcome.
///
/// When every registration id of a request with more than one comes back invalid and the
/// credential has never had a send accepted (`proven`), the credential may belong to
/// another app: every token is `Rejected` with a reason asking to check the AppKey, and no
/// device is deactivated.
pub(crate) fn outcomes(
    verdict: &Verdict,
    tokens: &[&str],
    batch: bool,
    proven: bool,
    now: OffsetDateTime,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = if batch && verdict.action == Action::Accepted {
        tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let by_position = (verdict.entries.len() == tokens.len())
                    .then(|| &verdict.entries[i])
                    .filter(|e| e.registration_id.as_deref().is_none_or(|r| r == *token));
                let found = by_position.or_else(|| {
                    verdict
                        .entries
                        .iter()
                        .find(|e| e.registration_id.as_deref() == Some(*token))
                });
                match found {
                    Some(e) => outcome(e.action, &e.reason, e.message_id.clone(), None, now),
                    None if verdict.code == Some(DUPLICATE) => Outcome::Accepted {
                        vendor_message_id: verdict.message_id.clone(),
                    },
                    None => Outcome::Retry {
                        after: None,
                        reason: "OPPO's batch answer has no result for this registration id; sent again (app_message_id prevents a duplicate)".to_string(),
                    },
                }
            })
            .collect()
    } else {
        let one = outcome(
            verdict.action,
            &verdict.reason,
            verdict.message_id.clone(),
            verdict.after,
            now,
        );
        tokens.iter().map(|_| one.clone()).collect()
    };
    let all_invalid = out.len() > 1
        && out
            .iter()
            .all(|o| matches!(o, Outcome::InvalidToken { .. }));
    if all_invalid && !proven {
        let reason = format!(
            "OPPO says all {} registration ids of this batch are invalid and this credential has had no send accepted yet — check that its AppKey is the app the devices registered with (OPPO push console, the client's AppKey and package name); no device was deactivated",
            out.len()
        );
        out = out
            .iter()
            .map(|_| Outcome::Rejected {
                reason: reason.clone(),
            })
            .collect();
    }
    out
}

/// Whether a set of outcomes says something is wrong beyond the message (auth,
/// configuration, outage, an unknown code, a suspect all-invalid batch): the adapter
/// reports itself degraded with that reason.
pub(crate) fn degraded(verdict: &Verdict, outcomes: &[Outcome]) -> Option<String> {
    if matches!(
        verdict.action,
        Action::RejectedAlert | Action::AuthFailed | Action::AuthFailedConfig | Action::Retry
    ) || verdict.reason.contains("unknown OPPO")
    {
        return Some(verdict.reason.clone());
    }
    outcomes.iter().find_map(|o| match o {
        Outcome::Rejected { reason } if reason.contains("no device was deactivated") => {
            Some(reason.clone())
        }
        Outcome::QuotaExhausted { reason, .. } => Some(reason.clone()),
        _ => None,
    })
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
