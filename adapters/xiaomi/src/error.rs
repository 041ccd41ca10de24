//! The classifier: every Xiaomi answer to a send becomes exactly one [`Outcome`] per
//! registration id.
//!
//! Xiaomi answers HTTP 200 with `{"result": "ok"|"error", "code": …}` for success and most
//! errors (xiaomi.md §5–§6), so the [`RULES`] table is searched in three stages: HTTP statuses
//! that win over any body (429 and 502–504: throttling or a gateway), then the body's integer
//! `code`, then the HTTP status alone when there is no code (garbage, HTML, empty bodies).
//!
//! Decisions (xiaomi.md §6):
//! - `0` is always success: `Accepted(data.id)`, except the regids listed in
//!   `data.bad_regids` (a batch where only some are bad), which are `InvalidToken`. The
//!   public-message quota figures (`data.day_acked`, `data.day_quota`) never change that:
//!   Xiaomi discards over-quota public messages itself and says so per device with receipt
//!   type 128 (§4 rule 5, §7), so they are only kept in [`Verdict::public_quota`] for a log
//!   line — holding back or parking accepted messages would lose `data.id` and stop the
//!   app's private messages too.
//! - `10034` (the app's daily request count is used up): `QuotaExhausted` until the next China
//!   midnight, so the app is parked instead of retrying into the wall.
//! - `20301` ("No valid targets!", every regid invalid) and `10029` (invalid device) are also
//!   what a regid of another package would get, so they deactivate devices only when that
//!   cannot be the explanation — see [`outcomes`].
//! - `21301` / `21302` (the AppSecret was refused) are `AuthFailed`, and so are the app-level
//!   refusals that only the console can fix (`10031` blacklisted, `10036` forbidden, `21303`,
//!   `22000`, `22006`, `22007`, `22022` wrong package for the secret): the credential is
//!   flagged, no device is deactivated. Xiaomi has no token to refresh, so the dispatcher's one
//!   retry after `forget_auth` fails the same way and the credential is marked unhealthy.
//! - `-1`, `1`, `10001`–`10003`, `10027`, `10037`, `22102`, `26003`, unknown `1xxxx` / `26xxx`
//!   codes, 429, 5xx, timeouts and network errors retry (honouring `Retry-After`, else a wait
//!   for the throttling codes); other codes are `Rejected` and logged.
//! - `22102` (notification send failed): §6 says "retry once, then `Rejected`", but an
//!   adapter does not know which attempt a send is (`SendRequest` carries no attempt count
//!   and adapters keep no per-delivery state), so it is `Retry` after 60 s and the
//!   dispatcher's retry policy (`max_attempts`, the ttl) bounds the attempts.
//! - A 2xx without a code is `Retry`: Xiaomi answers even its errors with a code, so such a
//!   body came from something else (a proxy, a wrong `base_url`).
//!
//! Reasons carry the code, the HTTP status, what to do, Xiaomi's `reason` (cut to 200
//! characters, regids replaced by `[token]`) and `trace_id`; never the AppSecret.

use crate::client::Answer;
use push_core::adapter::{Outcome, next_china_midnight};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What to do on a rule's match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Accepted (but `bad_regids`).
    Accepted,
    /// Every regid invalid — or the credential's package is not the devices' (see [`outcomes`]).
    AllInvalid,
    /// The app's daily request count is used up (`10034`).
    Quota,
    /// Drop this message.
    Rejected,
    /// Drop this message and alert: configuration or an adapter bug, not the message.
    RejectedAlert,
    /// The AppSecret was refused.
    AuthFailed,
    /// The app is refused at Xiaomi (blacklist, package, app id): flag the credential, alert.
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
    Code(i64),
    /// A range of result codes (inclusive).
    Codes(i64, i64),
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
    /// The wait before a retry when Xiaomi sends no `Retry-After`, in seconds.
    pub wait: Option<u64>,
    /// What it means / what to do, for the reason.
    pub advice: &'static str,
}

const fn rule(on: On, action: Action, advice: &'static str) -> Rule {
    Rule {
        on,
        action,
        wait: None,
        advice,
    }
}

