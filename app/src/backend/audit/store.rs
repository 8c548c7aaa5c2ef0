//! The audit table: batched inserts for the writer, keyset-paginated reads for the explorer.

use super::super::db::Db;
use super::keys;
use crate::error::{ApiError, ApiResult};
use crate::model::{Actor, AuditEvent, AuditPage, AuditResource};
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, Connection};
use std::borrow::Cow;

/// Actions one filter may name (repeats counted): a bound on the query's size.
pub const MAX_ACTIONS: usize = 50;

/// Writes `events` in one transaction, as multi-row inserts.
pub async fn insert_batch(db: &Db, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    insert_batch_on(&mut *db.pool().acquire().await?, db, events).await
}

pub(super) async fn insert_batch_on(conn: &mut AnyConnection, db: &Db, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    for chunk in events.chunks(db.dialect().audit_rows_per_insert()) {
        let (sql, args) = insert_statement(db, chunk)?;
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Whether an event could be stored now: one is written and rolled back. The completeness
/// policy asks this before every action (the trail refusing writes, a full disk, a lost
/// table all show here).
pub async fn writable(db: &Db) -> bool {
    let probe = super::NewEvent::new(None, "audit_log.verified", crate::model::Actor::system("Audit probe"), "audit_log", None).finish();
    let attempt = async {
        let mut tx = db.pool().begin().await?;
        let (sql, args) = insert_statement(db, std::slice::from_ref(&probe))?;
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(&mut *tx).await?;
        tx.rollback().await
    };
    match attempt.await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(error = %err, "the audit trail refuses writes");
            false
        }
    }
}

/// The stored columns, in the order of [`fields`].
pub(super) const INSERT_COLUMNS: &str = "id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email, resource_type, \
                              resource_id, changes, metadata, ip, user_agent, created_at, org_key, actor_key, resource_key, action_key, created_us";
const COLUMNS: usize = 20;

pub(super) enum Field<'e> {
    Text(Option<Cow<'e, str>>),
    Int(i64),
}

/// What is stored of `e`, column by column.
pub(super) fn fields(e: &AuditEvent) -> [Field<'_>; COLUMNS] {
    fn text(t: &str) -> Field<'_> {
        Field::Text(Some(Cow::Borrowed(t)))
    }
    fn optional(t: &Option<String>) -> Field<'_> {
        Field::Text(t.as_deref().map(Cow::Borrowed))
    }
    fn json(t: String) -> Field<'static> {
        Field::Text(Some(Cow::Owned(t)))
    }
    let [org_key, actor_key, resource_key, action_key, created_us] = keys::of(e).map(Field::Int);
    [
        text(&e.id),
        optional(&e.org_id),
        text(&e.action),
        text(&e.actor.kind),
        optional(&e.actor.id),
        text(&e.actor.label),
        optional(&e.actor.name),
        optional(&e.actor.email),
        text(&e.resource.kind),
        optional(&e.resource.id),
        json(serde_json::to_string(&e.changes).unwrap_or_else(|_| "[]".into())),
        json(e.metadata.to_string()),
        optional(&e.ip),
        optional(&e.user_agent),
        text(&e.created_at),
        org_key,
        actor_key,
        resource_key,
        action_key,
        created_us,
    ]
}

