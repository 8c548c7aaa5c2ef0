use super::{ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{author_role, require, Access};
use app::backend::workflows::{self, SaveInput};
use app::backend::AppState;
use app::error::ApiResult;
use app::model::{HistoryPage, VersionDiff, VersionInfo, VersionSource, Workflow, WorkflowSummary};
use app::workflow::{Definition, Edge, Node};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct WorkflowList {
    workflows: Vec<WorkflowSummary>,
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listWorkflows",
    path = "/orgs/{org}/workflows",
    summary = "The org's workflows, most recently updated first, without nodes and edges",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{workflows, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<WorkflowList>> {
    require(&caller, &org, Access::READ_WORKFLOWS)?;
    let (workflows, next_cursor) = workflows::list(&state.db, &org, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(WorkflowList { workflows, next_cursor }))
}

/// Nodes and edges are required: a body without them must not wipe a workflow.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowBody {
    #[schema(value_type = Option<app::backend::schema::Name>)]
    name: Option<String>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    enabled: Option<bool>,
    #[schema(value_type = Option<app::backend::schema::Name>)]
    label: Option<String>,
    /// The version the client started from (PUT): 409 `version_conflict` if another save came first.
    #[serde(default, deserialize_with = "app::model::optional_whole_number")]
    base_version: Option<i64>,
}

/// [`WorkflowBody`] as creating one needs it: with a name. (Schema only: the body is read as
/// a `WorkflowBody`, and the save path refuses a new workflow without a name.)
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewWorkflowBody {
    #[schema(value_type = app::backend::schema::Name)]
    name: String,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    enabled: Option<bool>,
    #[schema(value_type = Option<app::backend::schema::Name>)]
    label: Option<String>,
}

impl WorkflowBody {
    fn input(self, author_role: app::model::Role) -> SaveInput {
        SaveInput {
            name: self.name,
            definition: Definition { nodes: self.nodes, edges: self.edges },
            enabled: self.enabled,
            label: self.label,
            base_version: self.base_version,
            author_role,
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
    operation_id = "createWorkflow",
    path = "/orgs/{org}/workflows",
    summary = "Create a workflow (version 1)",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = NewWorkflowBody,
    responses((status = 201, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<WorkflowBody>,
) -> ApiResult<(StatusCode, Json<Workflow>)> {
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    let saved = workflows::save(&state.db, &org, None, body.input(author_role(&caller, &org)), &by, VersionSource::Create).await?;
    Ok((StatusCode::CREATED, Json(saved.workflow)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    version: Option<i64>,
}

#[utoipa::path(
    get,
    operation_id = "getWorkflow",
    path = "/orgs/{org}/workflows/{id}",
    summary = "A workflow, live or version N's snapshot",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), VersionQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
/// The live workflow, or with `?version=N` that version's snapshot (owner/admin).
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((org, id)): ApiPath<(String, String)>,
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
    operation_id = "updateWorkflow",
    path = "/orgs/{org}/workflows/{id}",
    summary = "Save a workflow (base_version: 409 version_conflict if someone saved first)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    request_body = WorkflowBody,
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<WorkflowBody>,
) -> ApiResult<Json<SavedBody>> {
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    let saved = workflows::save(&state.db, &org, Some(&id), body.input(author_role(&caller, &org)), &by, VersionSource::Api).await?;
    Ok(Json(SavedBody { workflow: saved.workflow, versioned: saved.versioned }))
}

#[utoipa::path(
    delete,
    operation_id = "deleteWorkflow",
    path = "/orgs/{org}/workflows/{id}",
    summary = "Delete a workflow and its versions",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::delete(&state.db, &org, &id, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a list: `limit` (default 50, 1–200) and the `cursor` the last page answered.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    #[param(value_type = Option<app::backend::schema::TextCursor>, inline)]
    pub cursor: Option<String>,
}

/// A page of a workflow's history: as [`ListQuery`], keyed by version number.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(value_type = Option<app::backend::schema::Cursor>, inline)]
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listWorkflowVersions",
    path = "/orgs/{org}/workflows/{id}/history",
    summary = "Versions, newest first",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), HistoryQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn history(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::history(&state.db, &org, &id, q.limit, q.cursor.as_deref()).await.map(Json)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

#[utoipa::path(
    get,
    operation_id = "diffWorkflowVersions",
    path = "/orgs/{org}/workflows/{id}/diff",
    summary = "The semantic diff between two versions",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), DiffQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn diff(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> ApiResult<Json<VersionDiff>> {
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::diff_versions(&state.db, &org, &id, q.from, q.to).await.map(Json)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    #[serde(deserialize_with = "app::model::whole_number")]
    version: i64,
}

#[utoipa::path(
    post,
    operation_id = "restoreWorkflowVersion",
    path = "/orgs/{org}/workflows/{id}/restore",
    summary = "Restore version N as a new version",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id")),
    request_body = RestoreBody,
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn restore(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RestoreBody>,
) -> ApiResult<Json<Workflow>> {
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::restore(&state.db, &org, &id, body.version, &by).await.map(|s| Json(s.workflow))
}

/// A rejection may say why.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    reason: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "approveWorkflowVersion",
    path = "/orgs/{org}/workflows/{id}/versions/{n}/approve",
    summary = "Approve a member's pending version (owner/admin, not its author); runs then use it if it is the newest approved",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("n" = i64, Path, description = "Version number")),
    responses((status = 200, description = "The version's history entry", body = serde_json::Value), super::Failure)
)]
pub async fn approve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id, n)): ApiPath<(String, String, i64)>,
) -> ApiResult<Json<VersionInfo>> {
    review(&state, &caller, &client, &org, &id, n, workflows::Decision::Approve).await
}

