//! Exports of the filtered trail as CSV, JSON Lines or OCSF rows, streamed page by page along the same
//! keyset the explorer uses: memory stays flat however many rows there are.

use super::store::{self, Filter};
use super::{NewEvent, Recorder};
use crate::backend::db::Db;
use crate::backend::sessions::ClientInfo;
use crate::model::{Actor, AuditEvent};
use axum::body::Bytes;
use futures_util::Stream;

/// Rows read per query while streaming.
const PAGE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    /// OCSF 1.5.0 rows, as JSON Lines.
    Ocsf,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl | Format::Ocsf => "application/x-ndjson",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Ocsf => "ocsf.jsonl",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Ocsf => "ocsf",
            other => other.extension(),
        }
    }
}

const CSV_HEADER: &str = "created_at,id,action,actor_type,actor_id,actor_label,actor_name,actor_email,resource_type,resource_id,ip,user_agent,changes,metadata\n";

/// One CSV field, always quoted. A cell a spreadsheet would run as a formula (a user agent
/// of `=HYPERLINK(…)` is attacker-chosen) gets a leading `'`, as OWASP advises.
fn csv_field(out: &mut String, value: &str) {
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

pub fn csv_row(e: &AuditEvent) -> String {
    let changes = serde_json::to_string(&e.changes).unwrap_or_default();
    let metadata = e.metadata.to_string();
    let fields: [&str; 14] = [
        &e.created_at,
        &e.id,
        &e.action,
        &e.actor.kind,
        e.actor.id.as_deref().unwrap_or(""),
        &e.actor.label,
        e.actor.name.as_deref().unwrap_or(""),
        e.actor.email.as_deref().unwrap_or(""),
        &e.resource.kind,
        e.resource.id.as_deref().unwrap_or(""),
        e.ip.as_deref().unwrap_or(""),
        e.user_agent.as_deref().unwrap_or(""),
        &changes,
        &metadata,
    ];
    let mut out = String::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, f);
    }
    out.push('\n');
    out
}

/// Records `audit_log.exported` once the stream ends — also when the client goes away
/// half-way, then with `complete: false` and the rows sent so far.
struct ExportRecord {
    audit: Recorder,
    org: String,
    actor: Actor,
    client: ClientInfo,
    format: Format,
    filters: serde_json::Value,
    rows: u64,
    complete: bool,
}

impl Drop for ExportRecord {
    fn drop(&mut self) {
        let meta = serde_json::json!({
            "format": self.format.name(), "filters": self.filters, "rows": self.rows, "complete": self.complete,
        });
        let event = NewEvent::new(Some(&self.org), "audit_log.exported", self.actor.clone(), "audit_log", None).metadata(meta).client(&self.client);
        // The download has ended (or the client went away): nobody waits for this answer.
        let audit = self.audit.clone();
        tokio::spawn(async move { audit.record(event).await });
    }
}

struct State {
    db: Db,
    filter: Filter,
    cursor: Option<String>,
    started: bool,
    done: bool,
    record: ExportRecord,
}

/// The export of the trail `query` selects, once the query has been run (a bad filter is a
/// 422 before the first byte goes out, not a broken file).
pub async fn start(db: Db, org: String, query: &crate::model::AuditQuery, format: Format, actor: Actor, client: ClientInfo, audit: Recorder) -> crate::error::ApiResult<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static> {
    let filter = Filter::from_query(query)?;
    super::store::list(&db, Some(&org), &filter, Some(1), None).await?;
    Ok(stream(db, org, filter, format, actor, client, audit))
}

/// The file's bytes: a header (CSV), then one chunk per page of rows.
pub fn stream(db: Db, org: String, filter: Filter, format: Format, actor: Actor, client: ClientInfo, audit: Recorder) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let filters = filter.describe();
    let record = ExportRecord { audit, org, actor, client, format, filters, rows: 0, complete: false };
    let state = State { db, filter, cursor: None, started: false, done: false, record };
    futures_util::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        let mut chunk = String::new();
        if !st.started {
            st.started = true;
            if format == Format::Csv {
                chunk.push_str(CSV_HEADER);
            }
        }
        let page = match store::page(&st.db, Some(&st.record.org), &st.filter, PAGE, st.cursor.as_deref()).await {
            Ok(page) => page,
            Err(err) => {
                tracing::error!(error = %err.message, "audit export: reading a page failed");
                st.done = true;
                return Some((Err(std::io::Error::other("the audit export was interrupted")), st));
            }
        };
        for e in &page.events {
            match format {
                Format::Csv => chunk.push_str(&csv_row(e)),
                Format::Jsonl => {
                    chunk.push_str(&serde_json::to_string(e).unwrap_or_default());
                    chunk.push('\n');
                }
                Format::Ocsf => {
                    chunk.push_str(&super::ocsf::row(e).to_string());
                    chunk.push('\n');
                }
            }
        }
        st.record.rows += page.events.len() as u64;
        st.cursor = page.next_cursor;
        if st.cursor.is_none() {
            st.done = true;
            st.record.complete = true;
        }
        Some((Ok(Bytes::from(chunk)), st))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditResource;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let e = AuditEvent {
            id: "e1".into(),
            org_id: Some("o".into()),
            action: "auth.login".into(),
            actor: Actor { kind: "user".into(), id: Some("u1".into()), label: "Ada \"A\" Admin".into(), name: None, email: None },
            resource: AuditResource { kind: "user".into(), id: Some("u1".into()) },
            changes: vec![],
            metadata: serde_json::json!({"email": "a,b"}),
            ip: Some("127.0.0.1".into()),
            user_agent: Some("=HYPERLINK(\"x\")".into()),
            created_at: "2026-11-23T10:00:00.000000Z".into(),
            seq: Some(1),
            prev_hash: None,
            hash: None,
        };
        let row = csv_row(&e);
        assert!(row.contains(r#""Ada ""A"" Admin""#), "{row}");
        assert!(row.contains(r#""'=HYPERLINK(""x"")""#), "{row}");
        assert!(row.contains(r#""{""email"":""a,b""}""#), "{row}");
        assert_eq!(row.matches("\",\"").count(), 13);
        assert!(row.ends_with("\"\n"));
    }
}
