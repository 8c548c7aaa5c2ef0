//! REST API tests for workflows, versions, diff and restore, each on SQLite and PostgreSQL.

mod common;

use common::{assert_role_table, audit_events, error_body, test_databases, As, RoleRow, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn definition(label: &str, x: i64) -> Value {
    json!({
        "nodes": [
            {"id": "t", "type": "manual_trigger", "position": {"x": x, "y": 0}, "data": {"label": "Start"}},
            {"id": "h", "type": "http_request", "position": {"x": 200, "y": 0}, "data": {"label": label, "config": {"url": "https://a.test", "method": "GET"}}}
        ],
        "edges": [{"id": "e1", "source": "t", "target": "h"}]
    })
}

fn body(name: &str, label: &str, x: i64) -> Value {
    let mut d = definition(label, x);
    d["name"] = json!(name);
    d
}

async fn create(s: &TestServer, who: As, label: &str) -> Value {
    let res = s.request(who, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&body("Flow", label, 0)).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// A workflow with two versions, made for one call of the role table.
async fn fresh_workflow(s: &TestServer) -> String {
    let w = create(s, As::Owner, "A").await;
    let id = w["id"].as_str().unwrap().to_owned();
    let res = s.request(As::Owner, Method::PUT, &format!("/api/v1/orgs/{}/workflows/{id}", s.acme)).json(&body("Flow", "B", 0)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    id
}

#[tokio::test]
async fn role_table() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let base = "/api/v1/orgs/{acme}/workflows";
        let table: Vec<RoleRow> = vec![
            (Method::GET, base.into(), None, [200, 200, 200, 404, 401]),
            (Method::POST, base.into(), Some(body("New", "x", 0)), [201, 201, 201, 404, 401]),
            (Method::GET, format!("{base}/{{fresh}}"), None, [200, 200, 200, 404, 401]),
            (Method::PUT, format!("{base}/{{fresh}}"), Some(body("Flow", "C", 0)), [200, 200, 200, 404, 401]),
            (Method::GET, format!("{base}/{{fresh}}?version=1"), None, [200, 200, 403, 404, 401]),
            (Method::GET, format!("{base}/{{fresh}}/history"), None, [200, 200, 403, 404, 401]),
            (Method::GET, format!("{base}/{{fresh}}/diff?from=1&to=2"), None, [200, 200, 403, 404, 401]),
            (Method::POST, format!("{base}/{{fresh}}/restore"), Some(json!({"version": 1})), [200, 200, 403, 404, 401]),
            (Method::DELETE, format!("{base}/{{fresh}}"), None, [204, 204, 403, 404, 401]),
            (Method::GET, format!("{base}/no-such-workflow"), None, [404, 404, 404, 404, 401]),
        ];
        assert_role_table(&s, backend, &table, || fresh_workflow(&s)).await;
        // A workflow of another org is 404 even with its real id.
        let wf = fresh_workflow(&s).await;
        let res = s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/workflows/{wf}", s.globex)).await;
        assert_eq!(res.status(), 404, "[{backend}] cross-org id through one's own org");
    }
}

#[tokio::test]
async fn drag_rename_history_diff_restore() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let w = create(&s, As::Admin, "Fetch").await;
        assert_eq!((w["version"].as_i64(), w["name"].as_str()), (Some(1), Some("Flow")), "[{backend}]");
        assert_eq!(w["content_hash"].as_str().unwrap().len(), 64);
        let path = format!("/api/v1/orgs/{}/workflows/{}", s.acme, w["id"].as_str().unwrap());
        let put = |b: Value| s.request(As::Member, Method::PUT, &path).json(&b).send();

        let dragged: Value = put(body("Flow", "Fetch", 300)).await.unwrap().json().await.unwrap();
        assert_eq!((dragged["versioned"].as_bool(), dragged["version"].as_i64()), (Some(false), Some(1)), "[{backend}] drag");
        assert_eq!(dragged["content_hash"], w["content_hash"]);

        let renamed: Value = put(body("Flow 2", "Fetch user", 300)).await.unwrap().json().await.unwrap();
        assert_eq!((renamed["versioned"].as_bool(), renamed["version"].as_i64()), (Some(true), Some(2)));

        let history: Value = s.get(As::Admin, &format!("{path}/history")).await.json().await.unwrap();
        let versions = history["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0]["version"], 2);
        assert_eq!(versions[0]["source"], "api");
        assert_eq!(versions[0]["actor"]["name"], "Max Member");
        assert_eq!(versions[0]["actor"]["email"], "member@acme.test");
        assert_eq!(versions[0]["actor"]["type"], "user");
        assert_eq!(versions[0]["summary"], json!({"nodes_added": 0, "nodes_removed": 0, "nodes_changed": 1, "edges_added": 0, "edges_removed": 0}));
        assert_eq!(versions[1]["source"], "create");
        assert_eq!(history["next_cursor"], Value::Null);

        let d: Value = s.get(As::Admin, &format!("{path}/diff?from=1&to=2")).await.json().await.unwrap();
        assert_eq!((d["from"].as_i64(), d["to"].as_i64()), (Some(1), Some(2)));
        assert_eq!(d["nodes_changed"][0]["fields"], json!([{"path": "label", "before": "Fetch", "after": "Fetch user"}]));
        assert_eq!(d["nodes_changed"][0]["label"], "Fetch user");
        assert_eq!(d["name"], json!({"before": "Flow", "after": "Flow 2"}), "[{backend}] the rename is part of the change");
        for key in ["nodes_added", "nodes_removed", "edges_added", "edges_removed"] {
            assert_eq!(d[key], json!([]), "{key}");
        }

        let v1: Value = s.get(As::Admin, &format!("{path}?version=1")).await.json().await.unwrap();
        assert_eq!(v1["version"], 1);
        assert_eq!(v1["nodes"][0]["data"]["label"], "Fetch");

        let res = s.request(As::Admin, Method::POST, &format!("{path}/restore")).json(&json!({"version": 1})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let restored: Value = res.json().await.unwrap();
        assert_eq!(restored["version"], 3);
        assert_eq!(restored["content_hash"], w["content_hash"]);
        let history: Value = s.get(As::Admin, &format!("{path}/history?limit=1")).await.json().await.unwrap();
        assert_eq!(history["versions"][0]["source"], "restore");
        let back: Value = s.get(As::Admin, &format!("{path}/diff?from=2&to=3")).await.json().await.unwrap();
        assert_eq!(back["name"], json!({"before": "Flow 2", "after": "Flow"}), "[{backend}] a restore shows the name it brings back");
        assert!(history["next_cursor"].is_string(), "more pages");
        let next: Value = s
            .get(As::Admin, &format!("{path}/history?limit=1&cursor={}", history["next_cursor"].as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(next["versions"][0]["version"], 2);
    }
}

#[tokio::test]
async fn bad_workflow_input_names_the_field_and_changes_nothing() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let w = create(&s, As::Owner, "Fetch").await;
        let path = format!("/api/v1/orgs/{}/workflows/{}", s.acme, w["id"].as_str().unwrap());
        let cases = [
            (json!({"name": "x", "nodes": [{"id": "a", "type": "teleport"}], "edges": []}), "nodes[a].type"),
            (json!({"nodes": [{"id": "a", "type": "code"}], "edges": [{"id": "e", "source": "a", "target": "ghost"}]}), "edges[e].target"),
            (json!({"name": "  ", "nodes": [], "edges": []}), "name"),
        ];
        for (input, field) in cases {
            let res = s.request(As::Owner, Method::PUT, &path).json(&input).send().await.unwrap();
            let (status, code, message) = error_body(res).await;
            assert_eq!((status, code.as_str()), (422, "invalid_input"), "[{backend}] {input}");
            assert!(message.starts_with(field), "{message} should name {field}");
        }
        // Without nodes/edges the body is refused rather than wiping the workflow.
        let res = s.request(As::Owner, Method::PUT, &path).json(&json!({"name": "Renamed"})).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let res = s.request(As::Owner, Method::GET, &format!("{path}/diff?from=1")).send().await.unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 422);
        assert!(message.contains("to"), "{message}");
        let live: Value = s.get(As::Owner, &path).await.json().await.unwrap();
        assert_eq!((live["version"].as_i64(), &live["content_hash"], live["name"].as_str()), (Some(1), &w["content_hash"], Some("Flow")));
    }
}

