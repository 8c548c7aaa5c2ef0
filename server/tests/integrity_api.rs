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
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT seq FROM {} WHERE org_id = $1 AND hash IS NOT NULL ORDER BY seq", common::audit_events_with_hashes(&s.db)))).bind(&s.acme).fetch_all(s.db.pool()).await.unwrap();
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

        // Inserted: a row that looks sealed (it carries hashes) but that the sealer never chained.
        sqlx::query(
            "INSERT INTO audit_events (id, org_id, action, actor_type, actor_label, resource_type, changes, metadata, created_at, org_key, actor_key, resource_key, action_key, created_us) \
             SELECT 'forged', org_id, action, actor_type, actor_label, resource_type, changes, metadata, created_at, org_key, actor_key, resource_key, action_key, created_us \
             FROM audit_events WHERE seq = $1",
        )
        .bind(b)
        .execute(db.pool())
        .await
        .unwrap();
        let (forged,): (i64,) = sqlx::query_as("SELECT seq FROM audit_events WHERE id = 'forged'").fetch_one(db.pool()).await.unwrap();
        sqlx::query(db.dialect().forge_seal()).bind(forged).bind(b).execute(db.pool()).await.unwrap();
        let report = verify(&s).await;
        assert_eq!(report["first_bad_seq"].as_i64(), Some(forged), "[{backend}] insert: {report}");
        sqlx::query("DELETE FROM audit_events WHERE id = 'forged'").execute(db.pool()).await.unwrap();
        // (On PostgreSQL its seal stays behind in `audit_seals`, joined to no event.)
        assert_eq!(verify(&s).await["ok"], true, "[{backend}] removed again");

        // Deleted: the next event no longer continues the chain.
        sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(a).execute(db.pool()).await.unwrap();
        let report = verify(&s).await;
        assert_eq!((report["ok"].as_bool(), report["first_bad_seq"].as_i64()), (Some(false), Some(b)), "[{backend}] delete: {report}");
        let (ok, _) = independent(&s).await;
        assert!(!ok, "[{backend}] the independent verifier finds it too");
    }
}

