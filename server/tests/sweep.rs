//! Malformed input everywhere: random, truncated and mistyped bodies and query strings sent
//! to every REST route and every server function, signed in and not. A client's mistake is
//! never a 5xx, and nothing panics (a panic would be a 500 or a dropped connection).

mod common;

use common::{As, TestServer};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::json;

/// Every REST route, with real ids of the demo org where the path has parameters.
fn rest_routes(s: &TestServer, workflow: &str, key: &str) -> Vec<(Method, String)> {
    let org = &s.acme;
    let w = format!("/api/v1/orgs/{org}/workflows/{workflow}");
    [
        (Method::POST, "/api/v1/auth/login".to_owned()),
        (Method::POST, "/api/v1/auth/logout".to_owned()),
        (Method::GET, "/api/v1/me".to_owned()),
        (Method::DELETE, "/api/v1/me".to_owned()),
        (Method::POST, "/api/v1/me/password".to_owned()),
        (Method::GET, "/api/v1/me/api-keys".to_owned()),
        (Method::POST, "/api/v1/me/api-keys".to_owned()),
        (Method::GET, "/api/v1/me/api-keys/activity".to_owned()),
        (Method::DELETE, format!("/api/v1/me/api-keys/{key}")),
        (Method::GET, format!("/api/v1/orgs/{org}/audit")),
        (Method::GET, format!("/api/v1/orgs/{org}/audit/export")),
        (Method::GET, format!("/api/v1/orgs/{org}/api-keys")),
        (Method::POST, format!("/api/v1/orgs/{org}/api-keys")),
        (Method::GET, format!("/api/v1/orgs/{org}/api-keys/activity")),
        (Method::DELETE, format!("/api/v1/orgs/{org}/api-keys/{key}")),
        (Method::GET, format!("/api/v1/orgs/{org}/members")),
        (Method::PATCH, format!("/api/v1/orgs/{org}/members/{key}")),
        (Method::DELETE, format!("/api/v1/orgs/{org}/members/{key}")),
        (Method::GET, format!("/api/v1/orgs/{org}/workflows")),
        (Method::POST, format!("/api/v1/orgs/{org}/workflows")),
        (Method::GET, w.clone()),
        (Method::PUT, w.clone()),
        (Method::GET, format!("{w}/history")),
        (Method::GET, format!("{w}/diff")),
        (Method::POST, format!("{w}/restore")),
    ]
    .into_iter()
    .collect()
}

/// Bodies a careless or hostile client sends: random bytes, valid JSON of the wrong shape,
/// truncated JSON, deep nesting, huge numbers, control characters.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let shaped = json!({"email": "owner@acme.test", "password": "x", "name": "n", "nodes": [{"id": "a", "type": "code", "data": {"label": "l"}}], "edges": [], "scopes": ["audit:read"], "version": 1, "role": "admin", "org": "o", "query": {}, "definition": {"nodes": [], "edges": []}}).to_string();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (0..shaped.len()).prop_map(move |cut| shaped.as_bytes()[..cut].to_vec()),
        prop_oneof![
            Just(json!(null)), Just(json!([])), Just(json!("text")), Just(json!(1e308)), Just(json!(-1)),
            Just(json!({"nodes": "x", "edges": 5})), Just(json!({"version": "one"})), Just(json!({"scopes": [1, 2]})),
            Just(json!({"name": "\u{0}\u{7}\n", "nodes": [], "edges": []})), Just(json!({"version": 9_223_372_036_854_775_807_i64})),
        ]
        .prop_map(|v| v.to_string().into_bytes()),
        (1..2000usize).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
    ]
}

fn queries() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,40}".prop_map(|q| q.replace(['#', ' '], "")),
        Just("limit=-1&cursor=%FF%FE".to_owned()),
        Just("from=x&to=99999999999999999999".to_owned()),
        Just("since=yesterday&until=2026-13-45T99:00:00Z".to_owned()),
        Just("limit=100000&format=pdf&version=-5".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_never_gets_a_5xx() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let created = s
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme))
            .json(&json!({"name": "Sweep", "nodes": [], "edges": []}))
            .send()
            .await
            .unwrap();
        let workflow = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let mut targets = rest_routes(&s, &workflow, "no-such-key");
        targets.extend(leptos::server_fn::axum::server_fn_paths().map(|(path, _)| (Method::POST, path.to_owned())));
        let mut runner = TestRunner::deterministic();
        let (bodies, queries) = (bodies(), queries());
        let mut sent = 0;
        for (method, path) in &targets {
            for round in 0..12 {
                let body = bodies.new_tree(&mut runner).unwrap().current();
                let query = queries.new_tree(&mut runner).unwrap().current();
                // Signing out would end the session the rest of the sweep uses.
                let who = if round % 3 == 0 || path.contains("logout") { As::Anonymous } else { As::Owner };
                let content_type = if round % 2 == 0 { "application/json" } else { "application/x-www-form-urlencoded" };
                let url = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
                let res = s.request(who, method.clone(), &url).header("content-type", content_type).body(body.clone()).send().await;
                let res = res.unwrap_or_else(|e| panic!("[{backend}] {method} {url}: no answer ({e}) to {:?}", String::from_utf8_lossy(&body)));
                assert!(
                    res.status().as_u16() < 500,
                    "[{backend}] {method} {url} as {who:?} answered {} to {:?}",
                    res.status(),
                    String::from_utf8_lossy(&body)
                );
                sent += 1;
            }
        }
        // The server is still whole afterwards, and the owner still signed in.
        assert_eq!(s.get(As::Owner, "/api/v1/me").await.status(), 200, "[{backend}]");
        assert_eq!(s.get(As::Anonymous, "/healthz").await.status(), 200, "[{backend}]");
        eprintln!("[{backend}] {sent} malformed requests to {} routes and server functions, none answered 5xx", targets.len());
    }
}
