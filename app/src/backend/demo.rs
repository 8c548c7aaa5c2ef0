//! The `--demo` data set from the SPEC: two orgs, four people, one password. Seeding is
//! idempotent: a second start with `--demo` finds the data and leaves it alone. "Onboarding"
//! sends the demo credential "Acme API token" (allowed host `api.acme.test`), so a member's
//! edit of it waits for approval right away.

use super::db::Db;
use super::audit::Recorder;
use super::sessions::ClientInfo;
use super::workflows::{self, SaveInput};
use super::Acting;
use super::{credentials, orgs, users, Config};
use crate::error::{ApiError, ApiResult};
use crate::model::{Actor, Role, UserInfo, VersionSource};
use serde_json::{json, Value};

pub const DEMO_PASSWORD: &str = "chronicle-demo";

pub const DEMO_LOGINS: [(&str, &str, &str); 4] = [
    ("owner@acme.test", "Olive Owner", "Acme owner"),
    ("admin@acme.test", "Ada Admin", "Acme admin"),
    ("member@acme.test", "Max Member", "Acme member"),
    ("owner@globex.test", "Gus Owner", "Globex owner"),
];

/// Seeds the demo data unless it is already there. Returns whether it seeded.
pub async fn seed(db: &Db, config: &Config, audit: &Recorder) -> ApiResult<bool> {
    if users::find_by_email(db, DEMO_LOGINS[0].0).await?.is_some() {
        return Ok(false);
    }
    let mut people = Vec::new();
    for (email, name, _) in DEMO_LOGINS {
        people.push(users::create_user(db, email, name, DEMO_PASSWORD).await?);
    }
    let acme = orgs::create_org(db, "Acme", &people[0].id).await?;
    orgs::add_member(db, &acme.id, &people[1].id, Role::Admin).await?;
    orgs::add_member(db, &acme.id, &people[2].id, Role::Member).await?;
    orgs::create_org(db, "Globex", &people[3].id).await?;
    seed_workflows(db, config, audit, &acme.id, &people[0], &people[1]).await?;
    Ok(true)
}

/// Two workflows with a few versions each, so history, diffs and (later) the audit trail
/// have something to show at once.
async fn seed_workflows(db: &Db, config: &Config, audit: &Recorder, org: &str, olive_user: &UserInfo, ada: &UserInfo) -> ApiResult<()> {
    let client = ClientInfo::default();
    let as_user = |u: &UserInfo| Acting { actor: Actor::user(u), client: &client, audit };
    let (olive, ada) = (as_user(olive_user), as_user(ada));
    let token = credentials::create(db, config, org, olive_user, "Acme API token", "demo-token-not-a-real-secret", &["api.acme.test".into()], &olive).await?;
    let onboarding = [
        (&olive, json!({
            "nodes": [
                node("start", "manual_trigger", 60, 120, "New signup", json!({})),
                node("fetch", "http_request", 300, 120, "Fetch user", json!({"url": "https://api.acme.test/users/{{id}}", "method": "GET", "credential_id": token.id})),
                node("mail", "send_email", 540, 120, "Welcome email", json!({"to": "{{user.email}}", "subject": "Welcome to Acme", "body": "Hi {{user.name}},\nwelcome aboard!\nThe Acme team"})),
            ],
            "edges": [edge("e1", "start", "fetch"), edge("e2", "fetch", "mail")]
        })),
        (&ada, json!({
            "nodes": [
                node("start", "manual_trigger", 60, 120, "New signup", json!({})),
                node("fetch", "http_request", 300, 120, "Fetch user profile", json!({"url": "https://api.acme.test/v2/users/{{id}}", "method": "GET", "credential_id": token.id})),
                node("mail", "send_email", 540, 120, "Welcome email", json!({"to": "{{user.email}}", "subject": "Welcome to Acme", "body": "Hi {{user.name}},\nwelcome aboard! Your workspace is ready.\nThe Acme team"})),
            ],
            "edges": [edge("e1", "start", "fetch"), edge("e2", "fetch", "mail")]
        })),
        (&ada, json!({
            "nodes": [
                node("start", "manual_trigger", 60, 120, "New signup", json!({})),
                node("fetch", "http_request", 300, 120, "Fetch user profile", json!({"url": "https://api.acme.test/v2/users/{{id}}", "method": "GET", "credential_id": token.id})),
                node("check", "condition", 540, 120, "Has email?", json!({"expression": "user.email != null"})),
                node("mail", "send_email", 780, 120, "Welcome email", json!({"to": "{{user.email}}", "subject": "Welcome to Acme", "body": "Hi {{user.name}},\nwelcome aboard! Your workspace is ready.\nThe Acme team"})),
            ],
            "edges": [edge("e1", "start", "fetch"), edge("e2", "fetch", "check"), edge("e3", "check", "mail")]
        })),
    ];
    let invoices = [
        (&olive, json!({
            "nodes": [
                node("tick", "schedule_trigger", 60, 80, "Every hour", json!({"cron": "0 * * * *"})),
                node("read", "read_contract", 300, 80, "Read balance", json!({"network": "base", "contractAddress": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "functionName": "balanceOf", "args": ["0xacme"]})),
            ],
            "edges": [edge("e1", "tick", "read")]
        })),
        (&olive, json!({
            "nodes": [
                node("tick", "schedule_trigger", 60, 80, "Every hour", json!({"cron": "0 * * * *"})),
                node("read", "read_contract", 300, 80, "Read balance", json!({"network": "base", "contractAddress": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "abiFunction": "balanceOf", "functionArgs": ["0xacme"]})),
                node("shape", "code", 540, 80, "Format invoice", json!({"language": "javascript", "code": "const due = input.balance / 100;\nreturn { due };"})),
            ],
            "edges": [edge("e1", "tick", "read"), edge("e2", "read", "shape")]
        })),
    ];
    for (name, versions) in [("Onboarding", &onboarding[..]), ("Invoice sync", &invoices[..])] {
        let mut id: Option<String> = None;
        for (actor, definition) in versions {
            let definition = serde_json::from_value(definition.clone()).map_err(|_| ApiError::internal())?;
            let input = SaveInput { name: Some(name.into()), definition, enabled: None, label: None, base_version: None, author_role: Role::Admin };
            let source = if id.is_some() { VersionSource::Update } else { VersionSource::Create };
            let saved = workflows::save(db, org, id.as_deref(), input, actor, source).await?;
            id = Some(saved.workflow.id);
        }
    }
    Ok(())
}

fn node(id: &str, kind: &str, x: i64, y: i64, label: &str, config: Value) -> Value {
    json!({"id": id, "type": kind, "position": {"x": x, "y": y}, "data": {"label": label, "config": config}, "width": 180, "height": 56})
}

fn edge(id: &str, source: &str, target: &str) -> Value {
    json!({"id": id, "source": source, "target": target})
}
