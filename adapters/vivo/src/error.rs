//! The classifier: every vivo answer to a send becomes exactly one [`Outcome`] per regId.
//!
//! vivo answers HTTP 200 with `{"result": <int>, "desc": …, "taskId": …}` for results and
//! errors alike (vivo.md §6), so the [`RULES`] table is searched in three stages: HTTP
//! statuses that win over any body (429 and every 5xx: vivo answers its own results, errors
//! included, with HTTP 200), then the body's `result` (a number; a
//! string of digits is tolerated) — with one rule on `desc`, see below — then the HTTP status
//! alone when there is no result (garbage, HTML or empty bodies).
//!
//! Decisions (vivo.md §6):
//! - `10302` (invalid target) carries `invalidUser.status`: 1 (regId unknown), 2
//!   (uninstalled / notifications off) and 3 (offline 90 days) are `InvalidToken`; 4 (not a
//!   test device) is `Rejected` — a test-mode configuration problem, the token is fine. A
//!   list send's `invalidUsers` is read the same way per regId; the other regIds are
//!   `Accepted(taskId)`.
//! - A list answer naming **every** regId invalid deactivates them only when the credential
//!   has had a send accepted before (its AppID is right); otherwise they are `Rejected` with
//!   advice and the adapter reports itself degraded — a credential of another vivo app would
//!   explain the answer as well (see [`outcomes`], the same guard as Huawei's `80300007`).
//! - `10070` (the app's daily total is used up) is `QuotaExhausted` until the next midnight,
//!   China time: retrying before wastes requests.
//! - The expired / invalid auth-token code is not verified: any non-zero result whose `desc`
//!   mentions the auth token is `AuthFailed` (refresh once and retry), as the reference
//!   advises; so is HTTP 401. `10200`, `10206`, `10207` (auth codes) and `10094` (the token
//!   belongs to another app) are `AuthFailed` too: the credential or the clock needs fixing.
//! - `10250` (auth call limit), 429, 5xx, timeouts and network errors retry (honouring
//!   `Retry-After`). `10252` (list body over the limit) is `Rejected` as an adapter bug.
//!   Unknown codes are `Rejected` with the code and `desc`, and logged.
//! - A 2xx without a vivo result is `Retry`: only `result: 0` proves the message was taken.
//!
//! Reasons carry the code, the HTTP status, what to do and vivo's `desc` (cut to 200
//! characters, regIds replaced by `[token]`); never a secret or auth token.

use crate::auth::result_code;
use crate::client::Answer;
use push_core::adapter::{Outcome, next_china_midnight};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Taken (regIds listed in `invalidUsers` excepted).
    Accepted,
    /// `10302`: the target is invalid; `invalidUser.status` says how.
    InvalidTarget,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: an adapter bug, not the message.
    RejectedAlert,
    /// Refresh the auth token and retry once.
    AuthFailed,
    /// The credential, the clock or the app's configuration: flag the credential, alert.
    AuthFailedConfig,
    /// The app's daily quota is used up: park until midnight, China time.
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
    /// Any non-zero result whose `desc` mentions the auth token.
    AuthDesc,
    /// Any other result code.
    AnyCode,
    /// An HTTP status range, when the body has no result.
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

