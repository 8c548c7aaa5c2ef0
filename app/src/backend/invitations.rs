//! Invitations: an owner (or an admin, for the admin and member roles) asks someone by email
//! to join an org. The mailed link carries a 256-bit token, of which only the SHA-256 is
//! stored; it works once, for 7 days. Accepting creates the account (name and password) or
//! uses the signed-in one whose email matches.

use super::audit::{NewEvent, Recorder};
use super::db::{format_time, is_unique_violation, new_id, now, Db};
use super::mail::outbox;
use super::sessions::{hash_token, random_token, ClientInfo};
use super::users::{self, NewUser};
use super::{orgs, Acting};
use crate::error::{ApiError, ApiResult};
use crate::model::{Actor, Invitation, InvitationView, OrgMembership, Role, UserInfo};
use serde_json::json;

pub const VALID_DAYS: i64 = 7;

/// Used, revoked, expired and unknown links all answer this, alike.
fn gone() -> ApiError {
    ApiError::not_found("Invitation")
}

/// An admin may invite (and revoke invitations of) admins and members; only an owner owners.
fn check_may_invite(actor_role: Role, role: Role) -> ApiResult<()> {
    if role == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::forbidden("owner"));
    }
    Ok(())
}

/// Invites `email` as `role` and queues the mail with the link; a pending invitation of the
/// same email is replaced (its link stops working). 409 when they are already a member.
pub async fn create(db: &Db, by: &Acting<'_>, actor_role: Role, org_id: &str, email: &str, role: Role, public_base: &str) -> ApiResult<Invitation> {
    check_may_invite(actor_role, role)?;
    let (email, email_key) = users::normalise_email(email)?;
    let inviter = by.actor.name.clone().unwrap_or_else(|| by.actor.label.clone());
    let token = random_token();
    let created = chrono::Utc::now();
    let invitation = Invitation {
        id: new_id(),
        email,
        role,
        invited_by: inviter,
        created_at: format_time(created),
        expires_at: format_time(created + chrono::Duration::days(VALID_DAYS)),
    };
    let mut tx = orgs::lock_org(db, org_id).await?;
    let org_name: (String,) = sqlx::query_as("SELECT name FROM orgs WHERE id = $1").bind(org_id).fetch_one(&mut *tx).await?;
    let member: Option<(String,)> = sqlx::query_as("SELECT u.id FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email_key = $2")
        .bind(org_id)
        .bind(&email_key)
        .fetch_optional(&mut *tx)
        .await?;
    if member.is_some() {
        return Err(ApiError::conflict(format!("{} is already a member of this organisation.", invitation.email)));
    }
    sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND email_key = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(&invitation.created_at)
        .bind(org_id)
        .bind(&email_key)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO invitations (id, org_id, email, email_key, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&invitation.id)
    .bind(org_id)
    .bind(&invitation.email)
    .bind(&email_key)
    .bind(role.as_str())
    .bind(hash_token(&token))
    .bind(&invitation.invited_by)
    .bind(&invitation.created_at)
    .bind(&invitation.expires_at)
    .execute(&mut *tx)
    .await?;
    let (subject, body) = mail(&invitation, &org_name.0, public_base);
    outbox::enqueue_in(&mut tx, Some(org_id), &invitation.email, &subject, &body, Some(&token)).await?;
    tx.commit().await?;
    by.audit
        .record(
            NewEvent::new(Some(org_id), "member.invited", by.actor.clone(), "invitation", Some(&invitation.id))
                .metadata(json!({ "email": invitation.email, "role": role, "expires_at": invitation.expires_at }))
                .client(by.client),
        )
        .await;
    Ok(invitation)
}

/// The invitation mail; the link's token stands as [`outbox::SECRET_MARK`].
fn mail(invitation: &Invitation, org_name: &str, public_base: &str) -> (String, String) {
    let subject = format!("{} invited you to {org_name} on Chronicle", invitation.invited_by);
    let body = format!(
        "{inviter} invited you to join {org_name} on Chronicle as {article} {role}.\n\n\
         Accept the invitation:\n{public_base}/invite/{mark}\n\n\
         The link works once and expires on {expires} (UTC). If you did not expect this mail, ignore it: \
         nothing happens without you.\n",
        inviter = invitation.invited_by,
        article = if invitation.role == Role::Admin { "an" } else { "a" },
        role = invitation.role,
        mark = outbox::SECRET_MARK,
        expires = invitation.expires_at.get(..16).unwrap_or(&invitation.expires_at).replace('T', " "),
    );
    (subject, body)
}

type Row = (String, String, String, String, String, String);
const COLUMNS: &str = "id, email, role, invited_by, created_at, expires_at";

fn from_row((id, email, role, invited_by, created_at, expires_at): Row) -> ApiResult<Invitation> {
    Ok(Invitation { id, email, role: orgs::parse_role(&role)?, invited_by, created_at, expires_at })
}

