//! `/message/send`, `/message/saveListPayload` and `/message/pushToList` (vivo.md §3–§6,
//! §9.2–§9.6): the `authToken` header, validation, `requestId` de-duplication, regId states,
//! daily quotas and the receipts to post.

use serde_json::{Map, Value, json};

use super::apps::{StoredPayload, Totals};
use super::auth::result;
use super::receipts::{Planned, PostSettings};
use super::validate::{self, BAD_PARAMETER, Message};
use super::{china_day, china_hour};

/// A receipt's (ackType, subAckType).
type Ack = (u32, Option<u32>);
use crate::control::types::{VivoAppSpec, VivoReceiptEntry, VivoTokenState};
use crate::state::SimState;

/// The sim's code for a missing, unknown or expired `authToken` (the real one is unverified).
pub(crate) const AUTH_TOKEN_INVALID: i64 = 10000;
/// The app's daily total is used up.
pub(crate) const QUOTA: i64 = 10070;
/// `appId` of the body is not the token's app.
pub(crate) const APP_MISMATCH: i64 = 10094;
/// List body over the limit (also: fewer than 2 regIds, the sim's choice).
pub(crate) const LIST_LIMIT: i64 = 10252;
/// Invalid target.
pub(crate) const INVALID_TARGET: i64 = 10302;

/// What one request produced.
#[derive(Debug, Default)]
pub(crate) struct SendResult {
    /// The JSON answer (always HTTP 200).
    pub answer: Value,
    /// The regIds addressed (for the request log).
    pub tokens: Vec<String>,
    /// The app of the auth token, once known.
    pub app: Option<String>,
    /// Receipts to post.
    pub receipts: Vec<Planned>,
}

impl SendResult {
    fn fail(answer: Value) -> Self {
        SendResult {
            answer,
            ..SendResult::default()
        }
    }
}

fn success(task_id: &str) -> Value {
    json!({ "result": 0, "desc": "请求成功", "taskId": task_id })
}

/// The app of the `authToken` header.
fn authorize(state: &SimState, token: Option<&str>) -> Result<VivoAppSpec, Value> {
    let now = state.core.clock.now_ms();
    token
        .filter(|t| !t.is_empty())
        .and_then(|t| state.vivo.apps.token_app(t, now))
        .ok_or_else(|| {
            result(
                AUTH_TOKEN_INVALID,
                "authToken不合法或已过期: the authToken header is missing, unknown or expired",
            )
        })
}

/// The JSON object body, with the `appId` check.
fn object(body: &[u8], app: &VivoAppSpec) -> Result<Map<String, Value>, Value> {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) else {
        return Err(result(
            BAD_PARAMETER,
            "参数不合法: the body is not a JSON object",
        ));
    };
    let app_id = match m.get("appId") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if app_id.is_some_and(|id| id != app.app_id) {
        return Err(result(
            APP_MISMATCH,
            "appId与authToken不匹配: appId does not match the authToken",
        ));
    }
    Ok(m)
}

/// `POST /message/send`.
pub(crate) fn send(state: &SimState, token: Option<&str>, body: &[u8]) -> SendResult {
    let app = match authorize(state, token) {
        Ok(app) => app,
        Err(answer) => return SendResult::fail(answer),
    };
    let mut out = handle_send(state, &app, body);
    out.app = Some(app.app_id);
    out
}

fn handle_send(state: &SimState, app: &VivoAppSpec, body: &[u8]) -> SendResult {
    let m = match object(body, app) {
        Ok(m) => m,
        Err(answer) => return SendResult::fail(answer),
    };
    let reg_id = m.get("regId").and_then(Value::as_str).map(str::to_string);
    let tokens: Vec<String> = reg_id.iter().cloned().collect();
    let msg = match validate::validate(&m, true) {
        Ok(msg) => msg,
        Err((code, desc)) => {
            return SendResult {
                tokens,
                ..SendResult::fail(result(code, &desc))
            };
        }
    };
    if let Some(previous) = state
        .vivo
        .apps
        .answered(&app.app_id, "send", &msg.request_id)
    {
        return SendResult {
            answer: previous,
            tokens,
            ..SendResult::default()
        };
    }
    let Some(reg_id) = reg_id else {
        // Alias sends: the sim knows no aliases.
        return SendResult::fail(json!({
            "result": INVALID_TARGET, "desc": "alias does not exist",
            "invalidUser": { "status": 1, "userid": m.get("alias") }
        }));
    };
    let task_id = state.vivo.task_id(state.core.clock.now_ms());
    match deliver(state, app, &msg, std::slice::from_ref(&reg_id), &task_id) {
        Err(answer) => SendResult {
            answer,
            tokens,
            ..SendResult::default()
        },
        Ok((invalid, _)) if !invalid.is_empty() => SendResult {
            answer: json!({
                "result": INVALID_TARGET, "desc": "目标用户无效: invalid target",
                "invalidUser": invalid[0]
            }),
            tokens,
            ..SendResult::default()
        },
        Ok((_, receipts)) => {
            let answer = success(&task_id);
            state
                .vivo
                .apps
                .remember(&app.app_id, "send", &msg.request_id, &answer);
            SendResult {
                answer,
                tokens,
                app: None,
                receipts,
            }
        }
    }
}

