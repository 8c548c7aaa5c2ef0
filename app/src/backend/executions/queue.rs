//! The run queue: executions wait in the database as `queued`; workers claim one at a time
//! (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several app instances share the work and
//! no run executes twice) and hold it by a lease they renew while it runs. A run whose lease
//! ran out — its process died mid-way — is marked failed with that reason by any instance;
//! queued runs simply wait for the next worker, after a restart too.

use super::engine::{self, Context, Job};
use crate::backend::db::{format_time, now, Backend, Db};
use crate::error::ApiResult;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a claim holds without renewal; renewed every third of it while the run goes on.
pub const LEASE: Duration = Duration::from_secs(15);
/// How often an idle worker looks for work queued by another instance (local triggers wake it
/// at once).
const POLL: Duration = Duration::from_secs(1);
pub const ABANDONED: &str = "The app instance running this execution stopped mid-way (its lease ran out); it was not retried, since its steps may have had effects.";

/// The handle triggers use to wake workers, and what /metrics reads.
#[derive(Clone, Default)]
pub struct Runner {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    notify: Notify,
    succeeded: AtomicU64,
    failed: AtomicU64,
    /// The runs this instance's workers hold, by org; claims are made one at a time under
    /// this lock, so the fair-share check and the claim it allows are one step.
    holding: tokio::sync::Mutex<std::collections::HashMap<String, usize>>,
    workers: AtomicU64,
}

impl Runner {
    pub fn new() -> Runner {
        Runner::default()
    }

    /// A run was queued: one idle worker picks it up now rather than at its next poll.
    pub fn wake(&self) {
        self.inner.notify.notify_one();
    }

    /// Runs this instance finished with `status` (`succeeded` or `failed`).
    pub fn finished(&self, status: &str) -> u64 {
        match status {
            "succeeded" => self.inner.succeeded.load(Ordering::Relaxed),
            _ => self.inner.failed.load(Ordering::Relaxed),
        }
    }

    /// Starts `workers` workers over `ctx`'s database, and the sweep for abandoned runs.
    pub fn spawn(&self, ctx: Context, workers: usize) {
        self.inner.workers.store(workers as u64, Ordering::Relaxed);
        let ctx = Arc::new(ctx);
        for _ in 0..workers {
            let (ctx, runner) = (ctx.clone(), self.clone());
            tokio::spawn(async move { runner.work(&ctx).await });
        }
        tokio::spawn(async move {
            loop {
                match fail_abandoned(&ctx.db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(runs = n, "executions: runs abandoned mid-way by a stopped instance marked failed"),
                    Err(err) => tracing::warn!(error = %err, "executions: could not look for abandoned runs"),
                }
                tokio::time::sleep(LEASE / 3).await;
            }
        });
    }

    async fn work(&self, ctx: &Context) {
        loop {
            match self.claim_fairly(&ctx.db).await {
                Ok(Some(job)) => {
                    let status = run_held(ctx, &job).await;
                    self.release(&job.org_id).await;
                    let counter = if status == "succeeded" { &self.inner.succeeded } else { &self.inner.failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "executions: could not claim work; retrying"),
            }
            let _ = tokio::time::timeout(POLL, self.inner.notify.notified()).await;
        }
    }
}

impl Runner {
    /// Fair share: an org already holding half of this instance's workers gets no more of
    /// them, so another org's run never waits behind a busy org's queue for longer than the
    /// next free worker's poll.
    async fn claim_fairly(&self, db: &Db) -> ApiResult<Option<Job>> {
        let share = (self.inner.workers.load(Ordering::Relaxed) as usize / 2).max(1);
        let mut holding = self.inner.holding.lock().await;
        let full: Vec<&str> = holding.iter().filter(|(_, n)| **n >= share).map(|(org, _)| org.as_str()).collect();
        let job = claim(db, &full).await?;
        if let Some(job) = &job {
            *holding.entry(job.org_id.clone()).or_default() += 1;
        }
        Ok(job)
    }