/// Runs `scripts/interop_check.py` with `args`: (exit ok, its report).
fn interop(args: &[&str]) -> (bool, Value) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/interop_check.py");
    let out = std::process::Command::new("python3").arg(script).args(args).output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("interop_check printed {stdout:?}; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), report)
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chronicle-test-interop-{}", app::backend::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

async fn checkpoint(s: &TestServer) -> Value {
    let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn create_key(s: &TestServer, name: &str) {
    let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/api-keys", s.acme)).json(&serde_json::json!({ "name": name, "scopes": ["audit:read"] })).send().await.unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn retention_prunes_whole_segments_and_what_remains_still_verifies() {
    use app::backend::audit::{retention, Recorder};
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        let settings = format!("/api/v1/orgs/{}/settings", s.acme);
        let res = s.request(As::Owner, Method::PATCH, &settings).json(&serde_json::json!({ "audit_retention_days": 0 })).send().await.unwrap();
        assert_eq!(common::error_body(res).await.0, 422, "[{backend}] less than a day");
        assert_eq!(s.request(As::Member, Method::PATCH, &settings).json(&serde_json::json!({ "audit_retention_days": 1 })).send().await.unwrap().status(), 403);
        let res = s.request(As::Owner, Method::PATCH, &settings).json(&serde_json::json!({ "audit_retention_days": 1 })).send().await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        let first = checkpoint(&s).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        create_key(&s, "after the first checkpoint").await;
        let second = checkpoint(&s).await;
        create_key(&s, "after the second checkpoint").await;
        let before = org_seqs(&s).await;

        // "Now" is a day after the second checkpoint's event: only the first segment is older.
        let (at,): (String,) = sqlx::query_as("SELECT created_at FROM audit_events WHERE seq = $1").bind(second["seq"].as_i64()).fetch_one(db.pool()).await.unwrap();
        let now = chrono::DateTime::parse_from_rfc3339(&at).unwrap().with_timezone(&chrono::Utc) + chrono::Duration::days(1);
        let audit = Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
        let pruned = retention::prune_all(&db, &audit, None, now).await.unwrap();
        let through = first["seq"].as_i64().unwrap();
        assert_eq!(pruned.len(), 1, "[{backend}] {pruned:?}");
        assert_eq!(pruned[0].through_seq, through, "[{backend}] up to the newest checkpoint older than the window");
        let removed = before.iter().filter(|seq| **seq <= through).count() as u64;
        assert_eq!(pruned[0].events, removed, "[{backend}]");
        assert!(retention::prune_all(&db, &audit, None, now).await.unwrap().is_empty(), "[{backend}] nothing more is that old");
        audit.shutdown().await;

        let checkpoints: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/checkpoints", s.acme)).await.json().await.unwrap();
        assert_eq!(checkpoints["checkpoints"][0]["seq"].as_i64(), Some(through), "[{backend}] the anchor stays");
        let report = verify(&s).await;
        assert_eq!(report["ok"], true, "[{backend}] {report}");
        let left = org_seqs(&s).await;
        assert!(left.iter().all(|seq| *seq > through) && left.len() >= 3, "[{backend}] {left:?}");
        let (ok, independent_report) = independent(&s).await;
        assert!(ok, "[{backend}] {independent_report}");
        let pruned_events = common::audit_events(&s, "action=audit_log.pruned", 1).await;
        assert_eq!(pruned_events[0]["metadata"]["events"].as_u64(), Some(removed), "[{backend}]");
        assert_eq!(pruned_events[0]["metadata"]["through_seq"].as_i64(), Some(through));

        // Still tamper-evident: the first kept event removed is found.
        sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(left[0]).execute(db.pool()).await.unwrap();
        let report = verify(&s).await;
        assert_eq!((report["ok"].as_bool(), report["first_bad_seq"].as_i64()), (Some(false), Some(left[1])), "[{backend}] {report}");
        assert!(!independent(&s).await.0, "[{backend}]");
    }
}

#[tokio::test]
async fn the_ocsf_export_is_valid_ocsf_1_5_0() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        // A failed sign-in, a key, a role change: each OCSF class.
        let res = s.http.post(s.url("/api/v1/auth/login")).json(&serde_json::json!({ "email": "owner@acme.test", "password": "wrong password" })).send().await.unwrap();
        assert_eq!(res.status(), 401);
        create_key(&s, "ocsf").await;
        let member = s.user_id("admin@acme.test").await;
        let res = s.request(As::Owner, Method::PATCH, &format!("/api/v1/orgs/{}/members/{member}", s.acme)).json(&serde_json::json!({ "role": "member" })).send().await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        common::audit_events(&s, "action=member.role_changed", 1).await;

        let res = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=ocsf", s.acme)).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().ends_with(".ocsf.jsonl\""));
        let rows = res.text().await.unwrap();
        let jsonl = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
        let rows: Vec<Value> = rows.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let events: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        // Each event has its row, with metadata.uid = its id (the OCSF export came first, so
        // the JSON Lines one has one event more: that export).
        let uids: std::collections::HashSet<&str> = rows.iter().map(|r| r["metadata"]["uid"].as_str().unwrap()).collect();
        let ids: std::collections::HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!((uids.len(), uids.difference(&ids).count()), (rows.len(), 0), "[{backend}] metadata.uid is the event id");
        let failed = rows.iter().find(|r| r["metadata"]["event_code"] == "auth.login_failed").expect("the failed sign-in");
        assert_eq!((failed["class_uid"].as_i64(), failed["status_id"].as_i64()), (Some(3002), Some(2)), "[{backend}] {failed}");
        let role = rows.iter().find(|r| r["metadata"]["event_code"] == "member.role_changed").unwrap();
        assert_eq!((role["class_uid"].as_i64(), role["privileges"][0].as_str()), (Some(3005), Some("member")), "[{backend}] {role}");
        let key = rows.iter().find(|r| r["metadata"]["event_code"] == "api_key.created").unwrap();
        assert_eq!((key["class_uid"].as_i64(), key["type_uid"].as_i64()), (Some(6003), Some(600301)), "[{backend}] {key}");

        let file = temp_file("rows.ocsf.jsonl", &rows.iter().map(|r| format!("{r}\n")).collect::<String>());
        let (ok, report) = interop(&["ocsf", file.to_str().unwrap()]);
        assert!(ok, "[{backend}] {report}");
        assert_eq!(report["rows"].as_u64(), Some(rows.len() as u64));
        let bad = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=xml", s.acme)).await;
        let (status, _, message) = common::error_body(bad).await;
        assert!(status == 422 && message.contains("ocsf"), "[{backend}] {message}");
    }
}

