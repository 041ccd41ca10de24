//! `/v1/apps/{app}/groups…`: groups and their members.

use super::error::RestError;
use super::{body, check_id};
use crate::core::Shared;
use crate::store::groups::Group;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use push_core::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Body of `POST /v1/apps/{app}/groups`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGroup {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    members: Vec<String>,
}

/// Body of `PUT /v1/apps/{app}/groups/{group}/members`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddMembers {
    users: Vec<String>,
}

/// A group with its member list.
#[derive(Serialize)]
pub(crate) struct GroupWithMembers {
    #[serde(flatten)]
    group: Group,
    member_ids: Vec<String>,
}

/// The answer of adding members.
#[derive(Serialize)]
pub(crate) struct MemberCount {
    members: i64,
}

fn check_users(shared: &Shared, users: &[String]) -> Result<(), RestError> {
    if users.len() > shared.config.max_group_members {
        return Err(RestError::invalid(format!(
            "a group has at most {} members",
            shared.config.max_group_members
        )));
    }
    for user in users {
        check_id("users", user)?;
    }
    Ok(())
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    json: Result<Json<CreateGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<Group>), RestError> {
    shared.access.authorize(&headers, &app).await?;
    let create = body(json)?;
    check_id("id", &create.id)?;
    let name = create.name.unwrap_or_else(|| create.id.clone());
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(RestError::invalid("name: must be 1 to 200 characters"));
    }
    check_users(&shared, &create.members)?;
    let mut group = shared
        .store
        .create_group(&app, &create.id, name.trim())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => RestError::conflict(format!("group {:?} exists", create.id)),
            other => RestError::store(other),
        })?;
    if !create.members.is_empty() {
        group.members = add_members(&shared, &app, &create.id, &create.members).await?;
    }
    tracing::info!(app = %app, group = %group.id, members = group.members, "group created");
    Ok((StatusCode::CREATED, Json(group)))
}

async fn add_members(
    shared: &Shared,
    app: &str,
    group: &str,
    users: &[String],
) -> Result<i64, RestError> {
    shared
        .store
        .add_members(app, group, users, shared.config.max_group_members)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => RestError::not_found("group"),
            other => RestError::store(other),
        })?
        .ok_or_else(|| {
            RestError::invalid(format!(
                "a group has at most {} members",
                shared.config.max_group_members
            ))
        })
}

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<Group>>, RestError> {
    shared.access.authorize(&headers, &app).await?;
    Ok(Json(
        shared
            .store
            .list_groups(&app)
            .await
            .map_err(RestError::store)?,
    ))
}

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((app, group)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<GroupWithMembers>, RestError> {
    shared.access.authorize(&headers, &app).await?;
    let found = shared
        .store
        .get_group(&app, &group)
        .await
        .map_err(RestError::store)?
        .ok_or_else(|| RestError::not_found("group"))?;
    let member_ids = shared
        .store
        .members(&app, &group)
        .await
        .map_err(RestError::store)?;
    Ok(Json(GroupWithMembers {
        group: found,
        member_ids,
    }))
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((app, group)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, RestError> {
    shared.access.authorize(&headers, &app).await?;
    if shared
        .store
        .delete_group(&app, &group)
        .await
        .map_err(RestError::store)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(RestError::not_found("group"))
    }
}

pub(crate) async fn add(
    State(shared): State<Arc<Shared>>,
    Path((app, group)): Path<(String, String)>,
    headers: HeaderMap,
    json: Result<Json<AddMembers>, JsonRejection>,
) -> Result<Json<MemberCount>, RestError> {
    shared.access.authorize(&headers, &app).await?;
    let add = body(json)?;
    if add.users.is_empty() {
        return Err(RestError::invalid("users: must not be empty"));
    }
    check_users(&shared, &add.users)?;
    if shared
        .store
        .get_group(&app, &group)
        .await
        .map_err(RestError::store)?
        .is_none()
    {
        return Err(RestError::not_found("group"));
    }
    let members = add_members(&shared, &app, &group, &add.users).await?;
    Ok(Json(MemberCount { members }))
}

pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((app, group, user)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, RestError> {
    shared.access.authorize(&headers, &app).await?;
    if shared
        .store
        .remove_member(&app, &group, &user)
        .await
        .map_err(RestError::store)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(RestError::not_found("member"))
    }
}
