//! SPEC "Safety rules", through a real server on both databases: server functions answer like
//! REST, login throttling, cross-site refusal, security headers, body limits, filter and name
//! validation, account operations, concurrent edits and deletes.

mod common;

use common::{audit_events, error_body, As, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// The path Leptos registered for the server function named `name`.
fn server_fn_path(name: &str) -> String {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .find(|path| path.trim_start_matches("/api/").starts_with(name))
        .unwrap_or_else(|| panic!("no server function {name}"))
        .to_owned()
}

async fn create_workflow(s: &TestServer, who: As, name: &str) -> Value {
    let res = s
        .request(who, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme))
        .json(&json!({ "name": name, "nodes": [{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"label": "Start", "config": {}}}], "edges": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn server_functions_answer_with_the_status_of_their_rest_twins() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let explore = server_fn_path("explore_audit");
        let call = |who: As, body: Value| s.request(who, Method::POST, &explore).json(&body).send();
        // An empty filter (the explorer reached from the menu) is a valid query.
        let ok = call(As::Owner, json!({ "org": s.acme, "query": {} })).await.unwrap();
        assert_eq!(ok.status(), 200, "[{backend}] {}", ok.text().await.unwrap());
        let cases = [
            (As::Member, json!({ "org": s.acme, "query": {} }), 403),
            (As::OtherOrg, json!({ "org": s.acme, "query": {} }), 404),
            (As::Anonymous, json!({ "org": s.acme, "query": {} }), 401),
            (As::Owner, json!({ "org": s.acme, "query": { "action": "no.such_action" } }), 422),
        ];
        for (who, body, want) in cases {
            let res = call(who, body.clone()).await.unwrap();
            assert_eq!(res.status(), want, "[{backend}] {who:?} {body}");
            let err: Value = res.json().await.unwrap();
            assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
        }
        // A member's keys page asks for the org's keys: a refusal, not a server fault.
        let list_keys = server_fn_path("list_keys");
        let res = s.request(As::Member, Method::POST, &list_keys).form(&[("org", s.acme.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 403, "[{backend}]");
        // Bodies over the limit are refused before they are read, server functions included.
        let big = "x".repeat(3 * 1024 * 1024);
        let res = s.request(As::Owner, Method::POST, &explore).header("content-type", "application/json").body(big).send().await.unwrap();
        assert_eq!(res.status(), 413, "[{backend}]");
    }
}

/// The audit explorer's actor filter: the org's members and org keys, each by its label, to
/// admins and owners only.
#[tokio::test]
async fn the_actor_filter_offers_the_orgs_members_and_keys() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let (key, _) = s.create_org_key("CI deploy", &["audit:read"]).await;
        let path = server_fn_path("audit_actors");
        let call = |who: As| s.request(who, Method::POST, &path).form(&[("org", s.acme.as_str())]).send();
        let res = call(As::Admin).await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}]");
        let actors: Value = res.json().await.unwrap();
        let labels = |group: &str| actors[group].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let people = labels("people");
        assert_eq!(people.len(), 3, "[{backend}] Acme's owner, admin and member: {people:?}");
        assert!(people.iter().any(|l| l.ends_with(" <owner@acme.test>")), "[{backend}] {people:?}");
        assert!(people.windows(2).all(|w| w[0] <= w[1]), "[{backend}] by name: {people:?}");
        assert_eq!(actors["keys"].as_array().unwrap().len(), 1, "[{backend}] {actors}");
        assert_eq!(actors["keys"][0]["id"], key["id"], "[{backend}]");
        assert_eq!(labels("keys")[0], format!("CI deploy ({})", key["display"].as_str().unwrap()), "[{backend}]");
        for (who, want) in [(As::Member, 403), (As::OtherOrg, 404), (As::Anonymous, 401)] {
            assert_eq!(call(who).await.unwrap().status(), want, "[{backend}] {who:?}");
        }
    }
}

