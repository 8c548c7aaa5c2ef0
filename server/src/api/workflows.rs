use super::{ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::workflows::{self, SaveInput};
use app::backend::AppState;
use app::error::ApiResult;
use app::model::{HistoryPage, VersionDiff, VersionSource, Workflow, WorkflowSummary};
use app::workflow::{Definition, Edge, Node};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct WorkflowList {
    workflows: Vec<WorkflowSummary>,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/workflows",
    summary = "The org's workflows, without nodes and edges",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn list(State(state): State<AppState>, Authenticated(caller): Authenticated, Path(org): Path<String>) -> ApiResult<Json<WorkflowList>> {
    require(&caller, &org, Access::READ_WORKFLOWS)?;
    Ok(Json(WorkflowList { workflows: workflows::list(&state.db, &org).await? }))
}

/// Nodes and edges are required: a body without them must not wipe a workflow.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowBody {
    name: Option<String>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    enabled: Option<bool>,
    label: Option<String>,
    /// The version the client started from (PUT): 409 `version_conflict` if another save came first.
    base_version: Option<i64>,
}

impl From<WorkflowBody> for SaveInput {
    fn from(b: WorkflowBody) -> SaveInput {
        SaveInput {
            name: b.name,
            definition: Definition { nodes: b.nodes, edges: b.edges },
            enabled: b.enabled,
            label: b.label,
            base_version: b.base_version,
        }
    }
}

#[derive(Serialize)]
pub struct SavedBody {
    #[serde(flatten)]
    workflow: Workflow,
    versioned: bool,
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/workflows",
    summary = "Create a workflow (version 1)",
    params(("org" = String, Path, description = "Organisation id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<WorkflowBody>,
) -> ApiResult<(StatusCode, Json<Workflow>)> {
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    let saved = workflows::save(&state.db, &org, None, body.into(), &by, VersionSource::Create).await?;
    Ok((StatusCode::CREATED, Json(saved.workflow)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    version: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/workflows/{id}",
    summary = "A workflow, live or version N's snapshot",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("version" = Option<i64>, Query)),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
/// The live workflow, or with `?version=N` that version's snapshot (owner/admin).
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((org, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Json<Workflow>> {
    match q.version {
        None => {
            require(&caller, &org, Access::READ_WORKFLOWS)?;
            workflows::get(&state.db, &org, &id).await.map(Json)
        }
        Some(n) => {
            require(&caller, &org, Access::READ_HISTORY)?;
            workflows::get_version(&state.db, &org, &id, n).await.map(Json)
        }
    }
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/workflows/{id}",
    summary = "Save a workflow (base_version: 409 version_conflict if someone saved first)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<WorkflowBody>,
) -> ApiResult<Json<SavedBody>> {
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    let saved = workflows::save(&state.db, &org, Some(&id), body.into(), &by, VersionSource::Api).await?;
    Ok(Json(SavedBody { workflow: saved.workflow, versioned: saved.versioned }))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/workflows/{id}",
    summary = "Delete a workflow and its versions",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::delete(&state.db, &org, &id, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/workflows/{id}/history",
    summary = "Versions, newest first",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("limit" = Option<String>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn history(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((org, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::history(&state.db, &org, &id, q.limit, q.cursor.as_deref()).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/workflows/{id}/diff",
    summary = "The semantic diff between two versions",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("from" = i64, Query), ("to" = i64, Query)),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn diff(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((org, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> ApiResult<Json<VersionDiff>> {
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::diff_versions(&state.db, &org, &id, q.from, q.to).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    version: i64,
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/workflows/{id}/restore",
    summary = "Restore version N as a new version",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn restore(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RestoreBody>,
) -> ApiResult<Json<Workflow>> {
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::restore(&state.db, &org, &id, body.version, &by).await.map(|s| Json(s.workflow))
}
