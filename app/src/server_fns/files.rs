//! Files and usage for the Files and Usage & billing pages: the same checks and backend calls
//! as their REST twins (uploads go to REST itself, which streams and reports progress).

use crate::error::ApiError;
use crate::model::{AuditEvent, FileShare, OrgFile, Role, Usage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, Access};
#[cfg(feature = "ssr")]
use crate::backend::{files, request};

/// The org's files (the newest 200: a page's most), and the caller's role (sharing is for
/// owners and admins).
#[server]
pub async fn list_files(org: String) -> Result<(Vec<OrgFile>, Role), ApiError> {
    let (state, caller) = request::caller().await?;
    let role = require(&caller, &org, Access::READ_FILES)?;
    Ok((files::list(&state.db, &org, Some(crate::backend::cursor::MAX_LIMIT), None).await?.0, role))
}

#[server]
pub async fn delete_file(org: String, id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::WRITE_FILES)?;
    files::delete(&state.db, &state.blobs, &org, &id, &state.acting(&caller, &client)).await
}

#[server]
pub async fn share_file(org: String, id: String) -> Result<FileShare, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::SHARE_FILES)?;
    files::share(&state.db, &org, &id, &state.public_base, &state.acting(&caller, &client)).await
}

#[server]
pub async fn revoke_file_share(org: String, id: String) -> Result<u64, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::SHARE_FILES)?;
    files::revoke_shares(&state.db, &org, &id, &state.acting(&caller, &client)).await
}

/// What the Usage & billing page shows: usage, the largest files, billing events.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UsageView {
    pub usage: Usage,
    pub largest: Vec<OrgFile>,
    pub billing_events: Vec<AuditEvent>,
}

#[server]
pub async fn load_usage(org: String) -> Result<UsageView, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_USAGE)?;
    let largest = files::largest(&state.db, &org, 10).await?;
    let billing_events = files::billing_events(&state.db, &org, 20).await?;
    Ok(UsageView { usage: files::usage(&state.db, &org).await?, largest, billing_events })
}
