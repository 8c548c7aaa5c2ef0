//! The audit writer's own database connection: where its batches go, as fast as each
//! database takes them (benches/audit.rs).

use super::store::{fields, insert_batch_on, Field, INSERT_COLUMNS};
use crate::backend::db::{Db, Dialect};
use crate::model::AuditEvent;
use futures_util::FutureExt;
use sqlx::{AnyConnection, Executor};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Kept from batch to batch: a pooled connection would start with a cold page cache after
/// another wrote.
pub enum WriterConnection {
    /// Multi-row INSERTs; WAL checkpoints run beside the writer (see [`Checkpoints`]).
    Sqlite { conn: AnyConnection, checkpoints: Checkpoints },
    /// The native driver, for COPY: a third of the server's work of multi-row INSERTs.
    /// COPY for big batches on a native connection; small ones as multi-row INSERTs on a
    /// pooled one (see [`COPY_FROM`]).
    Postgres { copy: sqlx::PgConnection, rows: AnyConnection },
}

impl WriterConnection {
    pub async fn open(db: &Db) -> Result<WriterConnection, sqlx::Error> {
        Ok(match db.dialect() {
            Dialect::Sqlite => {
                // Detached from the pool, so that this setting never reaches a pooled one.
                let mut conn = db.pool().acquire().await?.detach();
                conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                WriterConnection::Sqlite { conn, checkpoints: Checkpoints::default() }
            }
            Dialect::Postgres => {
                WriterConnection::Postgres { copy: db.connect_postgres().await?, rows: db.pool().acquire().await?.detach() }
            }
        })
    }

    /// Writes `events` all or nothing.
    /// Whether [`WriterConnection::idle`] has work: commits not yet checkpointed (SQLite).
    pub fn wants_idle_checkpoint(&self) -> bool {
        matches!(self, WriterConnection::Sqlite { checkpoints, .. } if checkpoints.pending())
    }

    /// The writer has had nothing to write for a while: checkpoint what the last commits left
    /// in the WAL, instead of leaving it there until the next event comes.
    pub fn idle(&mut self, db: &Db) {
        if let WriterConnection::Sqlite { checkpoints, .. } = self {
            checkpoints.start(db);
        }
    }

    /// The writer stops: wait for a checkpoint under way, then checkpoint what is left, so
    /// the database file holds every commit.
    pub async fn finish(&mut self, db: &Db) {
        if let WriterConnection::Sqlite { checkpoints, .. } = self {
            if let Some(running) = checkpoints.running.take() {
                let _ = running.await;
            }
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(db.pool()).await {
                tracing::warn!(error = %err, "audit WAL checkpoint at shutdown failed");
            }
        }
    }

    pub async fn insert(&mut self, db: &Db, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
        match self {
            WriterConnection::Sqlite { conn, checkpoints } => {
                insert_batch_on(conn, db, events).await?;
                checkpoints.after_commit(db, events.len());
                Ok(())
            }
            WriterConnection::Postgres { rows, .. } if events.len() < COPY_FROM => insert_batch_on(rows, db, events).await,
            WriterConnection::Postgres { copy, .. } => copy_batch(copy, events).await,
        }
    }
}

/// SQLite's WAL checkpoints, one at a time on a pooled connection, started after the
/// writer's commits instead of inside them: a checkpoint copies the WAL into the database
/// and waits for the disk, which the writer used to sit out every few batches. One starts
/// after every [`CHECKPOINT_EVENTS`] events, or [`CHECKPOINT_INTERVAL`] after the last if
/// anything was written since (a quiet trail is not fsynced event by event). As long as
/// the writer keeps writing SQLite cannot start the WAL over, so once the WAL has grown past
/// [`RESTART_FRAMES`] the next checkpoint is a RESTART: it waits for the batch in progress,
/// holds the next one back while it copies what is left, and the WAL starts over.
/// Batches at least this big go in as one COPY (~3x the rate of INSERTs). Smaller ones — what
/// a request waiting for its commit meets when the load is light — are INSERTs: a COPY sends
/// its data and its end as two writes, and on TCP (sqlx sets no TCP_NODELAY) Nagle's
/// algorithm holds the second until the server's delayed ACK, ~40 ms a commit.
const COPY_FROM: usize = 500;

pub struct Checkpoints {
    running: Option<JoinHandle<Result<i64, sqlx::Error>>>,
    started: Instant,
    events_since: usize,
    wal_frames: i64,
}

const CHECKPOINT_EVENTS: usize = 1_000;
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);
/// 160 MiB of WAL at 4 KiB pages.
const RESTART_FRAMES: i64 = 40_000;

impl Default for Checkpoints {
    fn default() -> Checkpoints {
        Checkpoints { running: None, started: Instant::now(), events_since: 0, wal_frames: 0 }
    }
}

impl Checkpoints {
    fn after_commit(&mut self, db: &Db, events: usize) {
        self.events_since += events;
        if self.events_since >= CHECKPOINT_EVENTS || self.started.elapsed() >= CHECKPOINT_INTERVAL {
            self.start(db);
        }
    }

    /// Whether commits since the last checkpoint left frames in the WAL.
    fn pending(&self) -> bool {
        self.events_since > 0
    }

    fn start(&mut self, db: &Db) {
        match self.running.as_mut().map(|running| running.now_or_never()) {
            Some(None) => return, // still running
            Some(Some(Ok(Ok(frames)))) => self.wal_frames = frames,
            Some(Some(Ok(Err(err)))) => tracing::warn!(error = %err, "audit WAL checkpoint failed; the next commit tries again"),
            Some(Some(Err(err))) => tracing::warn!(error = %err, "audit WAL checkpoint task failed"),
            None => {}
        }
        let restart = self.wal_frames > RESTART_FRAMES;
        (self.started, self.events_since) = (Instant::now(), 0);
        let pool = db.pool().clone();
        self.running = Some(tokio::spawn(async move {
            let sql = if restart { "PRAGMA wal_checkpoint(RESTART)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
            let (busy, frames, _copied): (i64, i64, i64) = sqlx::query_as(sql).fetch_one(&pool).await?;
            Ok(if restart && busy == 0 { 0 } else { frames })
        }));
    }
}

/// PostgreSQL: `events` as one COPY (one statement, so all or nothing), sent a thousand
/// rows at a time so that the server parses while the next part is encoded.
async fn copy_batch(conn: &mut sqlx::PgConnection, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
    let mut copy = conn.copy_in_raw(&format!("COPY audit_events ({INSERT_COLUMNS}) FROM STDIN")).await?;
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in events.chunks(1_000) {
        buf.clear();
        for e in chunk {
            copy_row(&mut buf, e);
        }
        copy.send(buf.as_slice()).await?;
    }
    copy.finish().await.map(|_| ())
}

/// One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_row(buf: &mut Vec<u8>, e: &AuditEvent) {
    for (col, field) in fields(e).into_iter().enumerate() {
        if col > 0 {
            buf.push(b'\t');
        }
        match field {
            Field::Text(None) => buf.extend_from_slice(b"\\N"),
            Field::Text(Some(text)) => {
                for &b in text.as_bytes() {
                    match b {
                        b'\\' => buf.extend_from_slice(b"\\\\"),
                        b'\t' => buf.extend_from_slice(b"\\t"),
                        b'\n' => buf.extend_from_slice(b"\\n"),
                        b'\r' => buf.extend_from_slice(b"\\r"),
                        _ => buf.push(b),
                    }
                }
            }
            Field::Int(n) => buf.extend_from_slice(n.to_string().as_bytes()),
        }
    }
    buf.push(b'\n');
}