#[tokio::test]
async fn login_is_throttled_per_account_and_per_address() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let login = |email: String, password: &'static str| {
            s.http.post(s.url("/api/v1/auth/login")).json(&json!({ "email": email, "password": password })).send()
        };
        // 100 wrong passwords at once: at most 5 are checked, the rest refused at once.
        let burst = futures_util::future::join_all((0..100).map(|_| login("member@acme.test".into(), "wrong-password"))).await;
        let statuses: Vec<u16> = burst.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert_eq!((checked, statuses.iter().filter(|s| **s == 429).count()), (5, 95), "[{backend}] {statuses:?}");
        // The next attempt is refused, the right password included, and says when to retry.
        let res = login("member@acme.test".into(), "chronicle-demo").await.unwrap();
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "[{backend}] Retry-After {retry}");
        let (status, code, _) = error_body(res).await;
        assert_eq!((status, code.as_str()), (429, "too_many_attempts"), "[{backend}]");
        // Another account from the same address still signs in.
        assert_eq!(login("admin@acme.test".into(), "chronicle-demo").await.unwrap().status(), 200);
        let blocked = audit_events(&s, "action=auth.login_blocked", 1).await;
        assert_eq!(blocked[0]["metadata"]["email"], "member@acme.test", "[{backend}]");

        // 30 failures from one address in a minute (any accounts) close it for everyone.
        for i in 0..25 {
            assert_eq!(login(format!("nobody{i}@acme.test"), "wrong-password").await.unwrap().status(), 401, "[{backend}] {i}");
        }
        let (status, code, _) = error_body(login("admin@acme.test".into(), "chronicle-demo").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (429, "too_many_attempts"), "[{backend}]");

        // An email longer than any address is refused before any lookup.
        let long = format!("{}@acme.test", "a".repeat(250));
        let res = s.http.post(s.url("/api/v1/auth/login")).json(&json!({ "email": long, "password": "x" })).send().await.unwrap();
        assert_eq!(res.status(), 422, "[{backend}]");
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_pages_carry_security_headers() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let path = format!("/api/v1/orgs/{}/workflows", s.acme);
        let body = json!({ "name": "From afar", "nodes": [], "edges": [] });
        let post = |headers: &[(&'static str, String)]| {
            let mut req = s.request(As::Owner, Method::POST, &path).json(&body);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.send()
        };
        let host = s.base.trim_start_matches("http://").to_owned();
        for evil in [vec![("origin", "https://evil.example".to_owned())], vec![("sec-fetch-site", "cross-site".to_owned())]] {
            let (status, code, _) = error_body(post(&evil).await.unwrap()).await;
            assert_eq!((status, code.as_str()), (403, "cross_site_request"), "[{backend}] {evil:?}");
        }
        assert_eq!(post(&[("origin", s.base.clone()), ("host", host)]).await.unwrap().status(), 201, "[{backend}] same origin");
        assert_eq!(post(&[]).await.unwrap().status(), 201, "[{backend}] a script sends neither header");
        // Any Authorization header is the only credential: a non-Bearer one beside the cookie
        // is a 401, from a foreign origin as from home, and never falls back to the cookie.
        for scheme in ["Basic b3duZXI6Y2hyb25pY2xlLWRlbW8=", "Bearer", "Digest x", "chr_org_x"] {
            for origin in ["https://evil.example".to_owned(), s.base.clone()] {
                let (status, code, _) = error_body(post(&[("authorization", scheme.to_owned()), ("origin", origin.clone())]).await.unwrap()).await;
                assert_eq!((status, code.as_str()), (401, "unauthorized"), "[{backend}] {scheme} from {origin}");
            }
        }
        // Login CSRF: a cross-site form post to sign in is refused too.
        let res = s
            .http
            .post(s.url("/api/v1/auth/login"))
            .header("origin", "https://evil.example")
            .json(&json!({ "email": "owner@acme.test", "password": "chronicle-demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "[{backend}]");
        let res = s
            .http
            .post(s.url(&server_fn_path("login")))
            .header("origin", "https://evil.example")
            .form(&[("email", "owner@acme.test"), ("password", "chronicle-demo")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "[{backend}] the sign-in form's server function");

        let page = s.get(As::Anonymous, "/login").await;
        let header = |name: &str| page.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'nonce-"), "[{backend}] {csp}");
        assert!(!csp.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")), "{csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(!header("referrer-policy").is_empty());
        let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("nonce=\"{nonce}\"")), "[{backend}] the page's scripts carry the nonce");
    }
}

#[tokio::test]
async fn filters_and_names_are_validated() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let s = &s;
        let audit = |query: String| {
            let path = format!("/api/v1/orgs/{}/audit?{query}", s.acme);
            async move { s.get(As::Owner, &path).await }
        };
        let (status, code, message) = error_body(audit("action=workflow.created,no.such".into()).await).await;
        assert_eq!((status, code.as_str()), (422, "invalid_input"), "[{backend}]");
        assert!(message.contains("action"), "{message}");
        let many = vec!["workflow.created"; 51].join(",");
        assert_eq!(audit(format!("action={many}")).await.status(), 422, "[{backend}] 51 repeats");
        let thousands = vec!["workflow.created"; 1000].join(",");
        assert_eq!(audit(format!("action={thousands}")).await.status(), 422, "[{backend}]");
        assert_eq!(audit(format!("action={}", vec!["workflow.created"; 50].join(","))).await.status(), 200);
        assert_eq!(audit("action=audit_log.pruned".into()).await.status(), 200, "[{backend}] a SPEC action not yet emitted");
        // From after Until: said, not an unexplained empty list.
        let (status, _, message) = error_body(audit("since=2026-11-25T00:00:00Z&until=2026-11-24T00:00:00Z".into()).await).await;
        assert_eq!(status, 422, "[{backend}]");
        assert_eq!(message, "until: must be later than From");
        assert_eq!(audit("since=2026-11-24T00:00:00Z&until=2026-11-25T00:00:00Z".into()).await.status(), 200);

        let res = s
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme))
            .json(&json!({ "name": "Line\nbreak", "nodes": [], "edges": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "[{backend}]");
        let res = s
            .request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/api-keys", s.acme))
            .json(&json!({ "name": "ci\r\nBcc: x", "scopes": ["audit:read"] }))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], "name", "[{backend}] {body}");
    }
}

