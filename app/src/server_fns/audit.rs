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
