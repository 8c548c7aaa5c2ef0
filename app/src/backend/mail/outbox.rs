//! The outbox: mail is queued with the action that causes it (in the database, so it survives
//! restarts) and delivered by a loop that claims each mail before sending it, so several app
//! instances send it once; retried with backoff, given up as `failed` after [`MAX_ATTEMPTS`].
//! Without SMTP it stays for the Outbox page. A mail failure never fails its action.

use super::smtp::{self, Smtp};
use crate::backend::db::{format_time, new_id, now, Backend, Db};
use crate::error::ApiResult;
use crate::model::OutboxMail;
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
    let sql = format!(
        "SELECT id, recipient, subject, body, status, attempts, last_error, created_at, sent_at FROM outbox \
         WHERE {condition} ORDER BY created_at DESC, id DESC LIMIT 200"
    );
    let rows: Vec<MailRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(mail_from_row).collect())
}

type MailRow = (String, String, String, String, String, i64, Option<String>, String, Option<String>);

fn mail_from_row(r: MailRow) -> OutboxMail {
    OutboxMail { id: r.0, recipient: r.1, subject: r.2, body: r.3, status: r.4, attempts: r.5, last_error: r.6, created_at: r.7, sent_at: r.8 }
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
async fn claim_due(db: &Db) -> ApiResult<Vec<(String, String, String, String, i64, String)>> {
    let at = now();
    let lease = format_time(chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECS));
    // PostgreSQL: rows another transaction is claiming are skipped, not waited for. SQLite
    // runs one write at a time, so the UPDATE alone is atomic there.
    let skip_locked = if db.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1 WHERE id IN (\
           SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
           AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
         RETURNING id, recipient, subject, body, attempts, claimed_until"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&lease).bind(&at).bind(CLAIM_BATCH).fetch_all(db.pool()).await?)
}

/// Delivers every due mail this loop can claim; returns how many were sent. Failures are
/// rescheduled with exponential backoff (5 s, 10 s, 20 s … at most an hour) and given up
/// after [`MAX_ATTEMPTS`].
pub async fn deliver_due(db: &Db, smtp: &Smtp) -> ApiResult<usize> {
    let mut sent = 0;
    for (id, to, subject, body, attempts, lease) in claim_due(db).await? {
        let attempts = attempts + 1;
        // Each update holds only while our claim does, so a loop whose lease ran out never
        // overwrites what the loop that took over recorded.
        match smtp::send(smtp, &to, &subject, body).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = $2, last_error = NULL, claimed_until = NULL \
                     WHERE id = $3 AND claimed_until = $4",
                )
                .bind(now())
                .bind(attempts)
                .bind(&id)
                .bind(&lease)
                .execute(db.pool())
                .await?;
                sent += 1;
            }
            Err(err) => {
                let wait = (5i64 << (attempts - 1).min(20)).min(MAX_BACKOFF_SECS);
                let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                tracing::warn!(mail = %id, attempts, status, retry_in_s = wait, error = %err, "mail delivery failed");
                sqlx::query(
                    "UPDATE outbox SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4, claimed_until = NULL \
                     WHERE id = $5 AND claimed_until = $6",
                )
                .bind(status)
                .bind(attempts)
                .bind(err.chars().take(500).collect::<String>())
                .bind(format_time(chrono::Utc::now() + chrono::Duration::seconds(wait)))
                .bind(&id)
                .bind(&lease)
                .execute(db.pool())
                .await?;
            }
        }
    }
    Ok(sent)
}

/// The delivery loop: checks for due mail every `every` until the process ends.
pub fn spawn_delivery(db: Db, smtp: Smtp, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(err) = deliver_due(&db, &smtp).await {
                tracing::warn!(error = %err, "outbox: could not read due mail");
            }
            tokio::time::sleep(every).await;
        }
    })
}
