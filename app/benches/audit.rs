//! Audit trail figures: recorder enqueue latency, sustained ingest, explorer pages at 1M
//! events (first and deep, with an action filter), and the export's peak memory.
//!
//! `cargo bench -p app --features ssr --bench audit` — on SQLite, and on PostgreSQL too when
//! `CHRONICLE_TEST_POSTGRES_URL` is set. `AUDIT_BENCH_ROWS` changes the trail size (1M).

use app::backend::audit::export::{self, Format};
use app::backend::audit::store::{self, Filter};
use app::backend::audit::{NewEvent, Recorder};
use app::backend::db::{format_time, Db};
use app::backend::sessions::ClientInfo;
use app::backend::testing;
use app::model::{Actor, AuditEvent, AuditResource};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACTIONS: [&str; 8] = [
    "auth.login", "workflow.updated", "workflow.created", "member.role_changed",
    "api_key.created", "api_key.revoked", "workflow.deleted", "auth.logout",
];

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

/// Ids shaped like the real ones (UUIDs): index entries are as wide as in production.
const USER_ID: &str = "0193a4f2-7c1e-7d3b-9a6f-2b8c4d5e6f70";

fn resource_id(i: usize) -> String {
    format!("0193a4f2-7c1e-7d3b-9a6f-{:012}", i % 500)
}

fn org_id(name: &str) -> String {
    format!("0193a4f2-0000-7000-8000-{name:0>12}")
}

fn actor() -> Actor {
    Actor { kind: "user".into(), id: Some(USER_ID.into()), label: "Ada Admin".into(), name: Some("Ada Admin".into()), email: Some("ada@acme.test".into()) }
}

fn event(org: &str, i: usize) -> NewEvent {
    NewEvent::new(Some(org), ACTIONS[i % ACTIONS.len()], actor(), "workflow", Some(&resource_id(i)))
        .metadata(serde_json::json!({"name": "Onboarding", "n": i}))
        .client(&ClientInfo { ip: Some("203.0.113.7".into()), user_agent: Some("bench/1".into()) })
}

async fn count(db: &Db, org: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE org_id = $1").bind(org).fetch_one(db.pool()).await.unwrap();
    n
}

/// Enqueue latency on the request path (median, p99): the first half of `record`, before
/// it waits for the group commit; in bursts the queue can hold.
async fn enqueue(db: &Db) {
    let recorder = Recorder::start(db.clone(), Arc::new(|| {}));
    let org = org_id("enqueue");
    let mut samples = Vec::new();
    for burst in 0..20 {
        let mut receipts = Vec::with_capacity(5_000);
        for i in 0..5_000 {
            let e = event(&org, burst * 5_000 + i);
            let t = Instant::now();
            receipts.push(recorder.enqueue(e).await);
            samples.push(t.elapsed());
        }
        for r in receipts {
            assert!(r.stored().await);
        }
    }
    recorder.shutdown().await;
    println!("  enqueue (record, incl. redaction): median {:?}, p99 {:?} over {} calls", percentile(samples.clone(), 0.5), percentile(samples, 0.99), 100_000);
}

/// Long enough for the WAL to start over a few times (SQLite) and autovacuum to run (PostgreSQL).
const INGEST_EVENTS: usize = 1_000_000;
/// Concurrent callers, each recording one event after another and waiting for its commit,
/// as requests do.
const PRODUCERS: usize = 4_096;

/// Sustained ingest with durable acknowledgement: `PRODUCERS` callers each `record` (queue,
/// then wait for the commit) in a loop; timed until every call has returned.
async fn ingest(db: &Db, total: usize) {
    let recorder = Recorder::start(db.clone(), Arc::new(|| panic!("the bench must not overflow the queue")));
    let org = org_id("ingest");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut producers = tokio::task::JoinSet::new();
    for _ in 0..PRODUCERS {
        let (recorder, org, next) = (recorder.clone(), org.clone(), next.clone());
        producers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return;
                }
                recorder.record(event(&org, i)).await;
            }
        });
    }
    producers.join_all().await;
    let secs = start.elapsed().as_secs_f64();
    recorder.shutdown().await;
    assert_eq!(count(db, &org).await as usize, total);
    println!("  sustained ingest, each event acknowledged once committed ({PRODUCERS} concurrent callers): {total} events in {secs:.2} s = {:.0} events/s", total as f64 / secs);
}

/// Sustained ingest as above with the sealer running beside it as in a server (a round every
/// `seal::EVERY`): the ingest rate with sealing on, and what is left unsealed when ingest
/// stops and how long the next round takes to seal it.
async fn ingest_sealed(db: &Db, total: usize) {
    use app::backend::audit::{seal, signing::CheckpointSigner};
    let signer = Arc::new(CheckpointSigner::random());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sealer = {
        let (db, signer, stop) = (db.clone(), signer.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sealed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                sealed += seal::seal_pending(&app::backend::jobs::Jobs::on(&db), &signer).await.unwrap().unwrap_or(0);
                tokio::time::sleep(seal::EVERY).await;
            }
            sealed
        })
    };
    ingest(db, total).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = sealer.await.unwrap();
    let t = Instant::now();
    let left = seal::seal_pending(&app::backend::jobs::Jobs::on(db), &signer).await.unwrap().unwrap();
    println!("  with the sealer running: {during} events sealed during ingest, {left} left when it stopped, sealed {:.2} s later", t.elapsed().as_secs_f64());
}

