//! Real server processes over one database: an acknowledged action's audit event survives a
//! `kill -9`, and two instances deliver each outbox mail once.

mod common;

use app::backend::db::{new_id, Db};
use common::smtp_sink;
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
    async fn start(database_url: &str, smtp_url: Option<&str>) -> Instance {
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
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = smtp_url {
            cmd.env("SMTP_URL", url);
        }
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
        let server = Instance::start(&url, None).await;
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

        let restarted = Instance::start(&url, None).await;
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

/// Two instances share the outbox: each key alert reaches the relay exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_send_each_mail_once() {
    for (backend, url) in test_database_urls().await {
        let (smtp, mut inbox) = smtp_sink().await;
        let a = Instance::start(&url, Some(&smtp)).await;
        let b = Instance::start(&url, Some(&smtp)).await;
        let http = reqwest::Client::new();
        let (cookie, org) = a.login(&http).await;
        for i in 0..10 {
            let res = http
                .post(format!("{}/api/v1/orgs/{org}/api-keys", if i % 2 == 0 { &a.base } else { &b.base }))
                .header("cookie", &cookie)
                .json(&json!({ "name": format!("key {i}"), "scopes": ["audit:read"] }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201, "[{backend}]");
        }
        // Acme has one owner: one alert per key. Wait for them, then a few more delivery rounds.
        let mut subjects = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while subjects.len() < 10 && Instant::now() < deadline {
            if let Ok(Some(mail)) = tokio::time::timeout(Duration::from_millis(500), inbox.recv()).await {
                subjects.push(mail.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_owned());
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        while let Ok(mail) = inbox.try_recv() {
            subjects.push(mail.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_owned());
        }
        subjects.sort();
        let mut distinct = subjects.clone();
        distinct.dedup();
        assert_eq!((subjects.len(), distinct.len()), (10, 10), "[{backend}] {subjects:#?}");
        drop((a, b));
    }
}
