//! File uploads through the real router: one 100 MB upload streamed to local disk (target
//! ≥ 200 MB/s, memory flat: peak RSS reported before and after), then 1,000 concurrent small
//! uploads, after which the org's meter must equal the sum of its files.
//!
//! `cargo bench -p server --bench files` — on SQLite, and on PostgreSQL too when
//! `CHRONICLE_TEST_POSTGRES_URL` is set.

use app::backend::{demo, testing, Config};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::time::Instant;

const BIG: usize = 100 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// Peak resident memory of this process so far (the server and the client both live here).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

async fn run(backend: &str, db: app::backend::db::Db) {
    let data_dir = std::env::temp_dir().join(format!("chronicle-test-bench-{}", app::backend::db::new_id()));
    let config = Config { data_dir: data_dir.clone(), max_file_bytes: 2 * BIG as u64, ..Config::default() };
    let metrics = server::metrics::Metrics::new();
    let options = LeptosOptions::builder().output_name("chronicle").build();
    let state = server::app_state(db.clone(), options, config, &metrics);
    server::background::start(&state);
    demo::seed(&db, &state.config, &state.audit).await.unwrap();
    let (org,): (String,) = sqlx::query_as("SELECT id FROM orgs WHERE name = 'Acme'").fetch_one(db.pool()).await.unwrap();
    sqlx::query("UPDATE orgs SET storage_quota_bytes = 10000000000 WHERE id = $1").bind(&org).execute(db.pool()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server::router(state, metrics).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let login = http.post(format!("{base}/api/v1/auth/login")).json(&serde_json::json!({ "email": "owner@acme.test", "password": "chronicle-demo" })).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    println!("{backend}:");

    let before = peak_rss_mib();
    let chunks = futures_util::stream::iter((0..BIG / CHUNK).map(|i| Ok::<_, std::io::Error>(vec![(i % 251) as u8; CHUNK])));
    let started = Instant::now();
    let res = http
        .post(format!("{base}/api/v1/orgs/{org}/files?name=big.bin"))
        .header("cookie", &cookie)
        .header("content-length", BIG)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let secs = started.elapsed().as_secs_f64();
    println!("  100 MB upload: {:.0} MB/s ({secs:.2} s); peak RSS {before:.0} MiB before, {:.0} MiB after", BIG as f64 / 1e6 / secs, peak_rss_mib());

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (http, url, cookie) = (http.clone(), format!("{base}/api/v1/orgs/{org}/files?name=small-{i}.txt"), cookie.clone());
        tasks.spawn(async move { http.post(url).header("cookie", cookie).body(vec![b'x'; 100 + i % 900]).send().await.map(|r| r.status().as_u16()) });
    }
    let statuses = tasks.join_all().await;
    let ok = statuses.iter().filter(|s| matches!(s, Ok(201))).count();
    let (used,): (i64,) = sqlx::query_as("SELECT storage_used_bytes FROM orgs WHERE id = $1").bind(&org).fetch_one(db.pool()).await.unwrap();
    let (sum,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE org_id = $1").bind(&org).fetch_one(db.pool()).await.unwrap();
    println!(
        "  1,000 concurrent small uploads: {ok} stored in {:.2} s; meter {used} = sum of files {sum}: {}",
        started.elapsed().as_secs_f64(),
        if used == sum { "no drift" } else { "DRIFT" }
    );
    let _ = std::fs::remove_dir_all(data_dir);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for (backend, db) in testing::test_databases().await {
            run(backend, db).await;
        }
    });
}
