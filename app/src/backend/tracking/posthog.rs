//! Forwarding to PostHog: recorded events of orgs that configured a host and key wait in
//! `posthog_queue` and are sent to `POST {host}/batch/` by a loop that claims them first
//! (as the outbox does, so several instances send each once). At-least-once: a retry after an
//! unanswered send may repeat events, and the event id as `uuid` lets PostHog drop repeats.
//! Egress follows the same rule as `http_request` steps.

use crate::backend::db::{format_time, now, Backend, Db};
use crate::backend::executions::egress;
use crate::backend::{settings, Config};
use crate::error::ApiResult;
use crate::model::ForwardingStatus;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const LEASE_SECS: i64 = 60;
const CLAIM_BATCH: i64 = 100;
pub const MAX_ATTEMPTS: i64 = 12;

/// `(event id, org id, attempts, lease)` of the rows this loop now holds.
async fn claim_due(db: &Db) -> ApiResult<Vec<(String, String, i64, String)>> {
    let at = now();
    let lease = format_time(chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECS));
    let skip_locked = if db.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE posthog_queue SET claimed_until = $1 WHERE event_id IN (\
           SELECT event_id FROM posthog_queue WHERE status = 'pending' AND next_attempt_at <= $2 \
           AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
         RETURNING event_id, org_id, attempts, claimed_until"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&lease).bind(&at).bind(CLAIM_BATCH).fetch_all(db.pool()).await?)
}

/// Sends what this loop can claim, one batch per org; how many events PostHog accepted.
pub async fn deliver_due(db: &Db, config: &Config, http: &reqwest::Client) -> ApiResult<usize> {
    let mut by_org: BTreeMap<String, Vec<(String, i64, String)>> = BTreeMap::new();
    for (event_id, org_id, attempts, lease) in claim_due(db).await? {
        by_org.entry(org_id).or_default().push((event_id, attempts, lease));
    }
    let mut sent = 0;
    for (org_id, rows) in by_org {
        let result = match settings::posthog_destination(db, config, &org_id).await? {
            Some((host, key)) => send(db, config, http, &host, &key, &rows).await,
            None => Err("PostHog forwarding is no longer configured for this org".to_owned()),
        };
        for (event_id, attempts, lease) in &rows {
            let attempts = attempts + 1;
            let update = match &result {
                Ok(()) => sqlx::query("UPDATE posthog_queue SET status = 'sent', sent_at = $1, attempts = $2, last_error = NULL, claimed_until = NULL WHERE event_id = $3 AND claimed_until = $4")
                    .bind(now())
                    .bind(attempts),
                Err(err) => {
                    let wait = (5i64 << (attempts - 1).min(20)).min(3600);
                    let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                    sqlx::query("UPDATE posthog_queue SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4, claimed_until = NULL WHERE event_id = $5 AND claimed_until = $6")
                        .bind(status)
                        .bind(attempts)
                        .bind(err.chars().take(500).collect::<String>())
                        .bind(format_time(chrono::Utc::now() + chrono::Duration::seconds(wait)))
                }
            };
            update.bind(event_id).bind(lease).execute(db.pool()).await?;
        }
        match result {
            Ok(()) => sent += rows.len(),
            Err(err) => tracing::warn!(org = %org_id, events = rows.len(), error = %err, "PostHog forwarding failed; will retry"),
        }
    }
    Ok(sent)
}

async fn send(db: &Db, config: &Config, http: &reqwest::Client, host: &str, key: &str, rows: &[(String, i64, String)]) -> Result<(), String> {
    let marks: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, event, distinct_id, properties, occurred_at FROM engagement_events WHERE id IN ({})", marks.join(", "));
    let mut q = sqlx::query_as::<_, (String, String, String, String, String)>(sqlx::AssertSqlSafe(sql));
    for (id, _, _) in rows {
        q = q.bind(id);
    }
    let events = q.fetch_all(db.pool()).await.map_err(|e| format!("could not read the events: {e}"))?;
    let batch: Vec<Value> = events
        .into_iter()
        .map(|(id, event, distinct_id, properties, at)| {
            let properties: Value = serde_json::from_str(&properties).unwrap_or_else(|_| json!({}));
            json!({ "event": event, "distinct_id": distinct_id, "properties": properties, "timestamp": at, "uuid": id })
        })
        .collect();
    let body = json!({ "api_key": key, "batch": batch }).to_string();
    let url = format!("{host}/batch/");
    let request = egress::Request { url: &url, method: "POST", body: Some(&body), bearer: None };
    match egress::send(http, config.egress_allow_private, request).await {
        Ok(r) if (200..300).contains(&r.status) => Ok(()),
        Ok(r) => Err(format!("PostHog answered HTTP {}", r.status)),
        Err(why) => Err(why.replace(key, "[redacted]")),
    }
}

/// The forwarding loop: every `every` until the process ends.
pub fn spawn(db: Db, config: Arc<Config>, every: Duration) {
    let http = egress::client(config.egress_allow_private);
    tokio::spawn(async move {
        loop {
            if let Err(err) = deliver_due(&db, &config, &http).await {
                tracing::warn!(error = %err, "PostHog forwarding: could not read the queue");
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Where an org's forwarding stands (the Settings page).
pub async fn status(db: &Db, org_id: &str) -> ApiResult<ForwardingStatus> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM posthog_queue WHERE org_id = $1 GROUP BY status").bind(org_id).fetch_all(db.pool()).await?;
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let last_error: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT last_error FROM posthog_queue WHERE org_id = $1 AND last_error IS NOT NULL ORDER BY next_attempt_at DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(ForwardingStatus { pending: count("pending"), sent: count("sent"), failed: count("failed"), last_error: last_error.and_then(|r| r.0) })
}