const fn wait(on: On, seconds: u64, advice: &'static str) -> Rule {
    Rule {
        on,
        action: Action::Retry,
        wait: Some(seconds),
        advice,
    }
}

/// The one table (xiaomi.md §6), searched stage by stage, in order within each.
#[rustfmt::skip]
pub(crate) const RULES: &[Rule] = &[
    // HTTP statuses that win over any body
    rule(On::Busy(429, 429), Action::Retry, "Xiaomi throttling: slow down"),
    rule(On::Busy(502, 504), Action::Retry, "Xiaomi gateway or overload"),
    // result codes
    rule(On::Code(0), Action::Accepted, "success"),
    rule(On::Code(-1), Action::Retry, "unknown Xiaomi error"),
    rule(On::Code(1), Action::Retry, "Xiaomi internal error"),
    rule(On::Code(10001), Action::Retry, "Xiaomi system error"),
    wait(On::Code(10002), 30, "Xiaomi service busy: slow down"),
    rule(On::Code(10003), Action::Retry, "Xiaomi remote service error"),
    rule(On::Code(10008), Action::Rejected, "parameter error"),
    rule(On::Code(10012), Action::Rejected, "illegal request"),
    rule(On::Code(10016), Action::RejectedAlert, "required parameter missing: an adapter bug, please report it"),
    rule(On::Code(10017), Action::Rejected, "illegal parameter value"),
    wait(On::Code(10027), 10, "Xiaomi API called too frequently: slow down"),
    rule(On::Code(10029), Action::AllInvalid, "invalid device"),
    rule(On::Code(10030), Action::Rejected, "invalid-regid query too frequent (feedback API, not used by pushgate)"),
    rule(On::Code(10031), Action::AuthFailedConfig, "the app is on Xiaomi's blacklist and may not send: contact Xiaomi (dev.mi.com); no device was deactivated"),
    rule(On::Code(10034), Action::Quota, "the app's daily request count at Xiaomi is used up; sending resumes after midnight (China time)"),
    rule(On::Code(10036), Action::AuthFailedConfig, "Xiaomi forbids this operation for the app: check the app's push permission in the MiPush console"),
    rule(On::Code(10037), Action::Retry, "request expired"),
    rule(On::Code(20301), Action::AllInvalid, "no valid targets"),
    rule(On::Code(21301), Action::AuthFailed, "Xiaomi refused the AppSecret: upload the current one from the MiPush console"),
    rule(On::Code(21302), Action::AuthFailed, "Xiaomi token authentication failed: check the AppSecret"),
    rule(On::Code(21303), Action::AuthFailedConfig, "Xiaomi restricted access for the app: check it in the MiPush console"),
    rule(On::Code(21305), Action::RejectedAlert, "required parameter missing: an adapter bug, please report it"),
    rule(On::Code(22000), Action::AuthFailedConfig, "Xiaomi says the app is illegal: check it in the MiPush console"),
    rule(On::Code(22006), Action::AuthFailedConfig, "invalid AppId: check the app in the MiPush console"),
    rule(On::Code(22007), Action::AuthFailedConfig, "invalid AppKey: check the app in the MiPush console"),
    rule(On::Code(22022), Action::AuthFailedConfig, "the credential's package_name does not belong to its AppSecret: upload the package name registered in the MiPush console; no device was deactivated"),
    wait(On::Code(22102), 60, "Xiaomi could not send the notification"),
    rule(On::Code(26003), Action::Retry, "Xiaomi internal error"),
    rule(On::Code(26004), Action::Rejected, "broadcast sent too frequently (not used by pushgate)"),
    rule(On::Code(26006), Action::Rejected, "content: the message needs Xiaomi's manual review"),
    rule(On::Code(27001), Action::RejectedAlert, "channel information does not match: check settings.xiaomi.categories (extra.channel_id must be a channel of the app's current classification in the MiPush console)"),
    rule(On::Code(65003), Action::Rejected, "device does not exist or is not online"),
    rule(On::Code(65009), Action::Rejected, "content too long: payload under 4 KB, title under 50 and description under 128 characters"),
    rule(On::Code(65014), Action::Rejected, "too many extra key/value pairs (at most 10)"),
    rule(On::Code(65015), Action::Rejected, "an extra value is too long (at most 1024 characters)"),
    rule(On::Codes(65036, 65038), Action::RejectedAlert, "callback parameter or URL too long or illegal: check settings.xiaomi.callback_url"),
    rule(On::Codes(10000, 19999), Action::Retry, "unknown Xiaomi system error"),
    rule(On::Codes(26000, 26999), Action::Retry, "unknown Xiaomi system error"),
    rule(On::AnyCode, Action::Rejected, "unknown Xiaomi result code"),
    // HTTP status alone (no code in the body)
    rule(On::Http(200, 299), Action::Retry, "answer without a Xiaomi result code: check vendors.xiaomi.base_url"),
    rule(On::Http(401, 401), Action::AuthFailed, "Xiaomi refused the request's authorization"),
    rule(On::Http(403, 403), Action::AuthFailedConfig, "forbidden: check the app in the MiPush console"),
    rule(On::Http(404, 404), Action::AuthFailedConfig, "not found: check vendors.xiaomi.base_url"),
    rule(On::Http(400, 499), Action::Rejected, "Xiaomi refused the request"),
    rule(On::Http(500, 599), Action::Retry, "Xiaomi server error"),
    rule(On::Http(0, 999), Action::Retry, "unexpected HTTP status: check vendors.xiaomi.base_url"),
];

