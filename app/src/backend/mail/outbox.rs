//! The outbox: mail is queued with the action that causes it (in the database, so it survives
//! restarts) and delivered by a loop that claims each mail before sending it, so several app
//! instances send it once; retried with backoff, given up as `failed` after [`MAX_ATTEMPTS`].
//! Without SMTP it stays for the Outbox page. A mail failure never fails its action.

use super::smtp::{self, Outgoing, Smtp};
use crate::backend::db::{format_time, new_id, now, Backend, Db};
use crate::backend::telemetry::Telemetry;
use crate::backend::tracking::compose::Composed;
use crate::backend::tracking::events::{self, NewEngagement};
use crate::error::ApiResult;
use crate::model::{MailTracking, OutboxMail};
use serde_json::json;
use std::time::Duration;

const MAX_BACKOFF_SECS: i64 = 3600;

pub async fn enqueue(db: &Db, org_id: Option<&str>, recipient: &str, subject: &str, body: &str) -> ApiResult<()> {
    let at = now();
    sqlx::query(
        "INSERT INTO outbox (id, org_id, recipient, subject, body, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
    )
    .bind(new_id())
    .bind(org_id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(&at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A workflow mail: its parts and codes, and where it came from.
pub struct Tracked<'a> {
    pub message_id: &'a str,
    pub workflow_id: &'a str,
    pub execution_id: &'a str,
    pub distinct_id: &'a str,
    pub composed: &'a Composed,
}

pub async fn enqueue_tracked(db: &Db, org_id: &str, recipient: &str, subject: &str, mail: &Tracked<'_>) -> ApiResult<()> {
    let at = now();
    sqlx::query(
        "INSERT INTO outbox (id, org_id, recipient, subject, body, status, attempts, next_attempt_at, created_at, \
           html_body, tracking_code, workflow_id, execution_id, distinct_id, links) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(mail.message_id)
    .bind(org_id)
    .bind(recipient)
    .bind(subject)
    .bind(&mail.composed.text)
    .bind(&at)
    .bind(&mail.composed.html)
    .bind(&mail.composed.code)
    .bind(mail.workflow_id)
    .bind(mail.execution_id)
    .bind(mail.distinct_id)
    .bind(serde_json::to_string(&mail.composed.links).expect("strings serialise"))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How many mails are in each status (for /metrics).
pub async fn count_by_status(db: &Db) -> ApiResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetch_all(db.pool()).await?)
}

/// Mail an owner may read: the org's mail, newest first.
pub async fn list_for_org(db: &Db, org_id: &str) -> ApiResult<Vec<OutboxMail>> {
    list_where(db, "org_id = $1", org_id).await
}

/// Mail to one person outside any org (their personal keys' alerts), newest first.
pub async fn list_personal(db: &Db, email: &str) -> ApiResult<Vec<OutboxMail>> {
    list_where(db, "org_id IS NULL AND recipient = $1", email).await
}

async fn list_where(db: &Db, condition: &'static str, value: &str) -> ApiResult<Vec<OutboxMail>> {
    // Each workflow mail with what engagement says of it (one grouped read, not one per mail).
    let sql = format!(
        "SELECT id, recipient, subject, body, status, attempts, last_error, created_at, sent_at, tracking_code, workflow_id FROM outbox \
         WHERE {condition} ORDER BY created_at DESC, id DESC LIMIT 200"
    );
    let rows: Vec<MailRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_all(db.pool()).await?;
    let mut mails: Vec<OutboxMail> = rows.into_iter().map(mail_from_row).collect();
    let tracked: Vec<String> = mails.iter().filter(|m| m.tracking.is_some()).map(|m| m.id.clone()).collect();
    for (message_id, event, n) in events::counts_by_message(db, &tracked).await? {
        let Some(t) = mails.iter_mut().find(|m| m.id == message_id).and_then(|m| m.tracking.as_mut()) else { continue };
        match event.trim_start_matches("$workflows_email_") {
            "delivered" => t.delivered = n,
            "opened" => t.opened = n,
            "link_clicked" => t.clicked = n,
            "bounced" => t.bounced = n,
            "blocked" => t.blocked = n,
            _ => {}
        }
    }
    Ok(mails)
}

type MailRow = (String, String, String, String, String, i64, Option<String>, String, Option<String>, Option<String>, Option<String>);

fn mail_from_row(r: MailRow) -> OutboxMail {
    let tracking = r.9.map(|_| MailTracking { workflow_id: r.10, ..MailTracking::default() });
    OutboxMail { id: r.0, recipient: r.1, subject: r.2, body: r.3, status: r.4, attempts: r.5, last_error: r.6, created_at: r.7, sent_at: r.8, tracking }
}

/// Attempts after which a mail is given up (`failed`, shown on the Outbox page): with the
/// backoff below, about a day and a half of retrying.
pub const MAX_ATTEMPTS: i64 = 12;
/// How long a claim holds: longer than one SMTP exchange (10 s timeout). A loop that died
/// mid-send leaves its claim to expire, and another loop sends the mail then.
const LEASE_SECS: i64 = 60;
const CLAIM_BATCH: i64 = 20;

/// Claims up to [`CLAIM_BATCH`] due mails for this loop: a mail claimed by one app instance
/// is invisible to the others until its lease ends, so each mail is sent once.
async fn claim_due(db: &Db) -> ApiResult<Vec<Claimed>> {
    let at = now();
    let lease = format_time(chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECS));
    // PostgreSQL: rows another transaction is claiming are skipped, not waited for. SQLite
    // runs one write at a time, so the UPDATE alone is atomic there.
    let skip_locked = if db.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1 WHERE id IN (\
           SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
           AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
         RETURNING id, recipient, subject, body, attempts, claimed_until, html_body, tracking_code, org_id, workflow_id, execution_id, distinct_id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&lease).bind(&at).bind(CLAIM_BATCH).fetch_all(db.pool()).await?)
}