/// `POST /message/saveListPayload`.
pub(crate) fn save_list_payload(state: &SimState, token: Option<&str>, body: &[u8]) -> SendResult {
    let app = match authorize(state, token) {
        Ok(app) => app,
        Err(answer) => return SendResult::fail(answer),
    };
    let answer = (|| {
        let m = object(body, &app)?;
        let msg = validate::validate(&m, false).map_err(|(c, d)| result(c, &d))?;
        if let Some(previous) = state
            .vivo
            .apps
            .answered(&app.app_id, "save", &msg.request_id)
        {
            return Ok(previous);
        }
        let task_id = state.vivo.task_id(state.core.clock.now_ms());
        let payload = StoredPayload {
            app_id: app.app_id.clone(),
            message: Value::Object(m),
        };
        state.vivo.apps.store_payload(&task_id, payload);
        let answer = success(&task_id);
        state
            .vivo
            .apps
            .remember(&app.app_id, "save", &msg.request_id, &answer);
        Ok(answer)
    })();
    SendResult {
        answer: answer.unwrap_or_else(|e: Value| e),
        app: Some(app.app_id),
        ..SendResult::default()
    }
}

/// `POST /message/pushToList`.
pub(crate) fn push_to_list(state: &SimState, token: Option<&str>, body: &[u8]) -> SendResult {
    let app = match authorize(state, token) {
        Ok(app) => app,
        Err(answer) => return SendResult::fail(answer),
    };
    let m = match object(body, &app) {
        Ok(m) => m,
        Err(answer) => return SendResult::fail(answer),
    };
    let reg_ids: Vec<String> = m
        .get("regIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut out = SendResult {
        tokens: reg_ids.clone(),
        app: Some(app.app_id.clone()),
        ..SendResult::default()
    };
    out.answer = match list(state, &app, &m, &reg_ids) {
        Ok((answer, receipts)) => {
            out.receipts = receipts;
            answer
        }
        Err(answer) => answer,
    };
    out
}

type Listed = (Value, Vec<Planned>);

fn list(
    state: &SimState,
    app: &VivoAppSpec,
    m: &Map<String, Value>,
    reg_ids: &[String],
) -> Result<Listed, Value> {
    if !(2..=1000).contains(&reg_ids.len()) {
        return Err(result(LIST_LIMIT, "regIds must hold 2 to 1000 regIds"));
    }
    let request_id = match m.get("requestId").and_then(Value::as_str) {
        Some(r) if !r.is_empty() && r.chars().count() <= 64 => r,
        _ => {
            return Err(result(
                BAD_PARAMETER,
                "参数不合法: requestId is required, at most 64 characters",
            ));
        }
    };
    let task_id = m.get("taskId").and_then(Value::as_str).unwrap_or_default();
    let payload = state
        .vivo
        .apps
        .payload(task_id)
        .filter(|p| p.app_id == app.app_id)
        .ok_or_else(|| result(BAD_PARAMETER, "参数不合法: taskId does not exist"))?;
    if let Some(previous) = state.vivo.apps.answered(&app.app_id, "push", request_id) {
        return Ok((previous, Vec::new()));
    }
    let stored = payload.message.as_object().cloned().unwrap_or_default();
    let msg = validate::validate(&stored, false).map_err(|(c, d)| result(c, &d))?;
    let (invalid, receipts) = deliver(state, app, &msg, reg_ids, task_id)?;
    let answer = json!({
        "result": 0, "desc": "请求成功", "taskId": task_id, "invalidUsers": invalid
    });
    state
        .vivo
        .apps
        .remember(&app.app_id, "push", request_id, &answer);
    Ok((answer, receipts))
}