#[tokio::test]
async fn a_stale_base_version_is_a_conflict_and_enabled_workflows_stay_valid() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let wf = create_workflow(&s, As::Owner, "Conflicts").await;
        let path = format!("/api/v1/orgs/{}/workflows/{}", s.acme, wf["id"].as_str().unwrap());
        let nodes = |label: &str| json!([{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"label": label, "config": {}}}]);
        let put = |who: As, body: Value| s.request(who, Method::PUT, &path).json(&body).send();
        let first = put(As::Admin, json!({ "nodes": nodes("Admin's"), "edges": [], "base_version": 1 })).await.unwrap();
        assert_eq!(first.status(), 200, "[{backend}]");
        let res = put(As::Owner, json!({ "nodes": nodes("Owner's"), "edges": [], "base_version": 1 })).await.unwrap();
        assert_eq!(res.status(), 409, "[{backend}]");
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["error"]["code"].as_str(), body["error"]["version"].as_i64()), (Some("version_conflict"), Some(2)), "[{backend}] {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("Ada Admin"), "{body}");
        // Nothing was overwritten; with the current base it saves.
        let live: Value = s.get(As::Owner, &path).await.json().await.unwrap();
        assert_eq!(live["nodes"][0]["data"]["label"], "Admin's");
        assert_eq!(put(As::Owner, json!({ "nodes": nodes("Owner's"), "edges": [], "base_version": 2 })).await.unwrap().status(), 200);

        // Enabled: a save that would make it strictly invalid is refused, naming the field.
        let fetch = json!([{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"label": "Start", "config": {}}},
                           {"id": "fetch", "type": "http_request", "position": {"x": 0, "y": 90}, "data": {"label": "Fetch", "config": {"url": "https://example.com", "method": "GET"}}}]);
        assert_eq!(put(As::Owner, json!({ "nodes": fetch, "edges": [], "enabled": true })).await.unwrap().status(), 200, "[{backend}]");
        let mut broken = fetch.clone();
        broken[1]["data"]["config"] = json!({ "method": "GET" });
        let res = put(As::Owner, json!({ "nodes": broken, "edges": [] })).await.unwrap();
        assert_eq!(res.status(), 422, "[{backend}]");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("nodes[fetch].config.url"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deletes_delete_and_record_once() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        let wf = create_workflow(&s, As::Owner, "Twice").await;
        let path = format!("/api/v1/orgs/{}/workflows/{}", s.acme, wf["id"].as_str().unwrap());
        let (a, b) = tokio::join!(
            s.request(As::Owner, Method::DELETE, &path).send(),
            s.request(As::Admin, Method::DELETE, &path).send()
        );
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [204, 404], "[{backend}]");
        let events = audit_events(&s, &format!("action=workflow.deleted&resource_id={}", wf["id"].as_str().unwrap()), 1).await;
        assert_eq!(events.len(), 1, "[{backend}] one delete, one event");
    }
}

