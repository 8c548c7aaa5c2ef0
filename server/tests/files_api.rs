//! Files, the storage meter, public links, workflow export and billing webhooks over real
//! HTTP on SQLite and PostgreSQL: the meter never drifts under concurrent uploads and racing
//! deletes, quota refusals write nothing, anonymous downloads are on the record, and every
//! billing event is verified first and processed exactly once, redelivered or not.

mod common;

use app::backend::Config;
use common::{assert_role_table, audit_events, error_body, test_databases, As, RoleRow, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;

const SECRETS: [&str; 2] = ["whsec_current", "whsec_previous"];

async fn upload(s: &TestServer, who: As, name: &str, body: Vec<u8>) -> reqwest::Response {
    s.request(who, Method::POST, &format!("/api/v1/orgs/{}/files?name={}", s.acme, urlencode(name))).body(body).send().await.unwrap()
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn used_and_sum(s: &TestServer) -> (i64, i64) {
    let (used,): (i64,) = sqlx::query_as("SELECT storage_used_bytes FROM orgs WHERE id = $1").bind(&s.acme).fetch_one(s.db.pool()).await.unwrap();
    let (sum,): (Option<i64>,) = sqlx::query_as("SELECT CAST(SUM(size) AS BIGINT) FROM files WHERE org_id = $1").bind(&s.acme).fetch_one(s.db.pool()).await.unwrap();
    (used, sum.unwrap_or(0))
}

/// Files left in the data directory's temporary area (a refused upload leaves none).
fn temporaries(s: &TestServer) -> usize {
    std::fs::read_dir(s.data_dir.join("files/tmp")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn files_are_uploaded_metered_downloaded_and_deleted_once() {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").try_init();
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let contents = b"a,b\n1,2\n".to_vec();
        let res = upload(&s, As::Member, "Q3 numbers (été).csv", contents.clone()).await;
        assert_eq!(res.status(), 201, "[{backend}]");
        let file: Value = res.json().await.unwrap();
        assert_eq!((file["name"].as_str(), file["size"].as_i64()), (Some("Q3 numbers (été).csv"), Some(8)), "[{backend}]");
        assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&contents)));
        assert_eq!(file["created_by"]["name"], "Max Member");
        let id = file["id"].as_str().unwrap().to_owned();
        let usage: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/usage", s.acme)).await.json().await.unwrap();
        assert_eq!(usage, json!({ "storage_used_bytes": 8, "storage_quota_bytes": 100 * 1024 * 1024, "files": 1, "plan": "free", "billing_status": "active", "seats": null }), "[{backend}]");

        let download = s.get(As::Member, &format!("/api/v1/orgs/{}/files/{id}/content", s.acme)).await;
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["content-type"], "text/csv");
        let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment;") && disposition.contains("filename*=UTF-8''Q3%20numbers%20%28%C3%A9t%C3%A9%29.csv"), "{disposition}");
        assert_eq!(download.bytes().await.unwrap().to_vec(), contents);
        let downloaded = audit_events(&s, "action=file.downloaded", 1).await;
        assert_eq!(downloaded[0]["actor"]["label"], "Max Member", "[{backend}]");
        assert_eq!(audit_events(&s, "action=file.uploaded", 1).await[0]["resource"]["id"], id.as_str());

        // Role table: any member works with files; sharing and usage are for owners and admins.
        let table: [RoleRow; 4] = [
            (Method::GET, "/api/v1/orgs/{acme}/files".into(), None, [200, 200, 200, 404, 401]),
            (Method::GET, format!("/api/v1/orgs/{{acme}}/files/{id}/content"), None, [200, 200, 200, 404, 401]),
            (Method::POST, format!("/api/v1/orgs/{{acme}}/files/{id}/share"), None, [201, 201, 403, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/usage".into(), None, [200, 200, 403, 404, 401]),
        ];
        assert_role_table(&s, backend, &table, || async { String::new() }).await;
        // Another org's file is a 404, never a 403.
        assert_eq!(s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/files/{id}/content", s.globex)).await.status(), 404);

        // Names that could be paths or hide characters: 422 naming the field, nothing stored.
        for bad in ["../etc/passwd", "a/b.txt", "nul\u{0}.txt", "bell\u{7}.txt", ""] {
            let (status, _, message) = error_body(upload(&s, As::Owner, bad, b"x".to_vec()).await).await;
            assert_eq!(status, 422, "[{backend}] {bad:?}");
            assert!(message.starts_with("name"), "{message}");
        }
        assert_eq!(used_and_sum(&s).await, (8, 8), "[{backend}]");

        // Delete: 204, then 404; the size subtracted once.
        let path = format!("/api/v1/orgs/{}/files/{id}", s.acme);
        assert_eq!(s.request(As::Member, Method::DELETE, &path).send().await.unwrap().status(), 204);
        assert_eq!(s.request(As::Member, Method::DELETE, &path).send().await.unwrap().status(), 404);
        assert_eq!(used_and_sum(&s).await, (0, 0), "[{backend}]");
        assert_eq!(audit_events(&s, "action=file.deleted", 1).await.len(), 1);

        // Workflow export: a download, on the record.
        let workflows: Value = s.get(As::Member, &format!("/api/v1/orgs/{}/workflows", s.acme)).await.json().await.unwrap();
        let wf = workflows["workflows"][0]["id"].as_str().unwrap();
        let export = s.get(As::Member, &format!("/api/v1/orgs/{}/workflows/{wf}/export", s.acme)).await;
        assert_eq!(export.status(), 200, "[{backend}]");
        assert!(export.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename="));
        let exported: Value = export.json().await.unwrap();
        assert_eq!(exported["id"], wf);
        let events = audit_events(&s, "action=workflow.exported", 1).await;
        assert_eq!(events[0]["actor"]["label"], "Max Member", "[{backend}]");
    }
}

#[tokio::test]
async fn quota_refusals_write_nothing_and_are_on_the_record() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start_with_config(db.clone(), Config { max_file_bytes: 64 * 1024, ..Config::default() }).await;
        sqlx::query("UPDATE orgs SET storage_quota_bytes = 1000 WHERE id = $1").bind(&s.acme).execute(db.pool()).await.unwrap();
        assert_eq!(upload(&s, As::Owner, "fits.bin", vec![1; 600]).await.status(), 201, "[{backend}]");
        // Announced: refused before a byte is read.
        let (status, code, _) = error_body(upload(&s, As::Owner, "too-big.bin", vec![2; 600]).await).await;
        assert_eq!((status, code.as_str()), (413, "storage_quota_exceeded"), "[{backend}]");
        // Unannounced (chunked): cut off at the room left.
        let chunks = futures_util::stream::iter((0..6).map(|_| Ok::<_, std::io::Error>(vec![3u8; 100])));
        let res = s
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/files?name=streamed.bin", s.acme))
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_body(res).await;
        assert_eq!((status, code.as_str()), (413, "storage_quota_exceeded"), "[{backend}] chunked");
        // Over the largest file allowed, whatever the quota.
        sqlx::query("UPDATE orgs SET storage_quota_bytes = NULL WHERE id = $1").bind(&s.acme).execute(db.pool()).await.unwrap();
        let (status, code, _) = error_body(upload(&s, As::Owner, "huge.bin", vec![4; 65 * 1024]).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"), "[{backend}]");
        assert_eq!(used_and_sum(&s).await, (600, 600), "[{backend}] nothing counted");
        let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files").fetch_one(db.pool()).await.unwrap();
        assert_eq!(files, 1, "[{backend}] no row");
        assert_eq!(temporaries(&s), 0, "[{backend}] no partial file left");
        let refused = audit_events(&s, "action=file.upload_refused", 3).await;
        assert!(refused.iter().any(|e| e["metadata"]["name"] == "too-big.bin"), "[{backend}] {refused:?}");
    }
}

/// SPEC's limits: 100 MiB at most per file by default, refused with room to spare; uploads
/// that together pass the room are refused as they stream, however they interleave, and
/// nothing refused stays on disk or in the quota.
#[tokio::test]
async fn uploads_reserve_quota_as_they_stream_and_the_default_limit_is_100_mib() {
    const MIB: usize = 1024 * 1024;
    for (backend, db) in test_databases().await {
        let s = &TestServer::start(db.clone()).await;
        let set_room = |bytes: i64| sqlx::query("UPDATE orgs SET storage_quota_bytes = $1 WHERE id = $2").bind(bytes).bind(s.acme.clone()).execute(db.pool());
        let reserved = || async {
            let (n,): (i64,) = sqlx::query_as("SELECT storage_reserved_bytes FROM orgs WHERE id = $1").bind(&s.acme).fetch_one(db.pool()).await.unwrap();
            n
        };
        set_room(1 << 40).await.unwrap();
        let (status, code, _) = error_body(upload(s, As::Owner, "101.bin", vec![1; 101 * MIB]).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"), "[{backend}] announced");
        let chunks = futures_util::stream::iter((0..101).map(|_| Ok::<_, std::io::Error>(vec![2u8; MIB])));
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/files?name=101s.bin", s.acme)).body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
        let (status, code, _) = error_body(res).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"), "[{backend}] streamed");

        // Three 18 MiB uploads at once into 30 MiB of room.
        set_room(30 * MIB as i64).await.unwrap();
        let three = |streamed: bool| {
            futures_util::future::join_all((0..3).map(move |i| {
                let url = s.url(&format!("/api/v1/orgs/{}/files?name=big-{streamed}-{i}.bin", s.acme));
                let body = if streamed {
                    // 64 KiB at a time, so the three interleave as they stream.
                    reqwest::Body::wrap_stream(futures_util::stream::iter((0..288).map(move |_| Ok::<_, std::io::Error>(vec![i as u8; 64 * 1024]))))
                } else {
                    reqwest::Body::from(vec![i as u8; 18 * MIB])
                };
                s.http.post(url).header("cookie", s.cookie(As::Owner).unwrap()).body(body).send()
            }))
        };
        let statuses: Vec<u16> = three(false).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        assert_eq!((statuses.iter().filter(|s| **s == 201).count(), statuses.iter().filter(|s| **s == 413).count()), (1, 2), "[{backend}] announced: {statuses:?}");
        assert_eq!(used_and_sum(s).await, (18 * MIB as i64, 18 * MIB as i64), "[{backend}]");
        assert_eq!((temporaries(s), reserved().await), (0, 0), "[{backend}] nothing refused stays on disk or in the quota");

        // Streamed: the room is reserved as bytes arrive; at most one fits.
        set_room(18 * MIB as i64 + 30 * MIB as i64).await.unwrap();
        let statuses: Vec<u16> = three(true).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 201 || *s == 413) && statuses.iter().filter(|s| **s == 201).count() <= 1, "[{backend}] streamed: {statuses:?}");
        let (used, sum) = used_and_sum(s).await;
        assert!(used == sum && used <= 48 * MIB as i64, "[{backend}] {used} {sum}");
        assert_eq!((temporaries(s), reserved().await), (0, 0), "[{backend}] streamed: nothing refused stays on disk or in the quota");
    }
}

#[tokio::test]
async fn the_meter_never_drifts_under_concurrent_uploads_and_racing_deletes() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        let mut ids = Vec::new();
        for i in 0..20 {
            let res: Value = upload(&s, As::Owner, &format!("seed-{i}.bin"), vec![i as u8; 1000 + i]).await.json().await.unwrap();
            ids.push(res["id"].as_str().unwrap().to_owned());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let (http, url, cookie) = (s.http.clone(), s.url(&format!("/api/v1/orgs/{}/files?name=new-{i}.bin", s.acme)), s.cookie(As::Owner).unwrap().to_owned());
            tasks.spawn(async move { http.post(url).header("cookie", cookie).body(vec![7u8; 500 + i]).send().await.unwrap().status().as_u16() });
        }
        // Two deletes race for each of the 20 files.
        for i in 0..40 {
            let (http, url, cookie) = (s.http.clone(), s.url(&format!("/api/v1/orgs/{}/files/{}", s.acme, ids[i % 20])), s.cookie(As::Owner).unwrap().to_owned());
            tasks.spawn(async move { http.delete(url).header("cookie", cookie).send().await.unwrap().status().as_u16() });
        }
        let statuses = tasks.join_all().await;
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 40, "[{backend}] {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 20, "[{backend}] each file deleted once");
        assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 20, "[{backend}]");
        let (used, sum) = used_and_sum(&s).await;
        assert_eq!(used, sum, "[{backend}] the meter equals the files");
        assert_eq!(sum, (0..40).map(|i| 500 + i).sum::<i64>(), "[{backend}]");
        let largest: Vec<i64> = app::backend::files::largest(&s.db, &s.acme, 3).await.unwrap().iter().map(|f| f.size).collect();
        assert_eq!(largest, [539, 538, 537], "[{backend}] the Usage page's largest files");
        let metrics = s.get(As::Anonymous, "/metrics").await.text().await.unwrap();
        assert!(metrics.contains(&format!("chronicle_storage_used_bytes{{org=\"{}\"}} {used}", s.acme)), "[{backend}]");
    }
}

