//! `POST /v3/message/regid` and `/v2/message/regid` (xiaomi.md §3–§6, §9): the `key=`
//! AppSecret, the app's state and daily request limit, form validation, packages, channels
//! and templates, regid states with `bad_regids` / `20301`, public quotas and the receipts
//! to post.

use serde_json::{Map, Value, json};

use super::apps::china_day;
use super::codes::{
    BAD_PACKAGE, BAD_SECRET, BLACKLISTED, CHANNEL_MISMATCH, DAILY_LIMIT, FORBIDDEN, ILLEGAL_VALUE,
    MISSING_PARAMETER, MiError, NO_VALID_TARGETS, TOO_LONG, ok_body,
};
use super::devices::{CLICKED, DELIVERED, NOTIFICATIONS_OFF, QUOTA};
use super::receipts::Pending;
use super::validate::{self, Class, Message};
use crate::control::types::XiaomiAppSpec;
use crate::state::SimState;

/// Private messages are kept at most 10 days.
const PRIVATE_MAX_TTL_MS: i64 = 10 * 86_400_000;
/// Public and unclassified messages at most 1 day.
const PUBLIC_MAX_TTL_MS: i64 = 86_400_000;

/// Which send path was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// `/v2/message/regid`: one package.
    V2,
    /// `/v3/message/regid`: a comma-separated package list is allowed.
    V3,
}

/// The result of one send request.
#[derive(Debug)]
pub(crate) struct SendOutcome {
    /// HTTP status.
    pub status: u16,
    /// The JSON answer.
    pub body: Value,
    /// The regids addressed, once known.
    pub regids: Vec<String>,
    /// The app, once authenticated.
    pub app_id: Option<String>,
    /// Receipts to post.
    pub receipts: Vec<Pending>,
}

/// The request as it arrived.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Incoming<'a> {
    /// Which path.
    pub version: Version,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The body exceeded the read limit.
    pub too_large: bool,
    /// The message id to give (`data.id`).
    pub message_id: &'a str,
    /// The trace id to answer.
    pub trace_id: &'a str,
}

fn fail(e: MiError, trace_id: &str, app: Option<&XiaomiAppSpec>) -> SendOutcome {
    SendOutcome {
        status: e.status,
        body: e.body(trace_id),
        regids: Vec::new(),
        app_id: app.map(|a| a.app_id.clone()),
        receipts: Vec::new(),
    }
}

/// Handles a send request.
pub(crate) fn send(state: &SimState, req: Incoming<'_>) -> SendOutcome {
    let app = match authorize(state, req.authorization) {
        Ok(app) => app,
        Err(e) => return fail(e, req.trace_id, None),
    };
    let now = state.core.clock.now_ms();
    let day = china_day(now);
    let checked = check_app(state, &app, day)
        .and_then(|()| check_packages(&app, req.body))
        .and_then(|()| {
            if req.too_large {
                Err(MiError::new(TOO_LONG, "message is too long"))
            } else {
                validate::validate(req.content_type, req.body, now)
            }
        })
        .and_then(|m| classify(&app, req.version, &m).map(|class| (m, class)));
    match checked {
        Ok((m, class)) => deliver(state, &app, m, class, now, &req),
        Err(e) => {
            let mut out = fail(e, req.trace_id, Some(&app));
            out.regids = validate::regids_of(req.body);
            out
        }
    }
}

/// `Authorization: key=<AppSecret>`, exactly (a lower-case `key`).
fn authorize(state: &SimState, authorization: Option<&str>) -> Result<XiaomiAppSpec, MiError> {
    let refused = || MiError::new(BAD_SECRET, "Invalid application secret.");
    let secret = authorization
        .and_then(|a| a.strip_prefix("key="))
        .filter(|s| !s.is_empty())
        .ok_or_else(refused)?;
    state.xiaomi.apps.by_secret(secret).ok_or_else(refused)
}

/// Blacklist, permission and the daily request count.
fn check_app(state: &SimState, app: &XiaomiAppSpec, day: i64) -> Result<(), MiError> {
    if app.blacklisted {
        return Err(MiError::new(
            BLACKLISTED,
            format!(
                "AppId {} in the blacklist, forbid to send messages",
                app.app_id
            ),
        ));
    }
    if app.forbidden {
        return Err(MiError::new(
            FORBIDDEN,
            "the operation is forbidden for this app",
        ));
    }
    if !state
        .xiaomi
        .apps
        .count_request(&app.app_id, day, app.daily_request_limit)
    {
        return Err(MiError::new(
            DAILY_LIMIT,
            "the app's daily request count is too high",
        ));
    }
    Ok(())
}

/// The package names belong to the secret's app (checked with the auth, before the form:
/// `22022`).
fn check_packages(app: &XiaomiAppSpec, body: &[u8]) -> Result<(), MiError> {
    let packages = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "restricted_package_name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match packages
        .split(',')
        .map(str::trim)
        .find(|p| !p.is_empty() && !app.package_names.iter().any(|have| have == p))
    {
        Some(p) => Err(MiError::new(
            BAD_PACKAGE,
            format!("Invalid package name: {p}"),
        )),
        None => Ok(()),
    }
}

