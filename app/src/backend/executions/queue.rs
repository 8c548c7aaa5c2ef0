//! The run queue: executions wait in the database as `queued`; workers claim one at a time as
//! a background job (`backend/jobs`: several app instances share the work and no run executes
//! twice) and hold it by a lease renewed while it runs. A run whose lease ran out — its
//! process died mid-way — is marked failed with that reason by any instance, and a worker that
//! finds its lease gone stops the run; queued runs simply wait for the next worker, after a
//! restart too.

use super::engine::{self, Context, Job};
use crate::backend::db::{now, Db};
use crate::backend::jobs::{Extra, Jobs, Kind, Lease};
use crate::error::ApiResult;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The oldest queued run, one per claim.
pub static KIND: Kind = Kind { name: "executions", table: "executions", key: "seq", due: "status = 'queued'", order: "seq", batch: 1 };
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

    /// Starts `workers` workers over `ctx`, and the sweep for abandoned runs.
    pub fn spawn(&self, jobs: Jobs, ctx: Context, workers: usize) {
        self.inner.workers.store(workers as u64, Ordering::Relaxed);
        let ctx = Arc::new(ctx);
        for _ in 0..workers {
            let (jobs, ctx, runner) = (jobs.clone(), ctx.clone(), self.clone());
            tokio::spawn(async move { runner.work(&jobs, &ctx).await });
        }
        let every = jobs.lease() / 3;
        crate::backend::jobs::spawn_loop("executions.abandoned", every, move || {
            let jobs = jobs.clone();
            async move {
                let n = fail_abandoned(jobs.db()).await?;
                if n > 0 {
                    tracing::warn!(runs = n, "executions: runs abandoned mid-way by a stopped instance marked failed");
                    jobs.count(&KIND, "failed", n as usize);
                }
                Ok(false)
            }
        });
    }

    async fn work(&self, jobs: &Jobs, ctx: &Context) {
        loop {
            match self.claim_fairly(jobs).await {
                Ok(Some((job, lease))) => {
                    let status = run_held(jobs, ctx, &job, lease).await;
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
    async fn claim_fairly(&self, jobs: &Jobs) -> ApiResult<Option<(Job, Lease)>> {
        let share = (self.inner.workers.load(Ordering::Relaxed) as usize / 2).max(1);
        let mut holding = self.inner.holding.lock().await;
        let full: Vec<&str> = holding.iter().filter(|(_, n)| **n >= share).map(|(org, _)| org.as_str()).collect();
        let job = claim(jobs, &full).await?;
        if let Some((job, _)) = &job {
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

/// Runs a claimed job while its lease holds; answers its final status. A run whose lease is
/// lost (its instance could not renew it, and another marked it abandoned) stops there.
async fn run_held(jobs: &Jobs, ctx: &Context, job: &Job, lease: Lease) -> &'static str {
    let outcome = tokio::select! {
        outcome = engine::run(ctx, job) => outcome,
        () = lease.lost() => return "failed",
    };
    let status = if outcome.is_ok() { "succeeded" } else { "failed" };
    // Only while the run is still ours: if another instance marked it abandoned, that stands.
    let result = sqlx::query("UPDATE executions SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND status = 'running' AND lease_holder = $5")
        .bind(status)
        .bind(outcome.err())
        .bind(now())
        .bind(&job.id)
        .bind(lease.holder())
        .execute(ctx.db.pool())
        .await;
    match result {
        Ok(r) if r.rows_affected() == 1 => jobs.count(&KIND, if status == "succeeded" { "done" } else { "failed" }, 1),
        Ok(_) => {}
        Err(err) => tracing::error!(execution = %job.id, error = %err, "executions: could not record a run's end"),
    }
    lease.release().await;
    status
}

/// Claims the oldest queued run for this worker, if any, of an org not in `skip`.
pub async fn claim(jobs: &Jobs, skip: &[&str]) -> ApiResult<Option<(Job, Lease)>> {
    let extra = Extra { set: "status = 'running', started_at = $1", filter: not_in(2, skip.len()), binds: skip.to_vec() };
    let returning = "id, org_id, workflow_id, trigger_kind, credential_type, credential_id, credential_label, user_id, definition, payload";
    type Row = (String, String, String, String, String, Option<String>, String, Option<String>, String, Option<String>);
    let Some((mut rows, lease)) = jobs.claim::<Row>(&KIND, returning, &extra).await? else { return Ok(None) };
    Ok(Some((Job::from_claimed(rows.remove(0)), lease)))
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
        "UPDATE executions SET status = 'failed', error = $1, finished_at = $2, lease_holder = NULL, lease_until = NULL \
         WHERE status = 'running' AND lease_until < $2",
    )
    .bind(ABANDONED)
    .bind(&at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}