#[tokio::test]
async fn demo_data_has_workflows_with_history() {
    let (_, db) = test_databases().await.remove(0);
    let s = TestServer::start(db).await;
    let list: Value = s.get(As::Member, &format!("/api/v1/orgs/{}/workflows", s.acme)).await.json().await.unwrap();
    let names: Vec<&str> = list["workflows"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Onboarding") && names.contains(&"Invoice sync"), "{names:?}");
    assert!(list["workflows"].as_array().unwrap().iter().all(|w| w["version"].as_i64() >= Some(2) && w.get("nodes").is_none()));
    let globex: Value = s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/workflows", s.globex)).await.json().await.unwrap();
    assert_eq!(globex["workflows"], json!([]));
}

#[tokio::test]
async fn workflow_changes_are_in_the_audit_trail() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let w = create(&s, As::Admin, "Fetch").await;
        let id = w["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/orgs/{}/workflows/{id}", s.acme);
        let put = |b: Value| s.request(As::Admin, Method::PUT, &path).json(&b).send();
        put(body("Flow", "Fetch", 300)).await.unwrap(); // cosmetic: not audited
        let renamed: Value = put(body("Flow v2", "Fetch user", 300)).await.unwrap().json().await.unwrap();
        let restore = s.request(As::Owner, Method::POST, &format!("{path}/restore")).json(&json!({"version": 1})).send();
        assert_eq!(restore.await.unwrap().status(), 200);

        let q = format!("resource_type=workflow&resource_id={id}");
        let events = audit_events(&s, &q, 3).await;
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["workflow.restored", "workflow.updated", "workflow.created"], "[{backend}]");
        let updated = &events[1];
        assert_eq!(updated["actor"]["name"], "Ada Admin");
        let paths: Vec<&str> = updated["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["content_hash", "name"], "name and hash, never the definition");
        assert_eq!(updated["changes"][0]["after"], renamed["content_hash"]);
        assert_eq!(updated["changes"][1]["before"], "Flow");
        assert_eq!(events[0]["metadata"]["from_version"], 1);
        assert_eq!(events[0]["metadata"]["to_version"], 3);
        assert_eq!(events[0]["actor"]["name"], "Olive Owner");

        // The delete event is stored before the workflow is gone.
        assert_eq!(s.request(As::Admin, Method::DELETE, &path).send().await.unwrap().status(), 204);
        let deleted = audit_events(&s, &format!("action=workflow.deleted&resource_id={id}"), 1).await;
        assert_eq!(deleted[0]["resource"]["type"], "workflow");
        // A delete that fails the role check records nothing.
        let other = create(&s, As::Owner, "Keep").await;
        let path = format!("/api/v1/orgs/{}/workflows/{}", s.acme, other["id"].as_str().unwrap());
        assert_eq!(s.request(As::Member, Method::DELETE, &path).send().await.unwrap().status(), 403);
        let q = format!("action=workflow.deleted&resource_id={}", other["id"].as_str().unwrap());
        let page: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?{q}", s.acme)).await.json().await.unwrap();
        assert_eq!(page["events"], json!([]));
    }
}
