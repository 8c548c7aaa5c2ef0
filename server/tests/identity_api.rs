//! REST API tests for identity, sessions, roles and members, each on SQLite and PostgreSQL.

mod common;

use common::{assert_role_table, audit_events, error_body, test_databases, As, RoleRow, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Every endpoint × every kind of caller, as the SPEC's role table says.
#[tokio::test]
async fn role_table() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let table: Vec<RoleRow> = vec![
            (Method::GET, "/api/v1/me".into(), None, [200, 200, 200, 200, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/members".into(), None, [200, 200, 403, 404, 401]),
            (Method::PATCH, "/api/v1/orgs/{acme}/members/{fresh}".into(), Some(json!({"role": "admin"})), [200, 200, 403, 404, 401]),
            (Method::DELETE, "/api/v1/orgs/{acme}/members/{fresh}".into(), None, [204, 204, 403, 404, 401]),
            (Method::GET, "/api/v1/orgs/no-such-org/members".into(), None, [404, 404, 404, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/audit".into(), None, [200, 200, 403, 404, 401]),
            (Method::GET, "/healthz".into(), None, [200, 200, 200, 200, 200]),
            (Method::GET, "/metrics".into(), None, [200, 200, 200, 200, 200]),
        ];
        assert_role_table(&s, backend, &table, || fresh_member(&s)).await;
    }
}

async fn fresh_member(s: &TestServer) -> String {
    let n = app::backend::db::new_id();
    let user = app::backend::users::create_user(&s.db, &format!("{n}@acme.test"), "Temp Member", "temporary-password")
        .await
        .unwrap();
    app::backend::orgs::add_member(&s.db, &s.acme, &user.id, app::model::Role::Member).await.unwrap();
    user.id
}

#[tokio::test]
async fn login_answers_unknown_email_and_wrong_password_alike() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let attempt = |email: &'static str, password: &'static str| {
            s.http.post(s.url("/api/v1/auth/login")).json(&json!({"email": email, "password": password})).send()
        };
        let unknown = error_body(attempt("nobody@acme.test", "chronicle-demo").await.unwrap()).await;
        let wrong = error_body(attempt("owner@acme.test", "not-the-password").await.unwrap()).await;
        assert_eq!(unknown, wrong, "[{backend}]");
        assert_eq!(unknown.0, 401);
        assert_eq!(unknown.2, "Email or password is incorrect.");

        // Email is case-insensitive; the answer carries the user and their orgs.
        let (_, body) = s.login("Owner@ACME.test", "chronicle-demo").await;
        assert_eq!(body["user"]["email"], "owner@acme.test");
        assert_eq!(body["user"]["name"], "Olive Owner");
        assert_eq!(body["orgs"], json!([{"id": s.acme, "name": "Acme", "role": "owner"}]));
    }
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    for (_, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let login = |proto: &'static str| {
            s.http
                .post(s.url("/api/v1/auth/login"))
                .header("x-forwarded-proto", proto)
                .json(&json!({"email": "admin@acme.test", "password": "chronicle-demo"}))
                .send()
        };
        let res = login("http").await.unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("chronicle_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http must not get a Secure cookie: {cookie}");
        let token = cookie.split(';').next().unwrap().trim_start_matches("chronicle_session=");
        assert_eq!(token.len(), 64, "256-bit token, hex");

        let res = login("https").await.unwrap();
        assert!(res.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));

        // Only the token's hash is stored.
        let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM sessions").fetch_all(s.db.pool()).await.unwrap();
        assert!(stored.iter().all(|(h,)| h != token));
        assert!(stored.iter().any(|(h,)| *h == app::backend::sessions::hash_token(token)));
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_an_expired_session_is_refused() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let (cookie, _) = s.login("member@acme.test", "chronicle-demo").await;
        let me = || s.http.get(s.url("/api/v1/me")).header("cookie", &cookie).send();
        assert_eq!(me().await.unwrap().status(), 200);

        let res = s.http.post(s.url("/api/v1/auth/logout")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(error_body(me().await.unwrap()).await.0, 401, "[{backend}] session must be gone");

        // Logging out without a session is harmless.
        assert_eq!(s.http.post(s.url("/api/v1/auth/logout")).send().await.unwrap().status(), 204);

        let (cookie, _) = s.login("member@acme.test", "chronicle-demo").await;
        sqlx::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000000Z'").execute(s.db.pool()).await.unwrap();
        let res = s.http.get(s.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(error_body(res).await.1, "unauthorized");

        // A made-up token is no session either.
        let res = s.http.get(s.url("/api/v1/me")).header("cookie", "chronicle_session=forged").send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_never_a_500() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let login = s.url("/api/v1/auth/login");
        let raw = |body: String, content_type: &'static str| {
            s.http.post(&login).header("content-type", content_type).body(body).send()
        };
        let (status, code, _) = error_body(raw("{\"email\": ".into(), "application/json").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "[{backend}] malformed JSON");

        let (status, code, message) =
            error_body(raw(json!({"email": "a@b.test"}).to_string(), "application/json").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (422, "invalid_input"));
        assert!(message.contains("password"), "names the missing field: {message}");

        let body = json!({"email": "a@b.test", "password": "x", "remember": true}).to_string();
        let (status, _, message) = error_body(raw(body, "application/json").await.unwrap()).await;
        assert_eq!(status, 422);
        assert!(message.contains("remember"), "names the unknown field: {message}");

        let (status, _, _) = error_body(raw("email=a".into(), "text/plain").await.unwrap()).await;
        assert_eq!(status, 400, "wrong content type");

        let huge = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(3 * 1024 * 1024));
        let (status, code, _) = error_body(raw(huge, "application/json").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"));

        // PostgreSQL text cannot hold NUL; SQLite can (and finds no such user).
        let body = json!({"email": "a\u{0}@b.test", "password": "x"}).to_string();
        let (status, _, message) = error_body(raw(body, "application/json").await.unwrap()).await;
        let expected = if backend == "postgres" { 422 } else { 401 };
        assert_eq!(status, expected, "[{backend}] NUL in the email: {message}");

        let res = s
            .request(As::Owner, Method::PATCH, &format!("/api/v1/orgs/{}/members/{}", s.acme, s.user_id("member@acme.test").await))
            .json(&json!({"role": "superuser"}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_body(res).await;
        assert_eq!(status, 422);
        assert!(message.contains("superuser"), "{message}");

        let (status, code, _) = error_body(s.get(As::Owner, "/api/v1/nothing-here").await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
    }
}

#[tokio::test]
async fn member_rules_protect_owners() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let owner_id = s.user_id("owner@acme.test").await;
        let admin_id = s.user_id("admin@acme.test").await;
        let member_id = s.user_id("member@acme.test").await;
        let set_role = |who: As, user: String, role: &'static str| {
            s.request(who, Method::PATCH, &format!("/api/v1/orgs/{}/members/{user}", s.acme)).json(&json!({"role": role})).send()
        };
        let status = |r: reqwest::Response| r.status().as_u16();

        assert_eq!(status(set_role(As::Admin, owner_id.clone(), "member").await.unwrap()), 403, "[{backend}] admin demotes owner");
        assert_eq!(status(set_role(As::Admin, member_id.clone(), "owner").await.unwrap()), 403, "admin makes an owner");
        let removal = s.request(As::Admin, Method::DELETE, &format!("/api/v1/orgs/{}/members/{owner_id}", s.acme)).send();
        assert_eq!(status(removal.await.unwrap()), 403, "admin removes owner");

        let res = set_role(As::Owner, owner_id.clone(), "admin").await.unwrap();
        let (code, _, message) = error_body(res).await;
        assert_eq!(code, 409, "the last owner cannot be demoted");
        assert!(message.contains("last owner"), "{message}");

        let res = set_role(As::Owner, member_id.clone(), "admin").await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["email"].as_str(), body["role"].as_str()), (Some("member@acme.test"), Some("admin")));

        // With a second owner, the first may step down.
        assert_eq!(status(set_role(As::Owner, admin_id.clone(), "owner").await.unwrap()), 200);
        assert_eq!(status(set_role(As::Owner, owner_id.clone(), "member").await.unwrap()), 200);
        assert_eq!(status(s.get(As::Owner, &format!("/api/v1/orgs/{}/members", s.acme)).await), 403);

        // A removed member loses the org entirely: 404, not 403.
        let removal = s.request(As::Admin, Method::DELETE, &format!("/api/v1/orgs/{}/members/{member_id}", s.acme)).send();
        assert_eq!(status(removal.await.unwrap()), 204);
        assert_eq!(status(s.get(As::Member, &format!("/api/v1/orgs/{}/members", s.acme)).await), 404);
    }
}

