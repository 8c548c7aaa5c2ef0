//! Forwarding to PostHog: recorded events of orgs that configured a host and key wait in
//! `posthog_queue` and are sent to `POST {host}/batch/` by a loop that claims them first
//! (a background job, `backend/jobs`, so several instances send each once). At-least-once: a retry after an
//! unanswered send may repeat events, and the event id as `uuid` lets PostHog drop repeats.
//! Egress follows the same rule as `http_request` steps.

use crate::backend::db::{now, Db};
use crate::backend::jobs::{self, Backoff, Extra, Jobs, Kind};
use crate::backend::executions::egress;
use crate::backend::{settings, Config};
use crate::error::ApiResult;
use crate::model::ForwardingStatus;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const MAX_ATTEMPTS: i64 = 12;
pub const BACKOFF: Backoff = Backoff { first: Duration::from_secs(5), max: Duration::from_secs(3600) };

pub static KIND: Kind = Kind {
    name: "posthog",
    table: "posthog_queue",
    key: "event_id",
    due: "status = 'pending' AND next_attempt_at <= $1",
    order: "next_attempt_at",
    batch: 100,
};

/// Sends what this instance can claim, one batch per org; whether it claimed any. Each
/// org's outcome is written as soon as PostHog answers, while the lease holds.
pub async fn deliver_due(jobs: &Jobs, config: &Config, http: &reqwest::Client) -> ApiResult<bool> {
    let Some((rows, lease)) = jobs.claim::<(String, String, i64)>(&KIND, "event_id, org_id, attempts", &Extra::default()).await? else { return Ok(false) };
    let db = jobs.db();
    let mut by_org: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (event_id, org_id, attempts) in rows {
        by_org.entry(org_id).or_default().push((event_id, attempts));
    }
    'orgs: for (org_id, rows) in by_org {
        if !lease.held() {
            break;
        }
        let result = match settings::posthog_destination(db, config, &org_id).await? {
            Some((host, key)) => send(db, config, http, &host, &key, &rows).await,
            None => Err("PostHog forwarding is no longer configured for this org".to_owned()),
        };
        let mut tx = db.pool().begin().await?;
        for (event_id, attempts) in &rows {
            let attempts = attempts + 1;
            let (update, outcome) = match &result {
                Ok(()) => (
                    sqlx::query("UPDATE posthog_queue SET status = 'sent', sent_at = $1, attempts = $2, last_error = NULL WHERE event_id = $3 AND lease_holder = $4")
                        .bind(now())
                        .bind(attempts),
                    "done",
                ),
                Err(err) => {
                    let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                    let update = sqlx::query("UPDATE posthog_queue SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4 WHERE event_id = $5 AND lease_holder = $6")
                        .bind(status)
                        .bind(attempts)
                        .bind(err.chars().take(500).collect::<String>())
                        .bind(BACKOFF.next_at(attempts));
                    (update, if status == "failed" { "failed" } else { "retried" })
                }
            };
            let updated = update.bind(event_id).bind(lease.holder()).execute(&mut *tx).await?.rows_affected();
            if !lease.confirm(updated) {
                // Another instance holds them now: what it records stands.
                tx.rollback().await?;
                break 'orgs;
            }
            jobs.count(&KIND, outcome, 1);
        }
        tx.commit().await?;
        if let Err(err) = result {
            tracing::warn!(org = %org_id, events = rows.len(), error = %err, "PostHog forwarding failed; will retry");
        }
    }
    lease.release().await;
    Ok(true)
}

async fn send(db: &Db, config: &Config, http: &reqwest::Client, host: &str, key: &str, rows: &[(String, i64)]) -> Result<(), String> {
    let marks: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, event, distinct_id, properties, occurred_at FROM engagement_events WHERE id IN ({})", marks.join(", "));
    let mut q = sqlx::query_as::<_, (String, String, String, String, String)>(sqlx::AssertSqlSafe(sql));
    for (id, _) in rows {
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

/// The forwarding loop: every `every`, at once again while there is more.
pub fn spawn(jobs: Jobs, config: Arc<Config>, every: Duration) {
    let http = egress::client(config.egress_allow_private);
    jobs::spawn_loop("posthog", every, move || {
        let (jobs, config, http) = (jobs.clone(), config.clone(), http.clone());
        async move { deliver_due(&jobs, &config, &http).await }
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