/// Checks the targets, counts the daily totals and plans the receipts. `Ok` holds the
/// `invalidUser` entries and the receipts; `Err` the `10070` answer.
fn deliver(
    state: &SimState,
    app: &VivoAppSpec,
    msg: &Message,
    reg_ids: &[String],
    task_id: &str,
) -> Result<(Vec<Value>, Vec<Planned>), Value> {
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let apps = &state.vivo.apps;
    let mut invalid = Vec::new();
    let mut accepted = Vec::new();
    for reg_id in reg_ids {
        let (device, ack) = apps.device(&app.app_id, reg_id, accept_unknown);
        let status = match device {
            VivoTokenState::NotExist => Some(1),
            VivoTokenState::Uninstalled => Some(2),
            VivoTokenState::Offline => Some(3),
            VivoTokenState::Valid if msg.test && !app.test_devices.contains(reg_id) => Some(4),
            VivoTokenState::Valid => None,
        };
        match status {
            Some(status) => invalid.push(json!({ "status": status, "userid": reg_id })),
            None => accepted.push((reg_id.clone(), ack)),
        }
    }
    let now = state.core.clock.now_ms();
    let day = china_day(now);
    let base = app.valid_users.max(10_000);
    let (bucket, limit): (fn(&mut Totals) -> &mut u64, u64) = match (msg.test, msg.system) {
        (false, true) => (|t| &mut t.system, base.saturating_mul(3)),
        (false, false) => (|t| &mut t.operation, base),
        (true, true) => (|t| &mut t.test_system, 10_000),
        (true, false) => (|t| &mut t.test_operation, 100),
    };
    if !accepted.is_empty()
        && !apps.count_total(&app.app_id, day, bucket, accepted.len() as u64, limit)
    {
        return Err(result(
            QUOTA,
            "超过当天推送总量: the app's daily total is used up",
        ));
    }
    let per_device = if app.news_app { 5 } else { 2 };
    let night = !(7..23).contains(&china_hour(now));
    // vivo counts a device's operation messages by arrival (vivo.md §5): one held at night
    // has not arrived, so it is answered 104/1017 before the device's quota is looked at and
    // uses none of it; a controlled one (100/12000) did not arrive either.
    let acks: Vec<(String, Ack)> = accepted
        .into_iter()
        .map(|(reg_id, forced)| {
            let ack = match forced {
                Some(a) => (a.ack_type, a.sub_ack_type),
                None if !msg.system && night => (104, Some(1017)),
                None if !msg.system
                    && !apps.count_device_arrival(&app.app_id, &reg_id, day, per_device) =>
                {
                    (100, Some(12000))
                }
                None => (0, None),
            };
            (reg_id, ack)
        })
        .collect();
    let receipts = plan(state, app, msg, task_id, acks, now);
    Ok((invalid, receipts))
}

/// Groups the receipts of one send per (ackType, subAckType), at most `batch_size` regIds
/// per entry, for the message's receipt configuration: the console configuration named by
/// `callback.id`, or for an old-style `callback` URL the app's configuration naming that URL
/// (else the defaults). `ackTime` is the time of the ack, which for the sim is when the
/// receipt falls due (`now` plus the configuration's delay), not the send.
fn plan(
    state: &SimState,
    app: &VivoAppSpec,
    msg: &Message,
    task_id: &str,
    acks: Vec<(String, Ack)>,
    now: i64,
) -> Vec<Planned> {
    let receipts = &state.vivo.receipts;
    let settings = match (&msg.callback_id, &msg.callback_url) {
        (Some(id), _) => receipts
            .config(&app.app_id, id)
            .map(|c| PostSettings::of(&c)),
        (None, Some(url)) => Some(
            receipts
                .config_for_url(&app.app_id, url)
                .map_or_else(|| PostSettings::defaults(url), |c| PostSettings::of(&c)),
        ),
        (None, None) => None,
    };
    let Some(settings) = settings else {
        return Vec::new();
    };
    let mut groups: Vec<(Ack, Vec<String>)> = Vec::new();
    for (reg_id, ack) in acks {
        match groups.iter_mut().find(|(a, _)| *a == ack) {
            Some((_, ids)) => ids.push(reg_id),
            None => groups.push((ack, vec![reg_id])),
        }
    }
    let ack_time = now.saturating_add(i64::try_from(settings.delay_ms).unwrap_or(i64::MAX));
    let mut out = Vec::new();
    for ((ack, sub), ids) in groups {
        for chunk in ids.chunks(settings.batch_size.max(1)) {
            out.push(Planned {
                app_id: app.app_id.clone(),
                settings: settings.clone(),
                task_id: task_id.to_string(),
                entry: VivoReceiptEntry {
                    targets: chunk.join(","),
                    ack_time,
                    param: msg.param.clone(),
                    ack_type: ack.to_string(),
                    sub_ack_type: sub.map(|s| s.to_string()),
                },
            });
        }
    }
    out
}