/// Two owners demoting each other at the same moment: one wins, the org keeps an owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_demotions_never_leave_an_org_without_owner() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let olive = s.user_id("owner@acme.test").await;
        let ada = s.user_id("admin@acme.test").await;
        for round in 0..5 {
            for id in [&olive, &ada] {
                sqlx::query("UPDATE memberships SET role = 'owner' WHERE user_id = $1").bind(id).execute(s.db.pool()).await.unwrap();
            }
            let demote = |who: As, user: &str| {
                s.request(who, Method::PATCH, &format!("/api/v1/orgs/{}/members/{user}", s.acme)).json(&json!({"role": "member"})).send()
            };
            let (a, b) = tokio::join!(demote(As::Owner, &ada), demote(As::Admin, &olive));
            let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
            statuses.sort();
            let (owners,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
                .bind(&s.acme)
                .fetch_one(s.db.pool())
                .await
                .unwrap();
            assert_eq!(owners, 1, "[{backend}] round {round}: {statuses:?}");
            // The loser was demoted before its own request ran (403) or lost the race (409).
            assert_eq!(statuses[0], 200, "[{backend}] round {round}");
            assert!(statuses[1] == 403 || statuses[1] == 409, "[{backend}] round {round}: {statuses:?}");
        }
    }
}

