use super::workflows::ListQuery;
use super::{ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::{cursor, orgs, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{Member, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct MemberList {
    members: Vec<Member>,
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listMembers",
    path = "/orgs/{org}/members",
    summary = "The org's members, in the order they joined",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{members, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<MemberList>> {
    require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let all = orgs::list_members(&state.db, &org).await?;
    let (members, next_cursor) = cursor::page(all, |m| [m.joined_at.clone(), m.user_id.clone()], true, q.limit, q.cursor.as_deref())?;
    Ok(Json(MemberList { members, next_cursor }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Role,
}

#[utoipa::path(
    patch,
    operation_id = "changeMemberRole",
    path = "/orgs/{org}/members/{user_id}",
    summary = "Change a member's role",
    params(("org" = String, Path, description = "Organisation id"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = RoleBody,
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn change_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<Member>> {
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let by = state.acting(&caller, &client);
    orgs::change_role(&state.db, &by, actor_role, &org, &user_id, body.role).await?;
    let members = orgs::list_members(&state.db, &org).await?;
    members.into_iter().find(|m| m.user_id == user_id).map(Json).ok_or_else(|| ApiError::not_found("Member"))
}

#[utoipa::path(
    delete,
    operation_id = "removeMember",
    path = "/orgs/{org}/members/{user_id}",
    summary = "Remove a member",
    params(("org" = String, Path, description = "Organisation id"), ("user_id" = String, Path, description = "Member's user id")),
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, user_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let by = state.acting(&caller, &client);
    orgs::remove_member(&state.db, &by, actor_role, &org, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
