//! What alert mails say: who did what to which key, when and from where.

use super::outbox;
use crate::backend::api_keys::Owner;
use crate::backend::db::Db;
use crate::backend::Acting;
use crate::error::ApiResult;
use crate::model::{ApiKey, WebhookKey};

/// The out-of-band alert for a key created or revoked: to the org's owners (a personal key:
/// its user), saying who, which key, when and from where.
pub async fn key_alert(db: &Db, owner: &Owner, key: &ApiKey, action: &str, reason: Option<&str>, by: &Acting<'_>) -> ApiResult<()> {
    let (org_id, recipients) = match owner {
        Owner::Org(org) => (Some(org.as_str()), owners_of(db, org).await?),
        Owner::User(user) => (None, vec![user.email.clone()]),
    };
    let kind = if key.kind == "org" { "org API key" } else { "personal API key" };
    let revoked = action == "api_key.revoked";
    let alert = KeyAlert {
        kind,
        name: &key.name,
        display: &key.display,
        detail: ("Scopes", key.scopes.join(", ")),
        revoked,
        reason,
        at: if revoked { key.revoked_at.as_deref().unwrap_or_default() } else { &key.created_at },
    };
    send(db, org_id, &recipients, &alert, by).await
}

/// The same alert for a workflow's webhook key: to the org's owners.
pub async fn webhook_key_alert(db: &Db, org_id: &str, workflow_name: &str, key: &WebhookKey, by: &Acting<'_>) -> ApiResult<()> {
    let revoked = key.revoked_at.is_some();
    let alert = KeyAlert {
        kind: "webhook key",
        name: &key.name,
        display: &key.display,
        detail: ("Workflow", workflow_name.to_owned()),
        revoked,
        reason: None,
        at: if revoked { key.revoked_at.as_deref().unwrap_or_default() } else { &key.created_at },
    };
    send(db, Some(org_id), &owners_of(db, org_id).await?, &alert, by).await
}

struct KeyAlert<'a> {
    kind: &'static str,
    name: &'a str,
    display: &'a str,
    detail: (&'static str, String),
    revoked: bool,
    reason: Option<&'a str>,
    at: &'a str,
}

async fn owners_of(db: &Db, org_id: &str) -> ApiResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.role = 'owner' ORDER BY u.email",
    )
    .bind(org_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

async fn send(db: &Db, org_id: Option<&str>, recipients: &[String], alert: &KeyAlert<'_>, by: &Acting<'_>) -> ApiResult<()> {
    let verb = if alert.revoked { "revoked" } else { "created" };
    let who = match &by.actor.email {
        Some(email) => format!("{} <{email}>", by.actor.label),
        None => by.actor.label.clone(),
    };
    let subject = format!("Chronicle: {} \"{}\" {verb}", alert.kind, alert.name);
    let why = alert.reason.map(|r| format!(" because {r}")).unwrap_or_default();
    let (detail_label, detail) = &alert.detail;
    let body = format!(
        "The {} below was {verb}{why}.\n\nKey:   {} ({})\n{detail_label}: {detail}\nBy:    {who}\nWhen:  {}\nFrom:  {}\n\nIf this was not expected, revoke the key and review the audit trail.\n",
        alert.kind,
        alert.name,
        alert.display,
        alert.at,
        by.client.ip.as_deref().unwrap_or("unknown address"),
    );
    for to in recipients {
        outbox::enqueue(db, org_id, to, &subject, &body).await?;
    }
    Ok(())
}