#[tokio::test]
async fn health_and_metrics() {
    for (_, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let res = s.get(As::Anonymous, "/healthz").await;
        assert_eq!((res.status().as_u16(), res.text().await.unwrap()), (200, "ok".to_owned()));
        s.get(As::Member, &format!("/api/v1/orgs/{}/members", s.acme)).await;
        let res = s.get(As::Anonymous, "/metrics").await;
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = res.text().await.unwrap();
        // What a Prometheus server reads: parsed by a Prometheus text-format parser.
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format");
        let value = |name: &str, label: Option<(&str, &str)>| {
            scrape.samples.iter().find(|m| m.metric == name && label.is_none_or(|(k, v)| m.labels.get(k) == Some(v))).map(|m| m.value.clone())
        };
        // The exposition declares counters OpenMetrics-style (`# TYPE chronicle_http_requests
        // counter`), which this parser reads as untyped samples: the value is what counts.
        let number = |v: &prometheus_parse::Value| match v {
            prometheus_parse::Value::Counter(n) | prometheus_parse::Value::Gauge(n) | prometheus_parse::Value::Untyped(n) => Some(*n),
            _ => None,
        };
        let health = value("chronicle_http_requests_total", Some(("route", "/healthz")));
        assert_eq!(health.and_then(|v| number(&v)), Some(1.0), "{text}");
        // (This parser stops a label value at its first `}`, so routes with parameters are
        // checked in the text.)
        assert!(
            text.contains(r#"chronicle_http_requests_total{method="GET",route="/api/v1/orgs/{org}/members",status="403"} 1"#),
            "{text}"
        );
        let written = value("chronicle_audit_events_written_total", None).and_then(|v| number(&v));
        assert!(written.is_some_and(|n| n > 0.0), "the demo's and the logins' events: {text}");
        for (name, label) in [
            ("chronicle_audit_queue_depth", None),
            ("chronicle_outbox_mails", Some(("status", "failed"))),
            ("chronicle_executions_total", Some(("status", "succeeded"))),
            ("chronicle_db_pool_connections", Some(("state", "idle"))),
            ("process_resident_memory_bytes", None),
            ("process_open_fds", None),
            ("process_cpu_seconds_total", None),
            ("chronicle_audit_events_overflowed_total", None),
        ] {
            assert!(value(name, label).is_some(), "{name} missing: {text}");
        }
        assert!(text.contains("chronicle_http_request_duration_seconds_bucket"), "{text}");
        // Request paths never become label values; only SPEC's per-org storage gauge names orgs.
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(&s.acme) && !l.starts_with("chronicle_storage_used_bytes{org=")).collect();
        assert!(leaks.is_empty(), "ids never become route labels: {leaks:?}");
        assert!(value("chronicle_storage_used_bytes", Some(("org", s.acme.as_str()))).is_some(), "{text}");
    }
}

/// No request can add series: 600 requests with invented methods and paths leave the number
/// of series as it was once each kind has been seen. With `CHRONICLE_METRICS_TOKEN`, the page
/// answers only that bearer token.
#[tokio::test]
async fn odd_requests_add_no_series_and_the_token_guards_the_page() {
    let (backend, db) = test_databases().await.remove(0);
    let config = app::backend::Config { metrics_token: Some("scrape-me".into()), ..Default::default() };
    let s = TestServer::start_with_config(db, config).await;
    let scrape = || s.http.get(s.url("/metrics")).bearer_auth("scrape-me").send();
    // Even: an invented method on an unknown path; odd: on a known route.
    let odd = |i: usize| {
        let (method, path) = if i % 2 == 0 { (format!("BREW{i}"), format!("/no/such/path/{i}?q={i}")) } else { (format!("X-{i}"), "/healthz".to_owned()) };
        s.http.request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(&path)).send()
    };
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    // One of each kind first, so the series they belong in exist.
    odd(0).await.unwrap();
    odd(1).await.unwrap();
    scrape().await.unwrap(); // the scrape's own series
    let before = series(&scrape().await.unwrap().text().await.unwrap());
    use futures_util::StreamExt;
    let answers: Vec<_> = futures_util::stream::iter(2..602)
        .map(odd)
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(answers.iter().all(|a| a.is_ok()));
    let text = scrape().await.unwrap().text().await.unwrap();
    assert_eq!(series(&text), before, "[{backend}] series grew:\n{text}");
    assert!(text.contains(r#"method="other",route="unmatched""#), "[{backend}] {text}");
    assert!(!text.contains("BREW") && !text.contains("/no/such"), "[{backend}] {text}");

    for (auth, expected) in [(None, 401), (Some("Bearer wrong"), 401), (Some("Basic c2NyYXBlLW1l"), 401), (Some("Bearer scrape-me"), 200)] {
        let mut req = s.http.get(s.url("/metrics"));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        assert_eq!(req.send().await.unwrap().status(), expected, "[{backend}] {auth:?}");
    }
}

/// The pages are server-rendered: the login page works before any script runs.
#[tokio::test]
async fn login_page_is_server_rendered() {
    let (_, db) = test_databases().await.remove(0);
    let s = TestServer::start(db).await;
    let res = s.get(As::Anonymous, "/login").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign in") && html.contains("name=\"password\""), "{html}");
}

