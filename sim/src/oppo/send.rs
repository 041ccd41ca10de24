//! The send APIs (oppo.md §4, §9.2–§9.6): `auth_token` in the form body, `message` /
//! `messages` as JSON strings inside form fields, per-entry results for `unicast_batch`,
//! `save_message_content` + `broadcast` with the `"10000"` key for bad registration ids,
//! classification quotas, `app_message_id` de-duplication and the receipts to post.

use serde_json::{Map, Value, json};

use super::codes::{
    APP_DISABLED, CALL_LIMITED, DAILY_LIMIT, INVALID_ARGUMENT, INVALID_AUTH_TOKEN, INVALID_REGID,
    MISSING_ARGUMENT, MISSING_AUTH_TOKEN, NO_PUSH_PERMISSION, NOT_FOUND, Refusal,
    UNSUBSCRIBED_ALIAS, UNSUBSCRIBED_REGID, success,
};
use super::devices::Found;
use super::validate::{self, Checked};
use super::{Host, SavedMessage};
use crate::control::types::{OppoAppSpec, OppoReceiptEvent};
use crate::state::SimState;

/// Most messages per `unicast_batch`, registration ids per `broadcast`.
pub(crate) const MAX_BATCH: usize = 1000;

/// Which send API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/server/v1/message/notification/unicast`.
    Unicast,
    /// `/server/v1/message/notification/unicast_batch`.
    UnicastBatch,
    /// `/server/v1/message/notification/save_message_content`.
    SaveMessageContent,
    /// `/server/v1/message/notification/broadcast`.
    Broadcast,
}

impl Api {
    /// The API of a path (after the host prefix).
    pub(crate) fn of(path: &str) -> Option<Api> {
        match path.strip_prefix("/server/v1/message/notification/")? {
            "unicast" => Some(Api::Unicast),
            "unicast_batch" => Some(Api::UnicastBatch),
            "save_message_content" => Some(Api::SaveMessageContent),
            "broadcast" => Some(Api::Broadcast),
            _ => None,
        }
    }
}

/// What a send request did.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// The answer body.
    pub body: Value,
    /// The registration ids addressed, once known.
    pub tokens: Vec<String>,
    /// The app, once known.
    pub app_key: Option<String>,
    /// Receipts to post: (`call_back_url`, event).
    pub receipts: Vec<(String, OppoReceiptEvent)>,
}

fn refused(r: &Refusal) -> Sent {
    Sent {
        body: r.body(),
        ..Sent::default()
    }
}

/// China-time days, for the daily limits.
fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

/// Handles one send request.
pub(crate) fn handle(state: &SimState, host: Host, api: Api, params: &[(String, String)]) -> Sent {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let app = match authorize(state, host, param("auth_token")) {
        Ok(app) => app,
        Err(r) => return refused(&r),
    };
    let mut sent = match api {
        Api::Unicast => unicast(state, host, &app, param("message")),
        Api::UnicastBatch => unicast_batch(state, host, &app, param("messages")),
        Api::SaveMessageContent => save_message_content(state, host, &app, params),
        Api::Broadcast => broadcast(state, host, &app, params),
    };
    sent.app_key = Some(app.app_key);
    sent
}

/// `auth_token` of this host, the app's permissions and rate limit.
fn authorize(state: &SimState, host: Host, token: Option<&str>) -> Result<OppoAppSpec, Refusal> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refusal::new(MISSING_AUTH_TOKEN, "Missing AuthToken"))?;
    let invalid = || Refusal::new(INVALID_AUTH_TOKEN, "Invalid AuthToken");
    let issued = state.oppo.apps.token(token).ok_or_else(invalid)?;
    let now = state.core.clock.now_ms();
    if issued.host != host || issued.expires_at_ms <= now {
        return Err(invalid());
    }
    let app = state.oppo.apps.app(&issued.app_key).ok_or_else(invalid)?;
    if app.disabled {
        return Err(Refusal::new(APP_DISABLED, "App Disabled"));
    }
    if !app.push_permission {
        return Err(Refusal::new(NO_PUSH_PERMISSION, "Api Permission Denied"));
    }
    if state.oppo.apps.throttled(&app.app_key, now) {
        return Err(Refusal::new(CALL_LIMITED, "App Call Limited"));
    }
    Ok(app)
}

fn parse_json(text: Option<&str>, field: &str) -> Result<Value, Refusal> {
    let text = text.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        Refusal::new(
            MISSING_ARGUMENT,
            format!("Missing Required Arguments: {field}"),
        )
    })?;
    serde_json::from_str(text).map_err(|_| {
        Refusal::new(
            INVALID_ARGUMENT,
            format!("Invalid Arguments: {field} is not JSON"),
        )
    })
}

fn unicast(state: &SimState, host: Host, app: &OppoAppSpec, message: Option<&str>) -> Sent {
    let message = match parse_json(message, "message") {
        Ok(m) => m,
        Err(r) => return refused(&r),
    };
    let mut sent = Sent::default();
    let result = deliver(state, host, app, &message, &mut sent);
    sent.body = match result {
        Ok(id) => success(json!({ "messageId": id, "status": "call_success" })),
        Err(r) => r.body(),
    };
    sent
}