/// One multi-row INSERT of `chunk`.
fn insert_statement(db: &Db, chunk: &[AuditEvent]) -> Result<(String, AnyArguments), sqlx::Error> {
    let sql = db.dialect().bulk_insert("audit_events", INSERT_COLUMNS, COLUMNS, chunk.len());
    let mut args = AnyArguments::default();
    for e in chunk {
        for field in fields(e) {
            match field {
                Field::Text(text) => args.add(text.map(Cow::into_owned)),
                Field::Int(n) => args.add(n),
            }
            .map_err(sqlx::Error::Encode)?;
        }
    }
    Ok((sql, args))
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
    /// The filters of a query; an unknown action, or more than [`MAX_ACTIONS`] of them
    /// (repeats counted), is a 422 naming `action`.
    pub fn from_query(q: &crate::model::AuditQuery) -> ApiResult<Filter> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let actions: Vec<String> =
            q.action.iter().flat_map(|a| a.split(',')).map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
        if actions.len() > MAX_ACTIONS {
            return Err(ApiError::invalid("action", format!("names {} actions; at most {MAX_ACTIONS}", actions.len())));
        }
        if let Some(unknown) = actions.iter().find(|a| !crate::model::is_known_action(a)) {
            let shown: String = unknown.chars().take(60).collect();
            return Err(ApiError::invalid("action", format!("\"{shown}\" is not an audit action")));
        }
        let (since, until) = (text(&q.since), text(&q.until));
        // A window that ends before it starts would answer an empty list with no reason.
        if let (Some(from), Some(to)) = (&since, &until) {
            if parse_time("since", from)? >= parse_time("until", to)? {
                return Err(ApiError::invalid("until", "must be later than From"));
            }
        }
        Ok(Filter { actions, actor_id: text(&q.actor_id), resource_type: text(&q.resource_type), resource_id: text(&q.resource_id), since, until })
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

/// A stored event as read back: the event and its place in the keyset.
#[derive(sqlx::FromRow)]
pub(super) struct Row {
    pub(super) seq: i64,
    created_us: i64,
    id: String,
    org_id: Option<String>,
    action: String,
    actor_type: String,
    actor_id: Option<String>,
    actor_label: String,
    actor_name: Option<String>,
    actor_email: Option<String>,
    resource_type: String,
    resource_id: Option<String>,
    changes: String,
    metadata: String,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: String,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// Events of `org_id` (`None`: events outside any org) newest first, keyset-paginated on
/// (time, seq) — never OFFSET, so a page deep in the trail costs what the first one does.
pub async fn list(db: &Db, org_id: Option<&str>, filter: &Filter, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<AuditPage> {
    page(db, org_id, filter, crate::backend::cursor::limit(limit)?, cursor).await
}

/// One page of any size: [`list`] for the API, bigger pages for the export.
pub(crate) async fn page(db: &Db, org_id: Option<&str>, filter: &Filter, limit: i64, cursor: Option<&str>) -> ApiResult<AuditPage> {
    let mut q = Clauses::new(&format!("SELECT {ROW_COLUMNS} FROM {} WHERE ", db.dialect().audit_events()));
    // One index seek: the key of the narrowest filter (each key covers the org as well);
    // then every filter compares the stored text, so a key collision is never a wrong row.
    if let Some(id) = &filter.resource_id {
        q.bind("resource_key = ?", keys::key(org_id, Some(id)))?;
    } else if let Some(id) = &filter.actor_id {
        q.bind("actor_key = ?", keys::key(org_id, Some(id)))?;
    } else if !filter.actions.is_empty() {
        q.list("action_key", filter.actions.iter().map(|a| keys::key(org_id, Some(a))))?;
    } else {
        q.bind("org_key = ?", keys::key(org_id, None))?;
    }
    match org_id {
        Some(org) => q.bind(" AND org_id = ?", org.to_owned())?,
        None => q.sql.push_str(" AND org_id IS NULL"),
    }
    if !filter.actions.is_empty() {
        q.sql.push_str(" AND ");
        q.list("action", filter.actions.iter().cloned())?;
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
        q.bind(" AND created_us >= ?", parse_time("since", v)?)?;
    }
    if let Some(v) = &filter.until {
        q.bind(" AND created_us < ?", parse_time("until", v)?)?;
    }
    // An empty cursor is no cursor, as in every list.
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
        let [at, seq] = crate::backend::cursor::decode(c)?;
        // A row-value comparison: both databases seek the index to it, so a page deep in
        // the trail costs what the first does (an OR of the two conditions scans instead).
        q.bind(" AND (created_us, seq) < (?", at)?;
        q.bind(", ?)", seq)?;
    }
    q.sql.push_str(&format!(" ORDER BY created_us DESC, seq DESC LIMIT {}", limit + 1));
    let mut rows: Vec<Row> = sqlx::query_as_with(sqlx::AssertSqlSafe(q.sql), q.args).fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| crate::backend::cursor::encode([r.created_us, r.seq])) } else { None };
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

    /// `column IN (?, ?, …)` over `values`.
    fn list<'t, T: sqlx::Encode<'t, sqlx::Any> + sqlx::Type<sqlx::Any>>(&mut self, column: &str, values: impl Iterator<Item = T>) -> ApiResult<()> {
        self.sql.push_str(column);
        self.sql.push_str(" IN (");
        for (i, value) in values.enumerate() {
            self.bind(if i == 0 { "?" } else { ", ?" }, value)?;
        }
        self.sql.push(')');
        Ok(())
    }
}

