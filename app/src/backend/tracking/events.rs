//! Engagement events: the one door they are recorded through. Only allowlisted names, only
//! for orgs that turned on "Record email engagement"; anything else is dropped and counted.
//! A recorded event of an org that forwards to PostHog is queued for it in the same write.

use crate::backend::cursor;
use crate::backend::db::{new_id, now, Db};
use crate::backend::telemetry::Telemetry;
use crate::error::{ApiError, ApiResult};
use crate::model::{EngagementEvent, EngagementPage, EngagementQuery, EngagementSummary, ENGAGEMENT_EVENTS};
use serde_json::Value;
use sqlx::AnyConnection;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct NewEngagement {
    pub org_id: String,
    pub event: String,
    pub distinct_id: String,
    pub workflow_id: Option<String>,
    pub execution_id: Option<String>,
    pub message_id: Option<String>,
    pub properties: Value,
    /// When it happened (the provider's time for provider events).
    pub occurred_at: String,
}

/// Records `e` if allowed; whether it was.
pub async fn record(conn: &mut AnyConnection, telemetry: &Telemetry, e: &NewEngagement) -> ApiResult<bool> {
    if !ENGAGEMENT_EVENTS.contains(&e.event.as_str()) {
        telemetry.event_dropped("not_allowlisted");
        return Ok(false);
    }
    let id = new_id();
    let received = now();
    // One statement decides and writes: the org's setting is read where the row is written.
    let recorded = sqlx::query(
        "INSERT INTO engagement_events (id, org_id, event, distinct_id, workflow_id, execution_id, message_id, properties, occurred_at, received_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM orgs WHERE id = $2 AND capture_engagement_events = 1)",
    )
    .bind(&id)
    .bind(&e.org_id)
    .bind(&e.event)
    .bind(&e.distinct_id)
    .bind(&e.workflow_id)
    .bind(&e.execution_id)
    .bind(&e.message_id)
    .bind(e.properties.to_string())
    .bind(&e.occurred_at)
    .bind(&received)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !recorded {
        telemetry.event_dropped("engagement_off");
        return Ok(false);
    }
    telemetry.event_recorded(&e.event);
    sqlx::query(
        "INSERT INTO posthog_queue (event_id, org_id, status, attempts, next_attempt_at) \
         SELECT $1, $2, 'pending', 0, $3 WHERE EXISTS (SELECT 1 FROM orgs WHERE id = $2 AND posthog_host IS NOT NULL AND posthog_api_key IS NOT NULL)",
    )
    .bind(&id)
    .bind(&e.org_id)
    .bind(&received)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

const COLUMNS: &str = "seq, id, event, distinct_id, workflow_id, execution_id, message_id, properties, occurred_at, received_at";
type Row = (i64, String, String, String, Option<String>, Option<String>, Option<String>, String, String, String);

fn from_row(r: Row) -> EngagementEvent {
    EngagementEvent {
        id: r.1,
        event: r.2,
        distinct_id: r.3,
        workflow_id: r.4,
        execution_id: r.5,
        message_id: r.6,
        properties: serde_json::from_str(&r.7).unwrap_or(Value::Null),
        occurred_at: r.8,
        received_at: r.9,
    }
}

/// The org's events, newest first.
pub async fn list(db: &Db, org_id: &str, query: &EngagementQuery) -> ApiResult<EngagementPage> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let filled = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let event = filled(&query.event);
    if let Some(e) = &event {
        if !ENGAGEMENT_EVENTS.contains(&e.as_str()) {
            return Err(ApiError::invalid("event", format!("must be one of {}", ENGAGEMENT_EVENTS.join(", "))));
        }
    }
    let before = match filled(&query.cursor) {
        Some(c) => cursor::decode::<1>(&c)?[0],
        None => i64::MAX,
    };
    let mut sql = format!("SELECT {COLUMNS} FROM engagement_events WHERE org_id = $1 AND seq < $2");
    let mut binds = Vec::new();
    for (column, value) in [("workflow_id", filled(&query.workflow_id)), ("event", event)] {
        if let Some(value) = value {
            binds.push(value);
            sql += &format!(" AND {column} = ${}", binds.len() + 2);
        }
    }
    sql += &format!(" ORDER BY seq DESC LIMIT {}", limit + 1);
    let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(before);
    for value in &binds {
        q = q.bind(value);
    }
    let mut rows = q.fetch_all(db.pool()).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| cursor::encode([r.0]))
    } else {
        None
    };
    Ok(EngagementPage { events: rows.into_iter().map(from_row).collect(), next_cursor })
}

/// A workflow's funnel: totals per event, and per day for the last 30 days.
pub async fn summary(db: &Db, org_id: &str, workflow_id: &str) -> ApiResult<EngagementSummary> {
    let totals: Vec<(String, i64)> =
        sqlx::query_as("SELECT event, COUNT(*) FROM engagement_events WHERE org_id = $1 AND workflow_id = $2 GROUP BY event")
            .bind(org_id)
            .bind(workflow_id)
            .fetch_all(db.pool())
            .await?;
    let since = crate::backend::db::format_time(chrono::Utc::now() - chrono::Duration::days(30));
    let daily: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT SUBSTR(occurred_at, 1, 10) AS day, event, COUNT(*) FROM engagement_events \
         WHERE org_id = $1 AND workflow_id = $2 AND occurred_at >= $3 GROUP BY SUBSTR(occurred_at, 1, 10), event ORDER BY day",
    )
    .bind(org_id)
    .bind(workflow_id)
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let totals = ENGAGEMENT_EVENTS.iter().map(|e| (e.to_string(), totals.iter().find(|(t, _)| t == e).map_or(0, |(_, n)| *n))).collect();
    Ok(EngagementSummary { totals, daily })
}

/// `(message id, event, count)` for the given messages.
pub async fn counts_by_message(db: &Db, message_ids: &[String]) -> ApiResult<Vec<(String, String, i64)>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=message_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT message_id, event, COUNT(*) FROM engagement_events WHERE message_id IN ({}) GROUP BY message_id, event", marks.join(", "));
    let mut q = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql));
    for id in message_ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(db.pool()).await?)
}
