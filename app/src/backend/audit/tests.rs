//! Recorder and store tests, on both databases.

use super::store::{self, Filter};
use super::{NewEvent, Recorder};
use crate::backend::sessions::ClientInfo;
use crate::backend::testing::test_databases;
use crate::model::Actor;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn ada() -> Actor {
    Actor { kind: "user".into(), id: Some("u-ada".into()), label: "Ada Admin".into(), name: Some("Ada Admin".into()), email: Some("ada@acme.test".into()) }
}

fn no_overflow() -> super::recorder::OverflowHook {
    Arc::new(|| panic!("the queue must not overflow in this test"))
}

#[tokio::test]
async fn events_are_redacted_stamped_and_listed_newest_first() {
    for (backend, db) in test_databases().await {
        let audit = Recorder::start(db.clone(), no_overflow());
        let client = ClientInfo { ip: Some("203.0.113.7".into()), user_agent: Some("curl/8".into()) };
        audit
            .record(
                NewEvent::new(Some("org-1"), "api_key.created", ada(), "api_key", Some("k1"))
                    .changes(&json!({"name": "ci"}), &json!({"name": "ci-prod", "secret": "chr_org_s3cr3t", "key_hash": "abc"}))
                    .metadata(json!({"display": "chr_org_…a1b2", "token": "t0k3n"}))
                    .client(&client),
            )
            .await;
        for i in 0..5 {
            audit.record(NewEvent::new(Some("org-1"), "workflow.updated", ada(), "workflow", Some(&format!("w{i}")))).await;
        }
        audit.record(NewEvent::new(Some("org-2"), "workflow.updated", ada(), "workflow", Some("other"))).await;
        // `record` returned: every event is stored, before any shutdown or flush.

        let page = store::list(&db, Some("org-1"), &Filter::default(), None, None).await.unwrap();
        assert_eq!(page.events.len(), 6, "[{backend}] other orgs' events are not listed");
        assert_eq!(page.events[0].resource.id.as_deref(), Some("w4"), "newest first");
        let created = page.events.iter().find(|e| e.action == "api_key.created").unwrap();
        assert_eq!(created.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(created.actor, ada());
        let stored = serde_json::to_string(created).unwrap();
        for secret in ["chr_org_s3cr3t", "t0k3n", "\"abc\""] {
            assert!(!stored.contains(secret), "[{backend}] {secret} leaked into {stored}");
        }
        let name = created.changes.iter().find(|c| c.path == "name").unwrap();
        assert_eq!((&name.before, &name.after), (&json!("ci"), &json!("ci-prod")));

        let filter = Filter { actions: vec!["api_key.created".into(), "nothing.else".into()], ..Filter::default() };
        assert_eq!(store::list(&db, Some("org-1"), &filter, None, None).await.unwrap().events.len(), 1);
        let filter = Filter { resource_type: Some("workflow".into()), resource_id: Some("w2".into()), ..Filter::default() };
        assert_eq!(store::list(&db, Some("org-1"), &filter, None, None).await.unwrap().events.len(), 1);
        let filter = Filter { since: Some("2000-01-01T00:00:00Z".into()), until: Some("2001-01-01T00:00:00Z".into()), ..Filter::default() };
        assert!(store::list(&db, Some("org-1"), &filter, None, None).await.unwrap().events.is_empty());
        let bad = Filter { since: Some("yesterday".into()), ..Filter::default() };
        assert_eq!(store::list(&db, Some("org-1"), &bad, None, None).await.unwrap_err().field.as_deref(), Some("since"));

        // Keyset pages cover everything once, in order.
        let (mut seen, mut cursor) = (Vec::new(), None);
        loop {
            let page = store::list(&db, Some("org-1"), &Filter::default(), Some(4), cursor.as_deref()).await.unwrap();
            seen.extend(page.events.into_iter().map(|e| e.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!((seen.len(), &seen), (6, &sorted), "[{backend}]");
    }
}

/// The database refuses writes for a while: no receipt claims an event stored before it is,
/// and every event arrives, acknowledged, once the database recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_a_database_outage() {
    for (backend, db) in test_databases().await {
        let overflowed = Arc::new(AtomicU64::new(0));
        let counter = overflowed.clone();
        let audit = Recorder::start(db.clone(), Arc::new(move || { counter.fetch_add(1, Ordering::Relaxed); }));
        sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_away").execute(db.pool()).await.unwrap();
        let mut receipts = Vec::new();
        for i in 0..200 {
            receipts.push(audit.enqueue(NewEvent::new(Some("org-1"), "workflow.updated", ada(), "workflow", Some(&format!("w{i}")))).await);
        }
        let early = tokio::spawn(receipts.pop().unwrap().stored());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!early.is_finished(), "[{backend}] acknowledged while the database refused it");
        sqlx::query("ALTER TABLE audit_events_away RENAME TO audit_events").execute(db.pool()).await.unwrap();
        assert!(early.await.unwrap(), "[{backend}]");
        for receipt in receipts {
            assert!(receipt.stored().await, "[{backend}]");
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events").fetch_one(db.pool()).await.unwrap();
        assert_eq!((count, overflowed.load(Ordering::Relaxed)), (200, 0), "[{backend}]");
        audit.shutdown().await;
    }
}

/// Events stamped with the same microsecond: the sequence breaks the tie, so keyset pages
/// still list each exactly once, last written first.
#[tokio::test]
async fn keyset_pages_break_time_ties_by_write_order() {
    for (backend, db) in test_databases().await {
        let recorder = Recorder::start(db.clone(), Arc::new(|| {}));
        for i in 0..7 {
            recorder.record(NewEvent::new(Some("org-1"), "workflow.updated", ada(), "workflow", Some(&format!("w{i}")))).await;
        }
        sqlx::query("UPDATE audit_events SET created_at = '2026-11-23T12:00:00.000000Z'").execute(db.pool()).await.unwrap();
        let (mut seen, mut cursor) = (Vec::new(), None);
        loop {
            let page = store::list(&db, Some("org-1"), &Filter::default(), Some(3), cursor.as_deref()).await.unwrap();
            seen.extend(page.events.into_iter().filter_map(|e| e.resource.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ["w6", "w5", "w4", "w3", "w2", "w1", "w0"], "[{backend}]");
    }
}

/// A NUL anywhere in an event (PostgreSQL text cannot hold one) does not wedge the writer:
/// the event and those after it are stored, the NUL shown as U+FFFD.
#[tokio::test]
async fn a_nul_character_cannot_wedge_the_writer() {
    for (backend, db) in test_databases().await {
        let recorder = Recorder::start(db.clone(), Arc::new(|| {}));
        let mut actor = ada();
        actor.name = Some("Ada\0".into());
        recorder.record(NewEvent::new(Some("org-1"), "auth.login_failed", actor, "user", Some("u\0")).metadata(json!({"email\0": "a\0@b"}))).await;
        recorder.record(NewEvent::new(Some("org-1"), "auth.login", ada(), "user", Some("u1"))).await;
        recorder.shutdown().await;
        let events = store::list(&db, Some("org-1"), &Filter::default(), None, None).await.unwrap().events;
        assert_eq!(events.len(), 2, "[{backend}]");
        assert_eq!(events[1].resource.id.as_deref(), Some("u\u{FFFD}"), "[{backend}]");
        assert_eq!(events[1].actor.name.as_deref(), Some("Ada\u{FFFD}"), "[{backend}]");
        assert_eq!(events[1].metadata, json!({"email\u{FFFD}": "a\u{FFFD}@b"}), "[{backend}]");
    }
}

/// Whatever characters an event holds come back as written, through the writer's batch path
/// (COPY's text format on PostgreSQL escapes tab, newline, carriage return and backslash)
/// alone and in a batch of several; a NULL stays NULL and is not read as the text `\N`.
#[tokio::test]
async fn every_character_survives_the_writer() {
    let odd = "tab\there\nnew line\r\\N back\\slash \\t é 🦀 'quote' \"dq\" ,;|";
    for (backend, db) in test_databases().await {
        let recorder = Recorder::start(db.clone(), no_overflow());
        let mut actor = ada();
        actor.label = odd.into();
        actor.email = None;
        let client = ClientInfo { ip: None, user_agent: Some(odd.into()) };
        recorder.record(NewEvent::new(Some("org-1"), "workflow.updated", actor.clone(), "workflow", Some(odd)).metadata(json!({ "name": odd })).client(&client)).await;
        let deleted = NewEvent::new(Some("org-1"), "workflow.deleted", actor.clone(), "workflow", Some(odd)).metadata(json!({ "name": odd })).client(&client);
        let other = NewEvent::new(Some("org-1"), "workflow.created", ada(), "workflow", Some("w-other"));
        let (a, b) = (recorder.enqueue(deleted).await, recorder.enqueue(other).await);
        assert!(a.stored().await && b.stored().await);
        recorder.shutdown().await;

        let filter = Filter { resource_id: Some(odd.into()), ..Filter::default() };
        let events = store::list(&db, Some("org-1"), &filter, None, None).await.unwrap().events;
        assert_eq!(events.len(), 2, "[{backend}] both events found by their resource id");
        for e in events {
            assert_eq!(e.actor, actor, "[{backend}] {}", e.action);
            assert_eq!(e.resource.id.as_deref(), Some(odd), "[{backend}] {}", e.action);
            assert_eq!(e.metadata, json!({ "name": odd }), "[{backend}] {}", e.action);
            assert_eq!((e.ip.as_deref(), e.user_agent.as_deref()), (None, Some(odd)), "[{backend}] {}", e.action);
        }
    }
}

/// SQLite: the writer never checkpoints its own commits (that wait was a fifth of its time);
/// checkpoints run beside it and still bring its batches from the WAL into the database file.
#[tokio::test]
async fn sqlite_checkpoints_bring_the_writers_batches_into_the_database_file() {
    let url = crate::backend::testing::sqlite_url();
    let file = url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
    let db = crate::backend::db::Db::connect(&url).await.unwrap();
    let size = || std::fs::metadata(&file).unwrap().len();
    let before = size();
    let recorder = Recorder::start(db.clone(), no_overflow());
    for i in 0..3_000 {
        // Queued without waiting for each commit, so the writer gets big batches.
        let _receipt = recorder.enqueue(NewEvent::new(Some("org-1"), "workflow.updated", ada(), "workflow", Some(&format!("w{i}"))).metadata(json!({ "name": "Onboarding" }))).await;
    }
    recorder.shutdown().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while size() < before + 1_000_000 {
        assert!(std::time::Instant::now() < deadline, "the database file stayed at {} bytes (was {before})", size());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
