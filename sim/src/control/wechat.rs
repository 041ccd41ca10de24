//! WeChat control operations and their HTTP routes (`/wechat/…`, see sim/README.md).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::Control;
use super::types::{
    ControlError, ExpiredTokens, WechatAppInfo, WechatAppSpec, WechatConsentInfo,
    WechatConsentSpec, WechatEventPost, WechatEventSpec, WechatTemplateSpec, WechatUserSpec,
};

impl Control {
    /// Registers (or replaces) a WeChat account (official account or mini program).
    pub fn add_wechat_app(&self, spec: WechatAppSpec) -> Result<WechatAppInfo, ControlError> {
        self.state.wechat.accounts.add(&spec)
    }

    /// Registers (or replaces) a template of a WeChat account.
    pub fn add_wechat_template(&self, spec: WechatTemplateSpec) -> Result<(), ControlError> {
        self.state.wechat.accounts.add_template(&spec)
    }

    /// Registers or updates a WeChat user (openid of one account; follow / block state).
    pub fn set_wechat_user(&self, spec: WechatUserSpec) -> Result<(), ControlError> {
        self.state.wechat.accounts.set_user(&spec)
    }

    /// Adds (or withdraws) a mini-program user's one-time subscription consents for a
    /// template; answers how many are unused.
    pub fn wechat_consent(
        &self,
        spec: WechatConsentSpec,
    ) -> Result<WechatConsentInfo, ControlError> {
        let remaining = self.state.wechat.accounts.consent(&spec)?;
        Ok(WechatConsentInfo { remaining })
    }

    /// Expires every WeChat access token issued so far (sends then get 42001); returns how
    /// many were still live.
    pub fn expire_wechat_access_tokens(&self) -> usize {
        self.state
            .wechat
            .accounts
            .expire_all(self.state.core.clock.now_ms())
    }

    /// Sets (or replaces) an official account's server URL for `TEMPLATESENDJOBFINISH`
    /// events.
    pub fn set_wechat_event_url(&self, spec: WechatEventSpec) -> Result<(), ControlError> {
        self.state.wechat.events.add(&spec)
    }

    /// Removes an official account's server URL; false if it had none.
    pub fn remove_wechat_event_url(&self, app_id: &str) -> bool {
        self.state.wechat.events.remove(app_id)
    }

    /// The events posted (or attempted) so far, oldest first.
    pub fn wechat_events(&self) -> Vec<WechatEventPost> {
        self.state.wechat.events.sent()
    }

    /// Registers the dev WeChat accounts of `push_sim::dev`: the official account (linked
    /// to the mini program) with template `DEV_WECHAT_OA_TEMPLATE` (`thing1`, `thing2`,
    /// `time3`) and the mini program with subscribe template `DEV_WECHAT_MP_TEMPLATE`
    /// (`thing1`, `thing2`).
    pub(crate) fn preload_wechat_dev(&self) -> Result<(), ControlError> {
        use super::types::WechatAccountKind;
        use crate::dev::{
            DEV_WECHAT_MP_APP_ID, DEV_WECHAT_MP_APP_SECRET, DEV_WECHAT_MP_TEMPLATE,
            DEV_WECHAT_OA_APP_ID, DEV_WECHAT_OA_APP_SECRET, DEV_WECHAT_OA_TEMPLATE,
        };
        self.add_wechat_app(WechatAppSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            app_secret: DEV_WECHAT_OA_APP_SECRET.into(),
            linked_mini_programs: vec![DEV_WECHAT_MP_APP_ID.into()],
            ..WechatAppSpec::default()
        })?;
        self.add_wechat_app(WechatAppSpec {
            app_id: DEV_WECHAT_MP_APP_ID.into(),
            app_secret: DEV_WECHAT_MP_APP_SECRET.into(),
            kind: WechatAccountKind::MiniProgram,
            ..WechatAppSpec::default()
        })?;
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect();
        self.add_wechat_template(WechatTemplateSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            template_id: DEV_WECHAT_OA_TEMPLATE.into(),
            keys: keys(&["thing1", "thing2", "time3"]),
        })?;
        self.add_wechat_template(WechatTemplateSpec {
            app_id: DEV_WECHAT_MP_APP_ID.into(),
            template_id: DEV_WECHAT_MP_TEMPLATE.into(),
            keys: keys(&["thing1", "thing2"]),
        })
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::new(format!("bad JSON body: {e}")))
}

fn answer<T: serde::Serialize>(result: Result<T, ControlError>) -> Response {
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(e)).into_response(),
    }
}

fn done(result: Result<(), ControlError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(e)).into_response(),
    }
}

async fn add_app(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.add_wechat_app(spec)))
}

async fn add_template(State(c): State<Control>, body: Bytes) -> Response {
    done(parse(&body).and_then(|spec| c.add_wechat_template(spec)))
}

async fn set_user(State(c): State<Control>, body: Bytes) -> Response {
    done(parse(&body).and_then(|spec| c.set_wechat_user(spec)))
}

async fn consent(State(c): State<Control>, body: Bytes) -> Response {
    answer(parse(&body).and_then(|spec| c.wechat_consent(spec)))
}

async fn expire(State(c): State<Control>) -> Response {
    axum::Json(ExpiredTokens {
        expired: c.expire_wechat_access_tokens(),
    })
    .into_response()
}

async fn set_event_url(State(c): State<Control>, body: Bytes) -> Response {
    done(parse(&body).and_then(|spec| c.set_wechat_event_url(spec)))
}

async fn remove_event_url(State(c): State<Control>, Path(app_id): Path<String>) -> Response {
    if c.remove_wechat_event_url(&app_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let e = ControlError::new(format!("no server URL for app {app_id}"));
        (StatusCode::NOT_FOUND, axum::Json(e)).into_response()
    }
}

async fn events(State(c): State<Control>) -> Response {
    axum::Json(c.wechat_events()).into_response()
}

/// The `/wechat/…` routes of the control API.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/wechat/apps", post(add_app))
        .route("/wechat/templates", post(add_template))
        .route("/wechat/users", post(set_user))
        .route("/wechat/consents", post(consent))
        .route("/wechat/access-tokens/expire", post(expire))
        .route("/wechat/event-urls", post(set_event_url))
        .route("/wechat/event-urls/{app_id}", delete(remove_event_url))
        .route("/wechat/events", get(events))
}
