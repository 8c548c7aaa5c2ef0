use super::workflows::ListQuery;
use super::{ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, require_self, Access};
use app::backend::api_keys::{self, NewKey, Owner};
use app::backend::{cursor, AppState};
use app::error::ApiResult;
use app::model::{ApiKey, AuditPage, CreatedKey};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct KeyList {
    keys: Vec<ApiKey>,
    next_cursor: Option<String>,
}

impl KeyList {
    /// A page of keys, newest first.
    fn page(keys: Vec<ApiKey>, q: ListQuery) -> ApiResult<Json<KeyList>> {
        let (keys, next_cursor) = cursor::page(keys, |k| [k.created_at.clone(), k.id.clone()], false, q.limit, q.cursor.as_deref())?;
        Ok(Json(KeyList { keys, next_cursor }))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[schema(value_type = app::backend::schema::Name)]
    name: String,
    #[schema(value_type = Vec<app::backend::schema::Scope>)]
    scopes: Vec<String>,
    expires_at: Option<String>,
    /// Required for a personal key created with a session.
    current_password: Option<String>,
}

impl From<CreateBody> for NewKey {
    fn from(b: CreateBody) -> NewKey {
        NewKey { name: b.name, scopes: b.scopes, expires_at: b.expires_at }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(value_type = Option<app::backend::schema::AuditCursor>, inline)]
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listOrgApiKeys",
    path = "/orgs/{org}/api-keys",
    summary = "The org's API keys, revoked ones too, newest first",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{keys, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<KeyList>> {
    require(&caller, &org, Access::READ_KEYS)?;
    KeyList::page(api_keys::list(&state.db, &Owner::Org(org)).await?, q)
}

#[utoipa::path(
    post,
    operation_id = "createOrgApiKey",
    path = "/orgs/{org}/api-keys",
    summary = "Create an org key: the secret is in this answer only",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = CreateBody,
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    require(&caller, &org, Access::MANAGE_KEYS)?;
    let by = state.acting(&caller, &client);
    let created = api_keys::create(&state.db, &Owner::Org(org), caller.person()?, body.into(), &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeOrgApiKey",
    path = "/orgs/{org}/api-keys/{id}",
    summary = "Revoke an org key",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn revoke_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ApiKey>> {
    require(&caller, &org, Access::MANAGE_KEYS)?;
    let by = state.acting(&caller, &client);
    api_keys::revoke(&state.db, &Owner::Org(org), &id, &by).await.map(Json)
}

#[utoipa::path(
    get,
    operation_id = "listOrgApiKeyActivity",
    path = "/orgs/{org}/api-keys/activity",
    summary = "Create/revoke events of the org's keys",
    params(("org" = String, Path, description = "Organisation id"), PageQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
/// Every create and revoke of the org's keys, revoked keys included, from the audit trail.
pub async fn activity_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<AuditPage>> {
    require(&caller, &org, Access::READ_KEYS)?;
    api_keys::activity(&state.db, &Owner::Org(org), q.limit, q.cursor.as_deref()).await.map(Json)
}

#[utoipa::path(
    get,
    operation_id = "listMyApiKeys",
    path = "/me/api-keys",
    summary = "The caller's personal keys, newest first",
    params(ListQuery),
    responses((status = 200, description = "{keys, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list_mine(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<KeyList>> {
    let me = require_self(&caller, Access::READ_KEYS)?;
    KeyList::page(api_keys::list(&state.db, &Owner::User(me.clone())).await?, q)
}

#[utoipa::path(
    post,
    operation_id = "createMyApiKey",
    path = "/me/api-keys",
    summary = "Create a personal key (with a session: current_password)",
    request_body = CreateBody,
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create_mine(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let me = require_self(&caller, Access::MANAGE_KEYS)?;
    let by = state.acting(&caller, &client);
    let password = body.current_password.clone();
    let created = api_keys::create_by(&state.db, &Owner::User(me.clone()), &caller, body.into(), password.as_deref(), &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeMyApiKey",
    path = "/me/api-keys/{id}",
    summary = "Revoke a personal key",
    params(("id" = String, Path, description = "Id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn revoke_mine(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApiKey>> {
    let me = require_self(&caller, Access::MANAGE_KEYS)?;
    let by = state.acting(&caller, &client);
    api_keys::revoke(&state.db, &Owner::User(me.clone()), &id, &by).await.map(Json)
}

#[utoipa::path(
    get,
    operation_id = "listMyApiKeyActivity",
    path = "/me/api-keys/activity",
    summary = "Create/revoke events of the caller's personal keys",
    params(PageQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn activity_mine(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<AuditPage>> {
    let me = require_self(&caller, Access::READ_KEYS)?;
    api_keys::activity(&state.db, &Owner::User(me.clone()), q.limit, q.cursor.as_deref()).await.map(Json)
}
