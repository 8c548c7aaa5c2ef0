//! Email engagement tracking over real HTTP on SQLite and PostgreSQL: org settings (off by
//! default, audited, the PostHog key write-only), a tracked workflow mail through a real SMTP
//! sink, the pixel and links with signed, rotated, legacy and forged codes, SES events through
//! SNS envelopes signed with a throwaway certificate, PostHog forwarding, and the metrics.

mod common;

use app::backend::db::new_id;
use app::backend::Config;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{assert_role_table, audit_events, error_body, metric, smtp_sink, test_databases, As, RoleRow, TestServer};
use reqwest::Method;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:chronicle-ses";
const CERT_URL: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";

fn node(id: &str, kind: &str, config: Value) -> Value {
    json!({ "id": id, "type": kind, "data": { "label": id, "config": config } })
}

async fn enable_engagement(s: &TestServer) {
    let res = s.request(As::Owner, Method::PATCH, &format!("/api/v1/orgs/{}/settings", s.acme)).json(&json!({ "capture_engagement_events": true })).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// Creates and runs a mail workflow; answers (workflow id, the outbox row: id, text, html, code, links).
async fn send_mail(s: &TestServer, payload: Value) -> (String, (String, String, String, String, String)) {
    let body = "Hello!\nYour report: https://reports.example.com/r/1?x=1&y=2 — thanks.";
    let wf = json!({ "name": "Mailer", "nodes": [node("t", "manual_trigger", json!({})),
        node("m", "send_email", json!({ "to": "ada@example.com", "subject": "Your report", "body": body }))],
        "edges": [{ "id": "e", "source": "t", "target": "m" }] });
    let created: Value = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows", s.acme)).json(&wf).send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let res = s.request(As::Owner, Method::POST, &format!("/api/v1/orgs/{}/workflows/{id}/executions", s.acme)).json(&json!({ "payload": payload })).send().await.unwrap();
    assert_eq!(res.status(), 202);
    for _ in 0..200 {
        let row: Option<(String, String, String, String, String)> =
            sqlx::query_as("SELECT id, body, html_body, tracking_code, links FROM outbox WHERE workflow_id = $1").bind(&id).fetch_optional(s.db.pool()).await.unwrap();
        if let Some(row) = row {
            return (id, row);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the run queued no mail");
}

async fn events(s: &TestServer, query: &str, want: usize) -> Vec<Value> {
    for _ in 0..200 {
        let page: Value = s.get(As::Owner, &format!("/api/v1/orgs/{}/engagement?{query}", s.acme)).await.json().await.unwrap();
        let events = page["events"].as_array().unwrap().clone();
        if events.len() >= want {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {want} engagement events for {query}");
}

fn link_code(text: &str) -> String {
    text.split("/t/c/").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn settings_are_off_by_default_audited_and_keep_the_posthog_key_secret() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db).await;
        let path = format!("/api/v1/orgs/{}/settings", s.acme);
        let settings: Value = s.get(As::Owner, &path).await.json().await.unwrap();
        assert_eq!(settings, json!({ "capture_engagement_events": false, "audit_retention_days": null, "posthog_host": null, "posthog_api_key_set": false, "workflow_approval": "credentials", "require_mfa": false }), "[{backend}]");
        let table: [RoleRow; 3] = [
            (Method::GET, "/api/v1/orgs/{acme}/settings".to_owned(), None, [200, 200, 403, 404, 401]),
            (Method::PATCH, "/api/v1/orgs/{acme}/settings".to_owned(), Some(json!({})), [200, 200, 403, 404, 401]),
            (Method::GET, "/api/v1/orgs/{acme}/engagement".to_owned(), None, [200, 200, 403, 404, 401]),
        ];
        assert_role_table(&s, backend, &table, || async { String::new() }).await;
        for (body, field) in [
            (json!({ "audit_retention_days": 0 }), "audit_retention_days"),
            (json!({ "posthog_host": "eu.i.posthog.com" }), "posthog_host"),
            (json!({ "posthog_api_key": "  " }), "posthog_api_key"),
        ] {
            let res = s.request(As::Owner, Method::PATCH, &path).json(&body).send().await.unwrap();
            let (status, _, message) = error_body(res).await;
            assert_eq!(status, 422, "[{backend}] {body}");
            assert!(message.starts_with(field), "[{backend}] {message}");
        }
        let res = s.request(As::Owner, Method::PATCH, &path).json(&json!({ "capture_engagement_events": "yes" })).send().await.unwrap();
        assert!([400, 422].contains(&res.status().as_u16()), "[{backend}] a mistyped flag is refused");
        assert_eq!(s.get(As::Owner, &path).await.json::<Value>().await.unwrap()["capture_engagement_events"], false, "[{backend}] nothing half-written");

        let patch = json!({ "capture_engagement_events": true, "audit_retention_days": 90, "posthog_host": "https://eu.i.posthog.com/", "posthog_api_key": "phc_very_secret_key" });
        let res = s.request(As::Admin, Method::PATCH, &path).json(&patch).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(!text.contains("phc_very_secret_key"), "[{backend}] the key is never answered");
        let settings: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(settings, json!({ "capture_engagement_events": true, "audit_retention_days": 90, "posthog_host": "https://eu.i.posthog.com", "posthog_api_key_set": true, "workflow_approval": "credentials", "require_mfa": false }));
        let changed = audit_events(&s, "action=org.settings_changed", 1).await;
        let change = |path: &str| changed[0]["changes"].as_array().unwrap().iter().find(|c| c["path"] == path).cloned().unwrap_or_default();
        assert_eq!((&change("capture_engagement_events")["before"], &change("capture_engagement_events")["after"]), (&json!(false), &json!(true)), "[{backend}] {}", changed[0]);
        assert_eq!(change("audit_retention_days")["after"], 90);
        assert_eq!(change("posthog_api_key")["after"], "[redacted]");
        assert!(!changed[0].to_string().contains("phc_very_secret_key"), "[{backend}] the key never enters the trail");
        let (sealed,): (String,) = sqlx::query_as("SELECT posthog_api_key FROM orgs WHERE id = $1").bind(&s.acme).fetch_one(s.db.pool()).await.unwrap();
        assert!(!sealed.contains("phc_very_secret_key"), "[{backend}] stored sealed");
        // null clears; absent fields stay.
        let cleared: Value = s.request(As::Owner, Method::PATCH, &path).json(&json!({ "posthog_api_key": null, "audit_retention_days": null })).send().await.unwrap().json().await.unwrap();
        assert_eq!(cleared, json!({ "capture_engagement_events": true, "audit_retention_days": null, "posthog_host": "https://eu.i.posthog.com", "posthog_api_key_set": false, "workflow_approval": "credentials", "require_mfa": false }));
    }
}

#[tokio::test]
async fn a_workflow_mail_is_tracked_from_sending_to_the_click() {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").try_init();
    for (backend, db) in test_databases().await {
        let (smtp, mut inbox) = smtp_sink().await;
        let s = TestServer::start_with_smtp(db, Some(smtp)).await;
        enable_engagement(&s).await;
        let (workflow_id, (message_id, text, html, code, links)) = send_mail(&s, json!({ "distinct_id": "0" })).await;
        let mail = tokio::time::timeout(Duration::from_secs(10), inbox.recv()).await.expect("mail delivered").unwrap();
        assert!(mail.contains(&format!("X-Chronicle-Tracking-Code: {code}")), "[{backend}] {mail}");
        assert!(mail.contains(&format!("X-SES-MESSAGE-TAGS: chronicle_code={code}")), "[{backend}]");
        assert!(mail.contains("multipart/alternative"), "[{backend}] text and HTML parts");
        assert!(html.contains(&format!("/t/o/{code}\"")), "[{backend}] the pixel");
        assert!(!text.contains("https://reports.example.com"), "[{backend}] every link is rewritten: {text}");
        assert_eq!(serde_json::from_str::<Vec<String>>(&links).unwrap(), ["https://reports.example.com/r/1?x=1&y=2"], "[{backend}]");

        let pixel = s.get(As::Anonymous, &format!("/t/o/{code}")).await;
        assert_eq!(pixel.status(), 200);
        assert_eq!(pixel.headers()["content-type"], "image/gif");
        assert!(pixel.bytes().await.unwrap().starts_with(b"GIF89a"));
        let click = s.get(As::Anonymous, &format!("/t/c/{}", link_code(&text))).await;
        assert_eq!(click.status(), 302, "[{backend}]");
        assert_eq!(click.headers()["location"], "https://reports.example.com/r/1?x=1&y=2");

        let all = events(&s, &format!("workflow_id={workflow_id}"), 3).await;
        let names: Vec<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
        for name in ["$workflows_email_sent", "$workflows_email_opened", "$workflows_email_link_clicked"] {
            assert!(names.contains(&name), "[{backend}] {names:?}");
        }
        for e in &all {
            assert_eq!(e["distinct_id"], "0", "[{backend}] \"0\" is an id");
            assert_eq!(e["message_id"], message_id.as_str());
            assert_eq!(e["properties"]["$workflow_id"], workflow_id.as_str());
            assert_eq!(e["properties"]["$messaging_source"], "direct");
            assert_eq!(e["properties"]["$email_to"], "ada@example.com");
        }
        let sent = all.iter().find(|e| e["event"] == "$workflows_email_sent").unwrap();
        assert_eq!(sent["properties"]["$email_subject"], "Your report");
        let clicked = events(&s, "event=$workflows_email_link_clicked", 1).await;
        assert_eq!(clicked[0]["properties"]["$link_url"], "https://reports.example.com/r/1?x=1&y=2");
        let res = s.get(As::Owner, &format!("/api/v1/orgs/{}/engagement?event=$pageview", s.acme)).await;
        assert_eq!(error_body(res).await.0, 422, "[{backend}] unknown event names are refused in filters");

        // A run without a distinct id is attributed to its recipient.
        let (wf2, _) = send_mail(&s, json!({ "distinct_id": "" })).await;
        let sent2 = events(&s, &format!("workflow_id={wf2}"), 1).await;
        assert_eq!(sent2[0]["distinct_id"], "ada@example.com", "[{backend}]");
        // The Outbox shows the engagement of each workflow mail.
        let outbox = app::backend::mail::outbox::list_for_org(&s.db, &s.acme).await.unwrap();
        let tracked = outbox.iter().find(|m| m.id == message_id).and_then(|m| m.tracking.clone()).expect("the mail is listed, tracked");
        assert_eq!((tracked.opened, tracked.clicked), (1, 1), "[{backend}] {tracked:?}");
    }
}

#[tokio::test]
async fn forged_tampered_and_legacy_codes_never_redirect_elsewhere() {
    for (backend, db) in test_databases().await {
        let keys = vec!["new-key".to_owned(), "old-key".to_owned()];
        let s = TestServer::start_with_config(db.clone(), Config { tracking_keys: keys, ..Config::default() }).await;
        enable_engagement(&s).await;
        let (_, (message_id, text, _, _, _)) = send_mail(&s, json!({})).await;
        let sign = |key: &str, payload: Value| {
            use hmac_sign::sign;
            sign(key, &payload)
        };
        let payload = |u: Option<&str>| {
            let mut p = json!({ "o": s.acme, "w": "w", "x": "x", "m": message_id, "d": "someone" });
            if let Some(u) = u {
                p["u"] = json!(u);
            }
            p
        };
        // Rotation: a code signed with the old key still works; an unknown key does not.
        let old = sign("old-key", payload(Some("https://old.example.com/")));
        assert_eq!(s.get(As::Anonymous, &format!("/t/c/{old}")).await.headers()["location"], "https://old.example.com/", "[{backend}]");
        let unknown = sign("stolen-key", payload(Some("https://evil.example/")));
        assert_eq!(s.get(As::Anonymous, &format!("/t/c/{unknown}")).await.status(), 404, "[{backend}]");

        let before = metric(&s, "chronicle_tracking_code_format_total", "format=\"invalid\",source=\"tracking\"").await;
        let good = link_code(&text);
        let (body, tag) = good.split_once('.').unwrap();
        let evil_body = URL_SAFE_NO_PAD.encode(payload(Some("https://evil.example/")).to_string());
        let forged = [
            format!("{evil_body}.{tag}"),
            format!("{body}.{}", &tag[..tag.len() - 3]),
            format!("{body}.@@@@"),
            "not base64 at all".replace(' ', "%20"),
            "A".repeat(10 * 1024),
            format!("{}.{tag}", URL_SAFE_NO_PAD.encode("[1,2,3]")),
        ];
        for code in &forged {
            let pixel = s.get(As::Anonymous, &format!("/t/o/{code}")).await;
            assert_eq!((pixel.status().as_u16(), pixel.headers()["content-type"].to_str().unwrap()), (200, "image/gif"), "[{backend}] {code}");
            assert_eq!(s.get(As::Anonymous, &format!("/t/c/{code}")).await.status(), 404, "[{backend}] {code}");
        }
        let after = metric(&s, "chronicle_tracking_code_format_total", "format=\"invalid\",source=\"tracking\"").await;
        assert!(after - before >= (forged.len() * 2) as f64, "[{backend}] every invalid read is counted: {before} → {after}");

        // Legacy unsigned codes: only to a link the stored message contains.
        let legacy = |u: &str| URL_SAFE_NO_PAD.encode(payload(Some(u)).to_string());
        let ok = s.get(As::Anonymous, &format!("/t/c/{}", legacy("https://reports.example.com/r/1?x=1&y=2"))).await;
        assert_eq!(ok.status(), 302, "[{backend}]");
        assert_eq!(ok.headers()["location"], "https://reports.example.com/r/1?x=1&y=2");
        assert_eq!(s.get(As::Anonymous, &format!("/t/c/{}", legacy("https://evil.example/"))).await.status(), 404, "[{backend}] not in the message");
        let unsigned = metric(&s, "chronicle_tracking_code_format_total", "format=\"unsigned\",source=\"tracking\"").await;
        assert!(unsigned >= 2.0, "[{backend}] unsigned reads counted");
        let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM engagement_events WHERE properties LIKE '%evil%'").fetch_one(db.pool()).await.unwrap();
        assert_eq!(stored, 0, "[{backend}] nothing stored for a forged code");

        // With unsigned codes refused, the same legacy link is a 404.
        let strict = TestServer::start_with_config(db.clone(), Config { tracking_accept_unsigned: false, ..Config::default() }).await;
        assert_eq!(strict.get(As::Anonymous, &format!("/t/c/{}", legacy("https://reports.example.com/r/1?x=1&y=2"))).await.status(), 404, "[{backend}]");
    }
}

#[tokio::test]
async fn engagement_is_default_deny_per_org() {
    for (backend, db) in test_databases().await {
        let s = TestServer::start(db.clone()).await;
        let (_, (_, text, _, code, _)) = send_mail(&s, json!({})).await;
        let dropped = metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"engagement_off\"").await;
        assert_eq!(s.get(As::Anonymous, &format!("/t/o/{code}")).await.status(), 200);
        assert_eq!(s.get(As::Anonymous, &format!("/t/c/{}", link_code(&text))).await.status(), 302, "[{backend}] the link still works");
        for _ in 0..200 {
            if metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"engagement_off\"").await >= dropped + 2.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"engagement_off\"").await >= dropped + 2.0, "[{backend}] counted");
        let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM engagement_events").fetch_one(db.pool()).await.unwrap();
        assert_eq!(stored, 0, "[{backend}] nothing recorded for an org that did not opt in");
    }
}

