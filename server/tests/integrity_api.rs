//! Trail integrity over real HTTP on SQLite and PostgreSQL: events are chained and
//! checkpoints signed; the shipped independent verifier (Python: `rfc8785` + `cryptography`,
//! no Chronicle code) accepts the export; edits, swaps, deletions and insertions are each
//! found at the right `seq`, by the API, the command line and the independent verifier.

mod common;

use common::{test_databases, As, TestServer};
use reqwest::Method;
use serde_json::Value;

async fn verify(s: &TestServer) -> Value {
    let res = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/verify", s.acme)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Runs `scripts/verify_audit.py` on the org's export and checkpoints: (exit ok, its report).
async fn independent(s: &TestServer) -> (bool, Value) {
    let export = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
    let checkpoints = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).await.text().await.unwrap();
    let key: Value = s.get(As::Anonymous, "/api/v1/audit/signing-key").await.json().await.unwrap();
    let dir = std::env::temp_dir().join(format!("chronicle-test-verify-{}", app::backend::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("export.jsonl"), export).unwrap();
    std::fs::write(dir.join("checkpoints.json"), checkpoints).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/verify_audit.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(dir.join("export.jsonl"))
        .arg(dir.join("checkpoints.json"))
        .arg(key["public_key"].as_str().unwrap())
        .output()
        .expect("python3 runs (scripts/test.sh installs rfc8785 and cryptography)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("the verifier printed {stdout:?}; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    let _ = std::fs::remove_dir_all(dir);
    (out.status.success(), report)
}

async fn org_seqs(s: &TestServer) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT seq FROM audit_events WHERE org_id = $1 AND hash IS NOT NULL ORDER BY seq").bind(&s.acme).fetch_all(s.db.pool()).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn the_chain_is_sealed_signed_and_checked_by_an_independent_verifier() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let key: Value = s.get(As::Anonymous, "/api/v1/audit/signing-key").await.json().await.unwrap();
        assert_eq!(key["key_id"].as_str().unwrap().len(), 16, "[{backend}]");
        assert!(key["pem"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).send().await.unwrap();
        assert_eq!(res.status(), 201, "[{backend}]");
        let checkpoint: Value = res.json().await.unwrap();
        assert_eq!(checkpoint["org_id"], s.acme.as_str());
        assert_eq!(checkpoint["hash"].as_str().unwrap().len(), 64);
        assert_eq!(s.request(As::Member, Method::POST, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).send().await.unwrap().status(), 403);
        assert_eq!(s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/audit/verify", s.acme)).await.status(), 404);

        let report = verify(&s).await;
        assert_eq!(report["ok"], true, "[{backend}] {report}");
        assert!(report["events_checked"].as_i64().unwrap() >= 5, "[{backend}] {report}");
        assert!(report["checkpoints_checked"].as_i64().unwrap() >= 1, "[{backend}] {report}");
        // The export carries each event's place in the chain.
        let export = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
        let first: Value = serde_json::from_str(export.lines().last().unwrap()).unwrap();
        assert_eq!(first["prev_hash"], "0".repeat(64), "[{backend}] the oldest event starts the chain: {first}");
        assert!(first["seq"].is_i64() && first["hash"].is_string());
        let (ok, report) = independent(&s).await;
        assert!(ok, "[{backend}] {report}");
        assert!(report["checkpoints_checked"].as_i64().unwrap() >= 1);
    }
}

#[tokio::test]
async fn every_kind_of_tampering_is_found_at_its_first_bad_seq() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).send().await.unwrap();
        let seqs = org_seqs(&s).await;
        assert!(seqs.len() >= 5, "[{backend}] {seqs:?}");
        let (a, b) = (seqs[1], seqs[2]);
        let meta = |seq: i64| {
            let db = db.clone();
            async move { sqlx::query_as::<_, (String, String)>("SELECT metadata, action FROM audit_events WHERE seq = $1").bind(seq).fetch_one(db.pool()).await.unwrap() }
        };
        let set = |seq: i64, metadata: String, action: String| {
            let db = db.clone();
            async move { sqlx::query("UPDATE audit_events SET metadata = $1, action = $2 WHERE seq = $3").bind(metadata).bind(action).bind(seq).execute(db.pool()).await.unwrap() }
        };
        let (meta_a, action_a) = meta(a).await;
        let (meta_b, action_b) = meta(b).await;

        // Edited.
        set(a, r#"{"forged":true}"#.into(), action_a.clone()).await;
        let report = verify(&s).await;
        assert_eq!((report["ok"].as_bool(), report["first_bad_seq"].as_i64()), (Some(false), Some(a)), "[{backend}] edit: {report}");
        let (ok, independent_report) = independent(&s).await;
        assert!(!ok && independent_report["first_bad_seq"] == a, "[{backend}] {independent_report}");
        set(a, meta_a.clone(), action_a.clone()).await;
        assert_eq!(verify(&s).await["ok"], true, "[{backend}] restored");

        // Two events swapped (their contents trade places).
        set(a, meta_b.clone(), action_b.clone()).await;
        set(b, meta_a.clone(), action_a.clone()).await;
        assert_eq!(verify(&s).await["first_bad_seq"].as_i64(), Some(a), "[{backend}] swap");
        set(a, meta_a.clone(), action_a.clone()).await;
        set(b, meta_b.clone(), action_b.clone()).await;
        assert_eq!(verify(&s).await["ok"], true, "[{backend}] restored");

        // Inserted: a row that looks sealed but that the sealer never chained.
        sqlx::query(
            "INSERT INTO audit_events (id, org_id, action, actor_type, actor_label, resource_type, changes, metadata, created_at, org_key, actor_key, resource_key, action_key, created_us, prev_hash, hash) \
             SELECT 'forged', org_id, action, actor_type, actor_label, resource_type, changes, metadata, created_at, org_key, actor_key, resource_key, action_key, created_us, hash, hash \
             FROM audit_events WHERE seq = $1",
        )
        .bind(b)
        .execute(db.pool())
        .await
        .unwrap();
        let (forged,): (i64,) = sqlx::query_as("SELECT seq FROM audit_events WHERE id = 'forged'").fetch_one(db.pool()).await.unwrap();
        let report = verify(&s).await;
        assert_eq!(report["first_bad_seq"].as_i64(), Some(forged), "[{backend}] insert: {report}");
        sqlx::query("DELETE FROM audit_events WHERE id = 'forged'").execute(db.pool()).await.unwrap();
        assert_eq!(verify(&s).await["ok"], true, "[{backend}] removed again");

        // Deleted: the next event no longer continues the chain.
        sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(a).execute(db.pool()).await.unwrap();
        let report = verify(&s).await;
        assert_eq!((report["ok"].as_bool(), report["first_bad_seq"].as_i64()), (Some(false), Some(b)), "[{backend}] delete: {report}");
        let (ok, _) = independent(&s).await;
        assert!(!ok, "[{backend}] the independent verifier finds it too");
    }
}