/// Fills the trail with `rows` events spread over a year, in big batches.
async fn fill(db: &Db, org: &str, rows: usize) {
    let start = chrono::Utc::now() - chrono::Duration::days(365);
    let step = 365.0 * 86_400.0 / rows as f64;
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..rows {
        let at = start + chrono::Duration::milliseconds((i as f64 * step * 1000.0) as i64);
        batch.push(AuditEvent {
            id: format!("{:020}-{i:09}", at.timestamp_micros()),
            org_id: Some(org.into()),
            action: ACTIONS[i % ACTIONS.len()].into(),
            actor: actor(),
            resource: AuditResource { kind: "workflow".into(), id: Some(resource_id(i)) },
            changes: vec![],
            metadata: serde_json::json!({"n": i}),
            ip: Some("203.0.113.7".into()),
            user_agent: Some("bench/1".into()),
            created_at: format_time(at),
            seq: None,
            prev_hash: None,
            hash: None,
        });
        if batch.len() == 5_000 {
            store::insert_batch(db, &batch).await.unwrap();
            batch.clear();
        }
    }
    store::insert_batch(db, &batch).await.unwrap();
}

/// First page and a page after `deep` rows, filtered by action: p50/p95 of 50 runs each.
async fn explorer(db: &Db, org: &str, deep: usize) {
    let filter = Filter { actions: vec!["workflow.updated".into()], ..Filter::default() };
    // Walk to the deep cursor once: 200 rows a page of the filtered trail.
    let mut cursor = None;
    let mut seen = 0;
    while seen < deep / ACTIONS.len() {
        let page = store::list(db, Some(org), &filter, Some(200), cursor.as_deref()).await.unwrap();
        seen += page.events.len();
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    for (name, at) in [("first page", None), ("deep page", cursor.clone())] {
        let mut samples = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let page = store::list(db, Some(org), &filter, Some(50), at.as_deref()).await.unwrap();
            samples.push(t.elapsed());
            assert_eq!(page.events.len(), 50);
        }
        println!("  explorer {name} (action filter, 50 rows): p50 {:?}, p95 {:?}", percentile(samples.clone(), 0.5), percentile(samples, 0.95));
    }
}

/// A memory figure of this process from /proc (`VmRSS`, `VmHWM` = peak), in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Streams the whole trail as CSV into a byte counter and reports the peak RSS on the way.
async fn export_memory(db: &Db, org: &str) {
    // Reset the high-water mark so it measures the export alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let recorder = Recorder::start(db.clone(), Arc::new(|| {}));
    let t = Instant::now();
    let mut stream = Box::pin(export::stream(db.clone(), org.into(), Filter::default(), Format::Csv, actor(), ClientInfo::default(), recorder.clone()));
    let (mut bytes, mut rows) = (0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        rows += chunk.iter().filter(|b| **b == b'\n').count();
    }
    drop(stream);
    recorder.shutdown().await;
    println!(
        "  export CSV: {} rows, {:.0} MB in {:.1} s; RSS before {} MiB, peak during {} MiB",
        rows - 1,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        before / 1024,
        status_kib("VmHWM:") / 1024
    );
}

async fn run(backend: &str, db: Db, rows: usize) {
    println!("{backend}:");
    enqueue(&db).await;
    ingest(&db, INGEST_EVENTS).await;
    let t = Instant::now();
    fill(&db, &org_id("big"), rows).await;
    println!("  filled {rows} events in {:.1} s", t.elapsed().as_secs_f64());
    if backend == "postgres" {
        sqlx::query("ANALYZE audit_events").execute(db.pool()).await.unwrap();
    }
    explorer(&db, &org_id("big"), rows * 9 / 10).await;
    export_memory(&db, &org_id("big")).await;
}

/// Raw batched inserts (the writer's job without the queue), events/s.
async fn insert_speed(db: &Db) {
    let t = Instant::now();
    fill(db, &org_id("insert"), 100_000).await;
    println!("  batch insert: 100000 events in {:.2} s = {:.0} events/s", t.elapsed().as_secs_f64(), 100_000.0 / t.elapsed().as_secs_f64());
}

#[derive(Clone, Copy)]
enum Only {
    Enqueue,
    Insert,
    Ingest,
    IngestSealed,
}

impl Only {
    async fn run(self, db: &Db) {
        match self {
            Only::Enqueue => enqueue(db).await,
            Only::Insert => insert_speed(db).await,
            Only::Ingest => ingest(db, INGEST_EVENTS).await,
            Only::IngestSealed => ingest_sealed(db, INGEST_EVENTS).await,
        }
    }
}

#[tokio::main]
async fn main() {
    // `enqueue-only` / `insert-only` / `ingest-only` / `ingest-sealed`: just that figure, on
    // each database.
    let modes = [("enqueue-only", Only::Enqueue), ("insert-only", Only::Insert), ("ingest-only", Only::Ingest), ("ingest-sealed", Only::IngestSealed)];
    for (arg, only) in modes {
        if std::env::args().any(|a| a == arg) {
            only.run(&testing::sqlite().await).await;
            match std::env::var(testing::POSTGRES_URL_VAR) {
                Ok(url) if !url.is_empty() => only.run(&testing::postgres(&url).await).await,
                _ => println!("postgres: skipped ({} not set)", testing::POSTGRES_URL_VAR),
            }
            return;
        }
    }
    let rows: usize = std::env::var("AUDIT_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let sqlite = testing::sqlite().await;
    run("sqlite (WAL)", sqlite, rows).await;
    match std::env::var(testing::POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => run("postgres", testing::postgres(&url).await, rows).await,
        _ => println!("postgres: skipped ({} not set)", testing::POSTGRES_URL_VAR),
    }
}
