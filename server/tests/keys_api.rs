//! API keys, bearer auth with scopes, key alerts through the outbox and SMTP, and the audit
//! export, over real HTTP on SQLite and PostgreSQL.

mod common;

use common::{assert_role_table, audit_events, error_body, near_miss, smtp_sink, test_databases, As, RoleRow, TestServer};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use std::time::Duration;

async fn with_key(s: &TestServer, secret: &str, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(secret);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn role_table() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let key = json!({"name": "ci", "scopes": ["workflows:read"]});
        let table: Vec<RoleRow> = vec![
            (Method::GET, "/api/v1/orgs/{acme}/api-keys".into(), None, [200, 200, 403, 404, 401]),
            (Method::POST, "/api/v1/orgs/{acme}/api-keys".into(), Some(key.clone()), [201, 201, 403, 404, 401]),
            (Method::DELETE, "/api/v1/orgs/{acme}/api-keys/{fresh}".into(), None, [200, 200, 403, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/api-keys/activity".into(), None, [200, 200, 403, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/audit/export?format=csv".into(), None, [200, 200, 403, 404, 401]),
            (Method::GET, "/api/v1/me/api-keys".into(), None, [200, 200, 200, 200, 401]),
            (Method::POST, "/api/v1/me/api-keys".into(), Some(json!({"name": "ci", "scopes": ["workflows:read"], "current_password": "chronicle-demo"})), [201, 201, 201, 201, 401]),
            (Method::GET, "/api/v1/me/api-keys/activity".into(), None, [200, 200, 200, 200, 401]),
        ];
        let fresh = || async { s.create_org_key("to revoke", &["audit:read"]).await.0["id"].as_str().unwrap().to_owned() };
        assert_role_table(&s, backend, &table, fresh).await;
    }
}

