//! The public tracking endpoints under load: `/t/o/` (pixel, an open recorded) and `/t/c/`
//! (302 to a signed target, a click recorded) for an org that records engagement, served by
//! the real router on loopback with keep-alive connections (target ≥ 20k requests/s on 2
//! cores, the load generator sharing them), and code verification alone (target < 2 µs).
//!
//! `cargo bench -p server --bench tracking` — on SQLite, and on PostgreSQL too when
//! `CHRONICLE_TEST_POSTGRES_URL` is set.

use app::backend::tracking::codes::{Keys, Payload};
use app::backend::{demo, testing, Config};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const SECONDS: u64 = 5;

fn verify_cost() {
    let keys = Keys::new(&["old-key", "current-key"], true);
    let signer = Keys::new(&["current-key"], true);
    let code = signer.sign(&Payload { o: "01a2195a-c406-76c1-8cd4-0e00a96cc479".into(), w: "wf".into(), x: "ex".into(), m: "msg".into(), d: "user-42".into(), u: Some("https://example.com/a".into()) });
    let rounds = 200_000;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(keys.read(std::hint::black_box(&code)));
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("code verify (2 keys, the second matches, JSON parsed): {per:.2} µs");
}

async fn load(base: &str, paths: Vec<String>, what: &str) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(CONNECTIONS).build().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (client, done, errors, paths) = (client.clone(), done.clone(), errors.clone(), paths.clone());
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < stop {
                let ok = client.get(format!("{base}{}", paths[i % paths.len()])).send().await.map(|r| r.status().as_u16());
                match ok {
                    Ok(200 | 302) => done.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
                i += CONNECTIONS;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    println!("  {what}: {:.0} requests/s ({n} in {SECONDS} s, {} errors)", n as f64 / SECONDS as f64, errors.load(Ordering::Relaxed));
}

async fn run(backend: &str, db: app::backend::db::Db) {
    let config = Config { data_dir: std::env::temp_dir(), tracking_keys: vec!["bench-key".into()], ..Config::default() };
    let metrics = server::metrics::Metrics::new();
    let options = LeptosOptions::builder().output_name("chronicle").build();
    let state = server::app_state(db.clone(), options, config, &metrics);
    server::background::start(&state);
    demo::seed(&db, &state.config, &state.audit).await.unwrap();
    let (org,): (String,) = sqlx::query_as("SELECT id FROM orgs WHERE name = 'Acme'").fetch_one(db.pool()).await.unwrap();
    sqlx::query("UPDATE orgs SET capture_engagement_events = 1 WHERE id = $1").bind(&org).execute(db.pool()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server::router(state, metrics).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let keys = Keys::new(&["bench-key"], true);
    let code = |i: usize, u: Option<String>| keys.sign(&Payload { o: org.clone(), w: "wf".into(), x: "ex".into(), m: format!("m{i}"), d: format!("user-{i}"), u });
    println!("{backend}:");
    load(&base, (0..1000).map(|i| format!("/t/o/{}", code(i, None))).collect(), "GET /t/o/ (pixel)").await;
    load(&base, (0..1000).map(|i| format!("/t/c/{}", code(i, Some(format!("https://example.com/{i}"))))).collect(), "GET /t/c/ (302)").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (recorded,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM engagement_events").fetch_one(db.pool()).await.unwrap();
    println!("  engagement events recorded: {recorded}");
}

fn main() {
    verify_cost();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for (backend, db) in testing::test_databases().await {
            run(backend, db).await;
        }
    });
}
