//! API keys for the API keys page: org keys (owner/admin) and the caller's personal keys.

use crate::error::ApiError;
use crate::model::{ApiKey, AuditPage, CreatedKey};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, require_self, Access};
#[cfg(feature = "ssr")]
use crate::backend::api_keys::{self, NewKey, Owner};
#[cfg(feature = "ssr")]
use crate::backend::request;

/// Whose keys a call is about: the org's (`Some(org)`) or the caller's own (`None`).
#[cfg(feature = "ssr")]
async fn owner_for(org: Option<String>, access: Access) -> Result<(crate::backend::AppState, crate::backend::auth::Caller, crate::backend::sessions::ClientInfo, Owner), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let owner = match org {
        Some(org) => {
            require(&caller, &org, access)?;
            Owner::Org(org)
        }
        None => Owner::User(require_self(&caller, access)?.clone()),
    };
    Ok((state, caller, client, owner))
}

#[server]
pub async fn list_keys(org: Option<String>) -> Result<Vec<ApiKey>, ApiError> {
    let (state, _, _, owner) = owner_for(org, Access::READ_KEYS).await?;
    api_keys::list(&state.db, &owner).await
}

/// Creates a key; the answer carries its secret, the only time it is ever shown. A personal
/// key needs the caller's current password.
#[server(input = Json)]
pub async fn create_key(
    org: Option<String>,
    name: String,
    scopes: Vec<String>,
    expires_at: Option<String>,
    current_password: Option<String>,
) -> Result<CreatedKey, ApiError> {
    let (state, caller, client, owner) = owner_for(org, Access::MANAGE_KEYS).await?;
    let by = state.acting(&caller, &client);
    api_keys::create_by(&state.db, &owner, &caller, NewKey { name, scopes, expires_at }, current_password.as_deref(), &by).await
}

#[server]
pub async fn revoke_key(org: Option<String>, id: String) -> Result<ApiKey, ApiError> {
    let (state, caller, client, owner) = owner_for(org, Access::MANAGE_KEYS).await?;
    let by = state.acting(&caller, &client);
    api_keys::revoke(&state.db, &owner, &id, &by).await
}

/// Every create and revoke of the org's keys (or of the caller's personal keys), newest first.
#[server]
pub async fn key_activity(org: Option<String>, cursor: Option<String>) -> Result<AuditPage, ApiError> {
    let (state, _, _, owner) = owner_for(org, Access::READ_KEYS).await?;
    api_keys::activity(&state.db, &owner, Some(20), cursor.as_deref()).await
}
