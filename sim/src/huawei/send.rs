//! `POST /v1/{appId}/messages:send` and `/v2/{projectId}/messages:send` (huawei.md §3–§7,
//! §9.2–§9.5): bearer token, app, permission, flow control, validation, token states,
//! classification and the receipts to post.

use serde_json::json;

use super::codes::{
    ALL_TOKENS_INVALID, AUTH_ERROR, INTERNAL, NO_HIGH_PRIORITY, NO_PERMISSION, PARTIAL_SUCCESS,
    PushResult, SUCCESS, TOKEN_EXPIRED, TOO_BIG,
};
use super::validate::{self, Message};
use crate::control::types::{HuaweiAppSpec, HuaweiCallbackSpec, HuaweiReceiptStatus};
use crate::state::SimState;

/// Which form of the send URL was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendPath<'a> {
    /// `/v1/{appId}/messages:send`.
    V1(&'a str),
    /// `/v2/{projectId}/messages:send`.
    V2(&'a str),
}

/// The result of one send request.
#[derive(Debug)]
pub(crate) struct SendOutcome {
    /// The answer.
    pub result: PushResult,
    /// The device tokens addressed, once known.
    pub tokens: Vec<String>,
    /// A valid `validate_only` request.
    pub dry_run: bool,
    /// Receipts to post, with the configuration to post them to.
    pub receipts: Option<(HuaweiCallbackSpec, Vec<HuaweiReceiptStatus>)>,
}

impl SendOutcome {
    fn fail(result: PushResult) -> Self {
        SendOutcome {
            result,
            tokens: Vec::new(),
            dry_run: false,
            receipts: None,
        }
    }
}

/// Beijing time (UTC+8) days, for the per-day limits.
fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

/// Handles a send request (`too_large`: the body exceeded the read limit).
pub(crate) fn send(
    state: &SimState,
    path: SendPath<'_>,
    authorization: Option<&str>,
    body: &[u8],
    too_large: bool,
    request_id: &str,
) -> SendOutcome {
    let app = match authorize(state, path, authorization) {
        Ok(app) => app,
        Err(r) => return SendOutcome::fail(r),
    };
    let now = state.core.clock.now_ms();
    if state.huawei.apps.send_flow_control(&app.app_id, now) {
        let mut r = PushResult::new(INTERNAL, "flow control, slow down");
        r.status = 503;
        return SendOutcome::fail(r);
    }
    if too_large {
        return SendOutcome::fail(PushResult::new(TOO_BIG, "message body is too large"));
    }
    let msg = match validate::validate(body) {
        Ok(m) => m,
        Err(r) => return SendOutcome::fail(r),
    };
    if msg.urgency_high && !msg.notification && !app.high_priority_data {
        return SendOutcome {
            tokens: msg.tokens,
            ..SendOutcome::fail(PushResult::new(
                NO_HIGH_PRIORITY,
                "the app has no permission to send high-priority data messages",
            ))
        };
    }
    deliver(state, &app, msg, now, request_id)
}

/// Token states, the answer, daily limits and receipts.
fn deliver(
    state: &SimState,
    app: &HuaweiAppSpec,
    msg: Message,
    now: i64,
    request_id: &str,
) -> SendOutcome {
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let devices = &state.huawei.devices;
    let mut accepted = Vec::new();
    let mut illegal = Vec::new();
    for t in &msg.tokens {
        match devices.check(&app.app_id, t, accept_unknown) {
            Some(status) => accepted.push((t.clone(), status)),
            None => illegal.push(t.clone()),
        }
    }
    let result = if !illegal.is_empty() && accepted.is_empty() {
        PushResult::new(ALL_TOKENS_INVALID, "All the tokens are invalid")
    } else if !illegal.is_empty() {
        let detail = json!({ "success": accepted.len(), "failure": illegal.len(), "illegal_tokens": illegal });
        PushResult::new(PARTIAL_SUCCESS, detail.to_string())
    } else {
        PushResult::new(SUCCESS, "Success")
    };
    let mut receipts = None;
    if !msg.validate_only && !accepted.is_empty() {
        let marketing = msg.notification
            && (!app.self_classification
                || msg.category.as_deref() == Some("MARKETING")
                || (msg.category.is_none() && msg.importance.as_deref() != Some("NORMAL")));
        let limit = marketing.then_some(if app.news_app { 5 } else { 2 });
        let day = china_day(now);
        let statuses: Vec<HuaweiReceiptStatus> = accepted
            .iter()
            .map(|(token, base)| {
                let counted = devices.count(&app.app_id, token, day, limit);
                HuaweiReceiptStatus {
                    bi_tag: msg.bi_tag.clone(),
                    appid: app.app_id.clone(),
                    token: token.clone(),
                    status: if *base != 0 { *base } else { counted },
                    timestamp: now,
                    request_id: request_id.to_string(),
                }
            })
            .collect();
        receipts = state
            .huawei
            .receipts
            .config(&app.app_id, msg.receipt_id.as_deref())
            .map(|c| (c, statuses));
    }
    SendOutcome {
        result,
        tokens: msg.tokens,
        dry_run: msg.validate_only,
        receipts,
    }
}

/// Bearer token, app of the URL, Push Kit permission.
fn authorize(
    state: &SimState,
    path: SendPath<'_>,
    authorization: Option<&str>,
) -> Result<HuaweiAppSpec, PushResult> {
    let bearer = authorization.and_then(|a| {
        let (scheme, value) = a.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
    });
    let Some(bearer) = bearer.filter(|b| !b.is_empty()) else {
        return Err(PushResult::new(
            AUTH_ERROR,
            "Authorization header is missing or empty",
        ));
    };
    let apps = &state.huawei.apps;
    let expired = || PushResult::new(TOKEN_EXPIRED, "access token expired or invalid");
    let token = apps.token(bearer).ok_or_else(expired)?;
    if token.expires_at_ms <= state.core.clock.now_ms() {
        return Err(expired());
    }
    let app = apps.app(&token.app_id).ok_or_else(expired)?;
    match path {
        SendPath::V1(app_id) if app_id != app.app_id => {
            return Err(PushResult::new(
                AUTH_ERROR,
                "the access token was issued for another app",
            ));
        }
        SendPath::V2(project) if app.project_id.as_deref() != Some(project) => {
            return Err(PushResult::new(
                NO_PERMISSION,
                "the app has no permission to push for this project",
            ));
        }
        _ => {}
    }
    if !app.push_enabled {
        return Err(PushResult::new(
            NO_PERMISSION,
            "the app has no permission to push messages",
        ));
    }
    Ok(app)
}
