use crate::error::ApiError;
use crate::model::{ActorChoices, Invitation, InvitationView, Member, Role};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, Access};
#[cfg(feature = "ssr")]
use crate::backend::invitations::{self, Accepting};
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

#[server]
pub async fn list_invitations(org: String) -> Result<Vec<Invitation>, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_MEMBERS)?;
    invitations::list_pending(&state.db, &org).await
}

#[server]
pub async fn invite(org: String, email: String, role: Role) -> Result<Invitation, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    invitations::create(&state.db, &state.acting(&caller, &client), actor_role, &org, &email, role, &state.public_base).await
}

#[server]
pub async fn revoke_invitation(org: String, id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let actor_role = require(&caller, &org, Access::MANAGE_MEMBERS)?;
    invitations::revoke(&state.db, &state.acting(&caller, &client), actor_role, &org, &id).await
}

/// What the invitation page shows, and who is signed in (if anyone).
#[server]
pub async fn open_invitation(token: String) -> Result<(InvitationView, Option<crate::model::UserInfo>), ApiError> {
    let state = request::state()?;
    let view = invitations::view(&state.db, &token).await?;
    Ok((view, request::session().await?.map(|s| s.user)))
}

/// Accepts as a new account (`name` and `password`; signed in at once) or as the signed-in
/// person, then goes to the org. A fixed endpoint, so the cross-site check knows it.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String, name: Option<String>, password: Option<String>) -> Result<(), ApiError> {
    let state = request::state()?;
    let headers = request::headers().await?;
    let client = request::client().await?;
    let caller = request::authenticated(&state, &headers).await?;
    let who = match (&name, &password, &caller) {
        (Some(name), Some(password), _) => Accepting::NewAccount { name, password },
        (_, _, Some(caller)) => Accepting::SignedIn(caller.session()?.0),
        _ => return Err(ApiError::invalid("name", "is required to create your account")),
    };
    let (user, org) = invitations::accept(&state.db, &state.audit, &client, &token, who).await?;
    if matches!(who, Accepting::NewAccount { .. }) {
        let session = crate::backend::sessions::create(&state.db, &user.id, &client).await?;
        super::auth::set_response_cookie(crate::backend::sessions::set_cookie(&session, &headers, &state.config))?;
    }
    leptos_axum::redirect(&format!("/orgs/{}", org.id));
    Ok(())
}
