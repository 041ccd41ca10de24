//! `/v1/apps`: a tenant's apps and their per-vendor settings.

use super::AppState;
use super::auth::TenantCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use axum::extract::State;
use axum::http::StatusCode;
use push_core::ids::check_external_id;
use push_core::{App, AppSettings, Problem};
use serde::Deserialize;

/// Body of `POST /v1/apps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    settings: AppSettings,
}

/// Body of `PATCH /v1/apps/{app}`: fields given replace the stored ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    settings: Option<AppSettings>,
}

/// The caller's app, or 404 when it does not exist or belongs to another tenant.
pub async fn owned_app(state: &AppState, caller: TenantCaller, app_id: &str) -> ApiResult<App> {
    match state.store.get_app(app_id).await? {
        Some(app) if app.tenant_id == caller.0 => Ok(app),
        _ => Err(ApiError::not_found("app")),
    }
}

fn check(name: Option<&str>, settings: &AppSettings, id: Option<&str>) -> ApiResult<()> {
    let mut problems: Vec<Problem> = settings
        .problems()
        .into_iter()
        .map(|(field, reason)| Problem { field, reason })
        .collect();
    if let Some(id) = id
        && let Err(reason) = check_external_id(id)
    {
        problems.push(Problem {
            field: "id".into(),
            reason: reason.into(),
        });
    }
    if let Some(name) = name
        && (name.trim().is_empty() || name.chars().count() > 200)
    {
        problems.push(Problem {
            field: "name".into(),
            reason: "must be 1 to 200 characters".into(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// `POST /v1/apps`.
pub async fn create(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateApp>,
) -> ApiResult<(StatusCode, ApiJson<App>)> {
    check(body.name.as_deref(), &body.settings, Some(&body.id))?;
    let now = push_core::now();
    let app = App {
        name: body
            .name
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| body.id.clone()),
        id: body.id,
        tenant_id: caller.0,
        settings: body.settings,
        created_at: now,
        updated_at: now,
    };
    state.store.create_app(&app).await.map_err(|e| match e {
        push_core::StoreError::Conflict(_) => {
            ApiError::conflict(format!("app id {:?} is taken", app.id))
        }
        other => other.into(),
    })?;
    tracing::info!(app = %app.id, tenant = %app.tenant_id, "app created");
    Ok((StatusCode::CREATED, ApiJson(app)))
}

/// `GET /v1/apps`: the caller's apps.
pub async fn list(
    caller: TenantCaller,
    State(state): State<AppState>,
) -> ApiResult<ApiJson<Vec<App>>> {
    Ok(ApiJson(state.store.list_apps(caller.0).await?))
}

/// `GET /v1/apps/{app}`.
pub async fn get(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<ApiJson<App>> {
    Ok(ApiJson(owned_app(&state, caller, &app).await?))
}

/// `PATCH /v1/apps/{app}`.
pub async fn update(
    caller: TenantCaller,
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateApp>,
) -> ApiResult<ApiJson<App>> {
    let mut app = owned_app(&state, caller, &app_id).await?;
    if let Some(name) = body.name {
        app.name = name.trim().to_string();
    }
    if let Some(settings) = body.settings {
        app.settings = settings;
    }
    check(Some(&app.name), &app.settings, None)?;
    app.updated_at = push_core::now();
    state.store.update_app(&app).await?;
    tracing::info!(app = %app.id, "app updated");
    Ok(ApiJson(app))
}