#[tokio::test]
async fn sign_ins_and_role_changes_are_in_the_audit_trail() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let attempt = |email: &'static str| {
            s.http.post(s.url("/api/v1/auth/login")).json(&json!({"email": email, "password": "wrong-password-123"})).send()
        };
        attempt("member@acme.test").await.unwrap();
        attempt("stranger@nowhere.test").await.unwrap();
        let member_id = s.user_id("member@acme.test").await;
        let res = s
            .request(As::Admin, Method::PATCH, &format!("/api/v1/orgs/{}/members/{member_id}", s.acme))
            .header("user-agent", "audit-test/1")
            .json(&json!({"role": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        let changed = audit_events(&s, "action=member.role_changed", 1).await;
        assert_eq!(changed[0]["actor"]["name"], "Ada Admin", "[{backend}]");
        assert_eq!(changed[0]["actor"]["email"], "admin@acme.test");
        assert_eq!(changed[0]["resource"], json!({"type": "member", "id": member_id}));
        // The member by name, as written (the trail and its export read without a lookup).
        assert_eq!(changed[0]["metadata"], json!({"name": "Max Member", "email": "member@acme.test"}), "[{backend}]");
        assert_eq!(changed[0]["changes"], json!([{"path": "role", "op": "changed", "before": "member", "after": "admin"}]));
        assert_eq!(changed[0]["ip"], "127.0.0.1");
        assert_eq!(changed[0]["user_agent"], "audit-test/1");

        let failed = audit_events(&s, "action=auth.login_failed", 1).await;
        assert_eq!(failed.len(), 1, "[{backend}] an unknown email is in no org's trail");
        assert_eq!((failed[0]["actor"]["type"].as_str(), failed[0]["actor"]["id"].as_str()), (Some("anonymous"), None));
        assert_eq!(failed[0]["metadata"]["email"], "member@acme.test");

        // The demo users signed in when the server started: one auth.login each in Acme.
        let logins = audit_events(&s, "action=auth.login,auth.logout", 3).await;
        assert!(logins.iter().all(|e| e["action"] == "auth.login" && e["org_id"] == json!(s.acme)));
        let everything: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?limit=200", s.acme)).await.json().await.unwrap();
        let text = everything.to_string();
        assert!(!text.contains("wrong-password-123") && !text.contains("chronicle-demo"), "[{backend}] a password leaked: {text}");

        // Globex's owner sees none of it.
        let globex: Value = s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/audit?action=member.role_changed", s.globex)).await.json().await.unwrap();
        assert_eq!(globex["events"], json!([]));
        let (status, _, message) = error_body(s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?since=soon", s.acme)).await).await;
        assert_eq!(status, 422);
        assert!(message.starts_with("since"), "{message}");
    }
}

/// The invitation link in a mail as the SMTP sink received it (quoted-printable undone).
fn invitation_token(mail: &str) -> String {
    let text = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let at = text.find("/invite/").unwrap_or_else(|| panic!("no link in {text}")) + "/invite/".len();
    text[at..].chars().take_while(char::is_ascii_hexdigit).collect()
}

/// Invitations, end to end through a real SMTP server: the link arrives by mail, works once
/// for a new account (signed in at once, a member), and is 404 afterwards, like a revoked
/// one; the roles table holds; an existing account accepts with its own session only; the
/// token is never stored; all of it is in the trail.
#[tokio::test]
async fn invitations_by_mail_single_use_revocable_and_role_bound() {
    for (backend, db) in test_databases().await {
        let (smtp, mut mails) = common::smtp_sink().await;
        let s = TestServer::start_with_smtp(db, Some(smtp)).await;
        let path = format!("/api/v1/orgs/{}/invitations", s.acme);
        let invite = |who: As, email: &str, role: &str| s.request(who, Method::POST, &path).json(&json!({ "email": email, "role": role })).send();
        let accept = |token: &str, body: Option<Value>, cookie: Option<&str>| {
            let mut req = s.http.post(s.url(&format!("/api/v1/invitations/{token}/accept")));
            if let Some(body) = body {
                req = req.json(&body);
            }
            if let Some(cookie) = cookie {
                req = req.header("cookie", cookie.to_owned());
            }
            req.send()
        };

        // Who may invite whom.
        for (who, role, want) in [(As::Member, "member", 403), (As::OtherOrg, "member", 404), (As::Anonymous, "member", 401), (As::Admin, "owner", 403)] {
            assert_eq!(invite(who, "someone@acme.test", role).await.unwrap().status(), want, "[{backend}] {who:?} inviting an {role}");
        }
        let (status, code, _) = error_body(invite(As::Owner, "Member@Acme.test", "admin").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (409, "conflict"), "[{backend}] a member is not invited again");
        let (status, _, message) = error_body(invite(As::Owner, "not-an-email", "member").await.unwrap()).await;
        assert_eq!(status, 422, "[{backend}]");
        assert!(message.starts_with("email"), "{message}");

        let res = invite(As::Admin, "newcomer@acme.test", "member").await.unwrap();
        assert_eq!(res.status(), 201, "[{backend}]");
        let created: Value = res.json().await.unwrap();
        assert_eq!((created["email"].as_str(), created["role"].as_str(), created["invited_by"].as_str()), (Some("newcomer@acme.test"), Some("member"), Some("Ada Admin")));
        let mail = tokio::time::timeout(std::time::Duration::from_secs(10), mails.recv()).await.expect("the mail arrives").unwrap();
        assert!(mail.contains("To: newcomer@acme.test"), "{mail}");
        let token = invitation_token(&mail);
        assert_eq!(token.len(), 64, "[{backend}] a 256-bit token: {mail}");
        // The token exists only in the mail: not in the invitation row, not in the outbox
        // once the mail is sent.
        for _ in 0..100 {
            let (sent,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND secret IS NULL").fetch_one(s.db.pool()).await.unwrap();
            if sent == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let stored: Vec<(String,)> = sqlx::query_as("SELECT body || COALESCE(secret, '') FROM outbox UNION ALL SELECT token_hash FROM invitations").fetch_all(s.db.pool()).await.unwrap();
        assert!(stored.iter().all(|(text,)| !text.contains(&token)), "[{backend}] the token is stored");

        let pending: Value = s.get(As::Owner, &path).await.json().await.unwrap();
        assert_eq!(pending["invitations"].as_array().unwrap().len(), 1, "[{backend}] {pending}");
        assert_eq!(s.get(As::Member, &path).await.status(), 403);

        // Accepted once, by many at once: one account, one membership.
        let body = json!({ "name": "Nina Newcomer", "password": "a-long-new-password" });
        let answers = futures_util::future::join_all((0..8).map(|_| accept(&token, Some(body.clone()), None))).await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.as_ref().unwrap().status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "[{backend}] {statuses:?}");
        assert!(statuses.iter().all(|s| [200, 404, 409].contains(s)), "[{backend}] {statuses:?}");
        let joined = answers.into_iter().map(Result::unwrap).find(|r| r.status() == 200).unwrap();
        let cookie = joined.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let answer: Value = joined.json().await.unwrap();
        assert_eq!((answer["org"]["id"].as_str(), answer["org"]["role"].as_str()), (Some(s.acme.as_str()), Some("member")), "[{backend}] {answer}");
        let me: Value = s.http.get(s.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["user"]["email"], "newcomer@acme.test", "[{backend}] signed in as the new account");
        assert_eq!(error_body(accept(&token, Some(body.clone()), None).await.unwrap()).await.0, 404, "[{backend}] a used link");
        let pending: Value = s.get(As::Owner, &path).await.json().await.unwrap();
        assert_eq!(pending["invitations"], json!([]), "[{backend}]");

        // Revoked: the link is dead, and answers as a used one does.
        let created: Value = invite(As::Owner, "late@acme.test", "admin").await.unwrap().json().await.unwrap();
        let revoked_token = invitation_token(&mails.recv().await.unwrap());
        let revoke = format!("{path}/{}", created["id"].as_str().unwrap());
        assert_eq!(s.request(As::Member, Method::DELETE, &revoke).send().await.unwrap().status(), 403);
        assert_eq!(s.request(As::Owner, Method::DELETE, &revoke).send().await.unwrap().status(), 204);
        assert_eq!(s.request(As::Owner, Method::DELETE, &revoke).send().await.unwrap().status(), 404);
        assert_eq!(error_body(accept(&revoked_token, Some(body.clone()), None).await.unwrap()).await.0, 404, "[{backend}] a revoked link");
        assert_eq!(error_body(accept(&"0".repeat(64), Some(body.clone()), None).await.unwrap()).await.0, 404);

        // An existing account (Globex's owner): not with a new password, not with someone
        // else's session, yes with its own.
        invite(As::Owner, "owner@globex.test", "member").await.unwrap();
        let globex_token = invitation_token(&mails.recv().await.unwrap());
        assert_eq!(error_body(accept(&globex_token, Some(body.clone()), None).await.unwrap()).await.0, 409, "[{backend}]");
        assert_eq!(error_body(accept(&globex_token, None, s.cookie(As::Member)).await.unwrap()).await.0, 403, "[{backend}] the wrong person");
        assert_eq!(error_body(accept(&globex_token, None, None).await.unwrap()).await.0, 401);
        let res = accept(&globex_token, None, s.cookie(As::OtherOrg)).await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        assert!(res.headers().get("set-cookie").is_none(), "an existing session is kept, not replaced");
        let me: Value = s.get(As::OtherOrg, "/api/v1/me").await.json().await.unwrap();
        assert_eq!(me["orgs"].as_array().unwrap().len(), 2, "[{backend}] {me}");

        let invited = audit_events(&s, "action=member.invited", 3).await;
        assert_eq!(invited.iter().filter(|e| e["metadata"]["email"] == "newcomer@acme.test").count(), 1, "[{backend}]");
        assert_eq!(invited.iter().find(|e| e["metadata"]["email"] == "newcomer@acme.test").unwrap()["actor"]["name"], "Ada Admin");
        let joined = audit_events(&s, "action=member.joined", 2).await;
        assert!(joined.iter().any(|e| e["actor"]["email"] == "newcomer@acme.test" && e["metadata"]["role"] == "member"), "[{backend}]");
        let revoked = audit_events(&s, "action=member.invitation_revoked", 1).await;
        assert_eq!(revoked[0]["metadata"]["email"], "late@acme.test");
        let trail = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?limit=200", s.acme)).await.text().await.unwrap();
        assert!(!trail.contains(&token) && !trail.contains("a-long-new-password"), "[{backend}] a secret in the trail");
    }
}

/// The two steps of a sign-in with TOTP, with codes from `pyotp`: no session before the
/// code; a wrong code is 401 and the challenge lives on; no code twice; recovery codes once;
/// throttled like passwords; off with password and code.
#[tokio::test]
async fn totp_sign_in_in_two_steps_with_codes_from_pyotp() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let me = |cookie: &str| s.http.get(s.url("/api/v1/me")).header("cookie", cookie.to_owned()).send();
        let (cookie, _) = s.login("admin@acme.test", "chronicle-demo").await;
        let post = |path: &str, body: Value| s.http.post(s.url(path)).header("cookie", cookie.clone()).json(&body).send();

        // Enrolment needs the password, and a session (a key cannot).
        let (status, _, message) = error_body(post("/api/v1/me/mfa/totp", json!({ "current_password": "wrong" })).await.unwrap()).await;
        assert_eq!(status, 422, "[{backend}] {message}");
        let enrolled: Value = post("/api/v1/me/mfa/totp", json!({ "current_password": "chronicle-demo" })).await.unwrap().json().await.unwrap();
        let uri = enrolled["otpauth_uri"].as_str().unwrap();
        assert!(enrolled["qr_svg"].as_str().unwrap().starts_with("<?xml") || enrolled["qr_svg"].as_str().unwrap().contains("<svg"));
        let codes = common::totp_codes(uri);
        assert_eq!((codes["issuer"].as_str(), codes["name"].as_str()), (Some("Chronicle"), Some("admin@acme.test")), "[{backend}]");
        // Not in force until confirmed: the password alone still signs in.
        assert!(s.login("admin@acme.test", "chronicle-demo").await.1["user"].is_object());
        let (status, _, _) = error_body(post("/api/v1/me/mfa/totp/confirm", json!({ "code": common::wrong_code(&codes) })).await.unwrap()).await;
        assert_eq!(status, 422, "[{backend}] a wrong confirmation code");
        let confirmed: Value = post("/api/v1/me/mfa/totp/confirm", json!({ "code": codes["current"] })).await.unwrap().json().await.unwrap();
        let recovery: Vec<String> = serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
        assert_eq!(recovery.len(), 10, "[{backend}] {confirmed}");
        let status: Value = s.http.get(s.url("/api/v1/me/mfa")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
        assert_eq!(status, json!({ "totp_enabled": true, "recovery_codes_left": 10 }), "[{backend}]");
        let stored: Vec<(String,)> = sqlx::query_as("SELECT code_hash FROM recovery_codes UNION ALL SELECT secret FROM user_totp").fetch_all(s.db.pool()).await.unwrap();
        let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
        assert!(stored.iter().all(|(v,)| !recovery.iter().any(|c| v.contains(c.as_str())) && !v.contains(secret)), "[{backend}] stored in clear");

        // Step one: the right password answers a challenge and no session.
        let password = || s.http.post(s.url("/api/v1/auth/login")).json(&json!({ "email": "admin@acme.test", "password": "chronicle-demo" })).send();
        let res = password().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("set-cookie").is_none(), "[{backend}] a session before the second factor");
        let step: Value = res.json().await.unwrap();
        assert_eq!(step["mfa_required"], true, "[{backend}] {step}");
        assert!(step.get("user").is_none());
        let challenge = step["challenge"].as_str().unwrap().to_owned();
        let second = |body: Value| s.http.post(s.url("/api/v1/auth/mfa")).json(&body).send();

        // A wrong code: 401, and the challenge still works.
        let (status, _, _) = error_body(second(json!({ "challenge": challenge, "code": common::wrong_code(&codes) })).await.unwrap()).await;
        assert_eq!(status, 401, "[{backend}]");
        // The code used to confirm is spent; the next step's is accepted (±1 step), once.
        assert_eq!(second(json!({ "challenge": challenge, "code": codes["current"] })).await.unwrap().status(), 401, "[{backend}] a replayed code");
        let res = second(json!({ "challenge": challenge, "code": codes["next"] })).await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        let session = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        assert_eq!(me(&session).await.unwrap().status(), 200);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["user"]["email"], "admin@acme.test");
        // The challenge is finished; a new one with the same code is a replay.
        assert_eq!(second(json!({ "challenge": challenge, "code": codes["next"] })).await.unwrap().status(), 401, "[{backend}] a finished challenge");
        let again: Value = password().await.unwrap().json().await.unwrap();
        let again = again["challenge"].as_str().unwrap().to_owned();
        assert_eq!(second(json!({ "challenge": again, "code": codes["next"] })).await.unwrap().status(), 401, "[{backend}] the same code twice");

        // A recovery code works once (any case, with or without its dash).
        let code = recovery[0].to_uppercase().replace('-', " ");
        assert_eq!(second(json!({ "challenge": again, "recovery_code": code })).await.unwrap().status(), 200, "[{backend}]");
        let third: Value = password().await.unwrap().json().await.unwrap();
        let third = third["challenge"].as_str().unwrap().to_owned();
        assert_eq!(second(json!({ "challenge": third, "recovery_code": recovery[0] })).await.unwrap().status(), 401, "[{backend}] a used recovery code");

        // Wrong codes are throttled like passwords: the account's slots run out.
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(second(json!({ "challenge": third, "code": common::wrong_code(&codes) })).await.unwrap().status().as_u16());
        }
        assert_eq!(statuses.last(), Some(&429), "[{backend}] {statuses:?}");

        // The trail: how each sign-in went, and nothing secret.
        let logins = audit_events(&s, "action=auth.login", 1).await;
        let methods: Vec<&str> = logins.iter().filter(|e| e["actor"]["email"] == "admin@acme.test").filter_map(|e| e["metadata"]["method"].as_str()).collect();
        assert!(methods.contains(&"password+totp") && methods.contains(&"recovery_code") && methods.contains(&"password"), "[{backend}] {methods:?}");
        assert!(!audit_events(&s, "action=auth.mfa_failed", 1).await.is_empty());
        assert_eq!(audit_events(&s, "action=auth.recovery_code_used", 1).await[0]["metadata"]["recovery_codes_left"], 9);
        assert_eq!(audit_events(&s, "action=auth.mfa_enabled", 1).await[0]["actor"]["email"], "admin@acme.test");
        let trail = s.get(As::Owner, &format!("/api/v1/orgs/{}/audit?limit=200", s.acme)).await.text().await.unwrap();
        assert!(!trail.contains(&recovery[1]) && !trail.contains(secret) && !trail.contains(&challenge), "[{backend}] a secret in the trail");

        // Off, with the password and a code (a recovery code does).
        sqlx::query("DELETE FROM login_slots").execute(s.db.pool()).await.unwrap();
        let off = |body: Value| s.http.delete(s.url("/api/v1/me/mfa/totp")).header("cookie", cookie.clone()).json(&body).send();
        assert_eq!(off(json!({ "current_password": "chronicle-demo", "code": common::wrong_code(&codes) })).await.unwrap().status(), 422);
        assert_eq!(off(json!({ "current_password": "chronicle-demo", "code": recovery[1] })).await.unwrap().status(), 204, "[{backend}]");
        assert!(s.login("admin@acme.test", "chronicle-demo").await.1["user"].is_object(), "[{backend}] the password alone again");
        assert!(!audit_events(&s, "action=auth.mfa_disabled", 1).await.is_empty());
    }
}

