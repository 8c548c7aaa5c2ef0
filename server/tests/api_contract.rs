//! The REST API as independent clients meet it, on each database: the reference validator
//! accepts the OpenAPI document, Schemathesis (every check, every phase, a fixed seed) finds
//! nothing on `/api/v1` signed in with an org key (and its stateful phase, walking from
//! `GET /me` with a personal key), and a client generated from the document
//! works (scripts/api_contract.py; scripts/test.sh installs its Python tools).

mod common;

use app::model::SCOPES;
use common::{As, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Seed and examples per operation: fixed, so CI runs the same cases every time
/// (`CHRONICLE_CONTRACT_SEED` / `CHRONICLE_CONTRACT_EXAMPLES` run others, as the README says).
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

// Several threads: the server answers the Python tools while this one waits for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_clients_find_the_api_as_its_document_says() {
    for (name, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let (_, org_key) = s.create_org_key("contract", &SCOPES).await;
        // A personal key of Acme's owner for the stateful walk: `GET /me` answers it with the
        // org, where the walk starts (an org key is no one, and `/me` refuses it).
        let res = s
            .request(As::Owner, Method::POST, "/api/v1/me/api-keys")
            .json(&json!({"name": "contract walk", "scopes": SCOPES, "current_password": "chronicle-demo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let personal_key = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/api_contract.py");
        let out = std::process::Command::new("python3")
            .arg(script)
            .args([&s.base, &s.acme, &org_key, &personal_key])
            .args(["--seed", &setting("CHRONICLE_CONTRACT_SEED", "1"), "--max-examples", &setting("CHRONICLE_CONTRACT_EXAMPLES", "100")])
            .output()
            .expect("python3 runs (scripts/test.sh installs schemathesis, openapi-spec-validator and openapi-python-client)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|_| panic!("[{name}] api_contract.py printed {stdout:?}; stderr: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(report["validator"], "accepted", "[{name}] {report:#}");
        assert_eq!(report["schemathesis"]["ok"], true, "[{name}] Schemathesis found failures:\n{}", report["schemathesis"]["log"].as_str().unwrap_or_default());
        assert_eq!(report["stateful_walk"]["ok"], true, "[{name}] Schemathesis's walk from GET /me found failures:\n{}", report["stateful_walk"]["log"].as_str().unwrap_or_default());
        assert_eq!(report["client"]["versions"], 1, "[{name}] the generated client: {report:#}");
        assert!(out.status.success(), "[{name}] {report:#}");
        println!("[{name}] {} / walk from GET /me: {}", report["schemathesis"]["summary"], report["stateful_walk"]["summary"]);
    }
}
