//! Executions over real HTTP on SQLite and PostgreSQL: triggers, the credential descriptor,
//! the executed hash, members' own runs, scopes, webhook keys, credentials (whose secret must
//! appear nowhere), the engine's steps against a real HTTP target, the scheduler's slot claim.

mod common;

use app::backend::executions::{schedule, Runner};
use common::{assert_role_table, audit_events, error_body, near_miss, test_databases, As, RoleRow, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Every log line of this test binary, so a test can check a secret is in none.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || Writer(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).ok();
        logs
    })
}

struct Writer(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A loopback HTTP target that answers with what it was sent (the Authorization header
/// included: the engine must redact it) and counts its calls.
async fn echo_target() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::HeaderMap;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::any(move |headers: HeaderMap, body: String| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                axum::Json(json!({ "auth": auth, "got": body }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

fn node(id: &str, kind: &str, config: Value) -> Value {
    json!({ "id": id, "type": kind, "position": {"x": 0, "y": 0}, "data": { "label": format!("Node {id}"), "config": config } })
}

fn edge(source: &str, target: &str) -> Value {
    json!({ "id": format!("{source}-{target}"), "source": source, "target": target })
}

async fn create_workflow(s: &TestServer, name: &str, nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    let res = s
        .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme))
        .json(&json!({ "name": name, "nodes": nodes, "edges": edges }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Polls a run until it has finished.
async fn finished(s: &TestServer, id: &str) -> Value {
    for _ in 0..200 {
        let run: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/executions/{id}", s.acme)).await.json().await.unwrap();
        if run["status"] == "succeeded" || run["status"] == "failed" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("execution {id} did not finish");
}

#[tokio::test]
async fn role_table() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let wf = create_workflow(&s, "Roles", vec![node("t", "manual_trigger", json!({}))], vec![]).await;
        let id = wf["id"].as_str().unwrap().to_owned();
        let table: Vec<RoleRow> = vec![
            (Method::POST, format!("/api/v1/orgs/{{acme}}/workflows/{id}/executions"), Some(json!({})), [202, 202, 202, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/executions".into(), None, [200, 200, 200, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/credentials".into(), None, [200, 200, 403, 404, 401]),
            (Method::POST, "/api/v1/orgs/{acme}/credentials".into(), Some(json!({"name": "{fresh}", "secret": "s", "allowed_hosts": ["127.0.0.1"]})), [201, 201, 403, 404, 401]),
            (Method::GET, format!("/api/v1/orgs/{{acme}}/workflows/{id}/webhook-keys"), None, [200, 200, 403, 404, 401]),
            (Method::POST, format!("/api/v1/orgs/{{acme}}/workflows/{id}/webhook-keys"), Some(json!({"name": "hook"})), [201, 201, 403, 404, 401]),
        ];
        // Credential names are unique per org: each call names a fresh one.
        let fresh = || async { app::backend::db::new_id() };
        assert_role_table(&s, backend, &table, fresh).await;
    }
}

#[tokio::test]
async fn a_run_is_attributed_to_its_key_and_the_exact_definition_after_revocation_and_edits() {
    captured_logs();
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (target, calls) = echo_target().await;
        let secret = format!("tok-{}", app::backend::db::new_id());
        let cred: Value = s
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/credentials", s.acme))
            .json(&json!({ "name": "Billing API", "secret": secret, "allowed_hosts": ["127.0.0.1"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(cred.get("secret").is_none() && !cred.to_string().contains(&secret), "[{backend}] never returned");
        let nodes = vec![
            node("t", "manual_trigger", json!({})),
            node("h", "http_request", json!({ "url": format!("{target}/charge"), "method": "POST", "body": "{\"a\":1}", "credential_id": cred["id"] })),
            node("c", "condition", json!({ "expression": "amount > 10" })),
            node("m", "send_email", json!({ "to": "ops@acme.test", "subject": "Big charge", "body": "Over 10" })),
            node("x", "code", json!({ "language": "javascript", "code": "1" })),
        ];
        let wf = create_workflow(&s, "Charge", nodes, vec![edge("t", "h"), edge("h", "c"), edge("c", "m"), edge("t", "x")]).await;
        let (wid, hash) = (wf["id"].as_str().unwrap().to_owned(), wf["content_hash"].as_str().unwrap().to_owned());
        let (key, key_secret) = s.create_org_key("CI deploy", &["workflows:execute", "workflows:read"]).await;
        let res = s
            .http
            .post(s.url(&format!("/api/v1/orgs/{}/workflows/{wid}/executions", s.acme)))
            .bearer_auth(&key_secret)
            .json(&json!({ "payload": { "amount": 12 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "[{backend}]");
        let queued: Value = res.json().await.unwrap();
        assert_eq!(queued["trigger"], "api");
        let run = finished(&s, queued["id"].as_str().unwrap()).await;
        assert_eq!(run["status"], "succeeded", "[{backend}] {run:#}");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let steps = run["steps"].as_array().unwrap();
        let summary: Vec<(&str, &str)> = steps.iter().map(|st| (st["node_id"].as_str().unwrap(), st["status"].as_str().unwrap())).collect();
        assert_eq!(summary, [("t", "succeeded"), ("h", "succeeded"), ("x", "skipped"), ("c", "succeeded"), ("m", "succeeded")], "[{backend}] edge order");
        assert_eq!(steps[1]["output"]["status"], 200);
        assert!(steps[1]["output"]["body"].as_str().unwrap().contains("Bearer [redacted]"), "[{backend}] {:?}", steps[1]["output"]);
        assert!(steps[2]["error"].as_str().unwrap().contains("does not run code"));
        let descriptor = json!({ "type": "org_api_key", "id": key["id"], "label": format!("CI deploy ({})", key["display"].as_str().unwrap()) });
        assert_eq!(run["credential"], descriptor, "[{backend}]");
        assert_eq!((run["executed_workflow_hash"].as_str().unwrap(), run["version"].as_i64()), (hash.as_str(), Some(1)));

        // The access is on the record, with who ran it; the mail is in the outbox.
        let accessed = audit_events(&s, "action=credential.accessed", 1).await;
        assert_eq!(accessed[0]["actor"]["id"], key["id"]);
        assert_eq!(accessed[0]["metadata"]["execution_id"], run["id"]);
        assert_eq!(accessed[0]["metadata"]["credential_name"], "Billing API");
        let executed = audit_events(&s, "action=workflow.executed", 1).await;
        assert_eq!(executed[0]["metadata"]["trigger"], "api");

        // Revoke the key, edit the workflow: the run still names the key and joins v1.
        let revoked = s.request(As::Owner, Method::DELETE, &format!("/api/v1/orgs/{}/api-keys/{}", s.acme, key["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(revoked.status(), 200);
        let mut edited = json!({ "nodes": wf["nodes"], "edges": wf["edges"] });
        for n in edited["nodes"].as_array_mut().unwrap() {
            if n["id"] == "c" {
                n["data"]["config"]["expression"] = json!("amount > 100");
            }
        }
        let res = s.request(As::Owner, Method::PUT, &format!("/api/v1/orgs/{}/workflows/{wid}", s.acme)).json(&edited).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let again = finished(&s, run["id"].as_str().unwrap()).await;
        assert_eq!(again["credential"], descriptor);
        let history: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/workflows/{wid}/history", s.acme)).await.json().await.unwrap();
        let v1 = history["versions"].as_array().unwrap().iter().find(|v| v["content_hash"] == again["executed_workflow_hash"]).unwrap();
        assert_eq!(v1["version"], 1, "[{backend}] the executed hash joins to the version that ran");

        // A false condition stops its branch: no mail.
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows/{wid}/executions", s.acme)).json(&json!({"payload": {"amount": 50}})).send().await.unwrap();
        let second = finished(&s, res.json::<Value>().await.unwrap()["id"].as_str().unwrap()).await;
        assert_eq!(second["version"], 2);
        assert_eq!(second["credential"]["type"], "session");
        assert_eq!(second["credential"]["label"], "Olive Owner");
        let ids: Vec<&str> = second["steps"].as_array().unwrap().iter().map(|st| st["node_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["t", "h", "x", "c"], "[{backend}]");

        // The secret is nowhere: no table, no export, no log line.
        assert_secret_absent(&s, &secret, backend).await;
    }
}

/// Every text column of every table, the audit export and this binary's log lines.
async fn assert_secret_absent(s: &TestServer, secret: &str, backend: &str) {
    use sqlx::Row;
    let pool = s.db.pool();
    let tables: Vec<(String,)> = if backend == "sqlite" {
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(pool).await.unwrap()
    } else {
        sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'").fetch_all(pool).await.unwrap()
    };
    assert!(tables.len() > 10);
    for (table,) in tables {
        let columns: Vec<String> = if backend == "sqlite" {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')"))).fetch_all(pool).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect()
        } else {
            sqlx::query("SELECT column_name::text FROM information_schema.columns WHERE table_name = $1").bind(&table).fetch_all(pool).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect()
        };
        // Blobs (SQLite) are compared as hex, as PostgreSQL casts bytea.
        let as_text = |c: &str| if backend == "sqlite" { format!("CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE CAST(\"{c}\" AS TEXT) END") } else { format!("CAST(\"{c}\" AS TEXT)") };
        let concat = columns.iter().map(|c| format!("COALESCE({}, '')", as_text(c))).collect::<Vec<_>>().join(" || '|' || ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {concat} FROM \"{table}\""))).fetch_all(pool).await.unwrap();
        for row in rows {
            let text: String = row.get::<String, _>(0).to_lowercase();
            assert!(!text.contains(&secret.to_lowercase()) && !text.contains(&hex::encode(secret)), "[{backend}] the credential's secret is stored in {table}");
        }
    }
    let export = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
    assert!(export.contains("credential.accessed") && !export.contains(secret), "[{backend}] export");
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(!logs.contains(secret), "[{backend}] a log line holds the secret");
}

#[tokio::test]
async fn members_see_their_own_runs_and_keys_need_the_execute_scope() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let wf = create_workflow(&s, "Mine", vec![node("t", "manual_trigger", json!({}))], vec![]).await;
        let path = format!("/api/v1/orgs/{}/workflows/{}/executions", s.acme, wf["id"].as_str().unwrap());
        let mut ids = Vec::new();
        for who in [As::Member, As::Owner] {
            let res = s.request(who, Method::POST, &path).send().await.unwrap();
            assert_eq!(res.status(), 202, "[{backend}] {who:?} runs with no body");
            ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let mine: Value = s.get(As::Member, &format!("/api/v1/orgs/{}/executions", s.acme)).await.json().await.unwrap();
        let listed: Vec<&str> = mine["executions"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(listed, [ids[0].as_str()], "[{backend}] a member sees their own run only");
        let theirs = s.get(As::Member, &format!("/api/v1/orgs/{}/executions/{}", s.acme, ids[1])).await;
        assert_eq!(theirs.status(), 403, "[{backend}] SPEC: executions of others, member 403");
        let all: Value = s.get(As::Admin, &format!("/api/v1/orgs/{}/executions", s.acme)).await.json().await.unwrap();
        assert_eq!(all["executions"].as_array().unwrap().len(), 2);
        let other = s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/executions/{}", s.acme, ids[1])).await;
        assert_eq!(other.status(), 404);

        // Filters and their errors.
        let by_type: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/executions?credential_type=session&limit=1", s.acme)).await.json().await.unwrap();
        assert_eq!(by_type["executions"].as_array().unwrap().len(), 1);
        assert!(by_type["next_cursor"].is_string());
        for (query, field) in [("status=done", "status"), ("credential_type=magic", "credential_type"), ("limit=0", "limit"), ("cursor=zz", "cursor")] {
            let (status, code, message) = error_body(s.get(As::Owner, &format!("/api/v1/orgs/{}/executions?{query}", s.acme)).await).await;
            assert_eq!((status, code.as_str()), (422, "invalid_input"), "[{backend}] {query}");
            assert!(message.contains(field), "{message}");
        }

        // The member deletes their account: their run still names them, as they were.
        let member_id = s.user_id("member@acme.test").await;
        let gone = s.request(As::Member, Method::DELETE, "/api/v1/me").json(&json!({"current_password": "chronicle-demo"})).send().await.unwrap();
        assert_eq!(gone.status(), 204, "[{backend}]");
        let run: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/executions/{}", s.acme, ids[0])).await.json().await.unwrap();
        assert_eq!(run["credential"], json!({"type": "session", "id": member_id, "label": "Max Member"}), "[{backend}] survives user deletion");

        let (_, read_only) = s.create_org_key("reader", &["workflows:read"]).await;
        let res = s.http.post(s.url(&path)).bearer_auth(&read_only).send().await.unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 403, "[{backend}]");
        assert!(message.contains("workflows:execute"), "{message}");
    }
}

#[tokio::test]
async fn bad_definitions_answer_422_naming_the_field_and_create_no_run() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let wf = create_workflow(
            &s,
            "Draft",
            vec![node("t", "manual_trigger", json!({})), node("h", "http_request", json!({ "method": "GET" }))],
            vec![edge("t", "h")],
        )
        .await;
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows/{}/executions", s.acme, wf["id"].as_str().unwrap())).send().await.unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 422, "[{backend}]");
        assert!(message.contains("nodes[h].config.url"), "{message}");
        let page: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/executions", s.acme)).await.json().await.unwrap();
        assert!(page["executions"].as_array().unwrap().is_empty(), "[{backend}] no execution row");

        let bad_condition = json!({ "name": "C", "enabled": true, "nodes": [node("t", "manual_trigger", json!({})), node("c", "condition", json!({"expression": "amount >> 3"}))], "edges": [] });
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&bad_condition).send().await.unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 422);
        assert!(message.contains("nodes[c].config.expression"), "{message}");

        // Another org's credential cannot be referenced, even in a draft.
        let theirs: Value = s
            .request(As::OtherOrg, Method::POST, &format!("/api/v1/orgs/{}/credentials", s.globex))
            .json(&json!({ "name": "Theirs", "secret": "x", "allowed_hosts": ["127.0.0.1"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let borrowing = json!({ "name": "B", "nodes": [node("h", "http_request", json!({"credential_id": theirs["id"]}))], "edges": [] });
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&borrowing).send().await.unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 422, "[{backend}]");
        assert!(message.contains("nodes[h].config.credential_id"), "{message}");
    }
}

#[tokio::test]
async fn webhook_keys_open_only_their_enabled_workflows_hook() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let hooked = json!({ "name": "Inbound", "enabled": true, "nodes": [node("w", "webhook_trigger", json!({"path": "orders", "method": "POST"})), node("c", "condition", json!({"expression": "total >= 5"}))], "edges": [edge("w", "c")] });
        let wf: Value = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&hooked).send().await.unwrap().json().await.unwrap();
        let wid = wf["id"].as_str().unwrap().to_owned();
        let keys_path = format!("/api/v1/orgs/{}/workflows/{wid}/webhook-keys", s.acme);
        let created: Value = s.request(As::Admin, Method::POST, &keys_path).json(&json!({"name": "Shop"})).send().await.unwrap().json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whk_") && app::backend::key_secret::well_formed(&secret), "[{backend}] {secret}");
        let key_id = created["key"]["id"].as_str().unwrap().to_owned();
        let listed: Value = s.get(As::Owner, &keys_path).await.json().await.unwrap();
        assert!(!listed.to_string().contains(&secret), "shown once");

        let hook = s.url(&format!("/api/v1/hooks/{wid}"));
        let res = s.http.post(&hook).bearer_auth(&secret).json(&json!({"total": 7})).send().await.unwrap();
        assert_eq!(res.status(), 202, "[{backend}]");
        let execution_id = res.json::<Value>().await.unwrap()["execution_id"].as_str().unwrap().to_owned();
        let run = finished(&s, &execution_id).await;
        assert_eq!((run["status"].as_str(), run["trigger"].as_str(), run["credential"]["type"].as_str()), (Some("succeeded"), Some("webhook"), Some("webhook_key")));
        assert_eq!(run["payload"], json!({"total": 7}));
        assert_eq!(run["steps"][1]["output"]["result"], true);

        for (auth, why) in [(None, "Bearer whk_"), (Some("whk_garbage".to_owned()), "not valid"), (Some(near_miss(&secret)), "not valid")] {
            let mut req = s.http.post(&hook).json(&json!({}));
            if let Some(auth) = auth {
                req = req.bearer_auth(auth);
            }
            let (status, _, message) = error_body(req.send().await.unwrap()).await;
            assert_eq!(status, 401, "[{backend}] {why}");
            assert!(message.contains(why), "{message}");
        }
        let res = s.http.post(&hook).bearer_auth(&secret).header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(res.status(), 422);

        // Another workflow's hook, a workflow without a webhook trigger, a disabled one: 404.
        let plain = create_workflow(&s, "Plain", vec![node("t", "manual_trigger", json!({}))], vec![]).await;
        let res = s.http.post(s.url(&format!("/api/v1/hooks/{}", plain["id"].as_str().unwrap()))).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(res.status(), 404, "[{backend}] not a webhook workflow");
        let res = s.http.post(s.url("/api/v1/hooks/no-such-workflow")).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(res.status(), 404);

        let revoked = s.request(As::Owner, Method::DELETE, &format!("{keys_path}/{key_id}")).send().await.unwrap();
        assert_eq!(revoked.status(), 200);
        assert!(revoked.json::<Value>().await.unwrap()["revoked_at"].is_string());
        let (status, _, message) = error_body(s.http.post(&hook).bearer_auth(&secret).send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert!(message.contains("revoked"), "{message}");
        let again = s.request(As::Owner, Method::DELETE, &format!("{keys_path}/{key_id}")).send().await.unwrap();
        assert_eq!(again.status(), 409);

        let created = audit_events(&s, "action=webhook_key.created,webhook_key.revoked", 2).await;
        assert_eq!(created[0]["action"], "webhook_key.revoked");
        let mail: Vec<(String,)> = sqlx::query_as("SELECT subject FROM outbox WHERE subject LIKE '%webhook key%' ORDER BY created_at").fetch_all(s.db.pool()).await.unwrap();
        assert_eq!(mail.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), ["Chronicle: webhook key \"Shop\" created", "Chronicle: webhook key \"Shop\" revoked"]);
    }
}

#[tokio::test]
async fn a_schedule_slot_fires_once_however_many_instances_look() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let scheduled = json!({ "name": "Nightly", "enabled": true, "nodes": [node("s", "schedule_trigger", json!({"cron": "*/5 * * * *"}))], "edges": [] });
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&scheduled).send().await.unwrap();
        assert_eq!(res.status(), 201);
        // Four "instances" (their own pools) look at the same hour at once: 12 slots, 12 runs.
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&chrono::Utc);
        let mut lookers = Vec::new();
        for _ in 0..4 {
            let db = s.db.clone();
            let audit = app::backend::audit::Recorder::start(db.clone(), Arc::new(|| {}));
            lookers.push(tokio::spawn(async move {
                schedule::fire_due(&db, &audit, &Runner::new(), at("2026-01-01T00:00:00Z"), at("2026-01-01T00:59:59Z")).await.unwrap()
            }));
        }
        let mut fired = 0;
        for l in lookers {
            fired += l.await.unwrap();
        }
        assert_eq!(fired, 11, "[{backend}] :05 … :55");
        let (runs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE trigger_kind = 'schedule'").fetch_one(s.db.pool()).await.unwrap();
        assert_eq!(runs, 11);
        let page: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/executions?credential_type=internal", s.acme)).await.json().await.unwrap();
        assert_eq!(page["executions"][0]["credential"], json!({"type": "internal", "id": null, "label": "Scheduler"}));
    }
}

/// SPEC's limits on runs: a run stops after 200 steps (failed, saying so); a workflow with
/// more than 20 schedule triggers cannot be enabled.
#[tokio::test]
async fn runs_stop_at_200_steps_and_schedules_are_capped_at_20_triggers() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let mut nodes = vec![node("t", "manual_trigger", json!({}))];
        nodes.extend((0..250).map(|i| node(&format!("c{i}"), "code", json!({ "language": "python", "code": "pass" }))));
        let edges: Vec<Value> = (0..250).map(|i| edge(&if i == 0 { "t".to_owned() } else { format!("c{}", i - 1) }, &format!("c{i}"))).collect();
        let wf = create_workflow(&s, "Long chain", nodes, edges).await;
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows/{}/executions", s.acme, wf["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(res.status(), 202, "[{backend}]");
        let run = finished(&s, res.json::<Value>().await.unwrap()["id"].as_str().unwrap()).await;
        assert_eq!(run["status"], "failed", "[{backend}] {run}");
        assert!(run["error"].as_str().unwrap().contains("200 steps"), "[{backend}] {run}");
        assert_eq!(run["steps"].as_array().map(Vec::len), Some(200), "[{backend}]");

        let schedules = |n: usize| {
            let mut nodes: Vec<Value> = (0..n).map(|i| node(&format!("s{i}"), "schedule_trigger", json!({ "cron": "0 0 1 1 *" }))).collect();
            nodes.push(node("c", "code", json!({ "language": "python", "code": "pass" })));
            json!({ "name": format!("{n} schedules"), "enabled": true, "nodes": nodes, "edges": [] })
        };
        let path = format!("/api/v1/orgs/{}/workflows", s.acme);
        let (status, _, message) = error_body(s.request(As::Owner, Method::POST, &path).json(&schedules(21)).send().await.unwrap()).await;
        assert_eq!(status, 422, "[{backend}] {message}");
        assert!(message.contains("at most 20 schedule triggers"), "[{backend}] {message}");
        assert_eq!(s.request(As::Owner, Method::POST, &path).json(&schedules(20)).send().await.unwrap().status(), 201, "[{backend}]");
        // Saved as a draft, it is refused when enabled.
        let nodes = schedules(21)["nodes"].clone();
        let draft = create_workflow(&s, "Draft", nodes.as_array().unwrap().clone(), vec![]).await;
        let res = s
            .request(As::Owner, Method::PUT, &format!("{path}/{}", draft["id"].as_str().unwrap()))
            .json(&json!({ "enabled": true, "nodes": nodes, "edges": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "[{backend}]");
    }
}

/// Fair share: a busy org with 40 slow runs queued does not hold every worker, so another
/// org's run starts at once instead of waiting behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_org_does_not_starve_another() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        // A target that takes 2 s to answer: each of the busy org's runs holds a worker that long.
        let app = axum::Router::new().route("/slow", axum::routing::any(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "slow"
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slow = format!("http://{}/slow", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let busy = create_workflow(&s, "Busy", vec![node("t", "manual_trigger", json!({})), node("h", "http_request", json!({ "url": slow, "method": "GET" }))], vec![edge("t", "h")]).await;
        let run_path = format!("/api/v1/orgs/{}/workflows/{}/executions", s.acme, busy["id"].as_str().unwrap());
        for _ in 0..40 {
            assert_eq!(s.request(As::Owner, Method::POST, &run_path).send().await.unwrap().status(), 202, "[{backend}]");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let theirs: Value = s
            .request(As::OtherOrg, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.globex))
            .json(&json!({ "name": "Quick", "nodes": [node("t", "manual_trigger", json!({}))], "edges": [] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let res = s.request(As::OtherOrg, Method::POST, &format!("/api/v1/orgs/{}/workflows/{}/executions", s.globex, theirs["id"].as_str().unwrap())).send().await.unwrap();
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let waited = loop {
            let run: Value = s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/executions/{id}", s.globex)).await.json().await.unwrap();
            if run["status"] == "succeeded" {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "[{backend}] {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(waited < Duration::from_secs(3), "[{backend}] the other org's run waited {waited:?} behind the busy org");
        eprintln!("[{backend}] another org's run finished {waited:?} after it was queued behind 40 slow runs");
    }
}
