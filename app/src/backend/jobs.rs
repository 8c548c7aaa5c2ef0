//! Background work, one way. A kind of job is a table whose due rows are claimed by lease
//! (`lease_holder`, `lease_until`; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so instances
//! never wait on each other). While the work goes on, the lease is renewed every third of its
//! length. Every write of progress holds only while the lease does (`AND lease_holder = $h`,
//! then [`Lease::confirm`]), and a worker stops the moment a renewal or such a write finds
//! the lease gone, or when it has not managed to renew it for a whole lease. Each item's
//! progress is written as it is done, so the instance that takes over does not repeat it.
//!
//! So with any number of instances and peers of any speed, each item is done once while its
//! holder lives. A holder killed mid-item leaves that one item to be done again
//! (at-least-once; receivers drop repeats by the id each delivery carries).

use crate::backend::db::{format_time, new_id, now, Db};
use crate::backend::telemetry::Telemetry;
use crate::error::ApiResult;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a claim holds without renewal unless `CHRONICLE_JOB_LEASE_SECS` says otherwise:
/// how soon another instance takes over the work of one that died.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// A kind of background work: where its items are and which of them are due.
pub struct Kind {
    /// The `kind` label of `chronicle_jobs_total`.
    pub name: &'static str,
    pub table: &'static str,
    /// The column that names one item.
    pub key: &'static str,
    /// Which rows are due; `$1` is the current time.
    pub due: &'static str,
    pub order: &'static str,
    /// Items one claim takes at most.
    pub batch: i64,
}

/// What a kind's claim adds to the common one: columns set on claiming (`$1` is the current
/// time) and a further condition whose binds are `$2`, `$3`, …
#[derive(Default)]
pub struct Extra<'a> {
    pub set: &'a str,
    pub filter: String,
    pub binds: Vec<&'a str>,
}

/// The one retry schedule: the wait doubles from `first` after each failed attempt, up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after the `attempts`-th failure in a row (1 for the first).
    pub fn after(&self, attempts: i64) -> Duration {
        let doublings = attempts.clamp(1, 31) as u32 - 1;
        self.first.saturating_mul(1u32 << doublings.min(20)).min(self.max)
    }

    /// When the next attempt is due, as stored.
    pub fn next_at(&self, attempts: i64) -> String {
        format_time(chrono::Utc::now() + chrono::Duration::from_std(self.after(attempts)).unwrap_or(chrono::Duration::MAX))
    }
}

/// What every job's loop shares: the database, the lease length, the counters.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    lease: Duration,
    telemetry: Telemetry,
}

impl Jobs {
    pub fn new(db: Db, lease: Duration, telemetry: Telemetry) -> Jobs {
        Jobs { db, lease, telemetry }
    }

    /// With the default lease and counters of its own: for tools and benches.
    pub fn on(db: &Db) -> Jobs {
        Jobs::new(db.clone(), DEFAULT_LEASE, Telemetry::default())
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Counts `n` items of `kind` that ended as `outcome` (`done`, `failed`, `retried`).
    pub fn count(&self, kind: &'static Kind, outcome: &'static str, n: usize) {
        self.telemetry.job(kind.name, outcome, n as u64);
    }

    /// Claims up to `kind.batch` due rows that no live lease holds, answering their
    /// `returning` columns and the lease that now holds them; `None` when nothing is due.
    pub async fn claim<R>(&self, kind: &'static Kind, returning: &str, extra: &Extra<'_>) -> ApiResult<Option<(Vec<R>, Lease)>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let Kind { table, key, due, order, batch, .. } = kind;
        let at = now();
        let free = format!("({due}) AND (lease_until IS NULL OR lease_until <= $1){}", extra.filter);
        // A read first: on SQLite an UPDATE takes the write lock even when nothing is due.
        let mut waiting = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT 1 FROM {table} WHERE {free} LIMIT 1"))).bind(&at);
        for b in &extra.binds {
            waiting = waiting.bind(*b);
        }
        if waiting.fetch_optional(self.db.pool()).await?.is_none() {
            return Ok(None);
        }
        let (h, u) = (extra.binds.len() + 2, extra.binds.len() + 3);
        let set = if extra.set.is_empty() { String::new() } else { format!(", {}", extra.set) };
        // The rows are picked once, in a materialized CTE: PostgreSQL may run a `LIMIT … SKIP
        // LOCKED` subquery of `WHERE key IN (…)` again for each row it updates, and so claim
        // every row of the table. The outer check repeats the inner one: on SQLite the UPDATE
        // holds the write lock, so what was picked is still free when it is changed; on
        // PostgreSQL the rows are locked by then.
        let sql = format!(
            "WITH picked AS MATERIALIZED (SELECT {key} FROM {table} WHERE {free} ORDER BY {order} LIMIT {batch}{skip}) \
             UPDATE {table} SET lease_holder = ${h}, lease_until = ${u}{set} WHERE {key} IN (SELECT {key} FROM picked) AND {free} \
             RETURNING {returning}",
            skip = self.db.dialect().skip_locked(),
        );
        let holder = new_id();
        let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql)).bind(&at);
        for b in &extra.binds {
            query = query.bind(*b);
        }
        let claimed_at = Instant::now();
        let rows = query.bind(&holder).bind(lease_end(self.lease)).fetch_all(self.db.pool()).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        self.telemetry.job(kind.name, "claimed", rows.len() as u64);
        Ok(Some((rows, Lease::keep(self.clone(), kind, holder, claimed_at))))
    }
}

