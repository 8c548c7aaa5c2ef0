//! Governed credentials over real HTTP on SQLite and PostgreSQL: a credential goes only to
//! its allowed hosts (a refusal sends nothing), a member's change runs only once an owner or
//! admin other than its author approves it, and no 8-character run of a secret reaches a
//! step's output, however the target echoes it. Targets are loopback receivers that record
//! what reached them.

mod common;

use app::backend::executions::{schedule, Runner};
use common::{audit_events, error_body, test_databases, As, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What reached a receiver: `(path, Authorization header)` per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback receiver that records each request and answers `padding` bytes of `x` followed
/// by the Authorization header it got (an echo that the 2 KiB cut may split).
async fn receiver(padding: usize) -> (String, Seen) {
    use axum::http::{HeaderMap, Uri};
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            log.lock().unwrap().push((uri.path().to_owned(), auth.clone()));
            format!("{}Authorization: {auth}\r\nthe end", "x".repeat(padding))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn paths(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().iter().map(|(p, _)| p.clone()).collect()
}

fn flow(url: &str, credential_id: &Value) -> Value {
    json!({
        "nodes": [
            { "id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": { "label": "Start", "config": {} } },
            { "id": "h", "type": "http_request", "position": {"x": 200, "y": 0},
              "data": { "label": "Deploy", "config": { "url": url, "method": "POST", "credential_id": credential_id } } }
        ],
        "edges": [{ "id": "e1", "source": "t", "target": "h" }]
    })
}

async fn credential(s: &TestServer, name: &str, secret: &str, hosts: &[&str]) -> Value {
    let res = s
        .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/credentials", s.acme))
        .json(&json!({ "name": name, "secret": secret, "allowed_hosts": hosts }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn send(s: &TestServer, who: As, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s.request(who, method, &format!("/api/v1/orgs/{}{path}", s.acme));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Starts a run as `who` and waits for it to finish.
async fn run(s: &TestServer, who: As, workflow_id: &str) -> Value {
    let (status, queued) = send(s, who, Method::POST, &format!("/workflows/{workflow_id}/executions"), Some(json!({}))).await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let (_, got) = send(s, As::Owner, Method::GET, &format!("/executions/{id}"), None).await;
        if got["status"] == "succeeded" || got["status"] == "failed" {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

#[tokio::test]
async fn a_members_change_runs_only_once_another_admin_approves_it() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (target, seen) = receiver(0).await;
        let cred = credential(&s, "Prod deploy token", "prod-token-0123456789", &["127.0.0.1"]).await;
        let mut body = flow(&format!("{target}/old"), &cred["id"]);
        body["name"] = json!("Deploy");
        let (status, wf) = send(&s, As::Owner, Method::POST, "/workflows", Some(body)).await;
        assert_eq!(status, 201, "[{backend}] {wf}");
        let wid = wf["id"].as_str().unwrap().to_owned();
        assert_eq!((wf["approval"]["state"].as_str(), wf["approval"]["by"]["name"].as_str(), wf["approved_version"].as_i64()), (Some("approved"), Some("Olive Owner"), Some(1)), "[{backend}] an owner's version is approved when written");

        // A member points the credentialed node at a host of their own: the version waits.
        let (status, saved) = send(&s, As::Member, Method::PUT, &format!("/workflows/{wid}"), Some(flow(&format!("{target}/new"), &cred["id"]))).await;
        assert_eq!(status, 200, "[{backend}] {saved}");
        assert_eq!((saved["version"].as_i64(), saved["approval"]["state"].as_str(), saved["approved_version"].as_i64()), (Some(2), Some("pending"), Some(1)), "[{backend}]");
        assert!(saved["approval"]["by"].is_null() && saved["approval"]["at"].is_null());

        // Every run uses the approved version: the receiver sees the old path.
        let first = run(&s, As::Member, &wid).await;
        assert_eq!((first["status"].as_str(), first["version"].as_i64()), (Some("succeeded"), Some(1)), "[{backend}] {first:#}");
        assert_eq!(first["executed_workflow_hash"], wf["content_hash"]);
        assert_eq!(paths(&seen), ["/old"], "[{backend}]");

        let history: Value = s.get(As::Admin, &format!("/api/v1/orgs/{}/workflows/{wid}/history", s.acme)).await.json().await.unwrap();
        assert_eq!(history["versions"][0]["approval"]["state"], "pending", "[{backend}]");
        assert_eq!(history["versions"][1]["approval"]["state"], "approved");

        // Only owners and admins review; never the author, even once promoted; keys never.
        let approve = format!("/workflows/{wid}/versions/2/approve");
        assert_eq!(send(&s, As::Member, Method::POST, &approve, None).await.0, 403, "[{backend}] a member");
        assert_eq!(send(&s, As::OtherOrg, Method::POST, &approve, None).await.0, 404, "[{backend}] another org");
        let member_id = s.user_id("member@acme.test").await;
        let member_path = format!("/members/{member_id}");
        let promote = |role: &'static str| send(&s, As::Owner, Method::PATCH, &member_path, Some(json!({ "role": role })));
        assert_eq!(promote("admin").await.0, 200);
        let (status, err) = send(&s, As::Member, Method::POST, &approve, None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (403, Some("own_change")), "[{backend}] the promoted author");
        let (_, key) = s.create_org_key("reviewer", &["workflows:read", "workflows:write"]).await;
        let by_key = s.http.post(s.url(&format!("/api/v1/orgs/{}{approve}", s.acme))).bearer_auth(&key).send().await.unwrap();
        assert_eq!(by_key.status(), 403, "[{backend}] a key is not a second pair of eyes");
        assert_eq!(promote("member").await.0, 200);

        // Twenty approvals at once: one takes effect, the rest find it no longer pending.
        let answers = futures_util::future::join_all((0..20).map(|_| send(&s, As::Admin, Method::POST, &approve, None))).await;
        let ok: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
        assert_eq!(ok.len(), 1, "[{backend}] {answers:?}");
        assert!(answers.iter().all(|(status, body)| *status == 200 || body["error"]["code"] == "not_pending"), "[{backend}]");
        let approved = ok[0].clone();
        assert_eq!((approved["version"].as_i64(), approved["approval"]["state"].as_str(), approved["approval"]["by"]["name"].as_str()), (Some(2), Some("approved"), Some("Ada Admin")));
        let (status, err) = send(&s, As::Owner, Method::POST, &approve, None).await;
        assert_eq!((status, err["error"]["code"].as_str()), (409, Some("not_pending")), "[{backend}]");
        let events = audit_events(&s, "action=workflow.version_approved", 1).await;
        assert_eq!((events[0]["metadata"]["version"].as_i64(), events[0]["metadata"]["author"].as_str()), (Some(2), Some(member_id.as_str())));
        assert_eq!(events[0]["metadata"]["content_hash"], saved["content_hash"]);

        let second = run(&s, As::Member, &wid).await;
        assert_eq!(second["version"], 2, "[{backend}] the approved change runs");
        assert_eq!(paths(&seen), ["/old", "/new"]);

        // A rejected version never runs; the approved one keeps running.
        let (_, third) = send(&s, As::Member, Method::PUT, &format!("/workflows/{wid}"), Some(flow(&format!("{target}/rejected"), &cred["id"]))).await;
        assert_eq!((third["version"].as_i64(), third["approval"]["state"].as_str()), (Some(3), Some("pending")));
        let (status, rejected) = send(&s, As::Owner, Method::POST, &format!("/workflows/{wid}/versions/3/reject"), Some(json!({ "reason": "unknown host" }))).await;
        assert_eq!((status, rejected["approval"]["state"].as_str(), rejected["approval"]["reason"].as_str()), (200, Some("rejected"), Some("unknown host")), "[{backend}]");
        assert_eq!(audit_events(&s, "action=workflow.version_rejected", 1).await[0]["metadata"]["reason"], "unknown host");
        assert_eq!(send(&s, As::Owner, Method::POST, &format!("/workflows/{wid}/versions/3/approve"), None).await.0, 409, "rejected is not pending");
        assert_eq!(send(&s, As::Owner, Method::POST, &format!("/workflows/{wid}/versions/9/approve"), None).await.0, 404);
        assert_eq!(run(&s, As::Owner, &wid).await["version"], 2, "[{backend}]");
        assert_eq!(paths(&seen), ["/old", "/new", "/new"]);
        let (_, live) = send(&s, As::Member, Method::GET, &format!("/workflows/{wid}"), None).await;
        assert_eq!((live["approval"]["state"].as_str(), live["approved_version"].as_i64()), (Some("rejected"), Some(2)));
    }
}

#[tokio::test]
async fn a_workflow_with_no_approved_version_does_not_run_from_any_trigger() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let cred = credential(&s, "Token", "tok-abcdefghijkl", &["127.0.0.1"]).await;
        let mut body = flow("http://127.0.0.1:9/x", &cred["id"]);
        body["name"] = json!("Member's own");
        body["enabled"] = json!(true);
        body["nodes"].as_array_mut().unwrap().push(json!({ "id": "s", "type": "schedule_trigger", "position": {"x": 0, "y": 100}, "data": { "label": "Hourly", "config": { "cron": "0 * * * *" } } }));
        let (status, wf) = send(&s, As::Member, Method::POST, "/workflows", Some(body)).await;
        assert_eq!(status, 201, "[{backend}] {wf}");
        assert_eq!((wf["approval"]["state"].as_str(), wf["approved_version"].as_i64()), (Some("pending"), None), "[{backend}]");
        let wid = wf["id"].as_str().unwrap();
        for who in [As::Member, As::Owner] {
            let res = s.request(who, Method::POST, &format!("/api/v1/orgs/{}/workflows/{wid}/executions", s.acme)).json(&json!({})).send().await.unwrap();
            let (status, code, message) = error_body(res).await;
            assert_eq!((status, code.as_str()), (409, "approval_required"), "[{backend}] {message}");
        }
        // The schedule: each slot is refused once, on the record, whoever looks.
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&chrono::Utc);
        let audit = app::backend::audit::Recorder::start(s.db.clone(), Arc::new(|| {}));
        for _ in 0..2 {
            let fired = schedule::fire_due(&s.db, &audit, &Runner::new(), at("2026-01-01T00:30:00Z"), at("2026-01-01T02:30:00Z")).await.unwrap();
            assert_eq!(fired, 0, "[{backend}]");
        }
        let refused = audit_events(&s, "action=workflow.run_refused", 2).await;
        assert_eq!(refused.len(), 2, "[{backend}] two slots, each refused once");
        assert_eq!((refused[0]["metadata"]["reason"].as_str(), refused[0]["resource"]["id"].as_str()), (Some("approval_required"), Some(wid)));
        let (runs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE workflow_id = $1").bind(wid).fetch_one(s.db.pool()).await.unwrap();
        assert_eq!(runs, 0);
    }
}

#[tokio::test]
async fn the_org_setting_decides_which_member_versions_wait() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let plain = json!({ "name": "Plain", "nodes": [{ "id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": { "label": "Start" } }], "edges": [] });
        let renamed = |label: &str| {
            let mut b = plain.clone();
            b["nodes"][0]["data"]["label"] = json!(label);
            b
        };
        let (_, wf) = send(&s, As::Member, Method::POST, "/workflows", Some(plain.clone())).await;
        assert_eq!(wf["approval"]["state"], "approved", "[{backend}] default `credentials`: no credential, no wait");
        let wid = wf["id"].as_str().unwrap();

        let (status, err) = send(&s, As::Owner, Method::PATCH, "/settings", Some(json!({ "workflow_approval": "sometimes" }))).await;
        assert_eq!((status, err["error"]["field"].as_str()), (422, Some("workflow_approval")));
        assert_eq!(send(&s, As::Member, Method::PATCH, "/settings", Some(json!({ "workflow_approval": "off" }))).await.0, 403);
        let (status, settings) = send(&s, As::Admin, Method::PATCH, "/settings", Some(json!({ "workflow_approval": "all" }))).await;
        assert_eq!((status, settings["workflow_approval"].as_str()), (200, Some("all")), "[{backend}]");
        let changed = audit_events(&s, "action=org.settings_changed", 1).await;
        assert!(changed[0]["changes"].to_string().contains("workflow_approval"));

        let (_, v2) = send(&s, As::Member, Method::PUT, &format!("/workflows/{wid}"), Some(renamed("Go"))).await;
        assert_eq!((v2["approval"]["state"].as_str(), v2["approved_version"].as_i64()), (Some("pending"), Some(1)), "[{backend}] `all`");
        let (_, v3) = send(&s, As::Admin, Method::PUT, &format!("/workflows/{wid}"), Some(renamed("Admin's"))).await;
        assert_eq!((v3["approval"]["state"].as_str(), v3["approved_version"].as_i64()), (Some("approved"), Some(3)), "[{backend}] an admin's");
        let (_, key) = s.create_org_key("ci", &["workflows:write", "workflows:read"]).await;
        let by_key: Value = s.http.put(s.url(&format!("/api/v1/orgs/{}/workflows/{wid}", s.acme))).bearer_auth(&key).json(&renamed("Key's")).send().await.unwrap().json().await.unwrap();
        assert_eq!(by_key["approval"]["state"], "approved", "[{backend}] an org key's counts as an admin's");
        // A cosmetic save makes no version and changes nothing.
        let mut dragged = renamed("Key's");
        dragged["nodes"][0]["position"]["x"] = json!(300);
        let (_, cosmetic) = send(&s, As::Member, Method::PUT, &format!("/workflows/{wid}"), Some(dragged)).await;
        assert_eq!((cosmetic["versioned"].as_bool(), cosmetic["approval"]["state"].as_str()), (Some(false), Some("approved")));

        assert_eq!(send(&s, As::Owner, Method::PATCH, "/settings", Some(json!({ "workflow_approval": "off" }))).await.0, 200);
        let cred = credential(&s, "Token", "tok-abcdefghijkl", &["127.0.0.1"]).await;
        let (_, off) = send(&s, As::Member, Method::PUT, &format!("/workflows/{wid}"), Some(flow("http://127.0.0.1:9/", &cred["id"]))).await;
        assert_eq!(off["approval"]["state"], "approved", "[{backend}] `off`");
    }
}

#[tokio::test]
async fn a_credential_goes_only_to_its_allowed_hosts() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (target, seen) = receiver(0).await;
        let creds = format!("/api/v1/orgs/{}/credentials", s.acme);
        for (body, why) in [
            (json!({ "name": "A", "secret": "s" }), "missing"),
            (json!({ "name": "A", "secret": "s", "allowed_hosts": [] }), "empty"),
            (json!({ "name": "A", "secret": "s", "allowed_hosts": ["https://api.example.com"] }), "a scheme"),
            (json!({ "name": "A", "secret": "s", "allowed_hosts": ["*"] }), "every host"),
            (json!({ "name": "A", "secret": "s", "allowed_hosts": ["api.example.com:443"] }), "a port"),
        ] {
            let res = s.request(As::Owner, Method::POST, &creds).json(&body).send().await.unwrap();
            let (status, code, message) = error_body(res).await;
            assert_eq!((status, code.as_str()), (422, "invalid_input"), "[{backend}] {why}: {message}");
            assert!(message.contains("allowed_hosts"), "{message}");
        }
        let cred = credential(&s, "Prod deploy token", "first-secret-0123456789", &["API.example.com", "*.acme.test"]).await;
        assert_eq!(cred["allowed_hosts"], json!(["api.example.com", "*.acme.test"]), "[{backend}] stored normalised");
        let listed: Value = s.get(As::Admin, &creds).await.json().await.unwrap();
        assert_eq!(listed["credentials"][0]["allowed_hosts"], cred["allowed_hosts"]);

        let mut body = flow(&format!("{target}/deploy"), &cred["id"]);
        body["name"] = json!("Deploy");
        let (_, wf) = send(&s, As::Owner, Method::POST, "/workflows", Some(body)).await;
        let wid = wf["id"].as_str().unwrap();
        let refused = run(&s, As::Owner, wid).await;
        assert_eq!(refused["status"], "failed", "[{backend}]");
        let error = refused["steps"][1]["error"].as_str().unwrap();
        assert!(error.contains("Prod deploy token") && error.contains("127.0.0.1"), "[{backend}] {error}");
        assert!(seen.lock().unwrap().is_empty(), "[{backend}] nothing was sent");
        let event = &audit_events(&s, "action=credential.refused", 1).await[0];
        assert_eq!((event["metadata"]["host"].as_str(), event["metadata"]["credential_name"].as_str()), (Some("127.0.0.1"), Some("Prod deploy token")));
        assert_eq!(event["metadata"]["execution_id"], refused["id"]);
        let accessed: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?action=credential.accessed", s.acme)).await.json().await.unwrap();
        assert_eq!(accessed["events"].as_array().unwrap().len(), 0, "[{backend}] refused, not accessed");

        // Owners and admins widen the list; the change is on the record.
        let one = format!("/credentials/{}", cred["id"].as_str().unwrap());
        assert_eq!(send(&s, As::Member, Method::PATCH, &one, Some(json!({ "allowed_hosts": ["127.0.0.1"] }))).await.0, 403);
        let (status, err) = send(&s, As::Admin, Method::PATCH, &one, Some(json!({ "allowed_hosts": ["a/b"] }))).await;
        assert_eq!((status, err["error"]["field"].as_str()), (422, Some("allowed_hosts")));
        let (status, patched) = send(&s, As::Admin, Method::PATCH, &one, Some(json!({ "allowed_hosts": ["127.0.0.1"] }))).await;
        assert_eq!((status, patched["allowed_hosts"].clone()), (200, json!(["127.0.0.1"])), "[{backend}]");
        let updated = &audit_events(&s, "action=credential.updated", 1).await[0];
        assert!(updated["changes"].to_string().contains("127.0.0.1"), "{updated}");
        assert_eq!(run(&s, As::Owner, wid).await["status"], "succeeded");
        assert_eq!(seen.lock().unwrap().last().unwrap().1, "Bearer first-secret-0123456789");

        // A new secret is a rotation: recorded as such, never the secret itself.
        let (status, _) = send(&s, As::Owner, Method::PATCH, &one, Some(json!({ "secret": "second-secret-9876543210" }))).await;
        assert_eq!(status, 200);
        let rotated = &audit_events(&s, "action=credential.rotated", 1).await[0];
        assert!(!rotated.to_string().contains("second-secret"), "[{backend}]");
        run(&s, As::Owner, wid).await;
        assert_eq!(seen.lock().unwrap().last().unwrap().1, "Bearer second-secret-9876543210", "[{backend}] the new secret is sent");
        let other = s.request(As::OtherOrg, Method::PATCH, &format!("/api/v1/orgs/{}/credentials/{}", s.globex, cred["id"].as_str().unwrap())).json(&json!({ "name": "x" })).send().await.unwrap();
        assert_eq!(other.status(), 404, "[{backend}] another org's credential");
    }
}

