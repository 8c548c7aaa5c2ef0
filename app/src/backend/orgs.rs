//! Orgs and memberships, with the rules that keep every org governable: an admin cannot
//! touch an owner, and an org never loses its last owner.

use super::audit::NewEvent;
use super::db::{new_id, now, Db};
use super::Acting;
use super::users::validate_name;
use crate::error::{ApiError, ApiResult};
use crate::model::{ActorChoice, ActorChoices, Member, OrgMembership, Role};
use sqlx::{Any, Transaction};

pub async fn create_org(db: &Db, name: &str, owner_id: &str) -> ApiResult<OrgMembership> {
    let name = validate_name("org", name)?;
    let id = new_id();
    let at = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO orgs (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)")
        .bind(&id)
        .bind(&name)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    insert_membership(&mut tx, &id, owner_id, Role::Owner).await?;
    tx.commit().await?;
    Ok(OrgMembership { id, name, role: Role::Owner, past_due: false, require_mfa: false })
}

pub async fn add_member(db: &Db, org_id: &str, user_id: &str, role: Role) -> ApiResult<()> {
    let mut tx = db.pool().begin().await?;
    insert_membership(&mut tx, org_id, user_id, role).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_membership(tx: &mut Transaction<'_, Any>, org_id: &str, user_id: &str, role: Role) -> ApiResult<()> {
    sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(org_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The orgs a user belongs to, by name.
pub async fn orgs_of_user(db: &Db, user_id: &str) -> ApiResult<Vec<OrgMembership>> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT o.id, o.name, m.role, o.billing_status, CAST(o.require_mfa AS BIGINT) FROM memberships m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = $1 ORDER BY o.name, o.id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(id, name, role, billing, require_mfa)| {
            Ok(OrgMembership { id, name, role: parse_role(&role)?, past_due: billing == "past_due", require_mfa: require_mfa != 0 })
        })
        .collect()
}

pub async fn list_members(db: &Db, org_id: &str) -> ApiResult<Vec<Member>> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 ORDER BY u.name, u.id",
    )
    .bind(org_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(user_id, name, email, role, joined_at)| Ok(Member { user_id, name, email, role: parse_role(&role)?, joined_at }))
        .collect()
}

/// The org's members ("Name <email>") and its org keys ("Name (prefix…last4)"), each by label:
/// the audit explorer's actor filter, in one query.
pub async fn audit_actors(db: &Db, org_id: &str) -> ApiResult<ActorChoices> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT CAST(0 AS BIGINT), u.id, u.name || ' <' || u.email || '>' FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 \
         UNION ALL SELECT CAST(1 AS BIGINT), k.id, k.name || ' (' || k.display || ')' FROM api_keys k WHERE k.org_id = $1 \
         ORDER BY 1, 3, 2",
    )
    .bind(org_id)
    .fetch_all(db.pool())
    .await?;
    let mut actors = ActorChoices::default();
    for (group, id, label) in rows {
        if group == 0 { &mut actors.people } else { &mut actors.keys }.push(ActorChoice { id, label });
    }
    Ok(actors)
}

/// Changes `user_id`'s role, acting with `actor_role` (already checked to be admin or more).
/// Returns the role before the change.
pub async fn change_role(db: &Db, by: &Acting<'_>, actor_role: Role, org_id: &str, user_id: &str, new_role: Role) -> ApiResult<Role> {
    let mut tx = lock_org(db, org_id).await?;
    let (current, who) = membership_role(&mut tx, org_id, user_id).await?;
    check_may_touch(actor_role, current)?;
    if new_role == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::forbidden("owner"));
    }
    if current == Role::Owner && new_role != Role::Owner {
        ensure_another_owner(&mut tx, org_id, "demoted").await?;
    }
    sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
        .bind(new_role.as_str())
        .bind(org_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    by.audit.record(
        NewEvent::new(Some(org_id), "member.role_changed", by.actor.clone(), "member", Some(user_id))
            .changes(&serde_json::json!({ "role": current }), &serde_json::json!({ "role": new_role }))
            .metadata(who)
            .client(by.client),
    )
    .await;
    Ok(current)
}

/// Removes `user_id` from the org, acting with `actor_role`. Returns the role they had.
pub async fn remove_member(db: &Db, by: &Acting<'_>, actor_role: Role, org_id: &str, user_id: &str) -> ApiResult<Role> {
    let mut tx = lock_org(db, org_id).await?;
    let (current, who) = membership_role(&mut tx, org_id, user_id).await?;
    check_may_touch(actor_role, current)?;
    if current == Role::Owner {
        ensure_another_owner(&mut tx, org_id, "removed").await?;
    }
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    by.audit.record(
        NewEvent::new(Some(org_id), "member.removed", by.actor.clone(), "member", Some(user_id))
            .changes(&serde_json::json!({ "role": current }), &serde_json::json!({}))
            .metadata(who)
            .client(by.client),
    )
    .await;
    Ok(current)
}

/// Opens a transaction that holds the org row's write lock, so concurrent membership changes
/// of one org run one after another (two owners demoting each other cannot both succeed).
pub(super) async fn lock_org(db: &Db, org_id: &str) -> ApiResult<Transaction<'static, Any>> {
    let mut tx = db.pool().begin().await?;
    lock_org_in(&mut tx, org_id).await?;
    Ok(tx)
}

/// Takes the org row's write lock inside `tx` (see [`lock_org`]).
pub(super) async fn lock_org_in(tx: &mut Transaction<'_, Any>, org_id: &str) -> ApiResult<()> {
    let touched = sqlx::query("UPDATE orgs SET updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(org_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if touched == 0 {
        return Err(ApiError::not_found("Organisation"));
    }
    Ok(())
}

/// The member's role, and who they are as the audit event names them (`{name, email}`, so the
/// trail reads "member “Max Member”" rather than an id).
async fn membership_role(tx: &mut Transaction<'_, Any>, org_id: &str, user_id: &str) -> ApiResult<(Role, serde_json::Value)> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some((role, name, email)) => Ok((parse_role(&role)?, serde_json::json!({ "name": name, "email": email }))),
        None => Err(ApiError::not_found("Member")),
    }
}

fn check_may_touch(actor_role: Role, target_role: Role) -> ApiResult<()> {
    if target_role == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::forbidden("owner"));
    }
    Ok(())
}

/// 409 unless the org has an owner besides the one about to be `verb` (demoted, removed…).
pub(super) async fn ensure_another_owner(tx: &mut Transaction<'_, Any>, org_id: &str, verb: &str) -> ApiResult<()> {
    let (owners,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
        .bind(org_id)
        .fetch_one(&mut **tx)
        .await?;
    if owners <= 1 {
        return Err(ApiError::conflict(format!(
            "The last owner cannot be {verb}. Make someone else an owner first."
        )));
    }
    Ok(())
}

pub(super) fn parse_role(role: &str) -> ApiResult<Role> {
    role.parse().map_err(|_| ApiError::internal())
}
