use super::workflows::ListQuery;
use super::{optional_json, ApiPath, ApiJson, ApiQuery, Authenticated, Client};

use app::backend::access::{require, runs_visible_to, Access};
use app::backend::api_keys::bearer;
use app::backend::executions::{self, Origin, Trigger};
use app::backend::{credentials, cursor, webhook_keys, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{CreatedWebhookKey, CredentialPatch, Execution, ExecutionPage, ExecutionQuery, OrgCredential, WebhookKey};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    payload: Option<Value>,
}

#[utoipa::path(
    post,
    operation_id = "runWorkflow",
    path = "/orgs/{org}/workflows/{id}/executions",
    summary = "Run the workflow's current definition (strictly validated); the run is queued",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    request_body(content = Option<RunBody>, description = "Optional: no body, or {payload}"),
    responses((status = 202, description = "The queued execution", body = serde_json::Value), super::Failure)
)]
pub async fn run(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Execution>)> {
    require(&caller, &org, Access::RUN_WORKFLOWS)?;
    let payload = optional_json::<RunBody>(&body)?.and_then(|b| b.payload);
    let execution =
        executions::start(&state.db, &state.audit, &state.runner, Some(&org), &id, Trigger::Api, Origin::of_caller(&caller), payload, Some(&client)).await?;
    Ok((StatusCode::ACCEPTED, Json(execution)))
}

#[utoipa::path(
    get,
    operation_id = "listExecutions",
    path = "/orgs/{org}/executions",
    summary = "The org's runs, newest first (members: their own)",
    params(("org" = String, Path, description = "Organisation id"), ExecutionQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(query): ApiQuery<ExecutionQuery>,
) -> ApiResult<Json<ExecutionPage>> {
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::list(&state.db, &org, &query, runs_visible_to(&caller, &org)).await.map(Json)
}

#[utoipa::path(
    get,
    operation_id = "getExecution",
    path = "/orgs/{org}/executions/{id}",
    summary = "One run with its steps",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Execution id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn get(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<Json<Execution>> {
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::get(&state.db, &org, &id, runs_visible_to(&caller, &org)).await.map(Json)
}

/// A body that may be empty (→ `None`), else JSON of `T` (422 naming `body` otherwise).
#[derive(Serialize)]
pub struct HookAnswer {
    execution_id: String,
}

#[utoipa::path(
    post,
    operation_id = "triggerWorkflowWebhook",
    path = "/hooks/{workflow_id}",
    summary = "Inbound webhook: runs an enabled webhook-triggered workflow; the JSON body is the payload",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    request_body(content = Option<serde_json::Value>, description = "Optional: the payload, any JSON"),
    responses((status = 202, description = "{execution_id}", body = serde_json::Value), super::Failure),
    security(("webhook_key" = []))
)]
pub async fn hook(State(state): State<AppState>, Client(client): Client, ApiPath(workflow_id): ApiPath<String>, headers: HeaderMap, body: Bytes) -> ApiResult<(StatusCode, Json<HookAnswer>)> {
    // Is there such a hook? Then: is this its key? Then: is the body JSON?
    let Some(org) = executions::hook_org(&state.db, &workflow_id).await? else { return Err(ApiError::not_found("Enabled webhook-triggered workflow")) };
    let key = webhook_keys::authenticate(&state.db, &workflow_id, bearer(&headers).as_deref()).await?;
    let payload = optional_json::<Value>(&body)?;
    let execution =
        executions::start(&state.db, &state.audit, &state.runner, Some(&org), &workflow_id, Trigger::Webhook, Origin::webhook(&key), payload, Some(&client)).await?;
    Ok((StatusCode::ACCEPTED, Json(HookAnswer { execution_id: execution.id })))
}

#[derive(Serialize)]
pub struct WebhookKeyList {
    keys: Vec<WebhookKey>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    #[schema(value_type = app::backend::schema::Name)]
    name: String,
}