fn unicast_batch(state: &SimState, host: Host, app: &OppoAppSpec, messages: Option<&str>) -> Sent {
    let list = match parse_json(messages, "messages") {
        Ok(Value::Array(list)) => list,
        Ok(_) => {
            return refused(&Refusal::new(
                INVALID_ARGUMENT,
                "Invalid Arguments: messages must be a JSON array",
            ));
        }
        Err(r) => return refused(&r),
    };
    if list.is_empty() {
        return refused(&Refusal::new(
            MISSING_ARGUMENT,
            "Missing Required Arguments: messages",
        ));
    }
    if list.len() > MAX_BATCH {
        return refused(&Refusal::new(
            INVALID_ARGUMENT,
            "Invalid Arguments: more than 1000 messages",
        ));
    }
    let mut sent = Sent::default();
    let mut data = Vec::new();
    for message in &list {
        let regid = message
            .get("target_value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let entry = match deliver(state, host, app, message, &mut sent) {
            Ok(id) => {
                json!({ "messageId": id, "registrationId": regid, "errorCode": 0, "errorMessage": "Success" })
            }
            Err(r) => {
                json!({ "registrationId": regid, "errorCode": r.code, "errorMessage": r.message })
            }
        };
        data.push(entry);
    }
    sent.body = success(Value::Array(data));
    sent
}

/// One unicast message: target, notification, registration id, de-duplication, quotas,
/// receipt. Returns the message id.
fn deliver(
    state: &SimState,
    host: Host,
    app: &OppoAppSpec,
    message: &Value,
    sent: &mut Sent,
) -> Result<String, Refusal> {
    let Value::Object(m) = message else {
        return Err(Refusal::new(
            INVALID_ARGUMENT,
            "Invalid Arguments: message must be an object",
        ));
    };
    let regid = match m.get("target_value") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None | Some(Value::Null) => {
            return Err(Refusal::new(
                MISSING_ARGUMENT,
                "Missing Required Arguments: target_value",
            ));
        }
        Some(_) => {
            return Err(Refusal::new(
                INVALID_ARGUMENT,
                "Invalid Arguments: target_value",
            ));
        }
    };
    sent.tokens.push(regid.clone());
    match m.get("target_type").and_then(Value::as_i64) {
        Some(2) => {}
        Some(5) => return Err(Refusal::new(UNSUBSCRIBED_ALIAS, "Alias Not Subscribed")),
        None if m.get("target_type").is_none() => {
            return Err(Refusal::new(
                MISSING_ARGUMENT,
                "Missing Required Arguments: target_type",
            ));
        }
        _ => {
            return Err(Refusal::new(
                INVALID_ARGUMENT,
                "Invalid Arguments: target_type",
            ));
        }
    }
    let notification = match m.get("notification") {
        Some(Value::Object(n)) => n,
        None | Some(Value::Null) => {
            return Err(Refusal::new(
                MISSING_ARGUMENT,
                "Missing Required Arguments: notification",
            ));
        }
        Some(_) => {
            return Err(Refusal::new(
                INVALID_ARGUMENT,
                "Invalid Arguments: notification",
            ));
        }
    };
    let checked = validate::notification(notification, app, false)?;
    let verify = m
        .get("verify_registration_id")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let found = state
        .oppo
        .devices
        .check(&app.app_key, host, &regid, accept_unknown);
    match (&found, verify) {
        (Found::Invalid, true) => {
            return Err(Refusal::new(INVALID_REGID, "Invalid RegistrationId"));
        }
        (Found::Unsubscribed, true) => {
            return Err(Refusal::new(
                UNSUBSCRIBED_REGID,
                "RegistrationId Not Subscribed",
            ));
        }
        _ => {}
    }
    let key = checked
        .app_message_id
        .clone()
        .map(|id| (app.app_key.clone(), regid.clone(), id));
    if let Some(id) = key.as_ref().and_then(|k| state.oppo.seen(k)) {
        // Already sent once: the same answer, nothing delivered again.
        return Ok(id);
    }
    let now = state.core.clock.now_ms();
    let day = china_day(now);
    if checked.marketing && !state.oppo.devices.count_app(app, day) {
        return Err(Refusal::new(
            DAILY_LIMIT,
            "The number of messages exceeds the daily limit",
        ));
    }
    let message_id = state.oppo.new_id(now);
    if let Some(k) = key {
        state.oppo.remember(k, message_id.clone());
    }
    if let Some(event) = event_for(state, app, &found, &regid, checked.marketing, day) {
        queue(sent, app, &checked, &message_id, "", &regid, event, now);
    }
    Ok(message_id)
}

