//! The scheduler's cost for one big enabled workflow: 1,000 nodes, 20 of them schedule
//! triggers on the same every-minute cron (the most a workflow may have). Per 5-second tick
//! without a due slot (reading and parsing the definitions), and per tick that fires a slot
//! (the run prepared once, not once per trigger).
//!
//! `cargo bench -p app --features ssr --bench scheduler` — on SQLite, and on PostgreSQL too
//! when `CHRONICLE_TEST_POSTGRES_URL` is set.

use app::backend::audit::Recorder;
use app::backend::executions::{schedule, Runner};
use app::backend::sessions::ClientInfo;
use app::backend::workflows::{self, SaveInput};
use app::backend::{orgs, testing, users, Acting};
use app::model::{Actor, VersionSource};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Instant;

async fn run(backend: &str, db: app::backend::db::Db) {
    let audit = Recorder::start(db.clone(), Arc::new(|| {}));
    let user = users::create_user(&db, "ada@bench.test", "Ada", "a-long-bench-password").await.unwrap();
    let org = orgs::create_org(&db, "Bench", &user.id).await.unwrap();
    let client = ClientInfo::default();
    let by = Acting { actor: Actor::user(&user), client: &client, audit: &audit };
    let mut nodes: Vec<serde_json::Value> =
        (0..20).map(|i| serde_json::json!({"id": format!("s{i}"), "type": "schedule_trigger", "data": {"label": "Every minute", "config": {"cron": "* * * * *"}}})).collect();
    nodes.extend((0..980).map(|i| serde_json::json!({"id": format!("c{i}"), "type": "condition", "data": {"label": "Check", "config": {"expression": "n >= 0"}}})));
    let edges: Vec<serde_json::Value> = (1..980).map(|i| serde_json::json!({"id": format!("e{i}"), "source": format!("c{}", i - 1), "target": format!("c{i}")})).collect();
    let definition = serde_json::from_value(serde_json::json!({ "nodes": nodes, "edges": edges })).unwrap();
    let input = SaveInput { name: Some("Big".into()), definition, enabled: Some(true), label: None, base_version: None, author_role: app::model::Role::Admin };
    workflows::save(&db, &org.id, None, input, &by, VersionSource::Create).await.unwrap();
    let runner = Runner::new(); // no workers: runs stay queued
    let minute = |m: i64| Utc.timestamp_opt(1_800_000_000 + m * 60, 0).unwrap();
    println!("{backend}: one enabled workflow of 1,000 nodes, 20 every-minute schedule triggers");

    let rounds = 50;
    let started = Instant::now();
    for m in 0..rounds {
        // Inside a minute: no slot is due, the definitions are read and parsed.
        let at = minute(m) + chrono::Duration::seconds(10);
        assert_eq!(schedule::fire_due(&db, &audit, &runner, at, at + chrono::Duration::seconds(5)).await.unwrap(), 0);
    }
    let idle = started.elapsed() / rounds as u32;
    let started = Instant::now();
    for m in 0..rounds {
        // Across a minute: one slot due, fired once for all 20 triggers.
        let fired = schedule::fire_due(&db, &audit, &runner, minute(m) - chrono::Duration::seconds(5), minute(m)).await.unwrap();
        assert_eq!(fired, 1);
    }
    let firing = started.elapsed() / rounds as u32;
    println!("  a tick with no slot due: {:.2} ms; a tick that fires the minute's slot (one run queued): {:.2} ms", idle.as_secs_f64() * 1e3, firing.as_secs_f64() * 1e3);
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
