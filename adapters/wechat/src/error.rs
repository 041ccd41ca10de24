//! The classifier: every WeChat answer to a send becomes exactly one [`Outcome`].
//!
//! WeChat answers almost everything with HTTP 200 and `{"errcode": …, "errmsg": …}` (wechat.md
//! §1, §5), so the [`RULES`] table is keyed by `errcode`; only an answer without an errcode
//! falls back to its HTTP status (429 and 5xx retry honouring `Retry-After`; anything else is
//! not WeChat talking — a proxy or a wrong `base_url` — and retries too, degrading health).
//! `errmsg` carries a variable ` rid: …` suffix: it is shown (the rid is what WeChat support
//! asks for), never compared.
//!
//! Decisions (wechat.md §5):
//! - 40001 / 40014 / 42001 (token superseded, invalid, expired) are `AuthFailed`: the
//!   dispatcher forgets the token and retries once; 40125 / 40164 / 48001 / 48004 are
//!   `AuthFailed` too (the credential or account needs an operator).
//! - 40003 (openid not of this AppID), 43004 (user does not follow) and 43101 (user refuses
//!   the account's messages, or has no unused subscription consent for the template) are
//!   `InvalidToken`: §5 says drop and deactivate until a new follow / consent, without retry.
//!   The device — one openid of one channel, `wechat_oa` or `wechat_mp` — is deactivated
//!   until the client registers it again (after the user follows or consents anew); the
//!   user's device of the other channel has its own openid and stays active.
//! - 45009 (daily quota) is `QuotaExhausted` until the next midnight, China time; 45011
//!   (per-minute quota) is `Retry` after the next minute boundary; -1 is `Retry`.
//! - What §5 says to alert about but is not the credential's: configuration problems (40013
//!   a `miniprogram.appid` not linked, 40037 unknown template, 41030 unknown page, 43003
//!   http) and pushgate bugs (40002 / 41001 / 44002 / 47001 on a send, 40036 malformed
//!   template id, 41028 / 41029 the obsolete form_id API, 47003 a value our checks let
//!   through) are `Rejected` and degrade health — the adapter's alert, a `wechat degraded`
//!   warning and `Adapter::health`. Degrading opens no circuit and marks no credential
//!   unhealthy (only `AuthFailed` does), so one bad payload costs only that message.
//!   Unknown codes likewise.

use crate::client::Answer;
use push_core::adapter::{Outcome, next_china_midnight};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Accepted.
    Accepted,
    /// Retry with backoff.
    Retry,
    /// Retry after the next minute boundary.
    RetryNextMinute,
    /// The openid cannot receive on this channel until the user follows / consents again:
    /// the device is deactivated.
    InvalidToken,
    /// Refresh the token and retry once, then flag the credential.
    AuthFailed,
    /// Drop this message and alert the operator (degrades health): the app's configuration
    /// is wrong or pushgate has a bug, neither of them the credential's fault.
    RejectedAlert,
    /// The daily quota is used up.
    Quota,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    /// The errcode.
    pub errcode: i64,
    /// What to do.
    pub action: Action,
    /// What it means / what to do, for the reason.
    pub advice: &'static str,
}

const fn rule(errcode: i64, action: Action, advice: &'static str) -> Rule {
    Rule {
        errcode,
        action,
        advice,
    }
}

/// The errcode table (wechat.md §2.1, §4.4, §5).
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    rule(0, Action::Accepted, "accepted"),
    rule(-1, Action::Retry, "WeChat system busy"),
    rule(40001, Action::AuthFailed, "access_token invalid or superseded (or the AppSecret is wrong); a new token is fetched — if it repeats, another component rotates /cgi-bin/token"),
    rule(40002, Action::RejectedAlert, "invalid grant_type on a send: a pushgate bug (grant_type belongs to the token call), please report it"),
    rule(40003, Action::InvalidToken, "invalid openid: empty, malformed or of another AppID"),
    rule(40013, Action::RejectedAlert, "invalid appid: the mini program of settings.wechat.mini_program_app_id is not linked to the official account (or the AppID is wrong)"),
    rule(40014, Action::AuthFailed, "invalid access_token; a new one is fetched"),
    rule(40036, Action::RejectedAlert, "invalid template_id size: malformed template id or body (a pushgate bug unless wechat.template_id is malformed)"),
    rule(40037, Action::RejectedAlert, "invalid template_id: the template is unknown to this account (deleted, or of another account) — check settings.wechat templates and wechat.template_id"),
    rule(40125, Action::AuthFailed, "invalid appsecret: upload the current AppSecret"),
    rule(40164, Action::AuthFailed, "pushgate's egress IP is not in the account's IP whitelist"),
    rule(41001, Action::RejectedAlert, "access_token missing: a pushgate bug, please report it"),
    rule(41028, Action::RejectedAlert, "invalid form_id: the obsolete form_id API answered — wrong endpoint (check vendors.wechat.base_url)"),
    rule(41029, Action::RejectedAlert, "form_id used: the obsolete form_id API answered — wrong endpoint (check vendors.wechat.base_url)"),
    rule(41030, Action::RejectedAlert, "invalid page: the page is not in the released mini program"),
    rule(42001, Action::AuthFailed, "access_token expired; a new one is fetched"),
    rule(43003, Action::RejectedAlert, "require https: vendors.wechat.base_url must be https"),
    rule(43004, Action::InvalidToken, "require subscribe: the user does not follow the official account"),
    rule(43101, Action::InvalidToken, "the user refuses the account's messages or has no unused subscription consent for this template; the device is deactivated until the user consents again and the client registers it again"),
    rule(44002, Action::RejectedAlert, "empty post data: a pushgate bug, please report it"),
    rule(45009, Action::Quota, "the API's daily quota is used up"),
    rule(45011, Action::RetryNextMinute, "the per-minute quota is used up: slow down"),
    rule(47001, Action::RejectedAlert, "data format error: body not JSON or parameters missing (a pushgate bug, please report it)"),
    rule(47003, Action::RejectedAlert, "argument invalid: a template value breaks its type rule or is empty (pushgate's value checks missed it, or the template's own rule is stricter)"),
    rule(48001, Action::AuthFailed, "api unauthorized: the account may not use this API (unverified, feature not enabled, or an official-account credential on a mini-program channel or vice versa)"),
    rule(48004, Action::AuthFailed, "api forbidden for irregularities: the account is banned from this API"),
];

