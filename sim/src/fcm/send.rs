//! `POST /v1/projects/{project}/messages:send` (fcm.md §1, §3–§6): bearer token, scope,
//! project, message validation, quotas, registration-token state, success name.

use serde_json::{Value, json};

use super::error::FcmFailure;
use super::oauth::MESSAGING_SCOPES;
use super::validate::{self, Target};
use crate::state::SimState;

const MISSING_CREDENTIALS: &str = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const INVALID_CREDENTIALS: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const REALM: &str = "Bearer realm=\"https://accounts.google.com/\"";

/// The result of one send request.
#[derive(Debug)]
pub(crate) struct SendOutcome {
    /// The success body or the error.
    pub result: Result<Value, FcmFailure>,
    /// The registration token addressed, once known.
    pub token: Option<String>,
    /// A valid `validate_only` request.
    pub dry_run: bool,
}

/// Handles a send request whose body is `body` (`too_large`: it exceeded the read limit).
pub(crate) fn send(
    state: &SimState,
    project: &str,
    authorization: Option<&str>,
    body: &[u8],
    too_large: bool,
) -> SendOutcome {
    let (mut token, mut dry_run) = (None, false);
    let result = process(
        state,
        project,
        authorization,
        body,
        too_large,
        &mut token,
        &mut dry_run,
    );
    SendOutcome {
        result,
        token,
        dry_run,
    }
}

fn process(
    state: &SimState,
    project: &str,
    authorization: Option<&str>,
    body: &[u8],
    too_large: bool,
    token_out: &mut Option<String>,
    dry_run: &mut bool,
) -> Result<Value, FcmFailure> {
    authorize(state, project, authorization)?;
    if too_large {
        return Err(FcmFailure::invalid("message", "Message is too big"));
    }
    let msg = validate::validate(body)?;
    let core = &state.core;
    let now = core.clock.now_ms();
    let settings = core.settings();
    if let Some(q) = settings.fcm_project_quota_per_minute {
        state.fcm.tokens.project_quota(project, q, now)?;
    }
    let target = match &msg.target {
        Target::Token(t) => Some((t, "message.token")),
        Target::Fid(t) => Some((t, "message.fid")),
        Target::Topic(_) | Target::Condition(_) => None,
    };
    if let Some((t, field)) = target {
        *token_out = Some(t.clone());
        state.fcm.tokens.check(
            project,
            t,
            field,
            settings.accept_unknown_tokens,
            settings.fcm_device_per_minute,
            now,
        )?;
    }
    *dry_run = msg.validate_only;
    let id = if msg.validate_only {
        "fake_message_id".to_string()
    } else {
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("0:{}%{}", now.saturating_mul(1000), &random[..16])
    };
    Ok(json!({ "name": format!("projects/{project}/messages/{id}") }))
}

/// Bearer token, scope and project checks.
fn authorize(
    state: &SimState,
    project: &str,
    authorization: Option<&str>,
) -> Result<(), FcmFailure> {
    let bearer = authorization.and_then(|a| {
        let (scheme, value) = a.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
    });
    let Some(bearer) = bearer.filter(|b| !b.is_empty()) else {
        let mut f = FcmFailure::new(401, MISSING_CREDENTIALS);
        f.details.error_info = Some("CREDENTIALS_MISSING".into());
        f.details.www_authenticate = Some(REALM.into());
        return Err(f);
    };
    let accounts = &state.fcm.accounts;
    let invalid = || {
        let mut f = FcmFailure::new(401, INVALID_CREDENTIALS);
        f.details.www_authenticate = Some(format!("{REALM}, error=\"invalid_token\""));
        f
    };
    let token = accounts.token(bearer).ok_or_else(invalid)?;
    if token.expires_at_ms <= state.core.clock.now_ms() {
        let mut f = invalid();
        f.details.error_info = Some("ACCESS_TOKEN_EXPIRED".into());
        return Err(f);
    }
    if !token
        .scopes
        .iter()
        .any(|s| MESSAGING_SCOPES.contains(&s.as_str()))
    {
        let mut f = FcmFailure::new(403, "Request had insufficient authentication scopes.");
        f.details.error_info = Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT".into());
        f.details.www_authenticate = Some(format!(
            "{REALM}, error=\"insufficient_scope\", scope=\"{}\"",
            MESSAGING_SCOPES[0]
        ));
        return Err(f);
    }
    let account = accounts.account(&token.client_email).ok_or_else(invalid)?;
    if account.owns_project(project) {
        return Ok(());
    }
    if accounts.project_known(project) {
        return Err(FcmFailure::new(
            403,
            format!(
                "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist)."
            ),
        ));
    }
    Err(FcmFailure::new(404, "Requested entity was not found."))
}
