//! The outbox: mail is queued with the action that causes it (in the database, so it survives
//! restarts) and delivered as a background job (`backend/jobs`), so several app instances
//! send it once; retried with backoff, given up as `failed` after [`MAX_ATTEMPTS`].
//! Without SMTP it stays for the Outbox page. A mail failure never fails its action.

use super::smtp::{self, Outgoing, Smtp};
use crate::backend::db::{new_id, now, Db};
use crate::backend::jobs::{self, Backoff, Extra, Jobs, Kind};
use crate::backend::telemetry::Telemetry;
use crate::backend::tracking::compose::Composed;
use crate::backend::tracking::events::{self, NewEngagement};
use crate::error::ApiResult;
use crate::model::{MailTracking, OutboxMail};
use serde_json::json;
use std::time::Duration;

pub async fn enqueue(db: &Db, org_id: Option<&str>, recipient: &str, subject: &str, body: &str) -> ApiResult<()> {
    let mut conn = db.pool().acquire().await?;
    enqueue_in(&mut conn, org_id, recipient, subject, body, None).await
}

/// Where a mail's one-time secret goes in its body: the secret itself is kept apart and
/// dropped once the mail is sent or given up, so the outbox (and its page) never shows it.
pub const SECRET_MARK: &str = "{{secret}}";

/// Queues a mail inside the caller's transaction, so it goes if and only if the action does.
pub async fn enqueue_in(conn: &mut sqlx::AnyConnection, org_id: Option<&str>, recipient: &str, subject: &str, body: &str, secret: Option<&str>) -> ApiResult<()> {
    let at = now();
    sqlx::query(
        "INSERT INTO outbox (id, org_id, recipient, subject, body, status, attempts, next_attempt_at, created_at, secret) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7)",
    )
    .bind(new_id())
    .bind(org_id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(&at)
    .bind(secret)
    .execute(&mut *conn)
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
    let body = r.3.replace(SECRET_MARK, "[only in the mail]");
    OutboxMail { id: r.0, recipient: r.1, subject: r.2, body, status: r.4, attempts: r.5, last_error: r.6, created_at: r.7, sent_at: r.8, tracking }
}

/// Attempts after which a mail is given up (`failed`, shown on the Outbox page): with the
/// backoff below, about a day and a half of retrying.
pub const MAX_ATTEMPTS: i64 = 12;
pub const BACKOFF: Backoff = Backoff { first: Duration::from_secs(5), max: Duration::from_secs(3600) };

/// Due mail, a few at a time: one slow relay holds few mails back from another instance.
pub static KIND: Kind = Kind {
    name: "outbox",
    table: "outbox",
    key: "id",
    due: "status = 'pending' AND next_attempt_at <= $1",
    order: "next_attempt_at",
    batch: 10,
};

type Claimed = (String, String, String, String, i64, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
const CLAIMED: &str = "id, recipient, subject, body, attempts, html_body, tracking_code, org_id, workflow_id, execution_id, distinct_id, secret";

/// Delivers the due mail this instance can claim; whether it claimed any. A failure is
/// retried on [`BACKOFF`] and given up after [`MAX_ATTEMPTS`]. Each mail's fate is written
/// as soon as it is known, while the lease holds: another instance never sends it again.
pub async fn deliver_due(jobs: &Jobs, smtp: &Smtp, telemetry: &Telemetry) -> ApiResult<bool> {
    let Some((mails, lease)) = jobs.claim::<Claimed>(&KIND, CLAIMED, &Extra::default()).await? else { return Ok(false) };
    let db = jobs.db();
    for (id, to, subject, body, attempts, html, code, org_id, workflow_id, execution_id, distinct_id, secret) in mails {
        if !lease.held() {
            break;
        }
        let attempts = attempts + 1;
        let body = match &secret {
            Some(secret) => body.replace(SECRET_MARK, secret),
            None => body,
        };
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
        let sent = smtp::send(smtp, outgoing).await;
        let at = now();
        let mut tx = db.pool().begin().await?;
        let (update, event, outcome) = match &sent {
            Ok(()) => (
                sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, attempts = $2, last_error = NULL, secret = NULL WHERE id = $3 AND lease_holder = $4")
                    .bind(&at)
                    .bind(attempts),
                engagement("$workflows_email_sent", &at),
                "done",
            ),
            Err(err) => {
                let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                tracing::warn!(mail = %id, attempts, status, retry_in_s = BACKOFF.after(attempts).as_secs(), error = %err, "mail delivery failed");
                let update = sqlx::query("UPDATE outbox SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4, \
                     secret = CASE WHEN $1 = 'failed' THEN NULL ELSE secret END WHERE id = $5 AND lease_holder = $6")
                    .bind(status)
                    .bind(attempts)
                    .bind(err.chars().take(500).collect::<String>())
                    .bind(BACKOFF.next_at(attempts));
                let event = engagement("$workflows_email_failed", &at).filter(|_| status == "failed");
                (update, event, if status == "failed" { "failed" } else { "retried" })
            }
        };
        // The event commits with the mail's fate, and neither does once the lease is gone.
        let updated = update.bind(&id).bind(lease.holder()).execute(&mut *tx).await?.rows_affected();
        if updated == 1 {
            if let Some(event) = event {
                events::record(&mut tx, telemetry, &event).await?;
            }
            jobs.count(&KIND, outcome, 1);
        }
        tx.commit().await?;
        if !lease.confirm(updated) {
            break;
        }
    }
    lease.release().await;
    Ok(true)
}

/// The delivery loop: due mail every `every`, at once again while there is more.
pub fn spawn_delivery(jobs: Jobs, smtp: Smtp, telemetry: Telemetry, every: Duration) {
    jobs::spawn_loop("outbox", every, move || {
        let (jobs, smtp, telemetry) = (jobs.clone(), smtp.clone(), telemetry.clone());
        async move { deliver_due(&jobs, &smtp, &telemetry).await }
    });
}