/// SNS signing as AWS does it, with the throwaway key whose certificate the server pins.
struct Sns {
    key: RsaPrivateKey,
}

impl Sns {
    fn new(file: &str) -> Sns {
        Sns { key: RsaPrivateKey::from_pkcs8_pem(&std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap()).unwrap() }
    }

    fn envelope(&self, version: &str, kind: &str, message_id: &str, message: &str, timestamp: &str) -> Value {
        let mut env = json!({ "Type": kind, "MessageId": message_id, "TopicArn": TOPIC, "Message": message, "Timestamp": timestamp,
            "SignatureVersion": version, "SigningCertURL": CERT_URL });
        if kind == "SubscriptionConfirmation" {
            env["Token"] = json!("token-123");
            env["SubscribeURL"] = json!("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=token-123");
        }
        self.sign(&mut env);
        env
    }

    fn sign(&self, env: &mut Value) {
        let fields: &[&str] = if env["Type"] == "Notification" {
            &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        } else {
            &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        };
        let mut text = String::new();
        for f in fields {
            if let Some(v) = env[*f].as_str() {
                text += &format!("{f}\n{v}\n");
            }
        }
        let signature = if env["SignatureVersion"] == "1" {
            SigningKey::<sha1::Sha1>::new(self.key.clone()).sign(text.as_bytes()).to_vec()
        } else {
            SigningKey::<sha2::Sha256>::new(self.key.clone()).sign(text.as_bytes()).to_vec()
        };
        env["Signature"] = json!(STANDARD.encode(signature));
    }
}

