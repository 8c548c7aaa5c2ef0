use crate::error::ApiError;
use crate::model::{ActorChoices, Member, Role};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, Access};
#[cfg(feature = "ssr")]
use crate::backend::{orgs, request};

#[server]
pub async fn list_members(org: String) -> Result<Vec<Member>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_MEMBERS)?;
    orgs::list_members(&state.db, &org).await
}

/// Whom the audit explorer's actor filter offers: what the members list and the org's keys list
/// show, to the same people (admins and owners, signed in).
#[server]
pub async fn audit_actors(org: String) -> Result<ActorChoices, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_MEMBERS)?;
    orgs::audit_actors(&state.db, &org).await
}

#[server]
pub async fn change_role(org: String, user_id: String, role: Role) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let by = state.acting(&caller, &client);
    orgs::change_role(&state.db, &by, actor_role, &org, &user_id, role).await.map(|_| ())
}

#[server]
pub async fn remove_member(org: String, user_id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    let by = state.acting(&caller, &client);
    orgs::remove_member(&state.db, &by, actor_role, &org, &user_id).await.map(|_| ())
}