/// The receiver echoes the header after enough padding that the 2 KiB cut splits the secret.
#[tokio::test]
async fn an_echoed_secret_leaves_no_eight_character_run_in_the_output() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let secret = "ZqX7-secret-token-that-must-never-leak-42";
        // The echo is padding, "Authorization: Bearer " (22 bytes), the secret: 2006 leaves 20
        // of its characters inside the 2 KiB kept, 2021 leaves 5.
        for padding in [0, 2006, 2021, 2030] {
            let (target, seen) = receiver(padding).await;
            let cred = credential(&s, &format!("Echo {padding}"), secret, &["127.0.0.1"]).await;
            let mut body = flow(&format!("{target}/echo"), &cred["id"]);
            body["name"] = json!(format!("Echo {padding}"));
            let (_, wf) = send(&s, As::Owner, Method::POST, "/workflows", Some(body)).await;
            let done = run(&s, As::Owner, wf["id"].as_str().unwrap()).await;
            assert_eq!(seen.lock().unwrap().len(), 1);
            let output = done["steps"][1]["output"].to_string();
            let chars: Vec<char> = secret.chars().collect();
            for w in chars.windows(8) {
                let run: String = w.iter().collect();
                assert!(!output.contains(&run), "[{backend}] padding {padding}: {run:?} in {output}");
            }
            if padding + 22 + 8 <= 2048 {
                assert!(output.contains("[redacted]"), "[{backend}] padding {padding}: {output}");
            }
        }
    }
}