#[tokio::test]
async fn account_password_personal_keys_and_deletion() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        // Minting a personal key with a session needs the current password.
        let mint = |password: Option<&str>| {
            let mut body = json!({ "name": "laptop", "scopes": ["workflows:read"] });
            if let Some(p) = password {
                body["current_password"] = p.into();
            }
            s.request(As::Member, Method::POST, "/api/v1/me/api-keys").json(&body).send()
        };
        for bad in [None, Some("wrong-password")] {
            let body: Value = mint(bad).await.unwrap().json().await.unwrap();
            assert_eq!(body["error"]["field"], "current_password", "[{backend}] {body}");
        }
        let created: Value = mint(Some("chronicle-demo")).await.unwrap().json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        let with_key = || s.http.get(s.url("/api/v1/me")).bearer_auth(&secret).send();
        assert_eq!(with_key().await.unwrap().status(), 200);

        // A second session of the member, then a password change from the first.
        let (other_cookie, _) = s.login("member@acme.test", "chronicle-demo").await;
        let change = |current: &str| {
            s.request(As::Member, Method::POST, "/api/v1/me/password")
                .json(&json!({ "current_password": current, "new_password": "a-brand-new-password" }))
                .send()
        };
        let body: Value = change("not-it").await.unwrap().json().await.unwrap();
        assert_eq!(body["error"]["field"], "current_password", "[{backend}]");
        assert_eq!(change("chronicle-demo").await.unwrap().status(), 204, "[{backend}]");
        let other = s.http.get(s.url("/api/v1/me")).header("cookie", &other_cookie).send().await.unwrap();
        assert_eq!(other.status(), 401, "[{backend}] the other session is signed out");
        assert_eq!(with_key().await.unwrap().status(), 401, "[{backend}] the personal key is revoked");
        assert_eq!(s.get(As::Member, "/api/v1/me").await.status(), 200, "[{backend}] this session stays");

        // The last owner cannot leave; a member can, and the trail keeps their name.
        let delete = |who: As, password: &str| s.request(who, Method::DELETE, "/api/v1/me").json(&json!({ "current_password": password })).send();
        assert_eq!(delete(As::OtherOrg, "chronicle-demo").await.unwrap().status(), 409, "[{backend}]");
        assert_eq!(delete(As::Member, "chronicle-demo").await.unwrap().status(), 422, "[{backend}] old password");
        assert_eq!(delete(As::Member, "a-brand-new-password").await.unwrap().status(), 204, "[{backend}]");
        assert_eq!(s.get(As::Member, "/api/v1/me").await.status(), 401);
        let deleted = audit_events(&s, "action=account.deleted", 1).await;
        assert_eq!(deleted[0]["actor"]["name"], "Max Member", "[{backend}]");
        assert_eq!(deleted[0]["metadata"]["email"], "member@acme.test");
        let changed = audit_events(&s, "action=auth.password_changed", 1).await;
        assert_eq!(changed[0]["metadata"]["personal_keys_revoked"], 1, "[{backend}]");
        let members: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/members", s.acme)).await.json().await.unwrap();
        assert!(!members.to_string().contains("member@acme.test"), "[{backend}] gone from the org");
    }
}

const BILLING_SECRET: &str = "whsec_covered";

