use super::{ApiQuery, Authenticated};
use app::backend::access::require_role;
use app::backend::audit::store::{self, Filter};
use app::backend::AppState;
use app::error::ApiResult;
use app::model::{AuditPage, Role};
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Comma-separated list of actions.
    action: Option<String>,
    actor_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The org's audit trail, newest first (owner/admin).
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    require_role(&state.db, &caller, &org, Role::Admin).await?;
    let filter = Filter {
        actions: q.action.iter().flat_map(|a| a.split(',')).map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect(),
        actor_id: q.actor_id,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        since: q.since,
        until: q.until,
    };
    store::list(&state.db, &org, &filter, q.limit, q.cursor.as_deref()).await.map(Json)
}