fn ses_record(kind: &str, code: &str, at: &str) -> String {
    let key = match kind {
        "Rendering Failure" => "failure".to_owned(),
        other => other.to_ascii_lowercase(),
    };
    let mut record = json!({ "eventType": kind, "mail": { "timestamp": "2026-11-26T08:00:00.000Z", "messageId": "ses-1", "destination": ["ada@example.com"],
        "commonHeaders": { "subject": "Your report" }, "tags": { "chronicle_code": [code] } } });
    record[key] = json!({ "timestamp": at, "link": "https://reports.example.com/r/1?x=1&y=2" });
    record.to_string()
}

#[tokio::test]
async fn ses_events_arrive_only_through_verified_sns_envelopes() {
    for (backend, db) in test_databases().await {
        let config = Config {
            sns_certs: app::backend::webhooks::sns::load_pinned(&[format!("{FIXTURES}/sns-signing-cert.pem").into()]).unwrap(),
            sns_topic_arns: vec![TOPIC.into()],
            ..Config::default()
        };
        let s = TestServer::start_with_config(db.clone(), config).await;
        enable_engagement(&s).await;
        let (workflow_id, (message_id, _, _, code, _)) = send_mail(&s, json!({ "distinct_id": "user-7" })).await;
        let sns = Sns::new("sns-signing-key.pem");
        let now = chrono::Utc::now();
        let fresh = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let post = |body: String| s.http.post(s.url("/webhooks/ses")).header("content-type", "text/plain; charset=UTF-8").body(body).send();

        // v1 and v2 accepted; the event time is the provider's.
        let delivered = sns.envelope("1", "Notification", "sns-1", &ses_record("Delivery", &code, "2026-11-26T08:00:05.123Z"), &fresh);
        let res = post(delivered.to_string()).await.unwrap();
        assert_eq!(res.status(), 200, "[{backend}] {}", res.text().await.unwrap());
        let opened = sns.envelope("2", "Notification", "sns-2", &ses_record("Open", &code, "2026-11-26T09:30:00.000Z"), &fresh);
        assert_eq!(post(opened.to_string()).await.unwrap().status(), 200, "[{backend}]");
        let got = events(&s, &format!("workflow_id={workflow_id}&event=$workflows_email_delivered"), 1).await;
        assert_eq!(got[0]["occurred_at"].as_str().unwrap()[..23], *"2026-11-26T08:00:05.123", "[{backend}] {}", got[0]);
        assert_eq!(got[0]["distinct_id"], "user-7");
        assert_eq!(got[0]["properties"]["$messaging_source"], "ses");
        let got = events(&s, "event=$workflows_email_opened", 1).await;
        assert!(got[0]["occurred_at"].as_str().unwrap().starts_with("2026-11-26T09:30:00"), "[{backend}]");

        // A redelivery is processed once.
        let res = post(delivered.to_string()).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), json!({ "duplicate": true }), "[{backend}]");
        assert_eq!(events(&s, "event=$workflows_email_delivered", 1).await.len(), 1, "[{backend}] once");

        // SES types map onto the allowlist.
        for (i, (kind, event)) in
            [("Bounce", "$workflows_email_bounced"), ("Complaint", "$workflows_email_blocked"), ("Reject", "$workflows_email_blocked"), ("Rendering Failure", "$workflows_email_failed"), ("Click", "$workflows_email_link_clicked")]
                .into_iter()
                .enumerate()
        {
            let env = sns.envelope("2", "Notification", &format!("map-{i}"), &ses_record(kind, &code, "2026-11-26T10:00:00.000Z"), &fresh);
            assert_eq!(post(env.to_string()).await.unwrap().status(), 200, "[{backend}] {kind}");
            assert!(!events(&s, &format!("event={event}"), 1).await.is_empty(), "[{backend}] {kind}");
        }
        // A type outside the map: acknowledged, counted, nothing recorded.
        let before = events(&s, "", 1).await.len();
        let env = sns.envelope("2", "Notification", "unknown-type", &ses_record("DeliveryDelay", &code, "2026-11-26T10:00:00.000Z"), &fresh);
        assert_eq!(post(env.to_string()).await.unwrap().status(), 200, "[{backend}]");
        assert!(metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"unknown_ses_type\"").await >= 1.0);
        assert_eq!(events(&s, "", 1).await.len(), before, "[{backend}]");
        assert!(metric(&s, "chronicle_tracking_code_format_total", "format=\"signed\",source=\"ses\"").await >= 2.0, "[{backend}]");

        // An unsigned (legacy) code counts only for a message this org's outbox really sent.
        let unsigned = |m: &str, o: &str| URL_SAFE_NO_PAD.encode(json!({ "o": o, "w": workflow_id, "x": "x", "m": m, "d": "legacy" }).to_string());
        let legacy = |i: usize, m: &str, o: &str| sns.envelope("2", "Notification", &format!("legacy-{i}"), &ses_record("Open", &unsigned(m, o), "2026-11-26T10:00:00.000Z"), &fresh);
        let dropped = metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"unknown_message\"").await;
        let before = events(&s, "", 1).await.len();
        let no_such = new_id();
        for (i, (m, o)) in [(no_such.as_str(), s.acme.as_str()), (message_id.as_str(), s.globex.as_str()), (message_id.as_str(), s.acme.as_str())].into_iter().enumerate() {
            assert_eq!(post(legacy(i, m, o).to_string()).await.unwrap().status(), 200, "[{backend}] legacy {i}");
        }
        assert_eq!(events(&s, "", 1).await.len(), before, "[{backend}] none counted: unknown, another org's, not yet sent");
        let dropped_now = metric(&s, "chronicle_engagement_events_dropped_total", "reason=\"unknown_message\"").await;
        assert_eq!(dropped_now - dropped, 3.0, "[{backend}]");
        sqlx::query("UPDATE outbox SET status = 'sent' WHERE id = $1").bind(&message_id).execute(db.pool()).await.unwrap();
        assert_eq!(post(legacy(3, &message_id, &s.acme).to_string()).await.unwrap().status(), 200, "[{backend}]");
        assert_eq!(events(&s, "", before + 1).await.len(), before + 1, "[{backend}] once sent, it counts");

        // Refusals: each writes nothing.
        let (count_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM engagement_events").fetch_one(db.pool()).await.unwrap();
        let base = || sns.envelope("2", "Notification", "refused", &ses_record("Open", &code, "2026-11-26T10:00:00.000Z"), &fresh);
        let mut tampered = base();
        tampered["Message"] = json!(ses_record("Open", &code, "2026-11-26T11:00:00.000Z"));
        let mut stale = sns.envelope("2", "Notification", "stale", &ses_record("Open", &code, "2026-11-26T10:00:00.000Z"), &(now - chrono::Duration::minutes(61)).to_rfc3339());
        let future = sns.envelope("2", "Notification", "future", &ses_record("Open", &code, "2026-11-26T10:00:00.000Z"), &(now + chrono::Duration::minutes(6)).to_rfc3339());
        let mut http_cert = base();
        http_cert["SigningCertURL"] = json!(CERT_URL.replace("https", "http"));
        let mut other_host = base();
        other_host["SigningCertURL"] = json!("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem");
        let mut bad_base64 = base();
        bad_base64["Signature"] = json!("%%% not base64 %%%");
        let mut v3 = base();
        v3["SignatureVersion"] = json!("3");
        let unpinned = Sns::new("other-key.pem").envelope("2", "Notification", "unpinned", &ses_record("Open", &code, "2026-11-26T10:00:00.000Z"), &fresh);
        let mut missing = base();
        missing.as_object_mut().unwrap().remove("MessageId");
        let not_ses = sns.envelope("2", "Notification", "not-ses", "{\"hello\": \"world\"}", &fresh);
        for (what, body, status) in [
            ("tampered", tampered.to_string(), 400),
            ("stale", { stale["x"] = json!(1); stale.to_string() }, 400),
            ("dated 6 minutes ahead", future.to_string(), 400),
            ("http certificate URL", http_cert.to_string(), 400),
            ("certificate on another host", other_host.to_string(), 400),
            ("bad base64 signature", bad_base64.to_string(), 400),
            ("SignatureVersion 3", v3.to_string(), 400),
            ("signed by an unpinned key", unpinned.to_string(), 400),
            ("missing MessageId", missing.to_string(), 400),
            ("Message that is not SES JSON", not_ses.to_string(), 400),
            ("a raw SES record", ses_record("Open", &code, "2026-11-26T10:00:00.000Z"), 403),
            ("an array", format!("[{}]", ses_record("Open", &code, "2026-11-26T10:00:00.000Z")), 403),
            ("not JSON", "hello".into(), 403),
        ] {
            let res = post(body).await.unwrap();
            let (got, error_code, _) = error_body(res).await;
            assert_eq!(got, status, "[{backend}] {what}");
            if status == 400 && what != "Message that is not SES JSON" {
                assert_eq!(error_code, "invalid_signature", "[{backend}] {what}");
            }
        }
        let (count_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM engagement_events").fetch_one(db.pool()).await.unwrap();
        assert_eq!(count_after, count_before, "[{backend}] refused requests store nothing");
        assert!(metric(&s, "chronicle_webhook_requests_total", "provider=\"ses\",outcome=\"invalid_signature\"").await >= 9.0, "[{backend}]");
        assert!(metric(&s, "chronicle_webhook_requests_total", "provider=\"ses\",outcome=\"not_envelope\"").await >= 3.0, "[{backend}]");

        // Another topic: refused even with a good signature.
        let mut other_topic = json!({ "Type": "Notification", "MessageId": "t2", "TopicArn": "arn:aws:sns:eu-west-1:999:other", "Message": ses_record("Open", &code, "2026-11-26T10:00:00.000Z"),
            "Timestamp": fresh, "SignatureVersion": "2", "SigningCertURL": CERT_URL });
        sns.sign(&mut other_topic);
        assert_eq!(post(other_topic.to_string()).await.unwrap().status(), 403, "[{backend}]");

        // A subscription confirmation is kept for the operator (`server sns confirmations`).
        let confirm = sns.envelope("1", "SubscriptionConfirmation", "sub-1", "You have chosen to subscribe", &fresh);
        assert_eq!(post(confirm.to_string()).await.unwrap().status(), 200, "[{backend}]");
        let (url,): (String,) = sqlx::query_as("SELECT subscribe_url FROM sns_subscriptions WHERE message_id = 'sub-1'").fetch_one(db.pool()).await.unwrap();
        assert!(url.contains("ConfirmSubscription"), "[{backend}]");
    }
}

