use crate::error::ApiError;
use crate::model::{HistoryPage, VersionDiff, Workflow, WorkflowSummary};
use crate::workflow::{Definition, WorkflowDiff};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::access::{author_role, require, Access};
#[cfg(feature = "ssr")]
use crate::backend::{request, workflows};
#[cfg(feature = "ssr")]
use crate::model::VersionSource;

/// The org's workflows, most recently updated first: the first 200 (a page's most).
#[server]
pub async fn list_workflows(org: String) -> Result<Vec<WorkflowSummary>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_WORKFLOWS)?;
    Ok(workflows::list(&state.db, &org, Some(crate::backend::cursor::MAX_LIMIT), None).await?.0)
}

/// Creates a workflow with a manual trigger to start from; returns its id.
#[server]
pub async fn create_workflow(org: String, name: String) -> Result<String, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    Ok(workflows::create_starter(&state.db, &org, name, author_role(&caller, &org), &by).await?.id)
}

#[server]
pub async fn get_workflow(org: String, id: String) -> Result<Workflow, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_WORKFLOWS)?;
    workflows::get(&state.db, &org, &id).await
}

/// What an autosave reports back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SaveResult {
    pub version: i64,
    pub versioned: bool,
    pub content_hash: String,
    /// Whether the saved version waits for approval, and the version runs use meanwhile.
    pub pending: bool,
    pub approved_version: Option<i64>,
}

/// The editor's save (autosave and rename). `base_version`: the version the editor holds; if
/// someone saved since, the answer is a `version_conflict` naming the current version.
#[server(input = Json)]
pub async fn save_workflow(org: String, id: String, name: Option<String>, definition: Definition, base_version: Option<i64>) -> Result<SaveResult, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    let input = workflows::SaveInput { name, definition, enabled: None, label: None, base_version, author_role: author_role(&caller, &org) };
    let by = state.acting(&caller, &client);
    let saved = workflows::save(&state.db, &org, Some(&id), input, &by, VersionSource::Update).await?;
    let w = saved.workflow;
    Ok(SaveResult {
        version: w.version,
        versioned: saved.versioned,
        pending: w.approval.state == crate::model::ApprovalState::Pending,
        content_hash: w.content_hash,
        approved_version: w.approved_version,
    })
}

#[server]
pub async fn delete_workflow(org: String, id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::delete(&state.db, &org, &id, &by).await
}

#[server]
pub async fn workflow_history(org: String, id: String, cursor: Option<String>, named: Option<String>) -> Result<HistoryPage, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    let named = named.filter(|n| !n.trim().is_empty());
    workflows::history_named(&state.db, &org, &id, Some(30), cursor.as_deref(), named.as_deref()).await
}

/// Names version `version`; an empty field clears its name.
#[server]
pub async fn name_version(org: String, id: String, version: i64, label: String) -> Result<crate::model::VersionInfo, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    let label = Some(label).filter(|l| !l.trim().is_empty());
    workflows::name_version(&state.db, &org, &id, version, label.as_deref(), &by).await
}

#[server]
pub async fn workflow_version(org: String, id: String, version: i64) -> Result<Workflow, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::get_version(&state.db, &org, &id, version).await
}

/// What version `version` changed against its predecessor.
#[server]
pub async fn workflow_version_change(org: String, id: String, version: i64) -> Result<WorkflowDiff, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::version_change(&state.db, &org, &id, version).await
}

#[server]
pub async fn compare_versions(org: String, id: String, from: i64, to: i64) -> Result<VersionDiff, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::diff_versions(&state.db, &org, &id, from, to).await
}

#[server]
pub async fn restore_workflow(org: String, id: String, version: i64) -> Result<Workflow, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_WORKFLOWS)?;
    let by = state.acting(&caller, &client);
    workflows::restore(&state.db, &org, &id, version, &by).await.map(|s| s.workflow)
}

/// Approves (`approve: true`) or rejects a member's pending version (owners and admins, not
/// its author); answers the version's history entry.
#[server]
pub async fn review_version(org: String, id: String, version: i64, approve: bool, reason: Option<String>) -> Result<crate::model::VersionInfo, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::REVIEW_VERSIONS)?;
    let reviewer = workflows::reviewer(&caller)?;
    let decision = if approve { workflows::Decision::Approve } else { workflows::Decision::Reject(reason) };
    let by = state.acting(&caller, &client);
    workflows::review(&state.db, &org, &id, version, decision, &reviewer, &by).await
}