#[tokio::test]
async fn an_org_key_acts_with_exactly_its_scopes_inside_its_org() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (key, secret) = s.create_org_key("CI deploy", &["workflows:read", "audit:read"]).await;
        assert!(secret.starts_with("chr_org_") && secret.len() >= 8 + 43, "[{backend}] {secret}");
        let display = key["display"].as_str().unwrap();
        assert_eq!(display, format!("chr_org_…{}", &secret[secret.len() - 4..]));
        assert_eq!(key["kind"], "org");
        assert_eq!(key["created_by"]["name"], "Olive Owner");

        // The secret is shown once: the list has only the display.
        let list = s.get(As::Owner, &format!("/api/v1/orgs/{}/api-keys", s.acme)).await.text().await.unwrap();
        assert!(list.contains(display) && !list.contains(&secret), "[{backend}]");

        let wf = format!("/api/v1/orgs/{}/workflows", s.acme);
        assert_eq!(with_key(&s, &secret, Method::GET, &wf, None).await.status(), 200, "[{backend}] workflows:read");
        assert_eq!(with_key(&s, &secret, Method::GET, &format!("/api/v1/orgs/{}/audit", s.acme), None).await.status(), 200);
        let write = with_key(&s, &secret, Method::POST, &wf, Some(json!({"name": "x", "nodes": [], "edges": []}))).await;
        let (status, code, message) = error_body(write).await;
        assert_eq!((status, code.as_str()), (403, "forbidden"), "[{backend}]");
        assert!(message.contains("workflows:write"), "{message}");
        // Keys never manage keys or members.
        let mint = with_key(&s, &secret, Method::POST, &format!("/api/v1/orgs/{}/api-keys", s.acme), Some(json!({"name": "x", "scopes": ["audit:read"]}))).await;
        assert_eq!(mint.status(), 403);
        assert_eq!(with_key(&s, &secret, Method::GET, &format!("/api/v1/orgs/{}/api-keys", s.acme), None).await.status(), 403, "no keys:read");
        assert_eq!(with_key(&s, &secret, Method::GET, &format!("/api/v1/orgs/{}/members", s.acme), None).await.status(), 403);
        // Another org does not exist for this key.
        assert_eq!(with_key(&s, &secret, Method::GET, &format!("/api/v1/orgs/{}/workflows", s.globex), None).await.status(), 404);
        // An org key is no person.
        assert_eq!(with_key(&s, &secret, Method::GET, "/api/v1/me", None).await.status(), 403);

        // Used: last_used_at is set.
        let keys: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/api-keys", s.acme)).await.json().await.unwrap();
        assert!(keys["keys"][0]["last_used_at"].is_string(), "[{backend}] {keys}");

        // Revoked: 401 saying so; the list keeps it, marked revoked.
        let res = s.request(As::Admin, Method::DELETE, &format!("/api/v1/orgs/{}/api-keys/{}", s.acme, key["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let revoked: Value = res.json().await.unwrap();
        assert!(revoked["revoked_at"].is_string());
        let (status, code, message) = error_body(with_key(&s, &secret, Method::GET, &wf, None).await).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"));
        assert!(message.contains("revoked") && message.contains(display), "{message}");
        let again = s.request(As::Owner, Method::DELETE, &format!("/api/v1/orgs/{}/api-keys/{}", s.acme, key["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(again.status(), 409);

        // Noise and near-misses are refused alike.
        let typo = near_miss(&secret);
        for bad in ["nonsense", "chr_org_", typo.as_str()] {
            assert_eq!(with_key(&s, bad, Method::GET, &wf, None).await.status(), 401, "{bad}");
        }

        // Activity: both events, with the acting person and the key's display.
        let activity: Value = s.get(As::Admin, &format!("/api/v1/orgs/{}/api-keys/activity", s.acme)).await.json().await.unwrap();
        let events = activity["events"].as_array().unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["api_key.revoked", "api_key.created"], "[{backend}]");
        assert_eq!(events[0]["actor"]["email"], "admin@acme.test");
        assert_eq!(events[1]["metadata"]["display"], display);
        assert_eq!(events[1]["ip"], "127.0.0.1");
    }
}

#[tokio::test]
async fn a_key_is_named_in_the_trail_and_an_expired_key_is_refused() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (key, secret) = s.create_org_key("deployer", &["workflows:read", "workflows:write"]).await;
        let res = with_key(&s, &secret, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme), Some(json!({"name": "From CI", "nodes": [], "edges": []}))).await;
        assert_eq!(res.status(), 201, "[{backend}]");
        let wf: Value = res.json().await.unwrap();
        let events = audit_events(&s, &format!("action=workflow.created&resource_id={}", wf["id"].as_str().unwrap()), 1).await;
        assert_eq!(events[0]["actor"]["type"], "api_key");
        assert_eq!(events[0]["actor"]["id"], key["id"]);
        assert!(events[0]["actor"]["label"].as_str().unwrap().contains(key["display"].as_str().unwrap()));

        sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
            .bind("2001-01-01T00:00:00.000000Z")
            .bind(key["id"].as_str().unwrap())
            .execute(s.db.pool())
            .await
            .unwrap();
        let (status, _, message) = error_body(with_key(&s, &secret, Method::GET, &format!("/api/v1/orgs/{}/workflows", s.acme), None).await).await;
        assert_eq!(status, 401);
        assert!(message.contains("expired"), "{message}");

        // Bad create input names the field and creates nothing.
        for (body, field) in [
            (json!({"name": "", "scopes": ["audit:read"]}), "name"),
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"name": "x", "scopes": ["root"]}), "scopes"),
            (json!({"name": "x", "scopes": ["audit:read"], "expires_at": "soon"}), "expires_at"),
        ] {
            let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/api-keys", s.acme)).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 422);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["field"], field);
        }
        let keys: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/api-keys", s.acme)).await.json().await.unwrap();
        assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "[{backend}]");
    }
}