/// Delivers every due mail this loop can claim; returns how many were sent. Failures are
/// rescheduled with exponential backoff (5 s, 10 s, 20 s … at most an hour) and given up
/// after [`MAX_ATTEMPTS`].
pub async fn deliver_due(db: &Db, smtp: &Smtp, telemetry: &Telemetry) -> ApiResult<usize> {
    let mut sent = 0;
    for (id, to, subject, body, attempts, lease, html, code, org_id, workflow_id, execution_id, distinct_id) in claim_due(db).await? {
        let attempts = attempts + 1;
        let outgoing = Outgoing { to: &to, subject: &subject, text: body, html, tracking_code: code.as_deref() };
        // What a workflow mail's fate is recorded as, for orgs that record engagement.
        let engagement = |event: &str, at: &str| {
            let (org_id, workflow_id, distinct_id) = (org_id.clone()?, workflow_id.clone()?, distinct_id.clone()?);
            Some(NewEngagement {
                org_id,
                event: event.to_owned(),
                distinct_id,
                properties: json!({ "$workflow_id": workflow_id, "$messaging_source": "direct", "$email_to": to, "$email_subject": subject }),
                workflow_id: Some(workflow_id),
                execution_id: execution_id.clone(),
                message_id: Some(id.clone()),
                occurred_at: at.to_owned(),
            })
        };
        // Each update holds only while our claim does, so a loop whose lease ran out never
        // overwrites what the loop that took over recorded; the event commits with it.
        match smtp::send(smtp, outgoing).await {
            Ok(()) => {
                let at = now();
                let mut tx = db.pool().begin().await?;
                let updated = sqlx::query(
                    "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = $2, last_error = NULL, claimed_until = NULL \
                     WHERE id = $3 AND claimed_until = $4",
                )
                .bind(&at)
                .bind(attempts)
                .bind(&id)
                .bind(&lease)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if let Some(event) = engagement("$workflows_email_sent", &at).filter(|_| updated == 1) {
                    events::record(&mut tx, telemetry, &event).await?;
                }
                tx.commit().await?;
                sent += 1;
            }
            Err(err) => {
                let wait = (5i64 << (attempts - 1).min(20)).min(MAX_BACKOFF_SECS);
                let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                tracing::warn!(mail = %id, attempts, status, retry_in_s = wait, error = %err, "mail delivery failed");
                let mut tx = db.pool().begin().await?;
                let updated = sqlx::query(
                    "UPDATE outbox SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4, claimed_until = NULL \
                     WHERE id = $5 AND claimed_until = $6",
                )
                .bind(status)
                .bind(attempts)
                .bind(err.chars().take(500).collect::<String>())
                .bind(format_time(chrono::Utc::now() + chrono::Duration::seconds(wait)))
                .bind(&id)
                .bind(&lease)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if let Some(event) = engagement("$workflows_email_failed", &now()).filter(|_| updated == 1 && status == "failed") {
                    events::record(&mut tx, telemetry, &event).await?;
                }
                tx.commit().await?;
            }
        }
    }
    Ok(sent)
}

type Claimed = (String, String, String, String, i64, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

/// The delivery loop: checks for due mail every `every` until the process ends.
pub fn spawn_delivery(db: Db, smtp: Smtp, telemetry: Telemetry, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(err) = deliver_due(&db, &smtp, &telemetry).await {
                tracing::warn!(error = %err, "outbox: could not read due mail");
            }
            tokio::time::sleep(every).await;
        }
    })
}
