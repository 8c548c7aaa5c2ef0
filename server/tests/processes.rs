//! Real server processes over one database: an acknowledged action's audit event survives a
//! `kill -9`; two instances check at most 5 passwords of a parallel burst. The background jobs
//! (`backend/jobs`, whose shape `jobs::tests` checks) once per kind: with peers slower than
//! the lease, each mail and each stream event goes out once (events in `seq` order); each
//! engagement event is forwarded once; one audit chain is sealed; each execution runs once and
//! each schedule slot fires once; a run cut off by `kill -9` is failed with the reason.

mod common;

use app::backend::db::{new_id, Db};
use common::slow_smtp_sink;
use app::backend::testing::test_database_urls;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `server --demo` process on a loopback port over `database_url`.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    async fn start(database_url: &str) -> Instance {
        Instance::start_with(database_url, &[]).await
    }

    /// A server with these extra environment variables.
    async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("chronicle-test-proc-{}", new_id()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
        cmd.arg("--demo")
            .env("DATABASE_URL", database_url)
            .env("CHRONICLE_DATA_DIR", &dir)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "chronicle")
            .env("RUST_LOG", "warn")
            .env_remove("SMTP_URL")
            .env_remove("CHRONICLE_SECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        cmd.envs(env.iter().copied());
        let child = cmd.spawn().expect("start the server binary");
        let instance = Instance { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{}/healthz", instance.base)).await {
                if res.status() == 200 {
                    return instance;
                }
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`: no shutdown, no drain.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn login(&self, http: &reqwest::Client) -> (String, String) {
        let res = http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "email": "owner@acme.test", "password": "chronicle-demo" }))
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        (cookie, body["orgs"][0]["id"].as_str().unwrap().to_owned())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 8 clients create workflows as fast as they can; the server is killed with SIGKILL in the
/// middle. After a restart, every create that was answered 201 has its `workflow.created`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_audit_event_is_lost_to_kill_9() {
    for (backend, url) in test_database_urls().await {
        let server = Instance::start(&url).await;
        let http = reqwest::Client::new();
        let (cookie, org) = server.login(&http).await;
        let stop_at = Instant::now() + Duration::from_secs(3);
        let mut clients = tokio::task::JoinSet::new();
        for c in 0..8 {
            let (http, cookie, path) = (http.clone(), cookie.clone(), format!("{}/api/v1/orgs/{org}/workflows", server.base));
            clients.spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if Instant::now() > stop_at {
                        break;
                    }
                    let body = json!({ "name": format!("Load {c}-{i}"), "nodes": [], "edges": [] });
                    match http.post(&path).header("cookie", &cookie).json(&body).send().await {
                        Ok(res) if res.status() == 201 => match res.json::<Value>().await {
                            Ok(wf) => acknowledged.push(wf["id"].as_str().unwrap().to_owned()),
                            Err(_) => break, // killed while answering: not acknowledged
                        },
                        _ => break, // the server is gone
                    }
                }
                acknowledged
            });
        }
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        server.kill();
        let acknowledged: Vec<String> = clients.join_all().await.into_iter().flatten().collect();
        assert!(acknowledged.len() > 50, "[{backend}] only {} creates before the kill", acknowledged.len());

        let restarted = Instance::start(&url).await;
        let db = Db::connect(&url).await.unwrap();
        let stored: Vec<(String,)> = sqlx::query_as("SELECT resource_id FROM audit_events WHERE action = 'workflow.created'")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let stored: std::collections::HashSet<String> = stored.into_iter().map(|r| r.0).collect();
        let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(lost.is_empty(), "[{backend}] {} of {} acknowledged creates have no event", lost.len(), acknowledged.len());
        eprintln!("[{backend}] {} acknowledged creates before kill -9, 0 events lost", acknowledged.len());
        drop(restarted);
        db.close().await;
    }
}

/// 100 wrong passwords for one account at once, half through each of two instances: at most
/// 5 reach the password check, and the right password is then refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_check_at_most_five_passwords_of_a_burst() {
    for (backend, url) in test_database_urls().await {
        let a = Instance::start(&url).await;
        let b = Instance::start(&url).await;
        let http = reqwest::Client::new();
        let attempt = |i: usize, password: &'static str| {
            http.post(format!("{}/api/v1/auth/login", if i % 2 == 0 { &a.base } else { &b.base }))
                .json(&json!({ "email": "admin@acme.test", "password": password }))
                .send()
        };
        let burst = futures_util::future::join_all((0..100).map(|i| attempt(i, "wrong-password"))).await;
        let statuses: Vec<u16> = burst.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert!(checked <= 5 && statuses.iter().all(|s| *s == 401 || *s == 429), "[{backend}] {checked} checked: {statuses:?}");
        for i in 0..2 {
            assert_eq!(attempt(i, "chronicle-demo").await.unwrap().status(), 429, "[{backend}] the right password after the burst");
        }
        eprintln!("[{backend}] two instances: {checked} of 100 parallel attempts checked");
        drop((a, b));
    }
}

/// Two instances forward one org's engagement to PostHog: 60 opens recorded through both,
/// each event reaches the (loopback) PostHog exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_forward_each_engagement_event_once() {
    use std::sync::{Arc, Mutex};
    for (backend, url) in test_database_urls().await {
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/batch/",
            axum::routing::post(move |body: axum::Json<Value>| async move {
                let uuids = body.0["batch"].as_array().unwrap().iter().map(|e| e["uuid"].as_str().unwrap().to_owned());
                sink.lock().unwrap().extend(uuids);
                "ok"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // One deployment: the same secret (the PostHog key is sealed under it) and tracking key.
        let env = [("CHRONICLE_SECRET", "shared-deployment-secret"), ("CHRONICLE_TRACKING_KEYS", "shared-tracking-key"), ("CHRONICLE_EGRESS_ALLOW_PRIVATE", "1")];
        let a = Instance::start_with(&url, &env).await;
        let b = Instance::start_with(&url, &env).await;
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        let patch = json!({ "capture_engagement_events": true, "posthog_host": host, "posthog_api_key": "phc_two" });
        let res = http.patch(format!("{}/api/v1/orgs/{org}/settings", b.base)).header("cookie", &cookie).json(&patch).send().await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        let keys = app::backend::tracking::codes::Keys::new(&["shared-tracking-key"], false);
        for i in 0..60 {
            let payload = app::backend::tracking::codes::Payload { o: org.clone(), w: "w".into(), x: "x".into(), m: format!("m{i}"), d: format!("d{i}"), u: None };
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            assert_eq!(http.get(format!("{base}/t/o/{}", keys.sign(&payload))).send().await.unwrap().status(), 200);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while received.lock().unwrap().len() < 60 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A few more rounds of both loops: nothing is sent again.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut uuids = received.lock().unwrap().clone();
        uuids.sort();
        let total = uuids.len();
        uuids.dedup();
        assert_eq!((total, uuids.len()), (60, 60), "[{backend}] each event forwarded once");
        drop((a, b));
    }
}

/// Two instances seal one trail: events written through both while both sealers run; the
/// chain verifies, every event sealed once, in seq order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_seal_one_chain() {
    for (backend, url) in test_database_urls().await {
        let env = [("CHRONICLE_SIGNING_KEY", "0707070707070707070707070707070707070707070707070707070707070707")];
        let a = Instance::start_with(&url, &env).await;
        let b = Instance::start_with(&url, &env).await;
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..60 {
            let (http, cookie) = (http.clone(), cookie.clone());
            let url = format!("{}/api/v1/orgs/{org}/workflows", if i % 2 == 0 { &a.base } else { &b.base });
            writes.spawn(async move {
                let body = json!({ "name": format!("Sealed {i}"), "nodes": [], "edges": [] });
                http.post(url).header("cookie", cookie).json(&body).send().await.unwrap().status().as_u16()
            });
        }
        assert!(writes.join_all().await.iter().all(|s| *s == 201), "[{backend}]");
        let db = Db::connect(&url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (unsealed,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {} WHERE hash IS NULL", common::audit_events_with_hashes(&db)))).fetch_one(db.pool()).await.unwrap();
            if unsealed == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "[{backend}] {unsealed} events never sealed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Counted before verifying: the check itself is recorded (audit_log.verified) after it.
        let (created,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE org_id = $1").bind(&org).fetch_one(db.pool()).await.unwrap();
        let res = http.get(format!("{}/api/v1/orgs/{org}/audit/verify", b.base)).header("cookie", &cookie).send().await.unwrap();
        let report: Value = res.json().await.unwrap();
        assert_eq!(report["ok"], true, "[{backend}] {report}");
        assert_eq!(report["events_checked"].as_i64(), Some(created), "[{backend}] every event of the org is in the chain");
        drop((a, b));
    }
}

/// Polls the database until no execution is queued or running.
async fn drained(db: &Db, backend: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE status IN ('queued', 'running')").fetch_one(db.pool()).await.unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "[{backend}] {open} runs still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two instances share one queue: 60 runs queued through both, each executed exactly once
/// (one mail and two steps each); and a schedule slot both instances see fires once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_run_each_execution_once_and_fire_each_slot_once() {
    for (backend, url) in test_database_urls().await {
        let a = Instance::start(&url).await;
        let b = Instance::start(&url).await;
        let db = Db::connect(&url).await.unwrap();
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        let node = |id: &str, kind: &str, config: Value| json!({ "id": id, "type": kind, "data": { "label": id, "config": config } });
        let create = |body: Value| http.post(format!("{}/api/v1/orgs/{org}/workflows", a.base)).header("cookie", &cookie).json(&body).send();
        let mailer = json!({ "name": "Mailer", "nodes": [node("t", "manual_trigger", json!({})), node("m", "send_email", json!({"to": "ops@acme.test", "subject": "Once", "body": "b"}))],
                              "edges": [{"id": "e", "source": "t", "target": "m"}] });
        let wf: Value = create(mailer).await.unwrap().json().await.unwrap();
        let scheduled = json!({ "name": "Every minute", "enabled": true, "nodes": [node("s", "schedule_trigger", json!({"cron": "* * * * *"}))], "edges": [] });
        assert_eq!(create(scheduled).await.unwrap().status(), 201);
        let slots_before = chrono::Utc::now();

        let runs = 60;
        for i in 0..runs {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            let res = http.post(format!("{base}/api/v1/orgs/{org}/workflows/{}/executions", wf["id"].as_str().unwrap())).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 202, "[{backend}]");
        }
        drained(&db, backend).await;
        let (succeeded,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE trigger_kind = 'api' AND status = 'succeeded'").fetch_one(db.pool()).await.unwrap();
        let (steps,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM execution_steps s JOIN executions e ON e.id = s.execution_id WHERE e.trigger_kind = 'api'").fetch_one(db.pool()).await.unwrap();
        let (mails,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE subject = 'Once'").fetch_one(db.pool()).await.unwrap();
        assert_eq!((succeeded, steps, mails), (runs, 2 * runs, runs), "[{backend}] each run executed exactly once");

        // Wait for the next minute's slot to pass (plus a scheduler tick), then count.
        let next_minute = slots_before.timestamp() / 60 * 60 + 60;
        let wait = (next_minute - chrono::Utc::now().timestamp()).max(0) as u64 + 2 * app::backend::executions::schedule::TICK.as_secs();
        tokio::time::sleep(Duration::from_secs(wait)).await;
        drained(&db, backend).await;
        let fired: Vec<(String,)> = sqlx::query_as("SELECT slot FROM schedule_firings").fetch_all(db.pool()).await.unwrap();
        let (scheduled_runs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE trigger_kind = 'schedule'").fetch_one(db.pool()).await.unwrap();
        assert!(!fired.is_empty(), "[{backend}] the slot fired");
        let mut distinct = fired.clone();
        distinct.dedup();
        assert_eq!((fired.len(), scheduled_runs as usize), (distinct.len(), fired.len()), "[{backend}] one run per slot: {fired:?}");
        drop((a, b));
    }
}

/// A run mid-way when its process is killed is marked failed with the reason (not re-run);
/// a run still queued is run by the restarted instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_cut_off_by_kill_9_is_failed_with_the_reason() {
    // A target that never answers within the lease: the run is mid-way when the kill comes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route("/slow", axum::routing::any(|| async {
            tokio::time::sleep(Duration::from_secs(600)).await;
            "late"
        }));
        axum::serve(listener, app).await.unwrap();
    });
    for (backend, url) in test_database_urls().await {
        let a = Instance::start_with(&url, &[("CHRONICLE_EGRESS_ALLOW_PRIVATE", "1")]).await;
        let db = Db::connect(&url).await.unwrap();
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        let node = |id: &str, kind: &str, config: Value| json!({ "id": id, "type": kind, "data": { "label": id, "config": config } });
        let slow = json!({ "name": "Slow", "nodes": [node("t", "manual_trigger", json!({})), node("h", "http_request", json!({"url": target, "method": "GET"}))],
                           "edges": [{"id": "e", "source": "t", "target": "h"}] });
        let wf: Value = http.post(format!("{}/api/v1/orgs/{org}/workflows", a.base)).header("cookie", &cookie).json(&slow).send().await.unwrap().json().await.unwrap();
        let run: Value = http.post(format!("{}/api/v1/orgs/{org}/workflows/{}/executions", a.base, wf["id"].as_str().unwrap())).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
        let id = run["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status,): (String,) = sqlx::query_as("SELECT status FROM executions WHERE id = $1").bind(&id).fetch_one(db.pool()).await.unwrap();
            if status == "running" {
                break;
            }
            assert!(Instant::now() < deadline, "[{backend}] the run never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        a.kill();
        let _b = Instance::start(&url).await;
        let deadline = Instant::now() + app::backend::jobs::DEFAULT_LEASE * 3;
        loop {
            let (status, error): (String, Option<String>) = sqlx::query_as("SELECT status, error FROM executions WHERE id = $1").bind(&id).fetch_one(db.pool()).await.unwrap();
            if status == "failed" {
                assert!(error.unwrap_or_default().contains("stopped mid-way"), "[{backend}]");
                break;
            }
            assert_eq!(status, "running", "[{backend}] never run twice");
            assert!(Instant::now() < deadline, "[{backend}] the cut-off run was not marked failed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Peers slower than the lease (`CHRONICLE_JOB_LEASE_SECS=3`): an SMTP relay that takes 4 s
/// to accept a mail and a SIEM that takes 1 s per event, behind two instances. Every key
/// alert reaches the relay once, and every event reaches the stream once and in `seq` order:
/// leases are renewed while the work goes on, and progress is written item by item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_with_slow_peers_send_each_mail_and_event_once_in_order() {
    use std::sync::{Arc, Mutex};
    for (backend, url) in test_database_urls().await {
        let received: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
        let sink = received.clone();
        let siem = axum::Router::new().route(
            "/siem",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let seq = serde_json::from_str::<Value>(&body).unwrap()["seq"].as_i64().unwrap();
                sink.lock().unwrap().push((headers["webhook-id"].to_str().unwrap().to_owned(), seq));
                "ok"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("http://{}/siem", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, siem).await.unwrap() });
        let (smtp, mut inbox) = slow_smtp_sink(Duration::from_secs(4)).await;
        let env = [
            ("CHRONICLE_SECRET", "shared-deployment-secret"),
            ("CHRONICLE_EGRESS_ALLOW_PRIVATE", "1"),
            ("CHRONICLE_JOB_LEASE_SECS", "3"),
            ("SMTP_URL", smtp.as_str()),
        ];
        let a = Instance::start_with(&url, &env).await;
        let b = Instance::start_with(&url, &env).await;
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        let res = http.post(format!("{}/api/v1/orgs/{org}/audit/streams", b.base)).header("cookie", &cookie).json(&json!({ "url": target })).send().await.unwrap();
        assert_eq!(res.status(), 201, "[{backend}]");
        let start = res.json::<Value>().await.unwrap()["stream"]["cursor_seq"].as_i64().unwrap();
        const KEYS: usize = 6;
        for i in 0..KEYS {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            let res = http.post(format!("{base}/api/v1/orgs/{org}/api-keys")).header("cookie", &cookie).json(&json!({ "name": format!("slow {i}"), "scopes": ["audit:read"] })).send().await.unwrap();
            assert_eq!(res.status(), 201, "[{backend}]");
        }
        let db = Db::connect(&url).await.unwrap();
        let (mut subjects, deadline) = (Vec::new(), Instant::now() + Duration::from_secs(90));
        let want = loop {
            while let Ok(mail) = inbox.try_recv() {
                subjects.push(mail.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_owned());
            }
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id FROM {} WHERE org_id = $1 AND seq > $2 AND hash IS NOT NULL ORDER BY seq", common::audit_events_with_hashes(&db))))
                .bind(&org)
                .bind(start)
                .fetch_all(db.pool())
                .await
                .unwrap();
            let got: Vec<String> = received.lock().unwrap().iter().map(|r| r.0.clone()).collect();
            if subjects.len() >= KEYS && rows.len() >= 1 + KEYS && rows.iter().all(|r| got.contains(&r.0)) {
                break rows.into_iter().map(|r| r.0).collect::<Vec<_>>();
            }
            assert!(Instant::now() < deadline, "[{backend}] {} mails; {} of {} events delivered", subjects.len(), got.len(), rows.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // Longer than two leases: nothing is sent again.
        tokio::time::sleep(Duration::from_secs(7)).await;
        while let Ok(mail) = inbox.try_recv() {
            subjects.push(mail.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_owned());
        }
        subjects.sort();
        let mut distinct = subjects.clone();
        distinct.dedup();
        assert_eq!((subjects.len(), distinct.len()), (KEYS, KEYS), "[{backend}] each alert once: {subjects:#?}");
        let got = received.lock().unwrap().clone();
        let ids: Vec<String> = got.iter().map(|r| r.0.clone()).collect();
        assert_eq!(&ids[..want.len().min(ids.len())], &want[..], "[{backend}] each event once, in seq order");
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "[{backend}] no repeats, seq order: {got:?}");
        drop((a, b));
    }
}