/// Xiaomi's response body.
#[derive(Debug, Default, Deserialize)]
struct Body {
    code: Option<Value>,
    reason: Option<Value>,
    trace_id: Option<Value>,
    data: Option<Data>,
}

/// `data` of an answer.
#[derive(Debug, Default, Deserialize)]
struct Data {
    id: Option<Value>,
    bad_regids: Option<Value>,
    day_acked: Option<Value>,
    day_quota: Option<Value>,
}

/// What an answer means for the whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The deciding rule's action.
    pub action: Action,
    /// The reason for failed regids (code, HTTP status, advice, Xiaomi's reason, trace id).
    pub reason: String,
    /// `data.id`, the vendor message id of accepted regids.
    pub message_id: Option<String>,
    /// `trace_id`, for logs.
    pub trace_id: Option<String>,
    /// Regids `data.bad_regids` lists.
    pub bad: HashSet<String>,
    /// The wait Xiaomi asked for (or the rule's default wait).
    pub after: Option<Duration>,
    /// A public message's quota figures from a success answer, for logs only.
    pub public_quota: Option<PublicQuota>,
}

/// The app's public-message (公信) count of the day, from a success answer (`data.day_acked`,
/// `data.day_quota`, xiaomi.md §4 rule 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PublicQuota {
    /// Public messages taken today, this one included.
    pub acked: u64,
    /// The app's daily public-message quota.
    pub quota: u64,
}

impl PublicQuota {
    /// Whether today's public messages passed the quota: Xiaomi discards the excess and
    /// reports it as receipt type 128.
    pub fn is_over(&self) -> bool {
        self.quota > 0 && self.acked > self.quota
    }
}

/// A text that may arrive as a JSON string or number.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies Xiaomi's answer to a send to `tokens` (which are scrubbed from the reason).
/// `public`: the message went on a public channel (the quota fields count it; they are
/// recorded in [`Verdict::public_quota`] and never change the action).
pub(crate) fn classify(
    answer: &Answer,
    tokens: &[&str],
    public: bool,
    now: OffsetDateTime,
) -> Verdict {
    let body: Body = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = text(body.code.as_ref()).and_then(|c| c.parse::<i64>().ok());
    let rule = find_rule(answer.status, code);
    let http = format!("HTTP {}", answer.status);
    let data = body.data.unwrap_or_default();
    let trace_id = text(body.trace_id.as_ref());
    let action = rule.action;
    let mut public_quota = None;
    let mut reason = match code {
        Some(code) if !matches!(rule.on, On::Busy(..)) => {
            format!("{code} ({http}): {}", rule.advice)
        }
        _ => format!("{http}: {}", rule.advice),
    };
    let mut bad = HashSet::new();
    if action == Action::Accepted {
        if let Some(list) = text(data.bad_regids.as_ref()) {
            bad = list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            reason = format!(
                "0 ({http}): Xiaomi lists the regid in bad_regids (uninstalled, expired or of another package)"
            );
        }
        let number = |v: Option<&Value>| text(v).and_then(|t| t.parse::<u64>().ok());
        if let (true, Some(acked), Some(quota)) = (
            public,
            number(data.day_acked.as_ref()),
            number(data.day_quota.as_ref()),
        ) {
            public_quota = Some(PublicQuota { acked, quota });
        }
    } else if let Some(detail) = text(body.reason.as_ref()) {
        let shown: String = scrub(&detail, tokens).chars().take(200).collect();
        reason.push_str(&format!(" (Xiaomi: {shown})"));
    }
    if action != Action::Accepted
        && let Some(trace) = &trace_id
    {
        reason.push_str(&format!(" [trace_id {trace}]"));
    }
    let after = retry_after(answer.retry_after.as_deref(), now)
        .or_else(|| rule.wait.map(Duration::from_secs));
    Verdict {
        action,
        reason,
        message_id: text(data.id.as_ref()),
        trace_id,
        bad,
        after,
        public_quota,
    }
}