    async fn release(&self, org_id: &str) {
        let mut holding = self.inner.holding.lock().await;
        if let Some(n) = holding.get_mut(org_id) {
            *n -= 1;
            if *n == 0 {
                holding.remove(org_id);
            }
        }
    }
}

/// Runs a claimed job while renewing its lease; answers its final status.
async fn run_held(ctx: &Context, job: &Job) -> &'static str {
    let renew = {
        let (db, id) = (ctx.db.clone(), job.id.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                let _ = sqlx::query("UPDATE executions SET claimed_until = $1 WHERE id = $2 AND status = 'running'")
                    .bind(lease_end())
                    .bind(&id)
                    .execute(db.pool())
                    .await;
            }
        })
    };
    let outcome = engine::run(ctx, job).await;
    renew.abort();
    let status = if outcome.is_ok() { "succeeded" } else { "failed" };
    // Only while the run is still ours: if our lease ran out and another instance marked it
    // abandoned, that verdict stands.
    let result = sqlx::query("UPDATE executions SET status = $1, error = $2, finished_at = $3, claimed_until = NULL WHERE id = $4 AND status = 'running'")
        .bind(status)
        .bind(outcome.err())
        .bind(now())
        .bind(&job.id)
        .execute(ctx.db.pool())
        .await;
    if let Err(err) = result {
        tracing::error!(execution = %job.id, error = %err, "executions: could not record a run's end");
    }
    status
}

fn lease_end() -> String {
    format_time(chrono::Utc::now() + chrono::Duration::from_std(LEASE).expect("a short lease"))
}

/// Claims the oldest queued run for this worker, if any, of an org not in `skip`.
pub async fn claim(db: &Db, skip: &[&str]) -> ApiResult<Option<Job>> {
    // A read first: on SQLite an UPDATE takes the write lock even when nothing is queued.
    let sql = format!("SELECT seq FROM executions WHERE status = 'queued'{} LIMIT 1", not_in(1, skip.len()));
    let mut waiting = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
    for org in skip {
        waiting = waiting.bind(*org);
    }
    if waiting.fetch_optional(db.pool()).await?.is_none() {
        return Ok(None);
    }
    let skip_locked = if db.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    // The outer status check keeps SQLite exact too: there the UPDATE holds the write lock,
    // so the row it picks is still queued when it is changed.
    let others = not_in(3, skip.len());
    let sql = format!(
        "UPDATE executions SET status = 'running', started_at = $1, claimed_until = $2 \
         WHERE seq = (SELECT seq FROM executions WHERE status = 'queued'{others} ORDER BY seq LIMIT 1{skip_locked}) AND status = 'queued' \
         RETURNING id, org_id, workflow_id, trigger_kind, credential_type, credential_id, credential_label, user_id, definition, payload"
    );
    type Row = (String, String, String, String, String, Option<String>, String, Option<String>, String, Option<String>);
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(now()).bind(lease_end());
    for org in skip {
        query = query.bind(*org);
    }
    let row = query.fetch_optional(db.pool()).await?;
    Ok(row.map(Job::from_claimed))
}

/// ` AND org_id NOT IN ($start, …)` for `n` orgs; nothing for none.
fn not_in(start: usize, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let placeholders: Vec<String> = (start..start + n).map(|i| format!("${i}")).collect();
    format!(" AND org_id NOT IN ({})", placeholders.join(", "))
}

/// Marks runs whose lease ran out as failed: their process died mid-way. Any instance may do
/// this; it touches only runs nobody holds.
pub async fn fail_abandoned(db: &Db) -> ApiResult<u64> {
    let at = now();
    let done = sqlx::query(
        "UPDATE executions SET status = 'failed', error = $1, finished_at = $2, claimed_until = NULL \
         WHERE status = 'running' AND claimed_until < $2",
    )
    .bind(ABANDONED)
    .bind(&at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}