/// The one table (vivo.md §6), searched stage by stage, in order within each.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // HTTP statuses that win over any body
    rule(On::Busy(429, 429), Action::Retry, "vivo flow control: slow down"),
    rule(On::Busy(500, 599), Action::Retry, "vivo server or gateway error (vivo answers its results with HTTP 200)"),
    // result codes
    rule(On::Code(0), Action::Accepted, "success"),
    rule(On::Code(10200), Action::AuthFailedConfig, "auth parameter missing or invalid (appId / appKey / timestamp / sign): check the credential"),
    rule(On::Code(10206), Action::AuthFailedConfig, "auth signature wrong: check the AppSecret"),
    rule(On::Code(10207), Action::AuthFailedConfig, "auth timestamp refused: check this host's clock"),
    rule(On::Code(10250), Action::Retry, "vivo auth call limit exceeded: back off"),
    rule(On::Code(10070), Action::Quota, "the app's total vivo send quota for today is used up; sends resume after midnight, China time"),
    rule(On::Code(10094), Action::AuthFailedConfig, "the appId does not match the auth token's app: check the credential's AppID"),
    rule(On::Code(10252), Action::RejectedAlert, "list body over vivo's limit: an adapter bug, please report it"),
    rule(On::Code(10254), Action::Rejected, "broadcast count limit (pushgate does not broadcast)"),
    rule(On::Code(10302), Action::InvalidTarget, "invalid target"),
    rule(On::AuthDesc, Action::AuthFailed, "vivo refused the auth token (expired or invalid); a new one is fetched"),
    rule(On::AnyCode, Action::Rejected, "unknown vivo result code"),
    // HTTP status alone (no result in the body)
    rule(On::Http(200, 299), Action::Retry, "answer without a vivo result: check vendors.vivo.base_url"),
    rule(On::Http(401, 401), Action::AuthFailed, "the auth token was refused; a new one is fetched"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check the credential and that vivo push is enabled for the app"),
    rule(On::Http(400, 499), Action::Rejected, "vivo refused the request"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status: check vendors.vivo.base_url"),
];

/// One entry of `invalidUser` / `invalidUsers`.
#[derive(Debug, Clone, Deserialize)]
struct InvalidUser {
    status: Option<Value>,
    userid: Option<Value>,
}

/// vivo's response body.
#[derive(Debug, Default, Deserialize)]
struct Body {
    result: Option<Value>,
    desc: Option<Value>,
    #[serde(rename = "taskId")]
    task_id: Option<Value>,
    #[serde(rename = "invalidUser")]
    invalid_user: Option<InvalidUser>,
    #[serde(rename = "invalidUsers")]
    invalid_users: Option<Vec<InvalidUser>>,
}

/// What an answer means for the whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The deciding rule's action.
    pub action: Action,
    /// The reason for failed regIds (code, HTTP status, advice, vivo's desc).
    pub reason: String,
    /// `taskId`, the vendor message id of accepted regIds (receipts are keyed by it).
    pub task_id: Option<String>,
    /// regIds vivo names invalid, with their `status` (0 when absent).
    pub invalid: HashMap<String, i64>,
    /// The wait vivo asked for.
    pub after: Option<Duration>,
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies vivo's answer to a request for `tokens` (which are scrubbed from the reason).
pub(crate) fn classify(answer: &Answer, tokens: &[&str], now: OffsetDateTime) -> Verdict {
    let body: Body = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = result_code(body.result.as_ref());
    let desc = text(body.desc.as_ref()).unwrap_or_default();
    let rule = find_rule(answer.status, code, &desc);
    let http = format!("HTTP {}", answer.status);
    let mut reason = match code {
        Some(code) if !matches!(rule.on, On::Busy(..)) => {
            format!("vivo result {code} ({http}): {}", rule.advice)
        }
        _ => format!("vivo {http}: {}", rule.advice),
    };
    if !desc.is_empty() && rule.action != Action::Accepted {
        let shown: String = scrub(&desc, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (vivo: {shown})"));
    }
    let mut invalid = HashMap::new();
    let listed = body
        .invalid_users
        .unwrap_or_default()
        .into_iter()
        .chain(body.invalid_user);
    for user in listed {
        if let Some(id) = text(user.userid.as_ref()) {
            invalid.insert(id, result_code(user.status.as_ref()).unwrap_or(0));
        }
    }
    Verdict {
        action: rule.action,
        reason,
        task_id: text(body.task_id.as_ref()),
        invalid,
        after: retry_after(answer.retry_after.as_deref(), now),
    }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        action: Action::Retry,
        reason: format!("vivo: {reason}"),
        task_id: None,
        invalid: HashMap::new(),
        after: None,
    }
}

/// What `invalidUser.status` means for one regId.
pub(crate) fn invalid_user(status: i64) -> Outcome {
    let invalid = |what: &str| Outcome::InvalidToken {
        reason: format!("vivo 10302, invalidUser.status {status}: {what}"),
        invalid_since: None,
    };
    match status {
        1 => invalid("the regId does not exist"),
        2 => invalid("the app is uninstalled or its notifications are turned off"),
        3 => invalid("the device has not been online for 90 days"),
        4 => Outcome::Rejected {
            reason: "vivo 10302, invalidUser.status 4: not a test device (pushMode 1 reaches only the test devices registered in the vivo console)".into(),
        },
        _ => Outcome::Rejected {
            reason: format!("vivo 10302 with an unknown invalidUser.status {status}; the device was kept"),
        },
    }
}

/// One outcome per regId, in order.
///
/// A request naming **every** one of several regIds invalid deactivates them only when the
/// credential has had a send accepted before (`proven`); otherwise they are `Rejected`
/// (see the module documentation).
pub(crate) fn outcomes(
    verdict: &Verdict,
    tokens: &[&str],
    proven: bool,
    now: OffsetDateTime,
) -> Vec<Outcome> {
    let reason = verdict.reason.clone();
    let whole = match verdict.action {
        Action::Accepted | Action::InvalidTarget => None,
        Action::Rejected | Action::RejectedAlert => Some(Outcome::Rejected { reason }),
        Action::AuthFailed | Action::AuthFailedConfig => Some(Outcome::AuthFailed { reason }),
        Action::Quota => Some(Outcome::QuotaExhausted {
            reason,
            resets_at: next_china_midnight(now),
        }),
        Action::Retry => Some(Outcome::Retry {
            after: verdict.after,
            reason,
        }),
    };
    if let Some(outcome) = whole {
        return tokens.iter().map(|_| outcome.clone()).collect();
    }
    let listed = |t: &str| verdict.invalid.get(t).copied();
    let all_listed = tokens.iter().all(|t| listed(t).is_some());
    let one_target = tokens.len() == 1;
    if verdict.action == Action::InvalidTarget && one_target && listed(tokens[0]).is_none() {
        // 10302 for one regId without (a matching) invalidUser: the target is invalid.
        return vec![invalid_user(
            verdict.invalid.values().next().copied().unwrap_or(1),
        )];
    }
    if tokens.len() > 1 && (all_listed || verdict.action == Action::InvalidTarget) && !proven {
        let reason = format!(
            "vivo names all {} regIds of this list send invalid and this credential has had no send accepted yet — check that its AppID is the app the devices registered with; no device was deactivated ({})",
            tokens.len(),
            verdict.reason
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
        .map(|t| match listed(t) {
            Some(status) => invalid_user(status),
            None if verdict.action == Action::InvalidTarget => Outcome::Rejected {
                reason: verdict.reason.clone(),
            },
            None => Outcome::Accepted {
                vendor_message_id: verdict.task_id.clone(),
            },
        })
        .collect()
}

/// Whether a verdict is not the message's fault (auth, configuration, outage, quota, an
/// unknown code, an unproven all-invalid list): the adapter reports itself degraded.
pub(crate) fn degrades(verdict: &Verdict, tokens: &[&str], proven: bool) -> bool {
    match verdict.action {
        Action::Accepted | Action::InvalidTarget => {
            tokens.len() > 1
                && !proven
                && (verdict.action == Action::InvalidTarget
                    || tokens.iter().all(|t| verdict.invalid.contains_key(*t)))
        }
        Action::Rejected => verdict.reason.contains("unknown vivo result code"),
        Action::RejectedAlert
        | Action::AuthFailed
        | Action::AuthFailedConfig
        | Action::Quota
        | Action::Retry => true,
    }
}

/// The deciding rule: HTTP statuses that win, then the result, then the HTTP status.
pub(crate) fn find_rule(status: u16, code: Option<i64>, desc: &str) -> Rule {
    let busy = RULES
        .iter()
        .find(|r| matches!(r.on, On::Busy(lo, hi) if (lo..=hi).contains(&status)));
    let mentions_token = {
        let d = desc.to_ascii_lowercase();
        d.contains("authtoken") || d.contains("auth token") || d.contains("auth_token")
    };
    let by_code = || {
        let code = code?;
        RULES.iter().find(|r| match r.on {
            On::Code(c) => c == code,
            On::AuthDesc => code != 0 && mentions_token,
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
