//! A real Chronicle server on a loopback port, over a real database, with the demo data.

#![allow(dead_code)] // each test binary uses its own part of this harness

use app::backend::db::Db;
use app::backend::{demo, Config};
use leptos::config::LeptosOptions;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use std::net::SocketAddr;

#[allow(unused_imports)] // not every test binary lists databases
pub use app::backend::testing::test_databases;

/// Who sends a request in a role-table test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Owner,
    Admin,
    Member,
    /// Owner of another org (Globex), calling into Acme.
    OtherOrg,
    Anonymous,
}

impl As {
    pub const ALL: [As; 5] = [As::Owner, As::Admin, As::Member, As::OtherOrg, As::Anonymous];

    pub fn email(self) -> Option<&'static str> {
        match self {
            As::Owner => Some("owner@acme.test"),
            As::Admin => Some("admin@acme.test"),
            As::Member => Some("member@acme.test"),
            As::OtherOrg => Some("owner@globex.test"),
            As::Anonymous => None,
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub db: Db,
    pub data_dir: std::path::PathBuf,
    pub http: reqwest::Client,
    pub acme: String,
    pub globex: String,
    cookies: Vec<(As, String)>,
}

impl TestServer {
    /// Starts a server over `db`, seeds the demo data and signs every demo user in.
    pub async fn start(db: Db) -> TestServer {
        TestServer::start_with_smtp(db, None).await
    }

    /// As [`TestServer::start`], delivering the outbox to `smtp_url` when given.
    pub async fn start_with_smtp(db: Db, smtp_url: Option<String>) -> TestServer {
        TestServer::start_with_config(db, Config { smtp_url, ..Config::default() }).await
    }

    /// As [`TestServer::start`] with `config`. Workflow steps may reach loopback servers here
    /// (the tests' targets); egress refusal has its own tests.
    pub async fn start_with_config(db: Db, config: Config) -> TestServer {
        // A data directory of its own (file contents live there); test.sh removes chronicle-test-*.
        let data_dir = std::env::temp_dir().join(format!("chronicle-test-data-{}", app::backend::db::new_id()));
        let config = Config { data_dir, egress_allow_private: true, ..config };
        let metrics = server::metrics::Metrics::new();
        let options = LeptosOptions::builder().output_name("chronicle").build();
        let data_dir = config.data_dir.clone();
        let state = server::app_state(db.clone(), options, config, &metrics);
        server::background::start(&state);
        demo::seed(&db, &state.config, &state.audit).await.expect("seed demo data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let app = server::router(state, metrics).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let mut server = TestServer {
            base: format!("http://{addr}"),
            db,
            data_dir,
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            acme: String::new(),
            globex: String::new(),
            cookies: Vec::new(),
        };
        for who in As::ALL {
            let Some(email) = who.email() else { continue };
            let (cookie, body) = server.login(email, demo::DEMO_PASSWORD).await;
            let org = body["orgs"][0]["id"].as_str().unwrap().to_owned();
            match who {
                As::Owner => server.acme = org,
                As::OtherOrg => server.globex = org,
                _ => {}
            }
            server.cookies.push((who, cookie));
        }
        server
    }