/// WeChat's response body.
#[derive(Debug, Default, Deserialize)]
struct Body {
    errcode: Option<Value>,
    errmsg: Option<String>,
    msgid: Option<Value>,
}

/// What an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The one outcome.
    pub outcome: Outcome,
    /// The adapter reports itself degraded (its alert): WeChat is failing or refusing the
    /// credential, or the answer needs an operator (configuration, a pushgate bug). Only
    /// logged and shown by `Adapter::health`; circuits, parking and credential health follow
    /// the outcome, never this flag.
    pub degrades: bool,
}

/// The rule for an errcode, if the table has one.
pub(crate) fn find_rule(errcode: i64) -> Option<Rule> {
    RULES.iter().find(|r| r.errcode == errcode).copied()
}

/// A 64-bit id that may arrive as a number or a string; never through a float.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(|u| u.to_string())
            .or_else(|| n.as_i64().map(|i| i.to_string())),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// Classifies WeChat's answer to a send to `openid` (scrubbed from the reason).
pub(crate) fn classify(answer: &Answer, openid: &str, now: OffsetDateTime) -> Verdict {
    let body: Option<Body> = serde_json::from_slice(&answer.body).ok();
    let body = body.unwrap_or_default();
    let errcode = body.errcode.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let msgid = body.msgid.as_ref().and_then(id_text);
    let http = answer.status;
    let Some(errcode) = errcode.or(msgid.as_ref().map(|_| 0)) else {
        let after = retry_after(answer.retry_after.as_deref(), now);
        let advice = if http == 429 || http >= 500 {
            "WeChat busy or failing"
        } else {
            "answer without a WeChat errcode: check vendors.wechat.base_url"
        };
        return Verdict {
            outcome: Outcome::Retry {
                after,
                reason: format!("HTTP {http}: {advice}"),
            },
            degrades: true,
        };
    };
    let shown = body
        .errmsg
        .filter(|m| !m.is_empty())
        .map(|m| {
            let m = if openid.is_empty() {
                m
            } else {
                m.replace(openid, "[openid]")
            };
            format!(" (WeChat: {})", m.chars().take(200).collect::<String>())
        })
        .unwrap_or_default();
    let Some(rule) = find_rule(errcode) else {
        return Verdict {
            outcome: Outcome::Rejected {
                reason: format!("errcode {errcode}: unknown WeChat errcode{shown}"),
            },
            degrades: true,
        };
    };
    let reason = format!("errcode {errcode}: {}{shown}", rule.advice);
    let (outcome, degrades) = match rule.action {
        Action::Accepted => (
            Outcome::Accepted {
                vendor_message_id: msgid,
            },
            false,
        ),
        Action::Retry => (
            Outcome::Retry {
                after: retry_after(answer.retry_after.as_deref(), now),
                reason,
            },
            true,
        ),
        Action::RetryNextMinute => (
            Outcome::Retry {
                after: Some(until_next_minute(now)),
                reason,
            },
            true,
        ),
        Action::InvalidToken => (
            Outcome::InvalidToken {
                reason,
                invalid_since: None,
            },
            false,
        ),
        Action::AuthFailed => (Outcome::AuthFailed { reason }, true),
        Action::RejectedAlert => (Outcome::Rejected { reason }, true),
        Action::Quota => (
            Outcome::QuotaExhausted {
                reason,
                resets_at: next_china_midnight(now),
            },
            true,
        ),
    };
    Verdict { outcome, degrades }
}

/// The verdict for a send that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        outcome: Outcome::Retry {
            after: None,
            reason: format!("WeChat: {reason}"),
        },
        degrades: true,
    }
}

/// The time to the next minute boundary (at least one second).
fn until_next_minute(now: OffsetDateTime) -> Duration {
    let into = u64::from(now.second());
    Duration::from_secs((60 - into).max(1))
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