/// The receipt event of a delivery (`None`: nothing is ever reported).
fn event_for(
    state: &SimState,
    app: &OppoAppSpec,
    found: &Found,
    regid: &str,
    marketing: bool,
    day: i64,
) -> Option<String> {
    match found {
        Found::Invalid => Some("regid_invalid".into()),
        Found::Unsubscribed => None,
        Found::Active(_) if marketing && !state.oppo.devices.count_device(app, regid, day) => {
            Some("user_daily_limit".into())
        }
        Found::Active(custom) => Some(custom.clone().unwrap_or_else(|| "push_arrive".into())),
    }
}

#[allow(clippy::too_many_arguments)]
fn queue(
    sent: &mut Sent,
    app: &OppoAppSpec,
    checked: &Checked,
    message_id: &str,
    task_id: &str,
    regids: &str,
    event: String,
    now: i64,
) {
    let Some(url) = &checked.callback_url else {
        return;
    };
    sent.receipts.push((
        url.clone(),
        OppoReceiptEvent {
            message_id: message_id.to_string(),
            app_id: app.app_id.clone(),
            task_id: task_id.to_string(),
            registration_ids: regids.to_string(),
            event_time: now,
            param: checked.callback_parameter.clone().unwrap_or_default(),
            event_type: event,
        },
    ));
}

/// The notification fields of `save_message_content`: every form field but `auth_token`.
fn save_message_content(
    state: &SimState,
    host: Host,
    app: &OppoAppSpec,
    params: &[(String, String)],
) -> Sent {
    let notification: Map<String, Value> = params
        .iter()
        .filter(|(k, _)| k != "auth_token")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Err(r) = validate::notification(&notification, app, true) {
        return refused(&r);
    }
    let id = state.oppo.new_id(state.core.clock.now_ms());
    state.oppo.save(
        id.clone(),
        SavedMessage {
            app_key: app.app_key.clone(),
            host,
            notification,
        },
    );
    Sent {
        body: success(json!({ "message_id": id })),
        ..Sent::default()
    }
}

fn broadcast(state: &SimState, host: Host, app: &OppoAppSpec, params: &[(String, String)]) -> Sent {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(message_id) = param("message_id") else {
        return refused(&Refusal::new(
            MISSING_ARGUMENT,
            "Missing Required Arguments: message_id",
        ));
    };
    let saved = match state.oppo.saved(message_id) {
        Some(s) if s.app_key == app.app_key && s.host == host => s,
        _ => return refused(&Refusal::new(NOT_FOUND, "Data Not Exists")),
    };
    match param("target_type") {
        Some("2") => {}
        None => {
            return refused(&Refusal::new(
                MISSING_ARGUMENT,
                "Missing Required Arguments: target_type",
            ));
        }
        Some(_) => {
            return refused(&Refusal::new(
                INVALID_ARGUMENT,
                "Invalid Arguments: target_type",
            ));
        }
    }
    let regids: Vec<String> = param("target_value")
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if regids.is_empty() {
        return refused(&Refusal::new(
            MISSING_ARGUMENT,
            "Missing Required Arguments: target_value",
        ));
    }
    if regids.len() > MAX_BATCH {
        return refused(&Refusal::new(
            INVALID_ARGUMENT,
            "Invalid Arguments: more than 1000 registration ids",
        ));
    }
    // Validated when saved; the app's channels may have changed since.
    let checked = match validate::notification(&saved.notification, app, true) {
        Ok(c) => c,
        Err(r) => return refused(&r),
    };
    let now = state.core.clock.now_ms();
    let day = china_day(now);
    let task_id = state.oppo.new_id(now);
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let mut sent = Sent {
        tokens: regids.clone(),
        ..Sent::default()
    };
    let (mut invalid, mut unsubscribed) = (Vec::new(), Vec::new());
    let mut events: Vec<(String, Vec<String>)> = Vec::new();
    for regid in &regids {
        let found = state
            .oppo
            .devices
            .check(&app.app_key, host, regid, accept_unknown);
        match found {
            Found::Invalid => invalid.push(regid.clone()),
            Found::Unsubscribed => unsubscribed.push(regid.clone()),
            Found::Active(_) => {
                if checked.marketing && !state.oppo.devices.count_app(app, day) {
                    return refused(&Refusal::new(
                        DAILY_LIMIT,
                        "The number of messages exceeds the daily limit",
                    ));
                }
                if let Some(event) = event_for(state, app, &found, regid, checked.marketing, day) {
                    match events.iter_mut().find(|(e, _)| *e == event) {
                        Some((_, ids)) => ids.push(regid.clone()),
                        None => events.push((event, vec![regid.clone()])),
                    }
                }
            }
        }
    }
    for (event, ids) in events {
        queue(
            &mut sent,
            app,
            &checked,
            message_id,
            &task_id,
            &ids.join(","),
            event,
            now,
        );
    }
    let mut data = json!({ "message_id": message_id, "task_id": task_id });
    if !invalid.is_empty() {
        data[INVALID_REGID.to_string()] = json!(invalid);
    }
    if !unsubscribed.is_empty() {
        data[UNSUBSCRIBED_REGID.to_string()] = json!(unsubscribed);
    }
    sent.body = success(data);
    sent
}
