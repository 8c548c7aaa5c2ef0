//! The audit table: batched inserts for the writer, keyset-paginated reads for the explorer.

use super::super::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::model::{Actor, AuditEvent, AuditPage, AuditResource};
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, Connection};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
const COLUMNS: usize = 15;

/// Rows per INSERT statement, measured (`benches/audit.rs`): within SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters, longer statements were faster up to these sizes.
fn rows_per_insert(db: &Db) -> usize {
    match db.backend() {
        super::super::db::Backend::Sqlite => 1_000,
        super::super::db::Backend::Postgres => 500,
    }
}

/// Writes `events` in one transaction, as multi-row inserts.
pub async fn insert_batch(db: &Db, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    insert_batch_on(&mut *db.pool().acquire().await?, db, events).await
}

/// [`insert_batch`] on a given connection: the writer keeps one, whose page cache then
/// stays warm from batch to batch (a pooled one would start cold after another wrote).
pub async fn insert_batch_on(conn: &mut AnyConnection, db: &Db, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    let sqlite = db.backend() == super::super::db::Backend::Sqlite;
    let mut tx = conn.begin().await?;
    for chunk in events.chunks(rows_per_insert(db)) {
        // SQLite: OR FAIL spares a multi-row INSERT the statement journal that would let it
        // undo its own rows on error — on error the whole transaction rolls back anyway, and
        // copying every touched page into that journal cost a third of the ingest rate.
        let mut sql = String::from(if sqlite { "INSERT OR FAIL" } else { "INSERT" });
        sql.push_str(
            " INTO audit_events (id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email, \
             resource_type, resource_id, changes, metadata, ip, user_agent, created_at) VALUES ",
        );
        let mut args = AnyArguments::default();
        for (row, e) in chunk.iter().enumerate() {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for col in 0..COLUMNS {
                if col > 0 {
                    sql.push(',');
                }
                // SQLite looks a `$n` up by name (a scan per parameter); `?` binds by position.
                if sqlite {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${}", row * COLUMNS + col + 1));
                }
            }
            sql.push(')');
            args.add(e.id.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.org_id.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.action.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.actor.kind.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.actor.id.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.actor.label.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.actor.name.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.actor.email.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.resource.kind.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.resource.id.clone()).map_err(sqlx::Error::Encode)?;
            args.add(serde_json::to_string(&e.changes).unwrap_or_else(|_| "[]".into())).map_err(sqlx::Error::Encode)?;
            args.add(e.metadata.to_string()).map_err(sqlx::Error::Encode)?;
            args.add(e.ip.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.user_agent.clone()).map_err(sqlx::Error::Encode)?;
            args.add(e.created_at.clone()).map_err(sqlx::Error::Encode)?;
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The explorer's filters; every one optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actions: Vec<String>,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive lower bound, RFC 3339.
    pub since: Option<String>,
    /// Exclusive upper bound, RFC 3339.
    pub until: Option<String>,
}

impl Filter {
    /// The filters of an explorer URL or API query (`action` is a comma list).
    pub fn from_query(q: &crate::model::AuditQuery) -> Filter {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Filter {
            actions: q.action.iter().flat_map(|a| a.split(',')).map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect(),
            actor_id: text(&q.actor_id),
            resource_type: text(&q.resource_type),
            resource_id: text(&q.resource_id),
            since: text(&q.since),
            until: text(&q.until),
        }
    }

    /// The filters as recorded with an export: only those in use.
    pub fn describe(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if !self.actions.is_empty() {
            m.insert("action".into(), self.actions.join(",").into());
        }
        for (k, v) in [("actor_id", &self.actor_id), ("resource_type", &self.resource_type), ("resource_id", &self.resource_id), ("since", &self.since), ("until", &self.until)] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        m.into()
    }
}

type Row = (i64, String, Option<String>, String, String, Option<String>, String, Option<String>, Option<String>, String, Option<String>, String, String, Option<String>, Option<String>, String);

/// Events of `org_id` (`None`: events outside any org) newest first, keyset-paginated on
/// (time, seq) — never OFFSET, so a page deep in the trail costs what the first one does.
pub async fn list(db: &Db, org_id: Option<&str>, filter: &Filter, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<AuditPage> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    page(db, org_id, filter, limit, cursor).await
}

/// One page of any size: [`list`] for the API, bigger pages for the export.
pub(crate) async fn page(db: &Db, org_id: Option<&str>, filter: &Filter, limit: i64, cursor: Option<&str>) -> ApiResult<AuditPage> {
    let mut q = Clauses::new(
        "SELECT seq, id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email, resource_type, resource_id, \
         changes, metadata, ip, user_agent, created_at FROM audit_events WHERE ",
    );
    match org_id {
        Some(org) => q.bind("org_id = ?", org.to_owned())?,
        None => q.sql.push_str("org_id IS NULL"),
    }
    if !filter.actions.is_empty() {
        q.sql.push_str(" AND action IN (");
        for (i, action) in filter.actions.iter().enumerate() {
            q.bind(if i == 0 { "?" } else { ", ?" }, action.clone())?;
        }
        q.sql.push(')');
    }
    if let Some(v) = &filter.actor_id {
        q.bind(" AND actor_id = ?", v.clone())?;
    }
    if let Some(v) = &filter.resource_type {
        q.bind(" AND resource_type = ?", v.clone())?;
    }
    if let Some(v) = &filter.resource_id {
        q.bind(" AND resource_id = ?", v.clone())?;
    }
    if let Some(v) = &filter.since {
        q.bind(" AND created_at >= ?", parse_time("since", v)?)?;
    }
    if let Some(v) = &filter.until {
        q.bind(" AND created_at < ?", parse_time("until", v)?)?;
    }
    if let Some(c) = cursor {
        let (at, seq) = decode_cursor(c)?;
        // A row-value comparison: both databases seek the index to it, so a page deep in
        // the trail costs what the first does (an OR of the two conditions scans instead).
        q.bind(" AND (created_at, seq) < (?", at)?;
        q.bind(", ?)", seq)?;
    }
    q.sql.push_str(&format!(" ORDER BY created_at DESC, seq DESC LIMIT {}", limit + 1));
    let mut rows: Vec<Row> = sqlx::query_as_with(sqlx::AssertSqlSafe(q.sql), q.args).fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(&r.15, r.0)) } else { None };
    Ok(AuditPage { events: rows.into_iter().map(from_row).collect(), next_cursor })
}