/// `require_mfa`: only an owner sets it, and only with a second factor of their own; then a
/// member's session without one gets 403 `mfa_required_by_org` on the org (not elsewhere),
/// keys go on, and a member with a factor gets in.
#[tokio::test]
async fn require_mfa_blocks_members_without_a_second_factor() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let settings = format!("/api/v1/orgs/{}/settings", s.acme);
        let require = |who: As, on: bool| s.request(who, Method::PATCH, &settings).json(&json!({ "require_mfa": on })).send();
        let (key, secret) = s.create_org_key("still works", &["workflows:read"]).await;
        let _ = key;

        assert_eq!(error_body(require(As::Admin, true).await.unwrap()).await.0, 403, "[{backend}] an admin");
        let (status, code, message) = error_body(require(As::Owner, true).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (409, "mfa_required_first"), "[{backend}] {message}");

        // The owner turns TOTP on (the open session counts it at once), then the policy.
        let owner = |method: Method, path: &str, body: Value| s.request(As::Owner, method, path).json(&body).send();
        let enrolled: Value = owner(Method::POST, "/api/v1/me/mfa/totp", json!({ "current_password": "chronicle-demo" })).await.unwrap().json().await.unwrap();
        let codes = common::totp_codes(enrolled["otpauth_uri"].as_str().unwrap());
        assert_eq!(owner(Method::POST, "/api/v1/me/mfa/totp/confirm", json!({ "code": codes["current"] })).await.unwrap().status(), 200);
        let res = require(As::Owner, true).await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        assert_eq!(res.json::<Value>().await.unwrap()["require_mfa"], true);

        let workflows = format!("/api/v1/orgs/{}/workflows", s.acme);
        for who in [As::Admin, As::Member] {
            let (status, code, message) = error_body(s.get(who, &workflows).await).await;
            assert_eq!((status, code.as_str()), (403, "mfa_required_by_org"), "[{backend}] {who:?}");
            assert!(message.contains("two-step sign-in"), "{message}");
            // The session stays open: their own account is reachable, to set it up.
            assert_eq!(s.get(who, "/api/v1/me").await.status(), 200, "[{backend}] {who:?}");
        }
        assert_eq!(s.get(As::Owner, &workflows).await.status(), 200, "[{backend}] the owner has a factor");
        let by_key = s.http.get(s.url(&workflows)).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(by_key.status(), 200, "[{backend}] keys are unaffected");
        // Another org is not this org's business.
        assert_eq!(s.get(As::OtherOrg, &format!("/api/v1/orgs/{}/workflows", s.globex)).await.status(), 200);
        // Pages say the same, and how to fix it.
        let page = s.get(As::Member, &format!("/orgs/{}/workflows", s.acme)).await.text().await.unwrap();
        assert!(page.contains("Set up two-step sign-in"), "[{backend}] the page says how");

        // The member sets up TOTP: in.
        let member = |method: Method, path: &str, body: Value| s.request(As::Member, method, path).json(&body).send();
        let enrolled: Value = member(Method::POST, "/api/v1/me/mfa/totp", json!({ "current_password": "chronicle-demo" })).await.unwrap().json().await.unwrap();
        let codes = common::totp_codes(enrolled["otpauth_uri"].as_str().unwrap());
        assert_eq!(member(Method::POST, "/api/v1/me/mfa/totp/confirm", json!({ "code": codes["current"] })).await.unwrap().status(), 200);
        assert_eq!(s.get(As::Member, &workflows).await.status(), 200, "[{backend}] a member with a factor");

        let changed = audit_events(&s, "action=org.settings_changed", 1).await;
        assert_eq!(changed[0]["changes"], json!([{ "path": "require_mfa", "op": "changed", "before": false, "after": true }]), "[{backend}]");
    }
}