/// The verdict for a request that got no answer (timeout, connection error).
pub(crate) fn network(reason: &str) -> Verdict {
    Verdict {
        action: Action::Retry,
        reason: format!("Xiaomi: {reason}"),
        message_id: None,
        trace_id: None,
        bad: HashSet::new(),
        after: None,
        public_quota: None,
    }
}

/// One outcome per regid, in order.
///
/// `20301` / `10029` ("no valid targets") deactivate devices only when Xiaomi cannot mean
/// "these regids belong to another package": when the request carried exactly one regid, or
/// when this credential has had a send accepted before (`proven`: its package and secret
/// work, so the regids really are dead). Otherwise every regid is `Rejected` with a reason
/// asking to check the credential's package name, and no device is touched (like Huawei's
/// `80300007`). A wrong secret or a package that does not match the secret fail earlier, with
/// `21301` / `22022`.
pub(crate) fn outcomes(
    verdict: &Verdict,
    tokens: &[&str],
    proven: bool,
    now: OffsetDateTime,
) -> Vec<Outcome> {
    let reason = verdict.reason.clone();
    let invalid = |reason: &str| Outcome::InvalidToken {
        reason: reason.to_string(),
        invalid_since: None,
    };
    let one = match verdict.action {
        Action::Accepted => Outcome::Accepted {
            vendor_message_id: verdict.message_id.clone(),
        },
        Action::Quota => Outcome::QuotaExhausted {
            reason,
            resets_at: next_china_midnight(now),
        },
        Action::Rejected | Action::RejectedAlert => Outcome::Rejected { reason },
        Action::AuthFailed | Action::AuthFailedConfig => Outcome::AuthFailed { reason },
        Action::Retry => Outcome::Retry {
            after: verdict.after,
            reason,
        },
        Action::AllInvalid if tokens.len() == 1 => invalid(&verdict.reason),
        Action::AllInvalid if proven => invalid(&format!(
            "{}; this credential has had sends accepted, so its package and secret are right",
            verdict.reason
        )),
        Action::AllInvalid => Outcome::Rejected {
            reason: format!(
                "{}: Xiaomi says all {} regids of this batch are invalid and this credential has had no send accepted yet — check that its package_name is the package the devices registered with (MiPush console, the client's app id / app key); no device was deactivated",
                verdict.reason,
                tokens.len()
            ),
        },
    };
    tokens
        .iter()
        .map(|t| {
            if verdict.action == Action::Accepted && verdict.bad.contains(*t) {
                invalid(&verdict.reason)
            } else {
                one.clone()
            }
        })
        .collect()
}

/// Whether a verdict is not the message's fault (auth, configuration, outage, an unknown
/// code): the adapter reports itself degraded with its reason.
pub(crate) fn degrades(verdict: &Verdict, tokens: usize, proven: bool) -> bool {
    match verdict.action {
        Action::Accepted | Action::Quota => false,
        Action::Rejected => verdict.reason.contains("unknown Xiaomi result code"),
        Action::AllInvalid => tokens > 1 && !proven,
        Action::RejectedAlert | Action::AuthFailed | Action::AuthFailedConfig | Action::Retry => {
            true
        }
    }
}

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
