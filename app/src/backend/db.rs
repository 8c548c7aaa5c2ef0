//! The database: one pool, the same SQL on SQLite and PostgreSQL.
//!
//! Queries use `$1`-style placeholders, which both drivers bind by number, and portable
//! types only (TEXT ids and timestamps, BIGINT counters). Dialect-specific DDL lives in the
//! two migration sets.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(sqlx::Error::Configuration("DATABASE_URL must start with sqlite: or postgres:".into()))
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
}

impl Db {
    /// Connects, applies the pragmas SQLite needs for concurrent use, and runs migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: a dead connection fails its query, which the caller
            // sees anyway, and the ping cost a round trip (on SQLite two thread hops) per query.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; the busy timeout makes a
                        // writer wait for the lock instead of failing at once. A 16 MiB page
                        // cache holds a big audit batch's dirty index pages, and checkpointing
                        // every 10,000 pages (40 MiB of WAL) instead of 1,000 copies a hot page
                        // once rather than after every batch (benches/audit.rs).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                             PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        backend.migrator().run(&pool).await?;
        let db = Db { pool, backend, url: url.into() };
        let filled = crate::backend::audit::keys::backfill(&db).await?;
        if filled > 0 {
            tracing::info!(events = filled, "audit trail: index keys filled in for events stored before migration 0006");
        }
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A PostgreSQL connection of the native driver, outside the pool: for what the portable
    /// driver cannot do (COPY, which the audit writer uses).
    pub async fn connect_postgres(&self) -> Result<sqlx::PgConnection, sqlx::Error> {
        <sqlx::PgConnection as sqlx::Connection>::connect(&self.url).await
    }

    /// Answers when the database does: what `/healthz` reports.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as stored: RFC 3339 in UTC with fixed microsecond width, so that text
/// order is time order on both databases.
pub fn now() -> String {
    format_time(chrono::Utc::now())
}

pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A new time-ordered id (UUIDv7).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `err` is a unique-constraint violation, so callers can answer 409/422 naming
/// the field instead of a 500.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::audit::store::{self, Filter};
    use crate::backend::testing;

    /// Events stored before the trail had a sequence (migration 0005) and index keys (0006,
    /// filled in at startup) are all still listed, in their (time, id) order, and events
    /// written after it come after them.
    #[tokio::test]
    async fn audit_events_keep_their_order_through_the_sequence_migration() {
        for (name, url) in testing::test_database_urls().await {
            let backend = Backend::of(&url).unwrap();
            let pool = AnyPool::connect(&url).await.unwrap();
            backend.migrator().run_to(4, &pool).await.unwrap();
            for (id, at) in [("e-b", "2026-01-01T00:00:00.000000Z"), ("e-a", "2026-01-01T00:00:00.000000Z"), ("e-c", "2026-01-02T00:00:00.000000Z")] {
                sqlx::query(
                    "INSERT INTO audit_events (id, org_id, action, actor_type, actor_label, resource_type, changes, metadata, created_at) \
                     VALUES ($1, 'org-1', 'auth.login', 'system', 'System', 'session', '[]', '{}', $2)",
                )
                .bind(id)
                .bind(at)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;

            let db = Db::connect(&url).await.unwrap();
            let recorder = crate::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
            let actor = crate::model::Actor::system("System");
            recorder.record(crate::backend::audit::NewEvent::new(Some("org-1"), "auth.logout", actor, "session", None)).await;
            let (mut ids, mut cursor) = (Vec::new(), None);
            loop {
                let page = store::list(&db, Some("org-1"), &Filter::default(), Some(1), cursor.as_deref()).await.unwrap();
                ids.extend(page.events.into_iter().map(|e| e.action + ":" + &e.id[..3]));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(ids[1..], ["auth.login:e-c", "auth.login:e-b", "auth.login:e-a"], "[{name}]");
            assert!(ids[0].starts_with("auth.logout:"), "[{name}] {ids:?}");
        }
    }
}
