//! Trail integrity figures: how fast the sealer chains stored events (it must keep up with
//! sustained ingest: see benches/audit.rs), how long verifying a chain takes, and how fast a
//! stream delivers the sealed trail to a receiver on loopback (signed, one POST per event).
//!
//! `cargo bench -p app --features ssr --bench integrity` — on SQLite, and on PostgreSQL too
//! when `CHRONICLE_TEST_POSTGRES_URL` is set. `INTEGRITY_BENCH_ROWS` changes the size (1M).

use app::backend::audit::signing::CheckpointSigner;
use app::backend::audit::{seal, store, streams, verify, Recorder};
use app::backend::sessions::ClientInfo;
use app::backend::telemetry::Telemetry;
use app::backend::{Acting, Config};
use app::backend::jobs::Jobs;
use app::backend::db::{format_time, Db};
use app::backend::testing;
use app::model::{Actor, AuditEvent, AuditResource};
use std::time::Instant;

async fn fill(db: &Db, org: &str, rows: usize) {
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..rows {
        let at = start + chrono::Duration::milliseconds(i as i64);
        batch.push(AuditEvent {
            id: format!("{:020}-{i:09}", at.timestamp_micros()),
            org_id: Some(org.into()),
            action: "workflow.updated".into(),
            actor: Actor { kind: "user".into(), id: Some("0193a4f2-7c1e-7d3b-9a6f-2b8c4d5e6f70".into()), label: "Ada Admin".into(), name: Some("Ada Admin".into()), email: Some("ada@acme.test".into()) },
            resource: AuditResource { kind: "workflow".into(), id: Some(format!("0193a4f2-7c1e-7d3b-9a6f-{i:012}")) },
            changes: vec![],
            metadata: serde_json::json!({ "n": i, "version": i % 50 }),
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
    // A trail that grew to 1M events has statistics (PostgreSQL's autovacuum analyses as it
    // grows); one loaded in seconds has none yet, and the planner then guesses an org's events
    // are few and reads the whole table for a page of the stream.
    sqlx::query("ANALYZE").execute(db.pool()).await.unwrap();
}

async fn run(backend: &str, db: Db, rows: usize) {
    let org = "0193a4f2-7c1e-7d3b-9a6f-2b8c4d5e0000";
    fill(&db, org, rows).await;
    let signer = CheckpointSigner::random();
    let started = Instant::now();
    let sealed = seal::seal_pending(&Jobs::on(&db), &signer).await.unwrap().unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!("{backend}: sealed {sealed} events in {secs:.2} s = {:.0} events/s ({} checkpoints)", sealed as f64 / secs, seal::checkpoints(&db, Some(org)).await.unwrap().len());
    let started = Instant::now();
    let report = verify::verify(&Jobs::on(&db), &signer, Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    println!("{backend}: verified {} events and {} checkpoints in {:.2} s", report.events_checked, report.checkpoints_checked, started.elapsed().as_secs_f64());
    stream(backend, &db, org, rows.min(50_000)).await;
}

/// Delivers the first `events` of the sealed trail to a loopback receiver.
async fn stream(backend: &str, db: &Db, org: &str, events: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let got = Arc::new(AtomicUsize::new(0));
    let counter = got.clone();
    let app = axum::Router::new().route(
        "/siem",
        axum::routing::post(move |_body: String| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siem", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let now = app::backend::db::now();
    sqlx::query("INSERT INTO orgs (id, name, created_at, updated_at) VALUES ($1, 'Bench', $2, $2)").bind(org).bind(&now).execute(db.pool()).await.unwrap();
    let config = Config { egress_allow_private: true, ..Config::default() };
    let audit = Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
    let client = ClientInfo { ip: None, user_agent: None };
    let by = Acting { actor: Actor::system("Bench"), client: &client, audit: &audit };
    let (created, _) = streams::create(db, &config, org, &url, "json", &by).await.unwrap();
    sqlx::query("UPDATE audit_streams SET cursor_seq = 0 WHERE id = $1").bind(&created.id).execute(db.pool()).await.unwrap();
    let http = app::backend::executions::egress::client(true);
    let telemetry = Telemetry::default();
    let jobs = Jobs::on(db);
    let started = Instant::now();
    while got.load(Ordering::Relaxed) < events {
        streams::deliver_one(&jobs, &config, &http, &telemetry).await.unwrap();
    }
    let (secs, sent) = (started.elapsed().as_secs_f64(), got.load(Ordering::Relaxed));
    println!("{backend}: stream delivered {sent} events in {secs:.2} s = {:.0} events/s", sent as f64 / secs);
    audit.shutdown().await;
}

fn main() {
    let rows: usize = std::env::var("INTEGRITY_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for (backend, db) in testing::test_databases().await {
            run(backend, db, rows).await;
        }
    });
}