#[tokio::test]
async fn engagement_is_forwarded_to_posthog_once_accepted() {
    use std::sync::{Arc, Mutex};
    for (backend, db) in test_databases().await {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (sink, fail) = (received.clone(), failing.clone());
        let app = axum::Router::new().route(
            "/batch/",
            axum::routing::post(move |body: axum::Json<Value>| async move {
                if fail.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                sink.lock().unwrap().push(body.0);
                axum::http::StatusCode::OK
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (smtp, _inbox) = smtp_sink().await;
        let s = TestServer::start_with_smtp(db, Some(smtp)).await;
        let patch = json!({ "capture_engagement_events": true, "posthog_host": host, "posthog_api_key": "phc_test" });
        assert_eq!(s.request(As::Owner, Method::PATCH, &format!("/api/v1/orgs/{}/settings", s.acme)).json(&patch).send().await.unwrap().status(), 200);
        let (_, (_, _, _, code, _)) = send_mail(&s, json!({ "distinct_id": "u1" })).await;
        s.get(As::Anonymous, &format!("/t/o/{code}")).await;
        let recorded = events(&s, "", 2).await;
        // The first attempt fails (503); the retry after the backoff delivers.
        let mut delivered = Vec::new();
        for _ in 0..400 {
            delivered = received.lock().unwrap().iter().flat_map(|b| b["batch"].as_array().unwrap().clone()).collect::<Vec<_>>();
            if delivered.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(received.lock().unwrap()[0]["api_key"], "phc_test", "[{backend}]");
        for e in &recorded {
            let sent = delivered.iter().find(|d| d["uuid"] == e["id"]).unwrap_or_else(|| panic!("[{backend}] {} not forwarded: {delivered:?}", e["id"]));
            assert_eq!(sent["event"], e["event"]);
            assert_eq!(sent["distinct_id"], "u1");
            assert_eq!(sent["timestamp"], e["occurred_at"]);
        }
    }
}

/// HMAC signing as SPEC describes it, written out here so the test does not trust the server's code.
mod hmac_sign {
    use super::*;
    pub fn sign(key: &str, payload: &Value) -> String {
        use sha2::Digest;
        let body = URL_SAFE_NO_PAD.encode(payload.to_string());
        // HMAC-SHA256 by its definition (RFC 2104), block size 64.
        let mut k = key.as_bytes().to_vec();
        if k.len() > 64 {
            k = sha2::Sha256::digest(&k).to_vec();
        }
        k.resize(64, 0);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = sha2::Sha256::digest([ipad.as_slice(), body.as_bytes()].concat());
        let tag = sha2::Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(&tag[..16]))
    }
}