#[tokio::test]
async fn a_personal_key_acts_as_its_user_within_its_scopes() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let res = s.request(As::Member, Method::POST, "/api/v1/me/api-keys").json(&json!({"name": "laptop", "scopes": ["workflows:read", "keys:read"], "current_password": "chronicle-demo"})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap();
        assert!(secret.starts_with("chr_pat_"));
        assert_eq!(created["key"]["kind"], "personal");

        let me: Value = with_key(&s, secret, Method::GET, "/api/v1/me", None).await.json().await.unwrap();
        assert_eq!(me["user"]["email"], "member@acme.test", "[{backend}]");
        assert_eq!(with_key(&s, secret, Method::GET, &format!("/api/v1/orgs/{}/workflows", s.acme), None).await.status(), 200);
        // The member's role still applies: no history, no other org.
        let list: Value = s.get(As::Member, &format!("/api/v1/orgs/{}/workflows", s.acme)).await.json().await.unwrap();
        let wf = list["workflows"][0]["id"].as_str().unwrap();
        assert_eq!(with_key(&s, secret, Method::GET, &format!("/api/v1/orgs/{}/workflows/{wf}/history", s.acme), None).await.status(), 403);
        assert_eq!(with_key(&s, secret, Method::GET, &format!("/api/v1/orgs/{}/workflows", s.globex), None).await.status(), 404);
        // keys:read lists own keys; only a session creates or revokes them.
        assert_eq!(with_key(&s, secret, Method::GET, "/api/v1/me/api-keys", None).await.status(), 200);
        let mint = with_key(&s, secret, Method::POST, "/api/v1/me/api-keys", Some(json!({"name": "x", "scopes": ["keys:read"]}))).await;
        assert_eq!(mint.status(), 403);

        // Another user's personal key is not found.
        let id = created["key"]["id"].as_str().unwrap();
        assert_eq!(s.request(As::Owner, Method::DELETE, &format!("/api/v1/me/api-keys/{id}")).send().await.unwrap().status(), 404);
        assert_eq!(s.request(As::Member, Method::DELETE, &format!("/api/v1/me/api-keys/{id}")).send().await.unwrap().status(), 200);
        assert_eq!(with_key(&s, secret, Method::GET, "/api/v1/me", None).await.status(), 401);

        let activity: Value = s.get(As::Member, "/api/v1/me/api-keys/activity").await.json().await.unwrap();
        let actions: Vec<&str> = activity["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["api_key.revoked", "api_key.created"], "[{backend}]");
        let others: Value = s.get(As::Owner, "/api/v1/me/api-keys/activity").await.json().await.unwrap();
        assert!(others["events"].as_array().unwrap().is_empty(), "another user's activity stays theirs");

        // The alert went to the user.
        let mail: Vec<(String, String)> = sqlx::query_as("SELECT recipient, subject FROM outbox ORDER BY created_at").fetch_all(s.db.pool()).await.unwrap();
        assert_eq!(mail.len(), 2, "[{backend}] {mail:?}");
        assert!(mail.iter().all(|(to, _)| to == "member@acme.test"));
    }
}

/// No key secret (nor its hash) ever appears in a stored event or an export.
#[tokio::test]
async fn secrets_never_enter_the_trail_or_an_export() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (key, secret) = s.create_org_key("scanner", &["audit:read"]).await;
        s.request(As::Owner, Method::DELETE, &format!("/api/v1/orgs/{}/api-keys/{}", s.acme, key["id"].as_str().unwrap())).send().await.unwrap();
        audit_events(&s, "action=api_key.revoked", 1).await;
        let (hash,): (String,) = sqlx::query_as("SELECT secret_hash FROM api_keys WHERE id = $1").bind(key["id"].as_str().unwrap()).fetch_one(s.db.pool()).await.unwrap();
        let rows: Vec<(String, String, String)> = sqlx::query_as("SELECT actor_label, changes, metadata FROM audit_events").fetch_all(s.db.pool()).await.unwrap();
        let mail: Vec<(String,)> = sqlx::query_as("SELECT body FROM outbox").fetch_all(s.db.pool()).await.unwrap();
        let stored = format!("{rows:?}{mail:?}");
        for format in ["csv", "jsonl"] {
            let export = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format={format}", s.acme)).await.text().await.unwrap();
            for text in [&stored, &export] {
                assert!(!text.contains(&secret) && !text.contains(&hash), "[{backend}] {format}");
                assert!(!text.contains(&secret[8..20]), "[{backend}] part of the secret leaked");
            }
        }
    }
}