/// Passkeys as far as a server can be tested without an authenticator (the Playwright suite
/// registers and uses one): the options name the public host as relying party and ask for
/// a discoverable key; a ceremony is finished once, by its own user; answers that are no
/// WebAuthn answers are refused by name; one person's passkey is another's 404; keys cannot.
#[tokio::test]
async fn passkey_ceremonies_are_single_use_and_personal() {
    for (backend, db) in test_databases().await {
        let config = app::backend::Config { public_url: Some("http://localhost:3999".into()), ..app::backend::Config::default() };
        let s = TestServer::start_with_config(db, config).await;
        let post = |who: As, path: &str, body: Value| s.request(who, Method::POST, path).json(&body).send();

        let started: Value = post(As::Member, "/api/v1/me/passkeys/register/start", json!({})).await.unwrap().json().await.unwrap();
        let options = &started["options"]["publicKey"];
        assert_eq!(options["rp"]["id"], "localhost", "[{backend}] {started}");
        assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(options["user"]["name"], "member@acme.test");
        let ceremony = started["ceremony"].as_str().unwrap().to_owned();
        // Someone else cannot finish it; a made-up answer is refused by name, and spends it.
        let finish = |who: As, ceremony: &str, credential: Value| post(who, "/api/v1/me/passkeys/register/finish", json!({ "ceremony": ceremony, "credential": credential, "name": "Laptop" }));
        let fake = json!({ "id": "AA", "rawId": "AA", "type": "public-key", "response": { "attestationObject": "AA", "clientDataJSON": "AA" } });
        assert_eq!(error_body(finish(As::Admin, &ceremony, fake.clone()).await.unwrap()).await.0, 401, "[{backend}] another person's ceremony");
        let (status, _, message) = error_body(finish(As::Member, &ceremony, json!({ "not": "webauthn" })).await.unwrap()).await;
        assert_eq!(status, 422, "[{backend}] {message}");
        assert!(message.starts_with("credential"), "{message}");
        assert_eq!(error_body(finish(As::Member, &ceremony, fake.clone()).await.unwrap()).await.0, 401, "[{backend}] a used ceremony");
        assert_eq!(error_body(finish(As::Member, &"0".repeat(64), fake.clone()).await.unwrap()).await.0, 401);

        // Signing in: anyone may start; nothing but a real assertion finishes.
        let started: Value = s.http.post(s.url("/api/v1/auth/passkey/start")).send().await.unwrap().json().await.unwrap();
        assert!(started["options"]["publicKey"]["challenge"].as_str().is_some_and(|c| c.len() >= 43), "[{backend}] {started}");
        assert!(started["options"].get("mediation").is_none(), "a button press, not autofill");
        let sign_in = |body: Value| s.http.post(s.url("/api/v1/auth/passkey/finish")).json(&body).send();
        let assertion = json!({ "id": "AA", "rawId": "AA", "type": "public-key", "response": { "authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA", "userHandle": "AA" } });
        let res = sign_in(json!({ "ceremony": started["ceremony"], "credential": assertion })).await.unwrap();
        assert_eq!(res.status(), 401, "[{backend}]");
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(sign_in(json!({ "ceremony": started["ceremony"], "credential": assertion })).await.unwrap().status(), 401, "[{backend}] once");

        // Lists and removal are one's own; an org key is no person.
        let member = s.user_id("member@acme.test").await;
        sqlx::query("INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at) VALUES ('pk-1', $1, 'c0ffee', 'Laptop', '{}', '2026-01-01T00:00:00.000000Z')")
            .bind(&member)
            .execute(s.db.pool())
            .await
            .unwrap();
        let listed: Value = s.get(As::Member, "/api/v1/me/passkeys").await.json().await.unwrap();
        assert_eq!(listed["passkeys"][0]["name"], "Laptop", "[{backend}] {listed}");
        assert_eq!(s.get(As::Admin, "/api/v1/me/passkeys").await.json::<Value>().await.unwrap()["passkeys"], json!([]));
        assert_eq!(s.request(As::Admin, Method::DELETE, "/api/v1/me/passkeys/pk-1").send().await.unwrap().status(), 404, "[{backend}]");
        let (_, key) = s.create_org_key("robot", &["workflows:read"]).await;
        assert_eq!(s.http.get(s.url("/api/v1/me/passkeys")).bearer_auth(&key).send().await.unwrap().status(), 403);
        // A passkey is a second factor: an org that requires one lets the member in.
        sqlx::query("UPDATE orgs SET require_mfa = 1 WHERE id = $1").bind(&s.acme).execute(s.db.pool()).await.unwrap();
        let workflows = format!("/api/v1/orgs/{}/workflows", s.acme);
        assert_eq!(s.get(As::Member, &workflows).await.status(), 200, "[{backend}] with a passkey");
        assert_eq!(s.get(As::Admin, &workflows).await.status(), 403, "[{backend}] without");
        sqlx::query("UPDATE orgs SET require_mfa = 0").execute(s.db.pool()).await.unwrap();
        assert_eq!(s.request(As::Member, Method::DELETE, "/api/v1/me/passkeys/pk-1").send().await.unwrap().status(), 204, "[{backend}]");
        let removed = audit_events(&s, "action=auth.passkey_removed", 1).await;
        assert_eq!(removed[0]["metadata"]["name"], "Laptop", "[{backend}]");
    }
}
