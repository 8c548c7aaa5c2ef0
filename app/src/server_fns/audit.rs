//! The audit explorer and the outbox.

use crate::error::ApiError;
use crate::model::{AuditPage, AuditQuery, OutboxMail};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, Access};
#[cfg(feature = "ssr")]
use crate::backend::audit::store::{self, Filter};
#[cfg(feature = "ssr")]
use crate::backend::mail::outbox;
#[cfg(feature = "ssr")]
use crate::backend::request;

/// One page of the org's trail under the explorer's filters (owner/admin). JSON in: an
/// empty filter has no fields at all, which a URL-encoded body cannot carry.
#[server(input = Json)]
pub async fn explore_audit(org: String, query: AuditQuery) -> Result<AuditPage, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_AUDIT)?;
    store::list(&state.db, Some(&org), &Filter::from_query(&query)?, query.limit, query.cursor.as_deref()).await
}

/// The org's outgoing mail (owners).
#[server]
pub async fn list_outbox(org: String) -> Result<Vec<OutboxMail>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_OUTBOX)?;
    outbox::list_for_org(&state.db, &org).await
}

/// The Integrity panel: the org's latest signed checkpoint.
#[server]
pub async fn latest_checkpoint(org: String) -> Result<Option<crate::model::TrailCheckpoint>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_AUDIT)?;
    let all = crate::backend::audit::seal::checkpoints(&state.db, Some(&org)).await?;
    Ok(all.into_iter().last().map(|c| crate::model::TrailCheckpoint { seq: c.seq, hash: c.hash, created_at: c.created_at }))
}

/// "Verify now": seals what is stored, then checks the org's chain and checkpoints.
#[server]
pub async fn verify_trail(org: String) -> Result<crate::model::TrailReport, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::READ_AUDIT)?;
    let by = state.acting(&caller, &client);
    crate::backend::audit::verify::verify_recorded(&state.jobs, &state.config.signing_key, &org, &by).await
}

/// The org's audit streams (owner/admin).
#[server]
pub async fn list_streams(org: String) -> Result<Vec<crate::model::AuditStream>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    crate::backend::audit::streams::list(&state.db, &org).await
}

/// Adds a stream; its signing secret is in the answer, once.
#[server]
pub async fn create_stream(org: String, url: String, format: String) -> Result<crate::model::CreatedStream, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let (stream, secret) = crate::backend::audit::streams::create(&state.db, &state.config, &org, &url, &format, &state.acting(&caller, &client)).await?;
    Ok(crate::model::CreatedStream { stream, secret })
}

#[server]
pub async fn delete_stream(org: String, id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    crate::backend::audit::streams::delete(&state.db, &org, &id, &state.acting(&caller, &client)).await
}

/// "Send test event": `None` when the receiver took it, else why not.
#[server]
pub async fn test_stream(org: String, id: String) -> Result<Option<String>, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let http = crate::backend::executions::egress::client(state.config.egress_allow_private);
    let sent = crate::backend::audit::streams::send_test(&state.db, &state.config, &http, &org, &id, &state.acting(&caller, &client)).await?;
    Ok(sent.err())
}
