use super::{ApiJson, ApiQuery, Authenticated, Client};

use app::backend::access::{require, runs_visible_to, Access};
use app::backend::api_keys::bearer;
use app::backend::executions::{self, Origin, Trigger};
use app::backend::{credentials, webhook_keys, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{CreatedWebhookKey, CredentialPatch, Execution, ExecutionPage, ExecutionQuery, OrgCredential, WebhookKey};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    payload: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/workflows/{id}/executions",
    summary = "Run the workflow's current definition (strictly validated); the run is queued",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "{payload?}"),
    responses((status = 202, description = "The queued execution", body = serde_json::Value), super::Failure)
)]
pub async fn run(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
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
    path = "/orgs/{org}/executions",
    summary = "The org's runs, newest first (members: their own)",
    params(
        ("org" = String, Path, description = "Organisation id"),
        ("workflow_id" = Option<String>, Query), ("status" = Option<String>, Query), ("credential_type" = Option<String>, Query),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)
    ),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(org): Path<String>,
    ApiQuery(query): ApiQuery<ExecutionQuery>,
) -> ApiResult<Json<ExecutionPage>> {
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::list(&state.db, &org, &query, runs_visible_to(&caller, &org)).await.map(Json)
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/executions/{id}",
    summary = "One run with its steps",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Execution id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn get(State(state): State<AppState>, Authenticated(caller): Authenticated, Path((org, id)): Path<(String, String)>) -> ApiResult<Json<Execution>> {
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::get(&state.db, &org, &id, runs_visible_to(&caller, &org)).await.map(Json)
}

/// A body that may be empty (→ `None`), else JSON of `T` (422 naming `body` otherwise).
fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<Option<T>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| ApiError::invalid("body", format!("must be JSON: {e}")))
}

#[derive(Serialize)]
pub struct HookAnswer {
    execution_id: String,
}

#[utoipa::path(
    post,
    path = "/hooks/{workflow_id}",
    summary = "Inbound webhook: runs an enabled webhook-triggered workflow; the JSON body is the payload",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 202, description = "{execution_id}", body = serde_json::Value), super::Failure),
    security(("webhook_key" = []))
)]
pub async fn hook(State(state): State<AppState>, Client(client): Client, Path(workflow_id): Path<String>, headers: HeaderMap, body: Bytes) -> ApiResult<(StatusCode, Json<HookAnswer>)> {
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    name: String,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/workflows/{id}/webhook-keys",
    summary = "The workflow's webhook keys, revoked ones too",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn list_webhook_keys(State(state): State<AppState>, Authenticated(caller): Authenticated, Path((org, id)): Path<(String, String)>) -> ApiResult<Json<WebhookKeyList>> {
    require(&caller, &org, Access::READ_WEBHOOK_KEYS)?;
    Ok(Json(WebhookKeyList { keys: webhook_keys::list(&state.db, &org, &id).await? }))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/workflows/{id}/webhook-keys",
    summary = "Create a webhook key: the secret is in this answer only",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "{name}"),
    responses((status = 201, description = "{key, secret}", body = serde_json::Value), super::Failure)
)]
pub async fn create_webhook_key(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookKey>)> {
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    let created = webhook_keys::create(&state.db, &org, &id, caller.person()?, &body.name, &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/workflows/{id}/webhook-keys/{key_id}",
    summary = "Revoke a webhook key",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id"), ("key_id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key", body = serde_json::Value), super::Failure)
)]
pub async fn revoke_webhook_key(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id, key_id)): Path<(String, String, String)>,
) -> ApiResult<Json<WebhookKey>> {
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    webhook_keys::revoke(&state.db, &org, &id, &key_id, &by).await.map(Json)
}

#[derive(Serialize)]
pub struct CredentialList {
    credentials: Vec<OrgCredential>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    name: String,
    secret: String,
    /// Required; optional here only so that its absence is a 422 naming it.
    allowed_hosts: Option<Vec<String>>,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/credentials",
    summary = "The org's credentials, without their secrets",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn list_credentials(State(state): State<AppState>, Authenticated(caller): Authenticated, Path(org): Path<String>) -> ApiResult<Json<CredentialList>> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    Ok(Json(CredentialList { credentials: credentials::list(&state.db, &org).await? }))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/credentials",
    summary = "Store a credential, sealed; its secret is never returned",
    params(("org" = String, Path, description = "Organisation id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "{name, secret, allowed_hosts}"),
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path(org): Path<String>,
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
    path = "/orgs/{org}/credentials/{id}",
    summary = "Rename, re-scope (allowed_hosts) or rotate (secret) a credential",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Credential id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "{name?, allowed_hosts?, secret?}"),
    responses((status = 200, description = "The credential", body = serde_json::Value), super::Failure)
)]
pub async fn update_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<CredentialPatch>,
) -> ApiResult<Json<OrgCredential>> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::update(&state.db, &state.config, &org, &id, patch, &by).await.map(Json)
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/credentials/{id}",
    summary = "Delete a credential",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Credential id")),
    responses((status = 204, description = "Deleted"), super::Failure)
)]
pub async fn delete_credential(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::delete(&state.db, &org, &id, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}