#[tokio::test]
async fn public_links_download_anonymously_on_the_record_until_revoked() {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").try_init();
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let file: Value = upload(&s, As::Owner, "press-kit.pdf", b"%PDF-1.4 kit".to_vec()).await.json().await.unwrap();
        let id = file["id"].as_str().unwrap();
        let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/files/{id}/share", s.acme)).send().await.unwrap();
        assert_eq!(res.status(), 201, "[{backend}]");
        let share: Value = res.json().await.unwrap();
        let url = share["url"].as_str().unwrap();
        let token = url.rsplit('/').next().unwrap();
        assert_eq!(token.len(), 64, "256 bits");
        let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM file_shares WHERE token_hash = $1").bind(token).fetch_one(s.db.pool()).await.unwrap();
        assert_eq!(stored, 0, "[{backend}] the token is stored hashed");
        let visitor = s.http.get(s.url(&format!("/s/{token}"))).header("user-agent", "Visitor/1.0").send().await.unwrap();
        assert_eq!(visitor.status(), 200, "[{backend}]");
        assert_eq!(visitor.headers()["content-type"], "application/pdf");
        assert_eq!(visitor.bytes().await.unwrap().as_ref(), b"%PDF-1.4 kit");
        let downloads = audit_events(&s, "action=file.downloaded", 1).await;
        let event = &downloads[0];
        assert_eq!(event["actor"], json!({ "type": "anonymous", "id": null, "label": "Public link", "name": null, "email": null }), "[{backend}]");
        assert_eq!(event["ip"], "127.0.0.1");
        assert_eq!(event["user_agent"], "Visitor/1.0");
        assert_eq!(audit_events(&s, "action=file.shared", 1).await.len(), 1);
        let listed: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/files", s.acme)).await.json().await.unwrap();
        assert_eq!(listed["files"][0]["shared"], true);

        let res = s.request(As::Owner, Method::DELETE, &format!("/api/v1/orgs/{}/files/{id}/share", s.acme)).send().await.unwrap();
        assert_eq!(res.json::<Value>().await.unwrap(), json!({ "revoked": 1 }), "[{backend}]");
        for bad in [token.to_owned(), "0".repeat(64), "not-a-token".into(), "%00".into()] {
            assert_eq!(s.http.get(s.url(&format!("/s/{bad}"))).send().await.unwrap().status(), 404, "[{backend}] {bad}");
        }
        assert_eq!(audit_events(&s, "action=file.share_revoked", 1).await.len(), 1);
    }
}