/// A SIEM on loopback: answers 503 while `down`, else keeps each delivery.
#[derive(Clone, Default)]
struct Receiver {
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    got: std::sync::Arc<std::sync::Mutex<Vec<(serde_json::Map<String, Value>, String)>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/siem",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    if me.down.load(std::sync::atomic::Ordering::SeqCst) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let h = ["webhook-id", "webhook-timestamp", "webhook-signature"].iter().map(|k| (k.to_string(), Value::from(headers[*k].to_str().unwrap()))).collect();
                    me.got.lock().unwrap().push((h, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/siem", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn ids(&self) -> Vec<String> {
        self.got.lock().unwrap().iter().map(|(h, _)| h["webhook-id"].as_str().unwrap().to_owned()).collect()
    }

    async fn wait_for(&self, ids: &[String], backend: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !ids.iter().all(|id| self.ids().contains(id)) {
            assert!(std::time::Instant::now() < deadline, "[{backend}] missing deliveries: got {:?}, want {ids:?}", self.ids());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn sealed_ids_after(db: &app::backend::db::Db, org: &str, seq: i64) -> Vec<String> {
    // Sealed first: what a stream delivers is the sealed trail.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (unsealed,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {} WHERE org_id = $1 AND hash IS NULL", common::audit_events_with_hashes(db)))).bind(org).fetch_one(db.pool()).await.unwrap();
        if unsealed == 0 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq").bind(org).bind(seq).fetch_all(db.pool()).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn streams_deliver_each_event_signed_in_order_and_catch_up_after_an_outage() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        let receiver = Receiver::default();
        let url = receiver.start().await;
        let streams = format!("/api/v1/orgs/{}/audit/streams", s.acme);
        assert_eq!(s.request(As::Member, Method::POST, &streams).json(&serde_json::json!({ "url": url })).send().await.unwrap().status(), 403);
        assert_eq!(s.request(As::OtherOrg, Method::GET, &streams).send().await.unwrap().status(), 404);
        for (body, field) in [(serde_json::json!({ "url": "ftp://x" }), "url"), (serde_json::json!({ "url": url, "format": "xml" }), "format")] {
            let (status, _, message) = common::error_body(s.request(As::Owner, Method::POST, &streams).json(&body).send().await.unwrap()).await;
            assert!(status == 422 && message.contains(field), "[{backend}] {message}");
        }
        let res = s.request(As::Owner, Method::POST, &streams).json(&serde_json::json!({ "url": url, "format": "json" })).send().await.unwrap();
        assert_eq!(res.status(), 201, "[{backend}]");
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44, "[{backend}] {secret}");
        let stream_id = created["stream"]["id"].as_str().unwrap().to_owned();
        let start = created["stream"]["cursor_seq"].as_i64().unwrap();
        let listed: Value = s.get(As::Owner, &streams).await.json().await.unwrap();
        assert!(listed.to_string().contains(&stream_id) && !listed.to_string().contains(&secret), "[{backend}] the secret is shown once");

        for i in 0..5 {
            create_key(&s, &format!("streamed {i}")).await;
        }
        let want = sealed_ids_after(&db, &s.acme, start).await;
        assert!(want.len() >= 6, "[{backend}] the stream's own creation and the five keys: {want:?}");
        receiver.wait_for(&want, &backend).await;

        // Down: deliveries fail and are retried; the stream page says so.
        receiver.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for i in 0..3 {
            create_key(&s, &format!("during the outage {i}")).await;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let listed: Value = s.get(As::Owner, &streams).await.json().await.unwrap();
            let stream = &listed["streams"][0];
            if stream["last_error"].as_str().is_some_and(|e| e.contains("503")) {
                assert!(stream["lag"].as_i64().unwrap() >= 3 && stream["failures"].as_i64().unwrap() >= 1, "[{backend}] {stream}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "[{backend}] no failure shown: {stream}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        receiver.down.store(false, std::sync::atomic::Ordering::SeqCst);
        let want = sealed_ids_after(&db, &s.acme, start).await;
        receiver.wait_for(&want, &backend).await;

        // Every event once, in seq order, each body the JSON Lines export's line.
        let got = receiver.got.lock().unwrap().clone();
        let ids = receiver.ids();
        assert_eq!(&ids[..want.len()], &want[..], "[{backend}] in seq order, none twice");
        let seqs: Vec<i64> = got.iter().map(|(_, body)| serde_json::from_str::<Value>(body).unwrap()["seq"].as_i64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "[{backend}] {seqs:?}");
        let export = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit/export?format=jsonl", s.acme)).await.text().await.unwrap();
        assert!(export.lines().any(|line| line == got[1].1), "[{backend}] the body is the export's line");
        let deliveries: Vec<Value> = got.iter().map(|(h, body)| serde_json::json!({ "headers": h, "body": body })).collect();
        let file = temp_file("deliveries.json", &Value::from(deliveries).to_string());
        let (ok, report) = interop(&["webhooks", file.to_str().unwrap(), &secret]);
        assert!(ok, "[{backend}] Standard Webhooks: {report}");

        assert!(common::metric(&s, "chronicle_stream_deliveries_total", "outcome=\"delivered\"").await >= want.len() as f64, "[{backend}]");
        assert!(common::metric(&s, "chronicle_stream_deliveries_total", "outcome=\"failed\"").await >= 1.0, "[{backend}]");

        // The test button, then removal.
        let res = s.request(As::Owner, Method::POST, &format!("{streams}/{stream_id}/test")).send().await.unwrap();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["ok"], true, "[{backend}] {answer}");
        assert!(receiver.ids().iter().any(|id| id.starts_with("test_")), "[{backend}]");
        assert_eq!(s.request(As::OtherOrg, Method::DELETE, &format!("{streams}/{stream_id}")).send().await.unwrap().status(), 404);
        assert_eq!(s.request(As::Owner, Method::DELETE, &format!("{streams}/{stream_id}")).send().await.unwrap().status(), 204);
        let listed: Value = s.get(As::Owner, &streams).await.json().await.unwrap();
        assert_eq!(listed["streams"].as_array().unwrap().len(), 0, "[{backend}]");
        common::audit_events(&s, "action=audit_stream.deleted", 1).await;
    }
}

/// A trigger that makes every audit insert fail: the trail "cannot be written".
async fn break_the_trail(db: &app::backend::db::Db, backend: &str) {
    if backend == "postgres" {
        sqlx::query("CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'the trail is offline'; END $$ LANGUAGE plpgsql").execute(db.pool()).await.unwrap();
        sqlx::query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()").execute(db.pool()).await.unwrap();
    } else {
        sqlx::query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'the trail is offline'); END").execute(db.pool()).await.unwrap();
    }
}

async fn key_count(s: &TestServer) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_keys WHERE org_id = $1").bind(&s.acme).fetch_one(s.db.pool()).await.unwrap();
    n
}

#[tokio::test]
async fn completeness_refuses_what_the_trail_cannot_record_and_availability_goes_on() {
    for (backend, db) in test_databases().await {
        let config = app::backend::Config { audit_completeness: true, ..app::backend::Config::default() };
        let s = TestServer::start_with_config(db.clone(), config).await;
        create_key(&s, "while the trail works").await;
        let keys = key_count(&s).await;
        break_the_trail(&db, backend).await;
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/api-keys", s.acme)).json(&serde_json::json!({ "name": "refused", "scopes": ["audit:read"] })).send().await.unwrap();
        let (status, _, message) = common::error_body(res).await;
        assert!(status == 503 && message.contains("audit trail"), "[{backend}] {status} {message}");
        assert_eq!(key_count(&s).await, keys, "[{backend}] the key was not created");
        assert_eq!(s.get(As::Owner, &format!("/api/v1/orgs/{}/api-keys", s.acme)).await.status(), 200, "[{backend}] reading goes on");
    }
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        break_the_trail(&db, backend).await;
        let keys = key_count(&s).await;
        create_key(&s, "despite the trail").await;
        assert_eq!(key_count(&s).await, keys + 1, "[{backend}] availability: the action proceeds");
        // The trail back: the event that waited is written.
        let drop = if backend == "postgres" { "DROP TRIGGER refuse_audit ON audit_events" } else { "DROP TRIGGER refuse_audit" };
        sqlx::query(drop).execute(db.pool()).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'api_key.created' AND metadata LIKE '%despite the trail%'").fetch_one(db.pool()).await.unwrap();
            if n == 1 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "[{backend}] the held event was never written");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