    /// Logs in and returns the `Cookie` header value and the answer's body.
    pub async fn login(&self, email: &str, password: &str) -> (String, Value) {
        let res = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {email}");
        let set_cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        (cookie, res.json().await.unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn cookie(&self, who: As) -> Option<&str> {
        self.cookies.iter().find(|(w, _)| *w == who).map(|(_, c)| c.as_str())
    }

    pub fn request(&self, who: As, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match self.cookie(who) {
            Some(cookie) => req.header("cookie", cookie),
            None => req,
        }
    }

    pub async fn get(&self, who: As, path: &str) -> Response {
        self.request(who, Method::GET, path).send().await.unwrap()
    }

    /// Creates an org key in Acme as its owner: the key and its secret.
    pub async fn create_org_key(&self, name: &str, scopes: &[&str]) -> (Value, String) {
        let res = self
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/api-keys", self.acme))
            .json(&serde_json::json!({ "name": name, "scopes": scopes }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        (body["key"].clone(), body["secret"].as_str().unwrap().to_owned())
    }

    pub async fn user_id(&self, email: &str) -> String {
        app::backend::users::find_by_email(&self.db, email).await.unwrap().unwrap().0.id
    }
}

/// `secret` with its last character changed: a near miss that is never the secret itself (one
/// fixed replacement letter equalled the last one about one run in sixty).
pub fn near_miss(secret: &str) -> String {
    let (head, last) = secret.split_at(secret.len() - 1);
    format!("{head}{}", if last == "x" { 'y' } else { 'x' })
}

/// Reads an error answer and checks it has the SPEC's shape.
pub async fn error_body(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON error body");
    let code = body["error"]["code"].as_str().expect("error.code").to_owned();
    let message = body["error"]["message"].as_str().expect("error.message").to_owned();
    (status, code, message)
}

/// One row of a role table: method, path (with `{acme}` and `{fresh}`), body, and the
/// status expected for [owner, admin, member, other org, anonymous].
pub type RoleRow = (reqwest::Method, String, Option<Value>, [u16; 5]);

/// Sends every row as every kind of caller and checks the status (and the JSON error shape).
/// `fresh` makes the resource `{fresh}` names anew for each call, so destructive calls never
/// interfere with one another; `{fresh}` in a body is the same value (a unique name).
pub async fn assert_role_table<F, Fut>(s: &TestServer, backend: &str, table: &[RoleRow], fresh: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    for (method, template, body, expected) in table {
        for (who, want) in As::ALL.into_iter().zip(expected) {
            let fresh = fresh().await;
            let path = template.replace("{acme}", &s.acme).replace("{fresh}", &fresh);
            let mut req = s.request(who, method.clone(), &path);
            if let Some(body) = body {
                let body: Value = serde_json::from_str(&body.to_string().replace("{fresh}", &fresh)).unwrap();
                req = req.json(&body);
            }
            let res = req.send().await.unwrap();
            let got = res.status().as_u16();
            assert_eq!(got, *want, "[{backend}] {method} {template} as {who:?}");
            if got >= 400 {
                let (_, code, message) = error_body(res).await;
                assert!(!code.is_empty() && !message.is_empty());
            }
        }
    }
}

/// Polls the org's trail (the recorder writes in the background) until `want` events match.
pub async fn audit_events(s: &TestServer, query: &str, want: usize) -> Vec<Value> {
    for _ in 0..100 {
        let page: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?{query}", s.acme)).await.json().await.unwrap();
        let events = page["events"].as_array().unwrap().clone();
        if events.len() >= want {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {want} audit events for {query}");
}

/// The value of one series on `/metrics` (0 when absent).
pub async fn metric(s: &TestServer, name: &str, labels: &str) -> f64 {
    let text = s.get(As::Anonymous, "/metrics").await.text().await.unwrap();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A minimal SMTP sink on a loopback port: accepts every mail and hands its text over.
pub async fn smtp_sink() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    slow_smtp_sink(std::time::Duration::ZERO).await
}

/// [`smtp_sink`], taking `delay` to accept each mail (after its text arrived).
pub async fn slow_smtp_sink(delay: std::time::Duration) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut in_data = false;
                let mut mail = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            tokio::time::sleep(delay).await;
                            tx.send(std::mem::take(&mut mail)).ok();
                            write.write_all(b"250 queued\r\n").await.ok();
                        } else {
                            mail.push_str(&line);
                            mail.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (url, rx)
}

/// The audit events with their hashes as a FROM clause: SQLite keeps the hashes in the event
/// row, PostgreSQL in `audit_seals` (see `store::events`). `hash IS NULL`: not sealed yet.
pub fn audit_events_with_hashes(db: &Db) -> &'static str {
    db.dialect().audit_events()
}

/// TOTP codes of an `otpauth://` URI as `pyotp` computes them (scripts/interop_check.py):
/// `{previous, current, next, step}`, an implementation independent of ours.
pub fn totp_codes(uri: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/interop_check.py");
    let out = std::process::Command::new("python3").arg(script).arg("totp").arg(uri).output().expect("python3 runs (scripts/test.sh installs pyotp)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let codes: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("interop_check totp printed {stdout:?}; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(codes["ok"], true, "{codes}");
    codes
}

/// A 6-digit code that none of `codes` (previous, current, next) is: surely wrong.
pub fn wrong_code(codes: &Value) -> &'static str {
    ["123456", "654321", "111111"].into_iter().find(|c| ["previous", "current", "next"].iter().all(|k| codes[k] != *c)).unwrap()
}