pub(super) fn from_row(r: Row) -> AuditEvent {
    AuditEvent {
        id: r.id,
        org_id: r.org_id,
        action: r.action,
        actor: Actor { kind: r.actor_type, id: r.actor_id, label: r.actor_label, name: r.actor_name, email: r.actor_email },
        resource: AuditResource { kind: r.resource_type, id: r.resource_id },
        changes: serde_json::from_str(&r.changes).unwrap_or_default(),
        metadata: serde_json::from_str(&r.metadata).unwrap_or_default(),
        ip: r.ip,
        user_agent: r.user_agent,
        created_at: r.created_at,
        seq: Some(r.seq),
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

/// Every stored column of an event, as [`from_row`] reads them, from [`events`] or
/// `Dialect::audit_events_in_range`.
pub(super) const ROW_COLUMNS: &str = "seq, created_us, id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email, \
     resource_type, resource_id, changes, metadata, ip, user_agent, created_at, prev_hash, hash";

/// A time filter as the time key (µs), or 422 naming the parameter.
fn parse_time(field: &str, value: &str) -> ApiResult<i64> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_micros())
        .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 time like 2026-11-23T12:00:00Z"))
}


/// Which events a [`SeqPages`] reads: every stored one, or one chain's.
#[derive(Clone, Copy)]
pub(super) enum Scope<'a> {
    All,
    /// An org's chain; `None`: events outside any org.
    Chain(Option<&'a str>),
}

/// Stored events in `seq` order, a window of `seq` values at a time, with [`READS_AHEAD`]
/// windows being read while the caller checks or seals the current one: reading a row costs
/// about twice hashing it, so reads overlap each other (on their own connections) as well as
/// the hashing. A window of an org's sparse chain may be empty; it is skipped.
pub(super) struct SeqPages {
    db: Db,
    sql: std::sync::Arc<String>,
    chain: String,
    from: i64,
    until: i64,
    width: i64,
    reading: std::collections::VecDeque<tokio::task::JoinHandle<Result<Vec<Row>, sqlx::Error>>>,
}

const READS_AHEAD: usize = 3;

impl SeqPages {
    /// Events with `after < seq <= until` in `scope`, `width` seq values a window (so at most
    /// that many rows a page).
    pub(super) fn new(db: &Db, scope: Scope<'_>, after: i64, until: i64, width: usize) -> SeqPages {
        let condition = match scope {
            Scope::All => "$1 = $1",
            Scope::Chain(Some(_)) => "org_id = $1",
            Scope::Chain(None) => "org_id IS NULL AND $1 = ''",
        };
        let chain = match scope {
            Scope::Chain(Some(org)) => org.to_owned(),
            _ => String::new(),
        };
        let sql = format!("SELECT {ROW_COLUMNS} FROM {} WHERE {condition} AND seq > $2 AND seq <= $3 ORDER BY seq", db.dialect().audit_events_in_range(false, 2, Some(3)));
        let width = i64::try_from(width).unwrap_or(i64::MAX).max(1);
        let mut pages = SeqPages { db: db.clone(), sql: std::sync::Arc::new(sql), chain, from: after, until, width, reading: Default::default() };
        pages.read_ahead();
        pages
    }

    fn read_ahead(&mut self) {
        while self.reading.len() < READS_AHEAD && self.from < self.until {
            let (after, through) = (self.from, self.from.saturating_add(self.width).min(self.until));
            self.from = through;
            let (db, sql, chain) = (self.db.clone(), self.sql.clone(), self.chain.clone());
            self.reading.push_back(tokio::spawn(async move {
                sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str())).bind(chain).bind(after).bind(through).fetch_all(db.pool()).await
            }));
        }
    }

    /// The next non-empty page (empty at the end).
    pub(super) async fn next(&mut self) -> Result<Vec<Row>, sqlx::Error> {
        while let Some(reading) = self.reading.pop_front() {
            let rows = reading.await.map_err(|e| sqlx::Error::Protocol(format!("reading audit events: {e}")))??;
            self.read_ahead();
            if !rows.is_empty() {
                return Ok(rows);
            }
        }
        Ok(Vec::new())
    }
}

impl Drop for SeqPages {
    fn drop(&mut self) {
        for reading in self.reading.drain(..) {
            reading.abort();
        }
    }
}
