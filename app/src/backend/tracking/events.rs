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
    Ok(record_all(conn, telemetry, std::slice::from_ref(e)).await? == 1)
}

/// Records each allowed event (one statement for all: the orgs' setting is read by the same
/// statement that writes, so a batch costs one round trip); how many were recorded.
pub async fn record_all(conn: &mut AnyConnection, telemetry: &Telemetry, all: &[NewEngagement]) -> ApiResult<usize> {
    let allowed: Vec<&NewEngagement> = all.iter().filter(|e| ENGAGEMENT_EVENTS.contains(&e.event.as_str())).collect();
    for _ in allowed.len()..all.len() {
        telemetry.event_dropped("not_allowlisted");
    }
    if allowed.is_empty() {
        return Ok(0);
    }
    const FIELDS: usize = 10;
    let received = now();
    let rows: Vec<String> = (0..allowed.len())
        .map(|r| format!("({})", (1..=FIELDS).map(|f| format!("${}", r * FIELDS + f)).collect::<Vec<_>>().join(", ")))
        .collect();
    let sql = format!(
        "INSERT INTO engagement_events (id, org_id, event, distinct_id, workflow_id, execution_id, message_id, properties, occurred_at, received_at) \
         SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9, column10 FROM (VALUES {}) AS v \
         WHERE column2 IN (SELECT id FROM orgs WHERE capture_engagement_events = 1) RETURNING id, org_id, event",
        rows.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql));
    for e in &allowed {
        q = q
            .bind(new_id())
            .bind(&e.org_id)
            .bind(&e.event)
            .bind(&e.distinct_id)
            .bind(&e.workflow_id)
            .bind(&e.execution_id)
            .bind(&e.message_id)
            .bind(e.properties.to_string())
            .bind(&e.occurred_at)
            .bind(&received);
    }
    let recorded = q.fetch_all(&mut *conn).await?;
    for _ in recorded.len()..allowed.len() {
        telemetry.event_dropped("engagement_off");
    }
    if recorded.is_empty() {
        return Ok(0);
    }
    for (_, _, event) in &recorded {
        telemetry.event_recorded(event);
    }
    // Queued for PostHog when the org forwards there, in the same transaction.
    let marks: Vec<String> = (2..recorded.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO posthog_queue (event_id, org_id, status, attempts, next_attempt_at) \
         SELECT e.id, e.org_id, 'pending', 0, $1 FROM engagement_events e JOIN orgs o ON o.id = e.org_id \
         WHERE e.id IN ({}) AND o.posthog_host IS NOT NULL AND o.posthog_api_key IS NOT NULL",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&received);
    for (id, _, _) in &recorded {
        q = q.bind(id);
    }
    q.execute(&mut *conn).await?;
    Ok(recorded.len())
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
    let limit = crate::backend::cursor::limit(query.limit)?;
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
