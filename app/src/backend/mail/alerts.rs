//! What alert mails say: who did what to which key, when and from where.

use super::outbox;
use crate::backend::api_keys::Owner;
use crate::backend::db::Db;
use crate::backend::Acting;
use crate::error::ApiResult;
use crate::model::ApiKey;

/// The out-of-band alert for a key created or revoked: to the org's owners (a personal key:
/// its user), saying who, which key, when and from where.
pub async fn key_alert(db: &Db, owner: &Owner, key: &ApiKey, action: &str, reason: Option<&str>, by: &Acting<'_>) -> ApiResult<()> {
    let (org_id, recipients): (Option<&str>, Vec<String>) = match owner {
        Owner::Org(org) => {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.role = 'owner' ORDER BY u.email",
            )
            .bind(org)
            .fetch_all(db.pool())
            .await?;
            (Some(org.as_str()), rows.into_iter().map(|r| r.0).collect())
        }
        Owner::User(user) => (None, vec![user.email.clone()]),
    };
    let verb = if action == "api_key.revoked" { "revoked" } else { "created" };
    let kind = if key.kind == "org" { "org" } else { "personal" };
    let who = match &by.actor.email {
        Some(email) => format!("{} <{email}>", by.actor.label),
        None => by.actor.label.clone(),
    };
    let subject = format!("Chronicle: {kind} API key \"{}\" {verb}", key.name);
    let why = reason.map(|r| format!(" because {r}")).unwrap_or_default();
    let body = format!(
        "An API key was {verb}{why}.\n\nKey:   {} ({})\nScopes: {}\nBy:    {who}\nWhen:  {}\nFrom:  {}\n\nIf this was not expected, revoke the key and review the audit trail.\n",
        key.name,
        key.display,
        key.scopes.join(", "),
        if verb == "revoked" { key.revoked_at.as_deref().unwrap_or_default() } else { key.created_at.as_str() },
        by.client.ip.as_deref().unwrap_or("unknown address"),
    );
    for to in recipients {
        outbox::enqueue(db, org_id, &to, &subject, &body).await?;
    }
    Ok(())
}