#[tokio::test]
async fn contents_no_row_names_are_swept_and_never_counted() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        // A crash between moving the contents into place and committing the row leaves this.
        let blobs = app::backend::files::blobs::Blobs::new(&s.data_dir);
        let orphan = blobs.path(&"ab".repeat(32));
        std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
        std::fs::write(&orphan, b"orphan").unwrap();
        let kept: Value = upload(&s, As::Owner, "kept.txt", b"kept".to_vec()).await.json().await.unwrap();
        let kept_path = blobs.path(kept["sha256"].as_str().unwrap());
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for path in [&orphan, &kept_path] {
            std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
        }
        assert_eq!(used_and_sum(&s).await, (4, 4), "[{backend}] the orphan is not counted");
        // Two instances sweeping at once: the orphan goes once, neither fails.
        let (a, b) = tokio::join!(blobs.sweep(&db), blobs.sweep(&db));
        assert_eq!(a.unwrap() + b.unwrap(), 1, "[{backend}]");
        assert!(!orphan.exists(), "[{backend}] swept");
        assert!(kept_path.exists(), "[{backend}] a named file stays");
    }
}

fn stripe_header(secret: &str, t: i64, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn billing(s: &TestServer, header: Option<String>, body: &str) -> reqwest::Response {
    let mut req = s.http.post(s.url("/webhooks/billing")).header("content-type", "application/json").body(body.to_owned());
    if let Some(h) = header {
        req = req.header("stripe-signature", h);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn billing_events_are_verified_first_and_applied_exactly_once() {
    for (backend, db) in test_databases().await {
        let config = Config { billing_webhook_secrets: SECRETS.iter().map(|s| s.to_string()).collect(), ..Config::default() };
        let s = TestServer::start_with_config(db.clone(), config).await;
        let now = chrono::Utc::now().timestamp();
        let subscription = json!({ "id": "evt_sub_1", "type": "customer.subscription.created", "created": 1_764_000_000,
            "data": { "object": { "id": "sub_1", "object": "subscription", "status": "active", "quantity": 7,
                "metadata": { "org_id": s.acme, "plan": "team" } } } })
        .to_string();

        // The signature matrix: each refusal is a 400 and changes nothing.
        let good = stripe_header(SECRETS[0], now, &subscription);
        let second_v1 = format!("t={now},v1={},v1={}", "0".repeat(64), stripe_header(SECRETS[0], now, &subscription).split("v1=").nth(1).unwrap());
        for (what, header) in [
            ("wrong secret", Some(stripe_header("whsec_wrong", now, &subscription))),
            ("stale", Some(stripe_header(SECRETS[0], now - 301, &subscription))),
            ("tampered body", Some(stripe_header(SECRETS[0], now, &subscription.replace("team", "enterprise")))),
            ("missing header", None),
            ("garbage header", Some("t=abc,v1=xyz".into())),
        ] {
            let (status, code, _) = error_body(billing(&s, header, &subscription).await).await;
            assert_eq!((status, code.as_str()), (400, "invalid_signature"), "[{backend}] {what}");
        }
        async fn usage(s: &TestServer) -> Value {
            s.get(As::Owner, &format!("/api/v1/orgs/{}/usage", s.acme)).await.json().await.unwrap()
        }
        assert_eq!(usage(&s).await["plan"], "free", "[{backend}] nothing applied");

        // Redelivered 8 times at once (good header, a rotated secret, a second v1): one effect, one record.
        let headers = [good.clone(), stripe_header(SECRETS[1], now, &subscription), second_v1];
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (http, url, header, body) = (s.http.clone(), s.url("/webhooks/billing"), headers[i % 3].clone(), subscription.clone());
            tasks.spawn(async move {
                let res = http.post(url).header("stripe-signature", header).body(body).send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            });
        }
        let answers = tasks.join_all().await;
        assert!(answers.iter().all(|(status, _)| *status == 200), "[{backend}] {answers:?}");
        assert_eq!(answers.iter().filter(|(_, b)| b["duplicate"] == true).count(), 7, "[{backend}] {answers:?}");
        let after = usage(&s).await;
        assert_eq!((after["plan"].as_str(), after["storage_quota_bytes"].as_i64(), after["seats"].as_i64()), (Some("team"), Some(10 * 1024 * 1024 * 1024), Some(7)), "[{backend}]");
        let changed = audit_events(&s, "action=billing.subscription_changed", 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(audit_events(&s, "action=billing.subscription_changed", 1).await.len(), 1, "[{backend}] one record");
        assert_eq!(changed[0]["actor"], json!({ "type": "system", "id": null, "label": "Billing webhook", "name": null, "email": null }));
        assert_eq!(changed[0]["metadata"]["event_id"], "evt_sub_1");
        assert_eq!(changed[0]["metadata"]["provider_created_at"].as_str().unwrap()[..19], *"2025-11-24T16:00:00");

        // An invoice names only its subscription: the org is found through it.
        let failed = json!({ "id": "evt_inv_1", "type": "invoice.payment_failed", "created": now, "data": { "object": { "id": "in_1", "subscription": "sub_1" } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &failed)), &failed).await.status(), 200);
        assert_eq!(usage(&s).await["billing_status"], "past_due", "[{backend}]");
        let paid = json!({ "id": "evt_inv_2", "type": "invoice.paid", "created": now, "data": { "object": { "id": "in_2", "metadata": { "org_id": s.acme } } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &paid)), &paid).await.status(), 200);
        assert_eq!(usage(&s).await["billing_status"], "active", "[{backend}]");
        let quota = json!({ "id": "evt_sub_2", "type": "customer.subscription.updated", "created": now,
            "data": { "object": { "id": "sub_1", "status": "active", "metadata": { "org_id": s.acme, "plan": "enterprise", "storage_quota_bytes": 5000 } } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &quota)), &quota).await.status(), 200);
        assert_eq!(usage(&s).await["storage_quota_bytes"], 5000, "[{backend}] the metadata quota wins");
        let deleted = json!({ "id": "evt_sub_3", "type": "customer.subscription.deleted", "created": now, "data": { "object": { "id": "sub_1", "metadata": { "org_id": s.acme } } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &deleted)), &deleted).await.status(), 200);
        let back = usage(&s).await;
        assert_eq!((back["plan"].as_str(), back["storage_quota_bytes"].as_i64()), (Some("free"), Some(100 * 1024 * 1024)), "[{backend}]");
        let dispute = json!({ "id": "evt_dp_1", "type": "charge.dispute.created", "created": now, "data": { "object": { "id": "dp_1", "amount": 4200, "currency": "eur", "reason": "fraudulent", "metadata": { "org_id": s.acme } } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &dispute)), &dispute).await.status(), 200);
        assert_eq!(audit_events(&s, "action=billing.dispute_created", 1).await[0]["metadata"]["amount"], 4200);
        for action in ["billing.payment_failed", "billing.invoice_paid"] {
            assert_eq!(audit_events(&s, &format!("action={action}"), 1).await.len(), 1, "[{backend}] {action}");
        }

        // Acknowledged, never a 500: an unknown org, an unknown type; a body that is no event is a 400.
        let stranger = json!({ "id": "evt_x", "type": "invoice.paid", "created": now, "data": { "object": { "metadata": { "org_id": "no-such-org" } } } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &stranger)), &stranger).await.status(), 200, "[{backend}]");
        let unknown = json!({ "id": "evt_y", "type": "customer.created", "created": now, "data": { "object": {} } }).to_string();
        assert_eq!(billing(&s, Some(stripe_header(SECRETS[0], now, &unknown)), &unknown).await.status(), 200, "[{backend}]");
        for body in ["not json", "{\"type\": \"invoice.paid\"}", "[1,2]"] {
            let (status, _, _) = error_body(billing(&s, Some(stripe_header(SECRETS[0], now, body)), body).await).await;
            assert_eq!(status, 400, "[{backend}] {body}");
        }
        let metrics = s.get(As::Anonymous, "/metrics").await.text().await.unwrap();
        assert!(metrics.contains("chronicle_webhook_requests_total{provider=\"billing\",outcome=\"duplicate\"} 7"), "[{backend}]");
    }
}