/// The org's invitations still waiting for an answer, newest first.
pub async fn list_pending(db: &Db, org_id: &str) -> ApiResult<Vec<Invitation>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(now()).fetch_all(db.pool()).await?;
    rows.into_iter().map(from_row).collect()
}

/// Revokes a pending invitation: its link stops working. 404 for none pending by that id.
pub async fn revoke(db: &Db, by: &Acting<'_>, actor_role: Role, org_id: &str, id: &str) -> ApiResult<()> {
    let sql = format!("SELECT {COLUMNS} FROM invitations WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(org_id).bind(now()).fetch_optional(db.pool()).await?;
    let invitation = from_row(row.ok_or_else(gone)?)?;
    check_may_invite(actor_role, invitation.role)?;
    let revoked = sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(now())
        .bind(id)
        .execute(db.pool())
        .await?
        .rows_affected();
    if revoked == 0 {
        return Err(gone());
    }
    by.audit
        .record(
            NewEvent::new(Some(org_id), "member.invitation_revoked", by.actor.clone(), "invitation", Some(id))
                .metadata(json!({ "email": invitation.email, "role": invitation.role }))
                .client(by.client),
        )
        .await;
    Ok(())
}

/// A pending invitation by its token: `(id, org_id, email_key, view)`.
async fn find(db: &Db, token: &str) -> ApiResult<(String, String, String, InvitationView)> {
    let row: Option<(String, String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT i.id, i.org_id, i.email, i.email_key, i.role, i.invited_by, i.expires_at, o.name FROM invitations i JOIN orgs o ON o.id = i.org_id \
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    let (id, org_id, email, email_key, role, invited_by, expires_at, org_name) = row.ok_or_else(gone)?;
    let account_exists = users::find_by_email(db, &email_key).await?.is_some();
    let view = InvitationView { org_name, email, role: orgs::parse_role(&role)?, invited_by, expires_at, account_exists };
    Ok((id, org_id, email_key, view))
}

/// What the invitation page shows: which org, as what, for whom.
pub async fn view(db: &Db, token: &str) -> ApiResult<InvitationView> {
    Ok(find(db, token).await?.3)
}

/// Who accepts: a new account (the invitation's email, this name and password), or the
/// signed-in person, whose email must be the invitation's.
#[derive(Clone, Copy)]
pub enum Accepting<'a> {
    NewAccount { name: &'a str, password: &'a str },
    SignedIn(&'a UserInfo),
}

/// Accepts the invitation, once: the user (created if new) and their membership. Used,
/// revoked and expired links are 404 alike; an email that already has an account must sign
/// in first (409).
pub async fn accept(db: &Db, audit: &Recorder, client: &ClientInfo, token: &str, who: Accepting<'_>) -> ApiResult<(UserInfo, OrgMembership)> {
    let (id, org_id, email_key, view) = find(db, token).await?;
    let new_user = match who {
        Accepting::NewAccount { name, password } => {
            if view.account_exists {
                return Err(ApiError::conflict(format!("An account for {} exists: sign in as it to accept the invitation.", view.email)));
            }
            Some(NewUser::prepare(&view.email, name, password).await?)
        }
        Accepting::SignedIn(user) if user.email.to_lowercase() != email_key => {
            return Err(ApiError::new(
                crate::error::ErrorKind::Forbidden,
                format!("This invitation is for {}, and you are signed in as {}. Sign out and open the link again.", view.email, user.email),
            ));
        }
        Accepting::SignedIn(_) => None,
    };
    let mut tx = orgs::lock_org(db, &org_id).await?;
    // The claim: of any number of acceptances at once, one changes the row.
    let claimed = sqlx::query("UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1")
        .bind(now())
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Err(gone());
    }
    let user = match (new_user, who) {
        (Some(new_user), _) => new_user.insert(&mut tx).await.map_err(|e| match e.field.as_deref() {
            Some("email") => ApiError::conflict(format!("An account for {} exists: sign in as it to accept the invitation.", view.email)),
            _ => e,
        })?,
        (None, Accepting::SignedIn(user)) => user.clone(),
        (None, Accepting::NewAccount { .. }) => unreachable!("a new account is prepared above"),
    };
    let joined = sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&org_id)
        .bind(&user.id)
        .bind(view.role.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await;
    if let Err(e) = joined {
        return Err(if is_unique_violation(&e) { ApiError::conflict("You are already a member of this organisation.") } else { e.into() });
    }
    tx.commit().await?;
    audit
        .record(
            NewEvent::new(Some(&org_id), "member.joined", Actor::user(&user), "member", Some(&user.id))
                .metadata(json!({ "name": user.name, "email": user.email, "role": view.role, "invitation_id": id, "invited_by": view.invited_by }))
                .client(client),
        )
        .await;
    let membership = orgs::orgs_of_user(db, &user.id).await?.into_iter().find(|o| o.id == org_id).ok_or_else(ApiError::internal)?;
    Ok((user, membership))
}
