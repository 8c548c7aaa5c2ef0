//! Executions: enqueue-to-start latency on an idle instance (target p95 < 50 ms), and how fast
//! 1,000 queued trivial runs drain (target ≥ 200 runs/s), with the server's 4 workers.
//!
//! `cargo bench -p app --features ssr --bench executions` — on SQLite, and on PostgreSQL too
//! when `CHRONICLE_TEST_POSTGRES_URL` is set.

use app::backend::audit::Recorder;
use app::backend::db::{now, Db};
use app::backend::executions::engine::Context;
use app::backend::executions::{self, Origin, Runner, Trigger};
use app::backend::sessions::ClientInfo;
use app::backend::workflows::{self, SaveInput};
use app::backend::{orgs, testing, users, Acting, Config};
use app::model::{Actor, VersionSource};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 4;

fn micros(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_micros()
}

async fn run(backend: &str, db: Db) {
    let audit = Recorder::start(db.clone(), Arc::new(|| {}));
    let user = users::create_user(&db, "ada@bench.test", "Ada", "a-long-bench-password").await.unwrap();
    let org = orgs::create_org(&db, "Bench", &user.id).await.unwrap();
    let client = ClientInfo::default();
    let by = Acting { actor: Actor::user(&user), client: &client, audit: &audit };
    let definition = serde_json::from_value(serde_json::json!({
        "nodes": [{"id": "t", "type": "manual_trigger", "data": {"label": "Start", "config": {}}},
                  {"id": "c", "type": "condition", "data": {"label": "Check", "config": {"expression": "n >= 0"}}}],
        "edges": [{"id": "e", "source": "t", "target": "c"}]
    }))
    .unwrap();
    let input = SaveInput { name: Some("Trivial".into()), definition, enabled: None, label: None, base_version: None, author_role: app::model::Role::Admin };
    let wf = workflows::save(&db, &org.id, None, input, &by, VersionSource::Create).await.unwrap().workflow;
    let origin = Origin::of_caller(&app::backend::auth::Caller {
        user: Some(user.clone()),
        credential: app::backend::auth::Credential::Session { id: "bench".into() },
        memberships: Vec::new(),
        second_factor: false,
    });
    let trigger = |runner: Runner| {
        let (db, audit, origin, org, id) = (db.clone(), audit.clone(), origin.clone(), org.id.clone(), wf.id.clone());
        async move {
            let payload = Some(serde_json::json!({ "n": 1 }));
            executions::start(&db, &audit, &runner, Some(&org), &id, Trigger::Api, origin, payload, None).await.unwrap()
        }
    };
    println!("{backend}:");

    // 1,000 runs queued while no worker runs, then the workers start: drain rate.
    let queued_runner = Runner::new();
    for _ in 0..1000 {
        trigger(queued_runner.clone()).await;
    }
    let config = Arc::new(Config::default());
    let runner = Runner::new();
    let started = Instant::now();
    let tracking = Arc::new(app::backend::tracking::Tracking::start(db.clone(), &config, Default::default()));
    runner.spawn(app::backend::jobs::Jobs::on(&db), Context::new(db.clone(), config, audit.clone(), tracking, "http://127.0.0.1:3000".into()), WORKERS);
    loop {
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE status IN ('queued', 'running')").fetch_one(db.pool()).await.unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let (ok,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE status = 'succeeded'").fetch_one(db.pool()).await.unwrap();
    assert_eq!(ok, 1000);
    println!("  1,000 queued trivial runs drained by {WORKERS} workers in {secs:.2} s: {:.0} runs/s", 1000.0 / secs);

    // Idle instance: one run at a time, 20 ms apart; queued → running, from the rows' times.
    let mut waits = Vec::new();
    for _ in 0..200 {
        let e = trigger(runner.clone()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (created, started): (String, Option<String>) =
            sqlx::query_as("SELECT created_at, started_at FROM executions WHERE id = $1").bind(&e.id).fetch_one(db.pool()).await.unwrap();
        let started = started.unwrap_or_else(now);
        waits.push(micros(&started) - micros(&created));
    }
    waits.sort();
    let ms = |us: i64| us as f64 / 1000.0;
    println!(
        "  enqueue-to-start on an idle instance (200 runs): median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(waits[100]),
        ms(waits[189]),
        ms(waits[199])
    );
    audit.shutdown().await;
}

#[tokio::main]
async fn main() {
    run("sqlite", testing::sqlite().await).await;
    match std::env::var(testing::POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => run("postgres", testing::postgres(&url).await).await,
        _ => println!("postgres: skipped ({} not set)", testing::POSTGRES_URL_VAR),
    }
}
