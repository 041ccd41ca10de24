//! The API calls: the two token endpoints (wechat.md §2, §8.1) and the two send endpoints
//! (§3, §4, §8.2–§8.4) with WeChat's validation order and errcodes.

use serde_json::{Map, Value, json};

use super::accounts::{TokenProblem, UserCheck};
use super::codes::{self, WxError};
use super::events::Event;
use super::validate::value_ok;
use crate::control::types::{WechatAccountKind, WechatAppSpec, WechatUserState};
use crate::state::SimState;

/// What a call answered, and what else it did.
#[derive(Debug)]
pub(crate) struct CallOutcome {
    /// The JSON answer (HTTP 200).
    pub body: Value,
    /// The openid addressed, once known.
    pub openid: Option<String>,
    /// The account, once known.
    pub app_id: Option<String>,
    /// An event to post (accepted template message of an account with a server URL).
    pub event: Option<Event>,
}

impl CallOutcome {
    fn err(e: &WxError) -> Self {
        CallOutcome {
            body: e.body(),
            openid: None,
            app_id: None,
            event: None,
        }
    }
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…`.
pub(crate) fn classic_token(state: &SimState, query: &[(String, String)]) -> CallOutcome {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let app_id = q("appid").unwrap_or_default();
    let out = (|| {
        if q("grant_type") != Some("client_credential") {
            return Err(codes::invalid_grant_type());
        }
        let account = state
            .wechat
            .accounts
            .account(app_id)
            .ok_or_else(codes::invalid_appid)?;
        if q("secret") != Some(account.app_secret.as_str()) {
            return Err(codes::invalid_credential());
        }
        let now = state.core.clock.now_ms();
        match state.wechat.accounts.classic_token(app_id, now) {
            Ok((token, ttl)) => Ok(json!({ "access_token": token, "expires_in": ttl })),
            Err(true) => Err(codes::daily_quota()),
            Err(false) => Err(codes::invalid_appid()),
        }
    })();
    with_app(out, app_id)
}

/// `POST /cgi-bin/stable_token` with `{"grant_type", "appid", "secret", "force_refresh"}`.
pub(crate) fn stable_token(state: &SimState, body: &[u8]) -> CallOutcome {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let Some(obj) = parsed else {
        return CallOutcome::err(&codes::data_format());
    };
    let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    let app_id = s("appid").to_string();
    let out = (|| {
        if s("grant_type") != "client_credential" {
            return Err(codes::invalid_grant_type());
        }
        let account = state
            .wechat
            .accounts
            .account(&app_id)
            .ok_or_else(codes::invalid_appid)?;
        if s("secret") != account.app_secret {
            return Err(codes::invalid_appsecret());
        }
        let force = obj
            .get("force_refresh")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let now = state.core.clock.now_ms();
        match state.wechat.accounts.stable_token(&app_id, force, now) {
            Ok((token, ttl)) => Ok(json!({ "access_token": token, "expires_in": ttl })),
            Err(45009) => Err(codes::daily_quota()),
            Err(_) => Err(codes::invalid_appid()),
        }
    })();
    with_app(out, &app_id)
}

fn with_app(out: Result<Value, WxError>, app_id: &str) -> CallOutcome {
    CallOutcome {
        body: out.unwrap_or_else(|e| e.body()),
        openid: None,
        app_id: (!app_id.is_empty()).then(|| app_id.to_string()),
        event: None,
    }
}

/// Which send endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendKind {
    /// `/cgi-bin/message/template/send` (official accounts).
    Template,
    /// `/cgi-bin/message/subscribe/send` (mini programs).
    Subscribe,
}

/// The token's account, or the auth errcode.
fn authorize(
    state: &SimState,
    access_token: Option<&str>,
    kind: SendKind,
) -> Result<WechatAppSpec, WxError> {
    let token = access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(codes::token_missing)?;
    let now = state.core.clock.now_ms();
    let issued = state
        .wechat
        .accounts
        .check_token(token, now)
        .map_err(|p| match p {
            TokenProblem::Unknown => codes::invalid_access_token(),
            TokenProblem::Retired => codes::invalid_credential(),
            TokenProblem::Expired => codes::token_expired(),
        })?;
    let account = state
        .wechat
        .accounts
        .account(&issued.app_id)
        .ok_or_else(codes::invalid_credential)?;
    let wanted = match kind {
        SendKind::Template => WechatAccountKind::OfficialAccount,
        SendKind::Subscribe => WechatAccountKind::MiniProgram,
    };
    if account.kind != wanted {
        return Err(codes::unauthorized());
    }
    Ok(account)
}

/// A send call.
pub(crate) fn send(
    state: &SimState,
    kind: SendKind,
    access_token: Option<&str>,
    body: &[u8],
) -> CallOutcome {
    let account = match authorize(state, access_token, kind) {
        Ok(a) => a,
        Err(e) => return CallOutcome::err(&e),
    };
    let mut out = CallOutcome {
        app_id: Some(account.app_id.clone()),
        ..CallOutcome::err(&codes::busy())
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        out.body = codes::empty_post().body();
        return out;
    }
    let Some(obj) = serde_json::from_slice::<Map<String, Value>>(body).ok() else {
        out.body = codes::data_format().body();
        return out;
    };
    out.openid = obj
        .get("touser")
        .and_then(Value::as_str)
        .map(str::to_string);
    let now = state.core.clock.now_ms();
    if let Some(code) = state.wechat.accounts.count_send(&account.app_id, now) {
        let e = if code == 45009 {
            codes::daily_quota()
        } else {
            codes::minute_quota()
        };
        out.body = e.body();
        return out;
    }
    let result = match kind {
        SendKind::Template => template(state, &account, &obj, now),
        SendKind::Subscribe => subscribe(state, &account, &obj),
    };
    match result {
        Ok((body, event)) => {
            out.body = body;
            out.event = event;
        }
        Err(e) => out.body = e.body(),
    }
    out
}

/// Fields every send needs: the openid (of this account) and the template's keys.
fn common(
    state: &SimState,
    account: &WechatAppSpec,
    obj: &Map<String, Value>,
) -> Result<(String, String, Vec<String>, UserCheck), WxError> {
    let openid = obj
        .get("touser")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(codes::invalid_openid)?;
    let template_id = obj
        .get("template_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(codes::invalid_template)?;
    if !obj.get("data").is_some_and(Value::is_object) {
        return Err(codes::data_format());
    }
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let user = state
        .wechat
        .accounts
        .user(&account.app_id, openid, accept_unknown);
    if user == UserCheck::Foreign {
        return Err(codes::invalid_openid());
    }
    let keys = state
        .wechat
        .accounts
        .template(&account.app_id, template_id)
        .ok_or_else(codes::invalid_template)?;
    Ok((openid.to_string(), template_id.to_string(), keys, user))
}

/// Every template key has a valid value (`data.<key>.value`).
fn check_data(obj: &Map<String, Value>, keys: &[String]) -> Result<(), WxError> {
    let data = obj.get("data").and_then(Value::as_object);
    for key in keys {
        let value = data
            .and_then(|d| d.get(key))
            .and_then(|v| v.get("value"))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        if !value.is_some_and(|v| value_ok(key, &v)) {
            return Err(codes::argument_invalid(&format!("data.{key}.value")));
        }
    }
    Ok(())
}

fn template(
    state: &SimState,
    account: &WechatAppSpec,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<(Value, Option<Event>), WxError> {
    let (openid, template_id, keys, user) = common(state, account, obj)?;
    let receipt_status = match user {
        UserCheck::Known(WechatUserState::Unfollowed, _) => return Err(codes::require_subscribe()),
        UserCheck::Known(WechatUserState::Blocked, _) => return Err(codes::user_refuse()),
        UserCheck::Known(_, status) => status,
        UserCheck::Foreign => return Err(codes::invalid_openid()),
    };
    if let Some(mp) = obj.get("miniprogram") {
        let appid = mp.get("appid").and_then(Value::as_str).unwrap_or_default();
        if !account.linked_mini_programs.iter().any(|l| l == appid) {
            return Err(codes::invalid_appid());
        }
    }
    check_data(obj, &keys)?;
    let msgid = state.wechat.next_msgid();
    if let Some(client_msg_id) = obj
        .get("client_msg_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        let key = (
            account.app_id.clone(),
            openid.clone(),
            client_msg_id.to_string(),
        );
        if let Some(first) = state.wechat.accounts.dedupe(key, msgid, now) {
            // Sent once already within 10 minutes: answered, not delivered again.
            return Ok((
                json!({ "errcode": 0, "errmsg": "ok", "msgid": first }),
                None,
            ));
        }
    }
    let _ = template_id;
    let event = Event {
        original_id: account.original_id.clone().unwrap_or_default(),
        openid,
        msg_id: msgid,
        status: receipt_status.unwrap_or_else(|| "success".to_string()),
    };
    Ok((
        json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }),
        Some(event),
    ))
}

fn subscribe(
    state: &SimState,
    account: &WechatAppSpec,
    obj: &Map<String, Value>,
) -> Result<(Value, Option<Event>), WxError> {
    let (openid, template_id, keys, _) = common(state, account, obj)?;
    if let Some(page) = obj
        .get("page")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        let path = page.split('?').next().unwrap_or_default();
        if account
            .pages
            .as_ref()
            .is_some_and(|pages| !pages.iter().any(|p| p == path))
        {
            return Err(codes::invalid_page());
        }
    }
    if let Some(v) = obj.get("miniprogram_state")
        && !matches!(v.as_str(), Some("developer" | "trial" | "formal"))
    {
        return Err(codes::argument_invalid("miniprogram_state"));
    }
    if let Some(v) = obj.get("lang")
        && !matches!(v.as_str(), Some("zh_CN" | "en_US" | "zh_HK" | "zh_TW"))
    {
        return Err(codes::argument_invalid("lang"));
    }
    check_data(obj, &keys)?;
    if !state
        .wechat
        .accounts
        .use_consent(&account.app_id, &openid, &template_id)
    {
        return Err(codes::user_refuse());
    }
    let msgid = state.wechat.next_msgid();
    Ok((
        json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }),
        None,
    ))
}