#[utoipa::path(
    post,
    operation_id = "rejectWorkflowVersion",
    path = "/orgs/{org}/workflows/{id}/versions/{n}/reject",
    summary = "Reject a member's pending version (owner/admin, not its author), with an optional reason",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("n" = i64, Path, description = "Version number")),
    request_body(content = Option<RejectBody>, description = "Optional: no body, or {reason}"),
    responses((status = 200, description = "The version's history entry", body = serde_json::Value), super::Failure)
)]
pub async fn reject(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id, n)): ApiPath<(String, String, i64)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<VersionInfo>> {
    let reason = super::optional_json::<RejectBody>(&body)?.and_then(|b| b.reason);
    review(&state, &caller, &client, &org, &id, n, workflows::Decision::Reject(reason)).await
}

async fn review(
    state: &AppState,
    caller: &app::backend::auth::Caller,
    client: &app::backend::sessions::ClientInfo,
    org: &str,
    id: &str,
    n: i64,
    decision: workflows::Decision,
) -> ApiResult<Json<VersionInfo>> {
    require(caller, org, Access::REVIEW_VERSIONS)?;
    let reviewer = workflows::reviewer(caller)?;
    let by = state.acting(caller, client);
    workflows::review(&state.db, org, id, n, decision, &reviewer, &by).await.map(Json)
}

/// A version's name: a label people find it by in the history; null clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionNameBody {
    #[schema(value_type = Option<app::backend::schema::Name>)]
    label: Option<String>,
}

#[utoipa::path(
    patch,
    operation_id = "nameWorkflowVersion",
    path = "/orgs/{org}/workflows/{id}/versions/{n}",
    summary = "Name (label) version N, or clear its name; the version's content is unchanged",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Id"), ("n" = i64, Path, description = "Version number")),
    request_body = VersionNameBody,
    responses((status = 200, description = "The version's history entry", body = serde_json::Value), super::Failure)
)]
pub async fn name_version(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id, n)): ApiPath<(String, String, i64)>,
    ApiJson(body): ApiJson<VersionNameBody>,
) -> ApiResult<Json<VersionInfo>> {
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::name_version(&state.db, &org, &id, n, body.label.as_deref(), &by).await.map(Json)
}