#[tokio::test]
async fn export_streams_the_filtered_trail_and_is_audited() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let logins = audit_events(&s, "action=auth.login", 3).await.len();
        let res = s.get(As::Admin, &format!("/api/v1/orgs/{}/audit/export?format=csv&action=auth.login", s.acme)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"audit-"));
        let csv = res.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("created_at,id,action,actor_type"), "[{backend}]");
        assert_eq!(lines.len() - 1, logins, "[{backend}] one row per event");
        assert!(lines[1..].iter().all(|l| l.contains("\"auth.login\"")));

        let jsonl = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
        let events: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(events.len() > logins && events.iter().all(|e| e["org_id"] == s.acme.as_str()));

        let exported = audit_events(&s, "action=audit_log.exported", 2).await;
        let first = exported.iter().find(|e| e["metadata"]["format"] == "csv").expect("csv export audited");
        assert_eq!(first["metadata"]["rows"], logins as u64);
        assert_eq!(first["metadata"]["filters"], json!({"action": "auth.login"}));
        assert_eq!(first["metadata"]["complete"], true);
        assert_eq!(first["actor"]["email"], "admin@acme.test");

        let bad = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=xml", s.acme)).await;
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["error"]["field"], "format");
        let bad = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?since=yesterday", s.acme)).await;
        assert_eq!(bad.status(), 422);
    }
}


#[tokio::test]
async fn key_alerts_are_delivered_by_smtp_and_retried_when_it_fails() {
    for (backend, db) in test_databases().await {
        let (url, mut inbox) = smtp_sink().await;
        let s = TestServer::start_with_smtp(db.clone(), Some(url)).await;
        let (key, _) = s.create_org_key("Nightly export", &["audit:read"]).await;
        let mail = tokio::time::timeout(Duration::from_secs(10), inbox.recv()).await.expect("mail within 10 s").unwrap();
        assert!(mail.contains("owner@acme.test"), "[{backend}] {mail}");
        assert!(mail.contains("Nightly export") && mail.contains(key["display"].as_str().unwrap().trim_start_matches("chr_org_…")), "{mail}");
        assert!(mail.contains("Olive Owner") && mail.contains("127.0.0.1"), "{mail}");
        for _ in 0..50 {
            let (sent,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetch_one(s.db.pool()).await.unwrap();
            if sent == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, sent_at): (String, Option<String>) = sqlx::query_as("SELECT status, sent_at FROM outbox").fetch_one(s.db.pool()).await.unwrap();
        assert_eq!(status, "sent", "[{backend}]");
        assert!(sent_at.is_some());
    }
    // A relay that is down: the key operation still succeeds, the mail waits with its error.
    for (backend, db) in test_databases().await {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", closed.local_addr().unwrap());
        drop(closed);
        let s = TestServer::start_with_smtp(db, Some(url)).await;
        s.create_org_key("while SMTP is down", &["audit:read"]).await;
        let mut row = (String::new(), 0i64, None::<String>);
        for _ in 0..50 {
            row = sqlx::query_as("SELECT status, attempts, last_error FROM outbox").fetch_one(s.db.pool()).await.unwrap();
            if row.1 > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(row.0, "pending", "[{backend}]");
        assert!(row.1 >= 1 && row.2.is_some(), "[{backend}] {row:?}");
    }
}
