//! Where roles are enforced: every server function and REST handler that touches an org
//! asks [`require_role`] first.

use super::auth::Caller;
use super::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::model::Role;

/// The caller's role in `org_id`, if it is at least `min`.
///
/// Not a member (or no such org) answers 404, never 403, so an org's existence does not
/// leak; a member whose role is too low gets 403.
pub async fn require_role(db: &Db, caller: &Caller, org_id: &str, min: Role) -> ApiResult<Role> {
    let role: Option<(String,)> = sqlx::query_as("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(&caller.user.id)
        .fetch_optional(db.pool())
        .await?;
    let Some((role,)) = role else { return Err(ApiError::not_found("Organisation")) };
    let role: Role = role.parse().map_err(|_| ApiError::internal())?;
    if role < min {
        return Err(ApiError::forbidden(min.as_str()));
    }
    Ok(role)
}
