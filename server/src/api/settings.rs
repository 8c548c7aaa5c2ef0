//! Org settings and the engagement events they turn on.

use super::{ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::tracking::events;
use app::backend::{settings, AppState};
use app::error::ApiResult;
use app::model::{EngagementPage, EngagementQuery, OrgSettings, SettingsPatch};
use axum::extract::State;
use axum::Json;

#[utoipa::path(
    get,
    operation_id = "getSettings",
    path = "/orgs/{org}/settings",
    summary = "The org's settings (the PostHog key is write-only: only posthog_api_key_set is answered)",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn get(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiPath(org): ApiPath<String>) -> ApiResult<Json<OrgSettings>> {
    require(&caller, &org, Access::MANAGE_SETTINGS)?;
    Ok(Json(settings::get(&state.db, &org).await?))
}

#[utoipa::path(
    patch,
    operation_id = "updateSettings",
    path = "/orgs/{org}/settings",
    summary = "Change settings (absent fields stay, null clears); audited as org.settings_changed",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = SettingsPatch,
    responses((status = 200, description = "The settings", body = serde_json::Value), super::Failure)
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> ApiResult<Json<OrgSettings>> {
    require(&caller, &org, Access::MANAGE_SETTINGS)?;
    Ok(Json(settings::update(&state.db, &state.config, &caller, &org, patch, &state.acting(&caller, &client)).await?))
}

#[utoipa::path(
    get,
    operation_id = "listEngagementEvents",
    path = "/orgs/{org}/engagement",
    summary = "Engagement events of the org's workflow mail, newest first",
    params(("org" = String, Path, description = "Organisation id"), EngagementQuery),
    responses((status = 200, description = "{events, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn engagement(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(query): ApiQuery<EngagementQuery>,
) -> ApiResult<Json<EngagementPage>> {
    require(&caller, &org, Access::READ_ENGAGEMENT)?;
    Ok(Json(events::list(&state.db, &org, &query).await?))
}
