//! The database: one pool, the same SQL on SQLite and PostgreSQL.
//!
//! Queries use `$1`-style placeholders, which both drivers bind by number, and portable
//! types only (TEXT ids and timestamps, BIGINT counters). Dialect-specific DDL lives in the
//! two migration sets; what SQL differs between the two is in [`Dialect`], the only place
//! that asks which database this is.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

mod dialect;

pub use dialect::Dialect;

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    url: std::sync::Arc<str>,
}

impl Db {
    /// Connects, applies the pragmas SQLite needs for concurrent use, and runs migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(dialect.max_connections())
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: a dead connection fails its query, which the caller
            // sees anyway, and the ping cost a round trip (on SQLite two thread hops) per query.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if let Some(setup) = dialect.connection_setup() {
                        conn.execute(setup).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        dialect.migrator().run(&pool).await?;
        Ok(Db { pool, dialect, url: url.into() })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
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
            let dialect = Dialect::of(&url).unwrap();
            let pool = AnyPool::connect(&url).await.unwrap();
            dialect.migrator().run_to(4, &pool).await.unwrap();
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
            crate::backend::audit::keys::backfill(&db).await.unwrap();
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