/// A query under construction: each `?` of a piece becomes the next `$n`, its value bound.
struct Clauses {
    sql: String,
    args: AnyArguments,
    n: usize,
}

impl Clauses {
    fn new(sql: &str) -> Clauses {
        Clauses { sql: sql.to_owned(), args: AnyArguments::default(), n: 0 }
    }

    fn bind<'t, T: sqlx::Encode<'t, sqlx::Any> + sqlx::Type<sqlx::Any>>(&mut self, piece: &str, value: T) -> ApiResult<()> {
        self.n += 1;
        self.sql.push_str(&piece.replace('?', &format!("${}", self.n)));
        self.args.add(value).map_err(|_| ApiError::internal())
    }
}

fn from_row(r: Row) -> AuditEvent {
    AuditEvent {
        id: r.1,
        org_id: r.2,
        action: r.3,
        actor: Actor { kind: r.4, id: r.5, label: r.6, name: r.7, email: r.8 },
        resource: AuditResource { kind: r.9, id: r.10 },
        changes: serde_json::from_str(&r.11).unwrap_or_default(),
        metadata: serde_json::from_str(&r.12).unwrap_or_default(),
        ip: r.13,
        user_agent: r.14,
        created_at: r.15,
    }
}

/// A time filter in the stored form, or 422 naming the parameter.
fn parse_time(field: &str, value: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| super::super::db::format_time(t.with_timezone(&chrono::Utc)))
        .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 time like 2026-11-23T12:00:00Z"))
}

fn encode_cursor(at: &str, seq: i64) -> String {
    hex::encode(format!("{at}|{seq}"))
}

fn decode_cursor(cursor: &str) -> ApiResult<(String, i64)> {
    hex::decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once('|').and_then(|(a, b)| Some((a.to_owned(), b.parse().ok()?))))
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this endpoint gave out"))
}
