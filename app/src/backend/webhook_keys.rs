//! Webhook keys: the bearer secret (`whk_…`) an outside system sends to
//! `POST /api/v1/hooks/{workflow_id}`. One workflow's keys open only that workflow's hook.
//! Same design as API keys (`key_secret`: checksum, SHA-256 stored, shown once); creating and
//! revoking one is audited and mailed to the org's owners.

use super::audit::NewEvent;
use super::db::{new_id, now, Db};
use super::key_secret::{display_of, generate_secret, hash_secret, well_formed, WEBHOOK_PREFIX};
use super::{mail, users, Acting};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{CreatedWebhookKey, KeyCreator, UserInfo, WebhookKey};
use subtle::ConstantTimeEq;

const COLUMNS: &str = "id, workflow_id, name, display, created_by_id, created_by_name, created_at, last_used_at, revoked_at";
type Row = (String, String, String, String, String, String, String, Option<String>, Option<String>);

fn from_row(r: Row) -> WebhookKey {
    WebhookKey {
        id: r.0,
        workflow_id: r.1,
        name: r.2,
        display: r.3,
        created_by: KeyCreator { id: r.4, name: r.5 },
        created_at: r.6,
        last_used_at: r.7,
        revoked_at: r.8,
    }
}

/// The workflow's name, or 404 when it is not in the org.
async fn workflow_name(db: &Db, org_id: &str, workflow_id: &str) -> ApiResult<String> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM workflows WHERE id = $1 AND org_id = $2")
        .bind(workflow_id)
        .bind(org_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| r.0).ok_or_else(|| ApiError::not_found("Workflow"))
}

pub async fn list(db: &Db, org_id: &str, workflow_id: &str) -> ApiResult<Vec<WebhookKey>> {
    workflow_name(db, org_id, workflow_id).await?;
    let sql = format!("SELECT {COLUMNS} FROM webhook_keys WHERE workflow_id = $1 ORDER BY created_at DESC, id DESC");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workflow_id).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn create(db: &Db, org_id: &str, workflow_id: &str, creator: &UserInfo, name: &str, by: &Acting<'_>) -> ApiResult<CreatedWebhookKey> {
    let name = users::validate_name("name", name)?;
    let workflow = workflow_name(db, org_id, workflow_id).await?;
    let secret = generate_secret(WEBHOOK_PREFIX);
    let key = WebhookKey {
        id: new_id(),
        workflow_id: workflow_id.into(),
        name,
        display: display_of(WEBHOOK_PREFIX, &secret),
        created_by: KeyCreator { id: creator.id.clone(), name: creator.name.clone() },
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO webhook_keys (id, org_id, workflow_id, name, display, secret_hash, created_by_id, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.id)
    .bind(org_id)
    .bind(workflow_id)
    .bind(&key.name)
    .bind(&key.display)
    .bind(hash_secret(&secret))
    .bind(&key.created_by.id)
    .bind(&key.created_by.name)
    .bind(&key.created_at)
    .execute(db.pool())
    .await?;
    announce(db, org_id, &workflow, &key, "webhook_key.created", by).await;
    Ok(CreatedWebhookKey { key, secret })
}

/// Revokes a key of the workflow (404 when it is not one); twice answers 409.
pub async fn revoke(db: &Db, org_id: &str, workflow_id: &str, key_id: &str, by: &Acting<'_>) -> ApiResult<WebhookKey> {
    let workflow = workflow_name(db, org_id, workflow_id).await?;
    let at = now();
    let sql = format!("UPDATE webhook_keys SET revoked_at = $1 WHERE id = $2 AND workflow_id = $3 AND revoked_at IS NULL RETURNING {COLUMNS}");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&at).bind(key_id).bind(workflow_id).fetch_optional(db.pool()).await?;
    let Some(row) = row else {
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM webhook_keys WHERE id = $1 AND workflow_id = $2")
            .bind(key_id)
            .bind(workflow_id)
            .fetch_optional(db.pool())
            .await?;
        return Err(match exists {
            Some(_) => ApiError::conflict("This webhook key is already revoked."),
            None => ApiError::not_found("Webhook key"),
        });
    };
    let key = from_row(row);
    announce(db, org_id, &workflow, &key, "webhook_key.revoked", by).await;
    Ok(key)
}

async fn announce(db: &Db, org_id: &str, workflow: &str, key: &WebhookKey, action: &'static str, by: &Acting<'_>) {
    let meta = serde_json::json!({ "name": key.name, "display": key.display, "workflow_id": key.workflow_id, "workflow": workflow });
    let event = NewEvent::new(Some(org_id), action, by.actor.clone(), "webhook_key", Some(&key.id)).metadata(meta).client(by.client);
    by.audit.record(event).await;
    if let Err(err) = mail::alerts::webhook_key_alert(db, org_id, workflow, key, by).await {
        tracing::error!(error = %err, key = %key.display, "could not queue the webhook key alert mail");
    }
}

/// The key behind `secret` for `workflow_id`: well formed, that workflow's, unrevoked. A bad
/// key is a 401 that says why (the caller holds it).
pub async fn authenticate(db: &Db, workflow_id: &str, secret: Option<&str>) -> ApiResult<WebhookKey> {
    let Some(secret) = secret else {
        return Err(ApiError::new(ErrorKind::Unauthorized, "This hook needs Authorization: Bearer whk_… (a webhook key of this workflow)."));
    };
    let invalid = || ApiError::new(ErrorKind::Unauthorized, "This webhook key is not valid for this workflow.");
    if !secret.starts_with(WEBHOOK_PREFIX) || !well_formed(secret) {
        return Err(invalid());
    }
    let hash = hash_secret(secret);
    let sql = format!("SELECT {COLUMNS}, secret_hash FROM webhook_keys WHERE secret_hash = $1");
    type WithHash = (String, String, String, String, String, String, String, Option<String>, Option<String>, String);
    let row: Option<WithHash> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&hash).fetch_optional(db.pool()).await?;
    let Some(r) = row else { return Err(invalid()) };
    if !bool::from(r.9.as_bytes().ct_eq(hash.as_bytes())) || r.1 != workflow_id {
        return Err(invalid());
    }
    let key = from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8));
    if key.revoked_at.is_some() {
        return Err(ApiError::new(ErrorKind::Unauthorized, format!("Webhook key {} has been revoked.", key.display)));
    }
    let _ = sqlx::query("UPDATE webhook_keys SET last_used_at = $1 WHERE id = $2").bind(now()).bind(&key.id).execute(db.pool()).await;
    Ok(key)
}