/// Every action the explorer offers is really recorded: each is triggered through the API as
/// a user would, and the trail is then checked for all of them (no declared-but-never-emitted
/// action). `user.created` comes from the `create-owner` command (tests/cli.rs).
#[tokio::test]
async fn every_listed_action_is_emitted() {
    for (backend, db) in common::test_databases().await {
        let config = app::backend::Config { billing_webhook_secrets: vec![BILLING_SECRET.into()], ..Default::default() };
        let s = TestServer::start_with_config(db.clone(), config).await;
        let acme = s.acme.clone();
        let send = |who: As, method: Method, path: String, body: Option<Value>| {
            let mut req = s.request(who, method, &path);
            if let Some(body) = body {
                req = req.json(&body);
            }
            async move { req.send().await.unwrap() }
        };
        let expect = |res: reqwest::Response, want: u16, what: &str| {
            assert_eq!(res.status(), want, "[{backend}] {what}");
            res
        };
        // Sign-ins: failed, blocked, out.
        let login = |email: &str, password: &str| {
            s.http.post(s.url("/api/v1/auth/login")).json(&json!({ "email": email, "password": password })).send()
        };
        for _ in 0..5 {
            login("admin@acme.test", "wrong-password").await.unwrap();
        }
        expect(login("admin@acme.test", "chronicle-demo").await.unwrap(), 429, "blocked");
        let (cookie, _) = s.login("owner@acme.test", "chronicle-demo").await;
        let res = s.http.post(s.url("/api/v1/auth/logout")).header("cookie", &cookie).send().await.unwrap();
        expect(res, 204, "logout");
        // A second session of the owner, signed out from the first through its server function.
        s.login("owner@acme.test", "chronicle-demo").await;
        let res = s.request(As::Owner, Method::POST, &server_fn_path("revoke_sessions")).form(&[("", "")]).send().await.unwrap();
        expect(res, 200, "revoke_sessions");
        // Members: a role change and a removal.
        let temp = app::backend::users::create_user(&s.db, "temp@acme.test", "Temp Member", "temporary-password").await.unwrap();
        app::backend::orgs::add_member(&s.db, &acme, &temp.id, app::model::Role::Member).await.unwrap();
        let member = format!("/api/v1/orgs/{acme}/members/{}", temp.id);
        expect(send(As::Owner, Method::PATCH, member.clone(), Some(json!({ "role": "admin" }))).await, 200, "role");
        expect(send(As::Owner, Method::DELETE, member, None).await, 204, "remove");
        // Keys.
        let key: Value = expect(
            send(As::Owner, Method::POST, format!("/api/v1/orgs/{acme}/api-keys"), Some(json!({ "name": "ci", "scopes": ["audit:read"] }))).await,
            201,
            "key",
        )
        .json()
        .await
        .unwrap();
        let revoke = format!("/api/v1/orgs/{acme}/api-keys/{}", key["key"]["id"].as_str().unwrap());
        expect(send(As::Owner, Method::DELETE, revoke, None).await, 200, "revoke");
        // Runs, a credential resolved by one, webhook keys.
        let cred: Value = expect(
            send(As::Owner, Method::POST, format!("/api/v1/orgs/{acme}/credentials"), Some(json!({ "name": "Health", "secret": "s", "allowed_hosts": ["127.0.0.1"] }))).await,
            201,
            "credential",
        )
        .json()
        .await
        .unwrap();
        let node = |id: &str, kind: &str, config: Value| json!({ "id": id, "type": kind, "data": { "label": id, "config": config } });
        let runner = json!({ "name": "Runs", "nodes": [node("t", "manual_trigger", json!({})),
            node("h", "http_request", json!({ "url": format!("{}/healthz", s.base), "method": "GET", "credential_id": cred["id"] }))],
            "edges": [{ "id": "e", "source": "t", "target": "h" }] });
        let wf: Value = expect(send(As::Owner, Method::POST, format!("/api/v1/orgs/{acme}/workflows"), Some(runner)).await, 201, "runnable").json().await.unwrap();
        let wf_path = format!("/api/v1/orgs/{acme}/workflows/{}", wf["id"].as_str().unwrap());
        expect(send(As::Owner, Method::POST, format!("{wf_path}/executions"), None).await, 202, "run");
        let hook: Value = expect(send(As::Owner, Method::POST, format!("{wf_path}/webhook-keys"), Some(json!({ "name": "hook" }))).await, 201, "webhook key").json().await.unwrap();
        expect(send(As::Owner, Method::DELETE, format!("{wf_path}/webhook-keys/{}", hook["key"]["id"].as_str().unwrap()), None).await, 200, "revoke webhook key");
        // The run resolves the credential before it is deleted.
        for _ in 0..100 {
            let (done,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE status = 'succeeded'").fetch_one(db.pool()).await.unwrap();
            if done > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Governed credentials: re-scoped, rotated, then refused for the host the run uses.
        let cred_path = format!("/api/v1/orgs/{acme}/credentials/{}", cred["id"].as_str().unwrap());
        expect(send(As::Owner, Method::PATCH, cred_path.clone(), Some(json!({ "allowed_hosts": ["api.example.com"] }))).await, 200, "credential hosts");
        expect(send(As::Owner, Method::PATCH, cred_path.clone(), Some(json!({ "secret": "s2" }))).await, 200, "credential rotated");
        expect(send(As::Owner, Method::POST, format!("{wf_path}/executions"), None).await, 202, "refused run");
        for _ in 0..100 {
            let (done,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM executions WHERE status = 'failed'").fetch_one(db.pool()).await.unwrap();
            if done > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Four eyes: a member's credentialed change approved, the next one rejected.
        let mut changed = json!({ "nodes": wf["nodes"], "edges": wf["edges"] });
        for version in ["a", "b"] {
            changed["nodes"][1]["data"]["label"] = json!(format!("edited {version}"));
            expect(send(As::Member, Method::PUT, wf_path.clone(), Some(changed.clone())).await, 200, "member's pending version");
        }
        expect(send(As::Admin, Method::POST, format!("{wf_path}/versions/2/approve"), None).await, 200, "approve");
        expect(send(As::Owner, Method::POST, format!("{wf_path}/versions/3/reject"), Some(json!({ "reason": "no" }))).await, 200, "reject");
        // A scheduled workflow with no approved version: its slot is refused.
        let scheduled = json!({ "name": "Unapproved", "enabled": true, "nodes": [node("s", "schedule_trigger", json!({ "cron": "0 * * * *" })),
            node("h", "http_request", json!({ "url": "http://127.0.0.1:9/", "method": "GET", "credential_id": cred["id"] }))],
            "edges": [{ "id": "e", "source": "s", "target": "h" }] });
        expect(send(As::Member, Method::POST, format!("/api/v1/orgs/{acme}/workflows"), Some(scheduled)).await, 201, "unapproved");
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&chrono::Utc);
        let scheduler_trail = app::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
        app::backend::executions::schedule::fire_due(&db, &scheduler_trail, &app::backend::executions::Runner::new(), at("2026-01-01T00:30:00Z"), at("2026-01-01T01:30:00Z"))
            .await
            .unwrap();
        scheduler_trail.shutdown().await;
        expect(send(As::Owner, Method::DELETE, cred_path, None).await, 204, "delete credential");
        // Workflows: create, update, restore, delete.
        let wf = create_workflow(&s, As::Owner, "Covered").await;
        let path = format!("/api/v1/orgs/{acme}/workflows/{}", wf["id"].as_str().unwrap());
        let body = json!({ "name": "Covered, renamed", "nodes": [], "edges": [] });
        expect(send(As::Owner, Method::PUT, path.clone(), Some(body)).await, 200, "update");
        expect(send(As::Owner, Method::POST, format!("{path}/restore"), Some(json!({ "version": 1 }))).await, 200, "restore");
        expect(send(As::Owner, Method::PATCH, format!("{path}/versions/1"), Some(json!({ "label": "Baseline" }))).await, 200, "name a version");
        expect(send(As::Member, Method::PATCH, format!("{path}/versions/1"), Some(json!({ "label": "Mine" }))).await, 403, "a member names no version");
        expect(send(As::Owner, Method::PATCH, format!("{path}/versions/1"), Some(json!({ "label": "x", "extra": 1 }))).await, 422, "unknown field");
        expect(send(As::Owner, Method::DELETE, path, None).await, 204, "delete");
        // Org settings.
        let settings = json!({ "capture_engagement_events": true });
        expect(send(As::Owner, Method::PATCH, format!("/api/v1/orgs/{acme}/settings"), Some(settings)).await, 200, "settings");
        // Files: uploaded, downloaded, shared, revoked, deleted; one refused; a workflow exported.
        let upload = |name: &str, body: Vec<u8>| s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{acme}/files?name={name}")).body(body).send();
        let file: Value = expect(upload("covered.txt", b"covered".to_vec()).await.unwrap(), 201, "upload").json().await.unwrap();
        let file_path = format!("/api/v1/orgs/{acme}/files/{}", file["id"].as_str().unwrap());
        expect(send(As::Owner, Method::GET, format!("{file_path}/content"), None).await, 200, "download");
        expect(send(As::Owner, Method::POST, format!("{file_path}/share"), None).await, 201, "share");
        expect(send(As::Owner, Method::DELETE, format!("{file_path}/share"), None).await, 200, "revoke share");
        expect(send(As::Owner, Method::DELETE, file_path, None).await, 204, "delete file");
        sqlx::query("UPDATE orgs SET storage_quota_bytes = 1 WHERE id = $1").bind(&acme).execute(db.pool()).await.unwrap();
        expect(upload("refused.txt", b"too much".to_vec()).await.unwrap(), 413, "refused upload");
        let listed: Value = send(As::Owner, Method::GET, format!("/api/v1/orgs/{acme}/workflows"), None).await.json().await.unwrap();
        let exported = format!("/api/v1/orgs/{acme}/workflows/{}/export", listed["workflows"][0]["id"].as_str().unwrap());
        expect(send(As::Owner, Method::GET, exported, None).await, 200, "export");
        // Billing: one event of each kind, signed as Stripe signs.
        let now = chrono::Utc::now().timestamp();
        for (i, kind) in ["customer.subscription.created", "invoice.paid", "invoice.payment_failed", "charge.dispute.created"].into_iter().enumerate() {
            let body = json!({ "id": format!("evt_cover_{i}"), "type": kind, "created": now, "data": { "object": { "id": "sub_cover", "metadata": { "org_id": acme, "plan": "team" } } } }).to_string();
            use hmac::Mac;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(BILLING_SECRET.as_bytes()).unwrap();
            mac.update(format!("{now}.{body}").as_bytes());
            let header = format!("t={now},v1={}", hex::encode(mac.finalize().into_bytes()));
            let res = s.http.post(s.url("/webhooks/billing")).header("stripe-signature", header).body(body).send().await.unwrap();
            expect(res, 200, kind);
        }
        // The trail's own care: verified, streamed (pruned below, once the rest is checked).
        expect(send(As::Owner, Method::GET, format!("/api/v1/orgs/{acme}/audit/verify"), None).await, 200, "verify");
        let streams = format!("/api/v1/orgs/{acme}/audit/streams");
        let stream: Value = expect(send(As::Owner, Method::POST, streams.clone(), Some(json!({ "url": "http://127.0.0.1:9/siem" }))).await, 201, "stream").json().await.unwrap();
        expect(send(As::Owner, Method::DELETE, format!("{streams}/{}", stream["stream"]["id"].as_str().unwrap()), None).await, 204, "stream deleted");
        // The trail itself, exported.
        let export = send(As::Owner, Method::GET, format!("/api/v1/orgs/{acme}/audit/export?format=jsonl"), None).await;
        expect(export, 200, "export").bytes().await.unwrap();
        // Identity: one invitation revoked, one accepted (its token is where the mail waits:
        // there is no relay here); the member's TOTP on, a wrong code, a recovery code, off.
        let invitations = format!("/api/v1/orgs/{acme}/invitations");
        let invite = |email: &'static str| send(As::Owner, Method::POST, invitations.clone(), Some(json!({ "email": email, "role": "member" })));
        let revoked: Value = expect(invite("revoked@acme.test").await, 201, "invite").json().await.unwrap();
        expect(send(As::Owner, Method::DELETE, format!("{invitations}/{}", revoked["id"].as_str().unwrap()), None).await, 204, "revoke invitation");
        expect(invite("joiner@acme.test").await, 201, "invite");
        let (token,): (String,) = sqlx::query_as("SELECT secret FROM outbox WHERE recipient = 'joiner@acme.test'").fetch_one(db.pool()).await.unwrap();
        let res = s.http.post(s.url(&format!("/api/v1/invitations/{token}/accept"))).json(&json!({ "name": "Joiner", "password": "a-long-password" })).send().await.unwrap();
        expect(res, 200, "accept");
        let enrolled: Value = expect(send(As::Member, Method::POST, "/api/v1/me/mfa/totp".into(), Some(json!({ "current_password": "chronicle-demo" }))).await, 200, "enrol").json().await.unwrap();
        let codes = common::totp_codes(enrolled["otpauth_uri"].as_str().unwrap());
        let confirmed: Value = expect(send(As::Member, Method::POST, "/api/v1/me/mfa/totp/confirm".into(), Some(json!({ "code": codes["current"] }))).await, 200, "confirm").json().await.unwrap();
        let challenge: Value = s.http.post(s.url("/api/v1/auth/login")).json(&json!({ "email": "member@acme.test", "password": "chronicle-demo" })).send().await.unwrap().json().await.unwrap();
        let second = |body: Value| s.http.post(s.url("/api/v1/auth/mfa")).json(&body).send();
        let wrong = common::wrong_code(&codes);
        expect(second(json!({ "challenge": challenge["challenge"], "code": wrong })).await.unwrap(), 401, "wrong code");
        expect(second(json!({ "challenge": challenge["challenge"], "recovery_code": confirmed["recovery_codes"][0] })).await.unwrap(), 200, "recovery code");
        let off = json!({ "current_password": "chronicle-demo", "code": codes["next"] });
        expect(send(As::Member, Method::DELETE, "/api/v1/me/mfa/totp".into(), Some(off)).await, 204, "TOTP off");
        // A passkey (as an authenticator would have left it) removed.
        let member_id = s.user_id("member@acme.test").await;
        sqlx::query("INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at) VALUES ('pk-covered', $1, 'c0ffee', 'Laptop', '{}', '2026-01-01T00:00:00.000000Z')")
            .bind(&member_id)
            .execute(db.pool())
            .await
            .unwrap();
        expect(send(As::Member, Method::DELETE, "/api/v1/me/passkeys/pk-covered".into(), None).await, 204, "passkey removed");
        // The member's account: password, then deletion.
        let res = send(As::Member, Method::POST, "/api/v1/me/password".into(), Some(json!({ "current_password": "chronicle-demo", "new_password": "another-long-password" }))).await;
        expect(res, 204, "password");
        let res = send(As::Member, Method::DELETE, "/api/v1/me".into(), Some(json!({ "current_password": "another-long-password" }))).await;
        expect(res, 204, "delete account");

        let mut missing: Vec<&str> = Vec::new();
        for _ in 0..50 {
            let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT action FROM audit_events").fetch_all(db.pool()).await.unwrap();
            let seen: Vec<String> = rows.into_iter().map(|r| r.0).collect();
            // A passkey is added only by an authenticator: the Playwright suite registers one.
            missing = app::model::AUDIT_ACTIONS.into_iter().filter(|a| !["user.created", "audit_log.pruned", "auth.passkey_added"].contains(a) && !seen.iter().any(|s| s == a)).collect();
            if missing.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(missing.is_empty(), "[{backend}] never recorded: {missing:?}");
        // Retention last: it removes what the check above read.
        expect(send(As::Owner, Method::PATCH, format!("/api/v1/orgs/{acme}/settings"), Some(json!({ "audit_retention_days": 1 }))).await, 200, "retention");
        expect(send(As::Owner, Method::POST, format!("/api/v1/orgs/{acme}/audit/checkpoints"), None).await, 201, "checkpoint");
        let audit = app::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
        let pruned = app::backend::audit::retention::prune_all(&db, &audit, Some(&acme), chrono::Utc::now() + chrono::Duration::days(2)).await.unwrap();
        audit.shutdown().await;
        assert_eq!(pruned.len(), 1, "[{backend}]");
        let (recorded,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'audit_log.pruned'").fetch_one(db.pool()).await.unwrap();
        assert_eq!(recorded, 1, "[{backend}] audit_log.pruned");
    }
}

/// Every list pages: `limit` (1–200, else 422 naming it) and `cursor`; consecutive pages
/// never overlap and together hold every row, workflows and files included.
#[tokio::test]
async fn lists_page_without_overlap() {
    for (backend, db) in common::test_databases().await {
        let s = TestServer::start(db).await;
        for i in 0..6 {
            create_workflow(&s, As::Owner, &format!("Paged {i}")).await;
            let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/files?name=f{i}.txt", s.acme)).body(format!("file {i}")).send().await.unwrap();
            assert_eq!(res.status(), 201, "[{backend}]");
        }
        for i in 0..5 {
            s.create_org_key(&format!("paged {i}"), &["audit:read"]).await;
            let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/credentials", s.acme)).json(&json!({ "name": format!("Paged {i}"), "secret": "s", "allowed_hosts": ["api.example.com"] })).send().await.unwrap();
            assert_eq!(res.status(), 201, "[{backend}]");
        }
        // (The demo seeds one credential.)
        let ids = |list: &str| if list == "members" { "user_id" } else { "id" };
        for (list, key, total) in [("workflows", "workflows", 8usize), ("files", "files", 6), ("api-keys", "keys", 5), ("credentials", "credentials", 6), ("members", "members", 3)] {
            let base = format!("/api/v1/orgs/{}/{list}", s.acme);
            let mut seen: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let url = match &cursor { Some(c) => format!("{base}?limit=3&cursor={c}"), None => format!("{base}?limit=3") };
                let page: Value = s.get(As::Owner, &url).await.json().await.unwrap();
                let ids: Vec<String> = page[key].as_array().unwrap_or_else(|| panic!("[{backend}] {list}: {page}")).iter().map(|r| r[ids(list)].as_str().unwrap().to_owned()).collect();
                assert!(ids.len() <= 3, "[{backend}] {list}: {page}");
                assert!(ids.iter().all(|id| !seen.contains(id)), "[{backend}] {list}: page {pages} overlaps the ones before: {ids:?} {seen:?}");
                seen.extend(ids);
                pages += 1;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            assert_eq!((seen.len(), pages), (total, total.div_ceil(3)), "[{backend}] {list}");
            let everything: Value = s.get(As::Owner, &base).await.json().await.unwrap();
            assert_eq!(everything[key].as_array().unwrap().len(), total, "[{backend}] {list}: the default page holds 50");
            assert!(everything["next_cursor"].is_null(), "[{backend}] {list}");
            for bad in ["limit=0", "limit=201", "cursor=zz"] {
                let (status, code, message) = error_body(s.get(As::Owner, &format!("{base}?{bad}")).await).await;
                let field = bad.split('=').next().unwrap();
                assert_eq!((status, code.as_str()), (422, "invalid_input"), "[{backend}] {list}?{bad}: {message}");
                assert!(message.contains(field), "[{backend}] {list}?{bad}: {message}");
            }
        }
    }
}
