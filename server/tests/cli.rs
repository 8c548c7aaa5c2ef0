//! The server binary's subcommands, run as an operator would.

use app::backend::db::{new_id, Db};
use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_server"))
}

/// `server create-owner` over a fresh SQLite database in `dir`.
fn create_owner(dir: &std::path::Path, email: &str, name: &str, org: &str) -> std::process::Output {
    server()
        .args(["create-owner", "--email", email, "--name", name, "--org", org])
        .env("CHRONICLE_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env("CHRONICLE_OWNER_PASSWORD", "a-strong-first-password")
        .output()
        .unwrap()
}

#[test]
fn help_lists_the_subcommands() {
    let out = server().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("create-owner") && text.contains("--demo") && text.contains("audit"), "{text}");
}

#[tokio::test]
async fn create_owner_makes_a_user_who_owns_a_new_org() {
    let dir = std::env::temp_dir().join(format!("chronicle-cli-{}", new_id()));
    let run = |email: &str| create_owner(&dir, email, "Rita Root", "Initech");
    let out = run("rita@initech.test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("owner of Initech"));

    let again = run("RITA@initech.test");
    assert!(!again.status.success(), "a second user with the same email is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("email: is already registered"));

    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("chronicle.db").display())).await.unwrap();
    let (user, _) = app::backend::users::find_by_email(&db, "rita@initech.test").await.unwrap().unwrap();
    let orgs = app::backend::orgs::orgs_of_user(&db, &user.id).await.unwrap();
    assert_eq!((orgs.len(), orgs[0].name.as_str(), orgs[0].role), (1, "Initech", app::model::Role::Owner));
    // The new org's trail starts with it.
    let page = app::backend::audit::store::list(&db, Some(&orgs[0].id), &Default::default(), None, None).await.unwrap();
    let created: Vec<_> = page.events.iter().filter(|e| e.action == "user.created").collect();
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].actor.kind.as_str(), created[0].resource.id.as_deref()), ("system", Some(user.id.as_str())));
    assert_eq!(created[0].metadata["email"], "rita@initech.test");
    // Nothing else was seeded: no demo data without --demo.
    assert!(app::backend::users::find_by_email(&db, "owner@acme.test").await.unwrap().is_none());
}

#[tokio::test]
async fn audit_verify_exits_one_when_the_trail_was_edited() {
    let dir = std::env::temp_dir().join(format!("chronicle-cli-{}", new_id()));
    let create = create_owner(&dir, "vera@verify.test", "Vera Verify", "Verify Inc");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let verify = || server().args(["audit", "verify"]).env("CHRONICLE_DATA_DIR", &dir).env_remove("DATABASE_URL").output().unwrap();
    let out = verify();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let reports: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(reports.iter().all(|r| r["ok"] == true) && reports.iter().any(|r| r["events_checked"].as_i64() > Some(0)), "{text}");

    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("chronicle.db").display())).await.unwrap();
    let (seq,): (i64,) = sqlx::query_as("SELECT MIN(seq) FROM audit_events WHERE action = 'user.created'").fetch_one(db.pool()).await.unwrap();
    sqlx::query("UPDATE audit_events SET actor_label = 'Someone else' WHERE seq = $1").bind(seq).execute(db.pool()).await.unwrap();
    let out = verify();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.lines().any(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["first_bad_seq"] == seq), "{text}");
}

/// `server audit prune`: an org keeping one day loses its old whole segments up to a signed
/// checkpoint, and what remains still verifies.
#[tokio::test]
async fn audit_prune_applies_retention_and_the_rest_still_verifies() {
    use app::backend::audit::{seal, signing::CheckpointSigner, store};
    use app::model::{Actor, AuditEvent, AuditResource};
    let dir = std::env::temp_dir().join(format!("chronicle-cli-{}", new_id()));
    let create = create_owner(&dir, "pat@prune.test", "Pat Prune", "Prune Inc");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("chronicle.db").display())).await.unwrap();
    let (org,): (String,) = sqlx::query_as("SELECT id FROM orgs").fetch_one(db.pool()).await.unwrap();
    sqlx::query("UPDATE orgs SET audit_retention_days = 1").execute(db.pool()).await.unwrap();
    let event = |at: &str| AuditEvent {
        id: new_id(),
        org_id: Some(org.clone()),
        action: "workflow.updated".into(),
        actor: Actor::system("Import"),
        resource: AuditResource { kind: "workflow".into(), id: Some("w1".into()) },
        changes: vec![],
        metadata: serde_json::json!({}),
        ip: None,
        user_agent: None,
        created_at: at.into(),
        seq: None,
        prev_hash: None,
        hash: None,
    };
    // Old history, sealed and signed; then one event of today.
    store::insert_batch(&db, &[event("2020-01-01T00:00:00.000000Z"), event("2020-01-02T00:00:00.000000Z")]).await.unwrap();
    let signer = CheckpointSigner::load_or_create(None, &dir).unwrap();
    let anchor = seal::checkpoint_now(&app::backend::jobs::Jobs::on(&db), &signer, &org).await.unwrap();
    store::insert_batch(&db, &[event(&app::backend::db::now())]).await.unwrap();
    seal::seal_pending(&app::backend::jobs::Jobs::on(&db), &signer).await.unwrap();
    let (old,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND seq <= $2").bind(&org).bind(anchor.seq).fetch_one(db.pool()).await.unwrap();

    let out = server().args(["audit", "prune"]).env("CHRONICLE_DATA_DIR", &dir).env_remove("DATABASE_URL").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!((line["org_id"].as_str(), line["events"].as_i64(), line["through_seq"].as_i64()), (Some(org.as_str()), Some(old), Some(anchor.seq)), "{text}");
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND action <> 'audit_log.pruned'").bind(&org).fetch_one(db.pool()).await.unwrap();
    assert_eq!(left, 1, "today's event stays");

    let out = server().args(["audit", "verify", "--org", &org]).env("CHRONICLE_DATA_DIR", &dir).env_remove("DATABASE_URL").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let report: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(report["ok"] == true && report["checkpoints_checked"].as_i64() >= Some(1), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

/// SNS subscription confirmations go to the operator, on the command line.
#[tokio::test]
async fn sns_confirmations_lists_what_sns_asked_to_confirm() {
    let dir = std::env::temp_dir().join(format!("chronicle-cli-{}", new_id()));
    let create = create_owner(&dir, "sam@sns.test", "Sam Sns", "Sns Inc");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let list = || server().args(["sns", "confirmations"]).env("CHRONICLE_DATA_DIR", &dir).env_remove("DATABASE_URL").output().unwrap();
    let empty = list();
    assert!(empty.status.success() && empty.stdout.is_empty(), "{}", String::from_utf8_lossy(&empty.stderr));
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("chronicle.db").display())).await.unwrap();
    sqlx::query("INSERT INTO sns_subscriptions (message_id, topic_arn, subscribe_url, received_at) VALUES ('m-1', 'arn:aws:sns:eu-west-1:1:ses', 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t', '2026-12-05T10:00:00.000000Z')")
        .execute(db.pool())
        .await
        .unwrap();
    let out = list();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!((line["topic_arn"].as_str(), line["subscribe_url"].as_str().map(|u| u.contains("ConfirmSubscription"))), (Some("arn:aws:sns:eu-west-1:1:ses"), Some(true)));
}