fn lease_end(lease: Duration) -> String {
    format_time(chrono::Utc::now() + chrono::Duration::from_std(lease).expect("a lease of minutes at most"))
}

/// A claim's hold on its rows, renewed in the background until dropped or released.
pub struct Lease {
    shared: Arc<Shared>,
    keeper: tokio::task::JoinHandle<()>,
}

struct Shared {
    jobs: Jobs,
    kind: &'static Kind,
    holder: String,
    lost: AtomicBool,
    lost_now: tokio::sync::Notify,
    /// Until when the lease is ours for certain: its last renewal's start plus its length.
    valid_until: Mutex<Instant>,
}

impl Shared {
    fn mark_lost(&self) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            self.jobs.telemetry.job(self.kind.name, "lease_lost", 1);
            tracing::warn!(kind = self.kind.name, "background job: lease lost; stopping, another instance takes over");
        }
        self.lost_now.notify_waiters();
    }

    fn held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst) && Instant::now() < *self.valid_until.lock().expect("not poisoned")
    }
}

impl Lease {
    fn keep(jobs: Jobs, kind: &'static Kind, holder: String, claimed_at: Instant) -> Lease {
        let every = jobs.lease / 3;
        let shared = Arc::new(Shared {
            valid_until: Mutex::new(claimed_at + jobs.lease),
            jobs,
            kind,
            holder,
            lost: AtomicBool::new(false),
            lost_now: tokio::sync::Notify::new(),
        });
        let keeper = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let sql = format!("UPDATE {} SET lease_until = $1 WHERE lease_holder = $2", shared.kind.table);
                loop {
                    tokio::time::sleep(every).await;
                    let started = Instant::now();
                    let renewed = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(lease_end(shared.jobs.lease))
                        .bind(&shared.holder)
                        .execute(shared.jobs.db.pool())
                        .await;
                    match renewed {
                        Ok(r) if r.rows_affected() > 0 => *shared.valid_until.lock().expect("not poisoned") = started + shared.jobs.lease,
                        Ok(_) => {
                            shared.mark_lost();
                            return;
                        }
                        Err(err) => {
                            tracing::warn!(kind = shared.kind.name, error = %err, "background job: could not renew a lease; trying again");
                            if !shared.held() {
                                shared.mark_lost();
                                return;
                            }
                        }
                    }
                }
            })
        };
        Lease { shared, keeper }
    }

    /// Bind this in every write of progress: `… AND lease_holder = $n`.
    pub fn holder(&self) -> &str {
        &self.shared.holder
    }

    /// True while the lease is certainly ours: check it before starting each item.
    pub fn held(&self) -> bool {
        self.shared.held()
    }

    /// Takes the `rows_affected` of a write made `AND lease_holder = $h`: none means another
    /// instance holds the rows now, and this worker must stop. Answers whether it still holds.
    pub fn confirm(&self, rows_affected: u64) -> bool {
        if rows_affected == 0 {
            self.shared.mark_lost();
        }
        self.held()
    }

    /// Resolves once the lease is known to be lost (for work that cannot stop between items).
    pub async fn lost(&self) {
        loop {
            let notified = self.shared.lost_now.notified();
            if !self.held() {
                return;
            }
            // Wakes when the keeper finds it lost, or checks again when it may have run out.
            let _ = tokio::time::timeout(self.shared.jobs.lease / 3, notified).await;
        }
    }

    /// Hands the rows back (their progress is already written).
    pub async fn release(self) {
        self.keeper.abort();
        let sql = format!("UPDATE {} SET lease_holder = NULL, lease_until = NULL WHERE lease_holder = $1", self.shared.kind.table);
        if let Err(err) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&self.shared.holder).execute(self.shared.jobs.db.pool()).await {
            tracing::warn!(kind = self.shared.kind.name, error = %err, "background job: could not hand a lease back (it runs out by itself)");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

/// Runs `round` until the process ends: at once again after a round that found work, after
/// `idle` otherwise or when it failed.
pub fn spawn_loop<F, Fut>(name: &'static str, idle: Duration, mut round: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ApiResult<bool>> + Send,
{
    tokio::spawn(async move {
        loop {
            match round().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(job = name, error = %err, "background job: round failed; trying again"),
            }
            tokio::time::sleep(idle).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape itself, on both databases: two instances (two `Jobs` over one database, as
    /// two processes would be) work one queue with a worker slower than the lease. Every
    /// item is done once, because leases are renewed while the work goes on; and a worker
    /// whose rows another instance took stops at its next write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_instances_do_each_item_once_with_a_worker_slower_than_the_lease() {
        static KIND: Kind = Kind { name: "test", table: "job_test", key: "id", due: "done_at IS NULL", order: "id", batch: 3 };
        for (name, db) in crate::backend::testing::test_databases().await {
            sqlx::query("CREATE TABLE job_test (id BIGINT PRIMARY KEY, done_at TEXT, done_by TEXT, lease_holder TEXT, lease_until TEXT)").execute(db.pool()).await.unwrap();
            for id in 0..12i64 {
                sqlx::query("INSERT INTO job_test (id) VALUES ($1)").bind(id).execute(db.pool()).await.unwrap();
            }
            let done: Arc<Mutex<Vec<i64>>> = Arc::default();
            let lease = Duration::from_millis(1500);
            let mut instances = tokio::task::JoinSet::new();
            for instance in ["a", "b"] {
                let (jobs, done) = (Jobs::new(db.clone(), lease, Telemetry::default()), done.clone());
                instances.spawn(async move {
                    while let Some((ids, lease)) = jobs.claim::<(i64,)>(&KIND, "id", &Extra::default()).await.unwrap() {
                        for (id,) in ids {
                            assert!(lease.held(), "renewed while working");
                            // Slower than the lease: only renewal keeps the rows ours.
                            tokio::time::sleep(Duration::from_millis(700)).await;
                            done.lock().unwrap().push(id);
                            let updated = sqlx::query("UPDATE job_test SET done_at = $1, done_by = $2 WHERE id = $3 AND lease_holder = $4")
                                .bind(now())
                                .bind(instance)
                                .bind(id)
                                .bind(lease.holder())
                                .execute(jobs.db().pool())
                                .await
                                .unwrap()
                                .rows_affected();
                            assert!(lease.confirm(updated), "the lease held");
                        }
                        lease.release().await;
                    }
                });
            }
            instances.join_all().await;
            let mut ids = done.lock().unwrap().clone();
            ids.sort();
            assert_eq!(ids, (0..12).collect::<Vec<_>>(), "[{name}] each item once");
            let by: Vec<(String, i64)> = sqlx::query_as("SELECT done_by, COUNT(*) FROM job_test GROUP BY done_by ORDER BY done_by").fetch_all(db.pool()).await.unwrap();
            assert_eq!(by.len(), 2, "[{name}] both instances worked: {by:?}");

            // A worker whose rows were taken (its lease ran out while it could not renew):
            // its next write finds them gone, and it stops.
            sqlx::query("UPDATE job_test SET done_at = NULL WHERE id = 0").execute(db.pool()).await.unwrap();
            let jobs = Jobs::new(db.clone(), lease, Telemetry::default());
            let (_, held) = jobs.claim::<(i64,)>(&KIND, "id", &Extra::default()).await.unwrap().expect("item 0 is due");
            sqlx::query("UPDATE job_test SET lease_holder = 'another instance' WHERE id = 0").execute(db.pool()).await.unwrap();
            let updated = sqlx::query("UPDATE job_test SET done_at = $1 WHERE id = 0 AND lease_holder = $2").bind(now()).bind(held.holder()).execute(db.pool()).await.unwrap().rows_affected();
            assert!(!held.confirm(updated), "[{name}] lost");
            assert!(!held.held(), "[{name}] and it stays lost");
            tokio::time::timeout(Duration::from_secs(1), held.lost()).await.expect("lost() resolves at once");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff { first: Duration::from_secs(5), max: Duration::from_secs(3600) };
        let waits: Vec<u64> = [1, 2, 3, 4, 10, 11, 1000, 0, -4].iter().map(|a| b.after(*a).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 2560, 3600, 3600, 5, 5]);
        let fast = Backoff { first: Duration::from_millis(500), max: Duration::from_secs(30) };
        assert_eq!(fast.after(1), Duration::from_millis(500));
        assert_eq!(fast.after(7), Duration::from_secs(30));
    }
}
