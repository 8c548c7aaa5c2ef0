//! Runs, webhook keys and credentials for the Executions, workflow and Settings pages: the
//! same checks and backend calls as their REST twins.

use crate::error::ApiError;
use crate::model::{CreatedWebhookKey, Execution, ExecutionPage, ExecutionQuery, OrgCredential, VersionInfo, WebhookKey};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, runs_visible_to, Access};
#[cfg(feature = "ssr")]
use crate::backend::executions::{self, Origin, Trigger};
#[cfg(feature = "ssr")]
use crate::backend::{credentials, request, webhook_keys, workflows};

/// The editor's Run button: a `manual` run of the current definition.
#[server]
pub async fn run_workflow(org: String, id: String) -> Result<Execution, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::RUN_WORKFLOWS)?;
    executions::start(&state.db, &state.audit, &state.runner, Some(&org), &id, Trigger::Manual, Origin::of_caller(&caller), None, Some(&client)).await
}

#[server(input = Json)]
pub async fn list_executions(org: String, query: ExecutionQuery) -> Result<ExecutionPage, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::list(&state.db, &org, &query, runs_visible_to(&caller, &org)).await
}

#[server]
pub async fn get_execution(org: String, id: String) -> Result<Execution, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_EXECUTIONS)?;
    executions::get(&state.db, &org, &id, runs_visible_to(&caller, &org)).await
}

/// How many runs each version had: `(version, runs)`, for the history overlay.
#[server]
pub async fn runs_by_version(org: String, id: String) -> Result<Vec<(i64, i64)>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    executions::runs_by_version(&state.db, &org, &id).await
}

/// One version's entry in the history (the preview banner's author and time).
#[server]
pub async fn get_version_info(org: String, id: String, version: i64) -> Result<VersionInfo, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_HISTORY)?;
    workflows::version_info(&state.db, &org, &id, version).await
}

#[server]
pub async fn list_webhook_keys(org: String, workflow_id: String) -> Result<Vec<WebhookKey>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_WEBHOOK_KEYS)?;
    webhook_keys::list(&state.db, &org, &workflow_id).await
}

#[server]
pub async fn create_webhook_key(org: String, workflow_id: String, name: String) -> Result<CreatedWebhookKey, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    webhook_keys::create(&state.db, &org, &workflow_id, caller.person()?, &name, &by).await
}

#[server]
pub async fn revoke_webhook_key(org: String, workflow_id: String, id: String) -> Result<WebhookKey, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_WEBHOOK_KEYS)?;
    let by = state.acting(&caller, &client);
    webhook_keys::revoke(&state.db, &org, &workflow_id, &id, &by).await
}

#[server]
pub async fn list_credentials(org: String) -> Result<Vec<OrgCredential>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    credentials::list(&state.db, &org).await
}

/// The org's credentials as `(id, name)`, for the editor's Credential field: anyone who edits
/// workflows may pick one by name; only owners and admins manage them.
#[server]
pub async fn credential_choices(org: String) -> Result<Vec<(String, String)>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::EDIT_WORKFLOWS)?;
    Ok(credentials::list(&state.db, &org).await?.into_iter().map(|c| (c.id, c.name)).collect())
}

#[server]
pub async fn create_credential(org: String, name: String, secret: String, allowed_hosts: Vec<String>) -> Result<OrgCredential, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::create(&state.db, &state.config, &org, caller.person()?, &name, &secret, &allowed_hosts, &by).await
}

/// Renames, re-scopes or rotates a credential (owner/admin).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn update_credential(org: String, id: String, patch: crate::model::CredentialPatch) -> Result<OrgCredential, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::update(&state.db, &state.config, &org, &id, patch, &by).await
}

#[server]
pub async fn delete_credential(org: String, id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_CREDENTIALS)?;
    let by = state.acting(&caller, &client);
    credentials::delete(&state.db, &org, &id, &by).await
}
