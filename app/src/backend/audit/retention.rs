//! Retention: an org with `audit_retention_days` keeps its trail that long. Pruning removes
//! whole sealed segments: every event up to the newest signed checkpoint whose event is older
//! than the window. That checkpoint stays as the chain's anchor (`pruned_through`): the first
//! kept event's `prev_hash` is its hash, so what remains still verifies, with or without
//! Chronicle. Each pruning is recorded as `audit_log.pruned`. The pruner runs once a day
//! across all instances: whoever moves `audit_pruner.ran_on` to today runs it.

use super::{NewEvent, Recorder};
use crate::backend::db::{format_time, Db};
use crate::error::ApiResult;
use crate::model::Actor;
use chrono::{DateTime, Utc};
use std::time::Duration;

const TICK: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub org_id: String,
    pub events: u64,
    pub through_seq: i64,
}

/// Prunes `org_id`'s trail to `days` before `now`; `None` when no whole segment is that old.
pub async fn prune_org(db: &Db, audit: &Recorder, org_id: &str, days: i64, now: DateTime<Utc>) -> ApiResult<Option<Pruned>> {
    let cutoff = format_time(now - chrono::Duration::days(days));
    let mut tx = db.pool().begin().await?;
    // Writing first: SQLite takes its write lock now rather than fail to upgrade a read later.
    let head = sqlx::query("UPDATE audit_chain_heads SET pruned_through = pruned_through WHERE chain = $1").bind(org_id).execute(&mut *tx).await?;
    if head.rows_affected() == 0 {
        return Ok(None);
    }
    let anchor: Option<(i64, String)> = sqlx::query_as(
        "SELECT c.seq, c.hash FROM audit_checkpoints c JOIN audit_events e ON e.seq = c.seq \
         WHERE c.chain = $1 AND e.org_id = $1 AND e.created_at < $2 ORDER BY c.seq DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(&cutoff)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((through_seq, anchor_hash)) = anchor else { return Ok(None) };
    if let Some(prune) = db.dialect().prune_seals() {
        sqlx::query(prune)
            .bind(org_id)
            .bind(through_seq)
            .execute(&mut *tx)
            .await?;
    }
    let events = sqlx::query("DELETE FROM audit_events WHERE org_id = $1 AND seq <= $2").bind(org_id).bind(through_seq).execute(&mut *tx).await?.rows_affected();
    sqlx::query("DELETE FROM audit_checkpoints WHERE chain = $1 AND seq < $2").bind(org_id).bind(through_seq).execute(&mut *tx).await?;
    sqlx::query("UPDATE audit_chain_heads SET pruned_through = $1 WHERE chain = $2").bind(through_seq).bind(org_id).execute(&mut *tx).await?;
    tx.commit().await?;
    let meta = serde_json::json!({
        "events": events, "through_seq": through_seq, "anchor_hash": anchor_hash,
        "retention_days": days, "older_than": cutoff,
    });
    audit.record(NewEvent::new(Some(org_id), "audit_log.pruned", Actor::system("Retention"), "audit_log", None).metadata(meta)).await;
    Ok(Some(Pruned { org_id: org_id.to_owned(), events, through_seq }))
}

/// Prunes every org that set a retention (or only `only`).
pub async fn prune_all(db: &Db, audit: &Recorder, only: Option<&str>, now: DateTime<Utc>) -> ApiResult<Vec<Pruned>> {
    let orgs: Vec<(String, i64)> = sqlx::query_as("SELECT id, CAST(audit_retention_days AS BIGINT) FROM orgs WHERE audit_retention_days IS NOT NULL AND ($1 = '' OR id = $1) ORDER BY id")
        .bind(only.unwrap_or(""))
        .fetch_all(db.pool())
        .await?;
    let mut done = Vec::new();
    for (org_id, days) in orgs {
        if let Some(pruned) = prune_org(db, audit, &org_id, days, now).await? {
            tracing::info!(org = %pruned.org_id, events = pruned.events, through_seq = pruned.through_seq, "audit retention: pruned");
            done.push(pruned);
        }
    }
    Ok(done)
}

/// Whether this instance is the one to prune today.
async fn claim_today(db: &Db, now: DateTime<Utc>) -> ApiResult<bool> {
    let today = now.format("%Y-%m-%d").to_string();
    let claimed = sqlx::query("UPDATE audit_pruner SET ran_on = $1 WHERE id = 1 AND ran_on <> $1").bind(&today).execute(db.pool()).await?;
    Ok(claimed.rows_affected() == 1)
}

/// The daily pruner: checks hourly (and at start) whether today's run is still to do.
pub fn spawn(db: Db, audit: Recorder) {
    tokio::spawn(async move {
        loop {
            let now = Utc::now();
            match claim_today(&db, now).await {
                Ok(true) => {
                    if let Err(err) = prune_all(&db, &audit, None, now).await {
                        tracing::warn!(error = %err, "audit retention: pruning failed; tried again tomorrow");
                    }
                }
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "audit retention: could not check today's run"),
            }
            tokio::time::sleep(TICK).await;
        }
    });
}
