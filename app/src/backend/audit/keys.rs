//! Index keys: the integers the explorer's indexes are built on instead of texts.
//!
//! Each hash key is a 64-bit hash of the org and one filter value (nothing else, the actor,
//! the resource id, the action), so one index seek answers "this org's events [of this actor
//! / resource / action], newest first"; the time key is `created_at` in microseconds. Index
//! entries are then a third as wide as with the 36-character ids and the time text, which is
//! what sustained ingest is bound by (migration 0006, benches/audit.rs). A query also compares
//! the texts, so a hash collision costs a row check, never a wrong row.

use super::super::db::Db;
use crate::model::AuditEvent;
use sqlx::{Acquire, Row};
use xxhash_rust::xxh3::xxh3_64;

/// The key of `org` (None: outside any org) and one value (None for the org key itself).
/// XXH3 is a specified, stable hash: keys written today match keys computed by any later build.
pub fn key(org: Option<&str>, value: Option<&str>) -> i64 {
    // Stored texts never hold NUL (the recorder scrubs it), so it separates unambiguously.
    let mut bytes = Vec::with_capacity(80);
    for part in [org, value] {
        match part {
            Some(text) => {
                bytes.extend_from_slice(text.as_bytes());
                bytes.push(0);
            }
            None => bytes.push(1),
        }
    }
    xxh3_64(&bytes) as i64
}

/// A stored time (RFC 3339) in microseconds since 1970. Stored times are always written by
/// `db::format_time`; anything else sorts first (0) rather than stopping the writer.
pub fn micros(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time).map(|t| t.timestamp_micros()).unwrap_or(0)
}

/// An event's keys, in the order of [`COLUMNS`].
pub fn of(e: &AuditEvent) -> [i64; 5] {
    keys(e.org_id.as_deref(), e.actor.id.as_deref(), e.resource.id.as_deref(), &e.action, &e.created_at)
}

fn keys(org: Option<&str>, actor: Option<&str>, resource: Option<&str>, action: &str, created_at: &str) -> [i64; 5] {
    [key(org, None), key(org, actor), key(org, resource), key(org, Some(action)), micros(created_at)]
}

pub const COLUMNS: &str = "org_key, actor_key, resource_key, action_key, created_us";

/// Fills in the keys of events stored before migration 0006 (SQL cannot compute XXH3), a
/// thousand a transaction; a no-op (one index probe) once done.
pub async fn backfill(db: &Db) -> Result<u64, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let mut done = 0;
    loop {
        let mut tx = conn.begin().await?;
        let rows = sqlx::query("SELECT seq, org_id, actor_id, resource_id, action, created_at FROM audit_events WHERE org_key IS NULL LIMIT 1000")
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        for row in &rows {
            let text = |i| row.try_get::<Option<String>, _>(i);
            let [org, actor, resource, action, created_us] = keys(
                text(1)?.as_deref(),
                text(2)?.as_deref(),
                text(3)?.as_deref(),
                &row.try_get::<String, _>(4)?,
                &row.try_get::<String, _>(5)?,
            );
            sqlx::query("UPDATE audit_events SET org_key = $1, actor_key = $2, resource_key = $3, action_key = $4, created_us = $5 WHERE seq = $6")
                .bind(org)
                .bind(actor)
                .bind(resource)
                .bind(action)
                .bind(created_us)
                .bind(row.try_get::<i64, _>(0)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_are_stable_and_tell_their_parts_apart() {
        assert_ne!(key(Some("org-1"), None), key(None, Some("org-1")));
        assert_ne!(key(Some("ab"), Some("c")), key(Some("a"), Some("bc")));
        assert_ne!(key(Some("org-1"), Some("")), key(Some("org-1"), None));
        // Stored keys must keep their meaning from build to build: one value is pinned.
        assert_eq!(key(Some("org-1"), Some("auth.login")), -6084522900057338180);
    }

    #[test]
    fn the_time_key_orders_as_the_time_text_does() {
        assert_eq!(super::micros("1970-01-01T00:00:01.000002Z"), 1_000_002);
        assert!(super::micros("2026-11-23T12:00:00.000001Z") < super::micros("2026-11-23T12:00:00.000002Z"));
        assert_eq!(super::micros("not a time"), 0);
    }
}
