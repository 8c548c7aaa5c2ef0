//! Members and invitations.

use super::workflows::ListQuery;
use super::{optional_json, ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::invitations::{self, Accepting};
use app::backend::{auth, cursor, orgs, sessions, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{Invitation, Member, OrgMembership, Role, UserInfo};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::SET_COOKIE, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
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

#[derive(Serialize)]
pub struct InvitationList {
    invitations: Vec<Invitation>,
}

#[utoipa::path(
    get,
    operation_id = "listInvitations",
    path = "/orgs/{org}/invitations",
    summary = "The org's pending invitations, newest first",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "{invitations}", body = serde_json::Value), super::Failure)
)]
pub async fn list_invitations(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiPath(org): ApiPath<String>) -> ApiResult<Json<InvitationList>> {
    require(&caller, &org, Access::MANAGE_MEMBERS)?;
    Ok(Json(InvitationList { invitations: invitations::list_pending(&state.db, &org).await? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    #[schema(max_length = 254)]
    email: String,
    role: Role,
}

#[utoipa::path(
    post,
    operation_id = "createInvitation",
    path = "/orgs/{org}/invitations",
    summary = "Invite someone by email (a single-use link, valid 7 days, goes by mail); 409 for a member",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = InvitationBody,
    responses((status = 201, description = "{id, email, role, invited_by, expires_at}", body = serde_json::Value), super::Failure)
)]
pub async fn create_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<InvitationBody>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let by = state.acting(&caller, &client);
    let invitation = invitations::create(&state.db, &by, actor_role, &org, &body.email, body.role, &state.public_base).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeInvitation",
    path = "/orgs/{org}/invitations/{id}",
    summary = "Revoke a pending invitation: its link stops working",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Invitation id")),
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    invitations::revoke(&state.db, &state.acting(&caller, &client), actor_role, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    #[schema(value_type = app::backend::schema::Name)]
    name: String,
    password: String,
}

#[derive(Serialize)]
pub struct Accepted {
    user: UserInfo,
    org: OrgMembership,
}

#[utoipa::path(
    post,
    operation_id = "acceptInvitation",
    path = "/invitations/{token}/accept",
    summary = "Accept an invitation: with {name, password} for a new account (signed in at once), or with the session of the invited email",
    params(("token" = String, Path, description = "The token of the mailed link")),
    request_body(content = Option<AcceptBody>, description = "For a new account; none with a session"),
    responses((status = 200, description = "{user, org}: the membership", body = serde_json::Value), super::Failure)
)]
/// Used, revoked, expired and unknown tokens answer 404 alike.
pub async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    ApiPath(token): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body = optional_json::<AcceptBody>(&body)?;
    let caller = auth::authenticate(&state.db, &headers).await?;
    let who = match (&body, &caller) {
        (Some(b), _) => Accepting::NewAccount { name: &b.name, password: &b.password },
        (None, Some(caller)) => Accepting::SignedIn(caller.session()?.0),
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let (user, org) = invitations::accept(&state.db, &state.audit, &client, &token, who).await?;
    let answer = Json(Accepted { user: user.clone(), org });
    if body.is_none() {
        return Ok(answer.into_response());
    }
    // A new account is signed in at once.
    let session = sessions::create(&state.db, &user.id, &client).await?;
    Ok(([(SET_COOKIE, sessions::set_cookie(&session, &headers, &state.config))], answer).into_response())
}
