//! Org settings and email engagement for the Settings and Engagement pages: the same checks
//! and backend calls as their REST twins.

use crate::error::ApiError;
use crate::model::{EngagementPage, EngagementQuery, EngagementSummary, ForwardingStatus, OrgSettings, SettingsPatch};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::access::{require, Access};
#[cfg(feature = "ssr")]
use crate::backend::tracking::{events, posthog};
#[cfg(feature = "ssr")]
use crate::backend::{request, settings};

/// What the Settings page shows of tracking: the settings and where forwarding stands. (SNS
/// subscription confirmations name the operator's topic: `server sns confirmations` lists
/// them for the operator, never an org's owners.)
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SettingsView {
    pub settings: OrgSettings,
    pub forwarding: ForwardingStatus,
}

#[server]
pub async fn load_settings(org: String) -> Result<SettingsView, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::MANAGE_SETTINGS)?;
    Ok(SettingsView { settings: settings::get(&state.db, &org).await?, forwarding: posthog::status(&state.db, &org).await? })
}

#[server(input = Json)]
pub async fn update_org_settings(org: String, patch: SettingsPatch) -> Result<OrgSettings, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    require(&caller, &org, Access::MANAGE_SETTINGS)?;
    settings::update(&state.db, &state.config, &caller, &org, patch, &state.acting(&caller, &client)).await
}

#[server(input = Json)]
pub async fn list_engagement(org: String, query: EngagementQuery) -> Result<EngagementPage, ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_ENGAGEMENT)?;
    events::list(&state.db, &org, &query).await
}

/// A workflow's funnel, with whether the org records engagement at all.
#[server]
pub async fn workflow_engagement(org: String, workflow_id: String) -> Result<(EngagementSummary, bool), ApiError> {
    let (state, caller) = request::caller().await?;
    require(&caller, &org, Access::READ_ENGAGEMENT)?;
    let capturing = settings::get(&state.db, &org).await?.capture_engagement_events;
    Ok((events::summary(&state.db, &org, &workflow_id).await?, capturing))
}