#[utoipa::path(
    get,
    operation_id = "listWebhookKeys",
    path = "/orgs/{org}/workflows/{id}/webhook-keys",
    summary = "The workflow's webhook keys, revoked ones too, newest first",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id"), ListQuery),
    responses((status = 200, description = "{keys, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list_webhook_keys(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<WebhookKeyList>> {
    require(&caller, &org, Access::READ_WEBHOOK_KEYS)?;
    let all = webhook_keys::list(&state.db, &org, &id).await?;
    let (keys, next_cursor) = cursor::page(all, |k| [k.created_at.clone(), k.id.clone()], false, q.limit, q.cursor.as_deref())?;
    Ok(Json(WebhookKeyList { keys, next_cursor }))
}

#[utoipa::path(
    post,
    operation_id = "createWebhookKey",
    path = "/orgs/{org}/workflows/{id}/webhook-keys",
    summary = "Create a webhook key: the secret is in this answer only",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    request_body = NameBody,
    responses((status = 201, description = "{key, secret}", body = serde_json::Value), super::Failure)
)]
pub async fn create_webhook_key(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookKey>)> {
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    let created = webhook_keys::create(&state.db, &org, &id, caller.person()?, &body.name, &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeWebhookKey",
    path = "/orgs/{org}/workflows/{id}/webhook-keys/{key_id}",
    summary = "Revoke a webhook key",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id"), ("key_id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key", body = serde_json::Value), super::Failure)
)]
pub async fn revoke_webhook_key(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id, key_id)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<WebhookKey>> {
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    webhook_keys::revoke(&state.db, &org, &id, &key_id, &by).await.map(Json)
}

#[derive(Serialize)]
pub struct CredentialList {
    credentials: Vec<OrgCredential>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    #[schema(value_type = app::backend::schema::Name)]
    name: String,
    secret: String,
    /// Required; optional here only so that its absence is a 422 naming it.
    #[schema(required = true, value_type = Vec<String>)]
    allowed_hosts: Option<Vec<String>>,
}

#[utoipa::path(
    get,
    operation_id = "listCredentials",
    path = "/orgs/{org}/credentials",
    summary = "The org's credentials, without their secrets, newest first",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{credentials, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list_credentials(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<CredentialList>> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let all = credentials::list(&state.db, &org).await?;
    let (credentials, next_cursor) = cursor::page(all, |c| [c.created_at.clone(), c.id.clone()], false, q.limit, q.cursor.as_deref())?;
    Ok(Json(CredentialList { credentials, next_cursor }))
}

#[utoipa::path(
    post,
    operation_id = "createCredential",
    path = "/orgs/{org}/credentials",
    summary = "Store a credential, sealed; its secret is never returned",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = CredentialBody,
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> ApiResult<(StatusCode, Json<OrgCredential>)> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    let hosts = body.allowed_hosts.ok_or_else(|| ApiError::invalid("allowed_hosts", "is required: the hosts the secret may be sent to, e.g. [\"api.example.com\"]"))?;
    let created = credentials::create(&state.db, &state.config, &org, caller.person()?, &body.name, &body.secret, &hosts, &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    patch,
    operation_id = "updateCredential",
    path = "/orgs/{org}/credentials/{id}",
    summary = "Rename, re-scope (allowed_hosts) or rotate (secret) a credential",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Credential id")),
    request_body = CredentialPatch,
    responses((status = 200, description = "The credential", body = serde_json::Value), super::Failure)
)]
pub async fn update_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<CredentialPatch>,
) -> ApiResult<Json<OrgCredential>> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::update(&state.db, &state.config, &org, &id, patch, &by).await.map(Json)
}

#[utoipa::path(
    delete,
    operation_id = "deleteCredential",
    path = "/orgs/{org}/credentials/{id}",
    summary = "Delete a credential",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Credential id")),
    responses((status = 204, description = "Deleted"), super::Failure)
)]
pub async fn delete_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::delete(&state.db, &org, &id, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}