/// Packages, channel class, templates and ttl against the app.
fn classify(app: &XiaomiAppSpec, version: Version, m: &Message) -> Result<Class, MiError> {
    if version == Version::V2 && m.packages.len() > 1 {
        return Err(MiError::new(
            ILLEGAL_VALUE,
            "/v2/message/regid takes one restricted_package_name",
        ));
    }
    if let Some(p) = m.packages.iter().find(|p| !app.package_names.contains(p)) {
        return Err(MiError::new(
            BAD_PACKAGE,
            format!("Invalid package name: {p}"),
        ));
    }
    let class = match m.channel_id.as_deref() {
        None => Class::Unclassified,
        Some(c) if app.private_channels.iter().any(|p| p == c) => Class::Private,
        Some(c) if app.public_channels.iter().any(|p| p == c) => Class::Public,
        Some(c) if app.full_classification => {
            return Err(MiError::new(
                CHANNEL_MISMATCH,
                format!("channel info mismatch: {c} is not a channel of this app"),
            ));
        }
        Some(_) => Class::Public,
    };
    if class == Class::Private && !m.pass_through {
        match (&m.template_id, &m.template_param) {
            (None, _) if app.templates_required => {
                return Err(MiError::new(
                    ILLEGAL_VALUE,
                    "private messages must carry extra.template_id",
                ));
            }
            (None, _) => {}
            (Some(id), params) => {
                let Some(template) = app.templates.iter().find(|t| &t.id == id) else {
                    return Err(MiError::new(
                        ILLEGAL_VALUE,
                        format!("unknown template {id}"),
                    ));
                };
                let Some(params) = params else {
                    return Err(MiError::new(
                        MISSING_PARAMETER,
                        "Missing required parameter: extra.template_param",
                    ));
                };
                validate::check_template_params(params, template.params)?;
            }
        }
    }
    let max = if class == Class::Private {
        PRIVATE_MAX_TTL_MS
    } else {
        PUBLIC_MAX_TTL_MS
    };
    if m.ttl_ms.is_some_and(|t| t > max) {
        return Err(MiError::new(
            ILLEGAL_VALUE,
            format!("time_to_live must be at most {max} ms for this message class"),
        ));
    }
    Ok(class)
}

/// Regid states, the answer, quotas and receipts.
fn deliver(
    state: &SimState,
    app: &XiaomiAppSpec,
    m: Message,
    class: Class,
    now: i64,
    req: &Incoming<'_>,
) -> SendOutcome {
    let accept_unknown = state.core.settings().accept_unknown_tokens;
    let devices = &state.xiaomi.devices;
    let mut accepted = Vec::new();
    let mut bad = Vec::new();
    for regid in &m.regids {
        let fate = m
            .packages
            .iter()
            .find_map(|p| devices.check(p, regid, accept_unknown).map(|f| (p, f)));
        match fate {
            Some((package, fate)) => accepted.push((regid.clone(), package.clone(), fate)),
            None => bad.push(regid.clone()),
        }
    }
    if accepted.is_empty() {
        let e = MiError::new(NO_VALID_TARGETS, "No valid targets!");
        return SendOutcome {
            regids: m.regids,
            ..fail(e, req.trace_id, Some(app))
        };
    }
    let day = china_day(now);
    let mut data = Map::new();
    data.insert("id".into(), json!(req.message_id));
    if !bad.is_empty() {
        data.insert("bad_regids".into(), json!(bad.join(",")));
    }
    let mut public_before = 0;
    if class == Class::Public {
        let n = accepted.len() as u64;
        public_before = state.xiaomi.apps.count_public(&app.app_id, day, n);
        data.insert("day_acked".into(), json!((public_before + n).to_string()));
        data.insert(
            "day_quota".into(),
            json!(app.public_daily_quota.to_string()),
        );
    }
    let mut types: Vec<(u32, String)> = Vec::new();
    for (i, (regid, package, fate)) in accepted.iter().enumerate() {
        let over_app = class == Class::Public && public_before + i as u64 >= app.public_daily_quota;
        let fits_device = devices.count(package, regid, day, class, app.public_per_device);
        let kind = if over_app || !fits_device {
            QUOTA
        } else {
            fate.receipt_type
        };
        types.push((kind, regid.clone()));
        if kind == DELIVERED && fate.clicked {
            types.push((CLICKED, regid.clone()));
        }
    }
    let url = m
        .callback
        .clone()
        .or_else(|| state.xiaomi.receipts.callback_of(&app.app_id));
    let mut receipts = Vec::new();
    if let Some(url) = url {
        let mut kinds: Vec<u32> = types.iter().map(|(k, _)| *k).collect();
        kinds.dedup();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds.into_iter().filter(|k| m.callback_type & k != 0) {
            let targets: Vec<&str> = types
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, r)| r.as_str())
                .collect();
            let mut entry = Map::new();
            if let Some(param) = &m.callback_param {
                entry.insert("param".into(), json!(param));
            }
            entry.insert("type".into(), json!(kind));
            entry.insert("targets".into(), json!(targets.join(",")));
            entry.insert("jobkey".into(), json!(m.jobkey.clone().unwrap_or_default()));
            let bar = if kind == NOTIFICATIONS_OFF {
                "Disable"
            } else {
                "Enable"
            };
            entry.insert("barStatus".into(), json!(bar));
            entry.insert("timestamp".into(), json!(now));
            receipts.push(Pending {
                url: url.clone(),
                message_id: req.message_id.to_string(),
                entry: Value::Object(entry),
            });
        }
    }
    let info = format!("Received push messages for {} REGID", accepted.len());
    SendOutcome {
        status: 200,
        body: ok_body(data, &info, req.trace_id),
        regids: m.regids,
        app_id: Some(app.app_id.clone()),
        receipts,
    }
}
