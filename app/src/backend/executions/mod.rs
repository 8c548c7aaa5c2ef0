//! Executions: a trigger validates the workflow's current definition strictly and queues a
//! run that copies what ran (definition, content hash, version) and who ran it (the
//! credential descriptor); workers claim runs from the database (`queue`), the engine runs
//! them step by step (`engine`, `egress` for `http_request`), the scheduler fires enabled
//! `schedule_trigger` workflows (`schedule`).

pub mod egress;
pub mod engine;
pub mod queue;
pub mod schedule;

use super::audit::{NewEvent, Recorder};
use super::auth::{Caller, Credential};
use super::cursor;
use super::db::{new_id, now, Db};
use super::sessions::ClientInfo;
use super::workflows;
use crate::error::{ApiError, ApiResult};
use crate::model::{
    Actor, CredentialDescriptor, Execution, ExecutionPage, ExecutionQuery, ExecutionStep, WebhookKey, CREDENTIAL_TYPES,
    EXECUTION_STATUSES,
};
use crate::workflow::catalog::validate_strict;
use crate::workflow::Definition;
use serde_json::Value;

pub use queue::Runner;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The editor's Run button.
    Manual,
    /// `POST …/executions`, whatever the credential.
    Api,
    Webhook,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Api => "api",
            Trigger::Webhook => "webhook",
            Trigger::Schedule => "schedule",
        }
    }

    pub fn parse(text: &str) -> Option<Trigger> {
        [Trigger::Manual, Trigger::Api, Trigger::Webhook, Trigger::Schedule].into_iter().find(|t| t.as_str() == text)
    }

    /// The trigger node a run of this kind starts from (manual and API runs: the first trigger).
    pub fn node_kind(self) -> Option<&'static str> {
        match self {
            Trigger::Webhook => Some("webhook_trigger"),
            Trigger::Schedule => Some("schedule_trigger"),
            Trigger::Manual | Trigger::Api => None,
        }
    }
}

/// Who starts a run: the descriptor copied into it, the actor of its audit events, and the
/// person (if any) whose run it is, which members may see.
#[derive(Debug, Clone)]
pub struct Origin {
    pub credential: CredentialDescriptor,
    pub actor: Actor,
    pub user_id: Option<String>,
}

impl Origin {
    pub fn of_caller(caller: &Caller) -> Origin {
        let credential = match (&caller.credential, &caller.user) {
            (Credential::ApiKey(key), _) => CredentialDescriptor {
                kind: if key.org_id.is_some() { "org_api_key" } else { "personal_api_key" }.into(),
                id: Some(key.id.clone()),
                label: format!("{} ({})", key.name, key.display),
            },
            (Credential::Session { .. }, user) => CredentialDescriptor {
                kind: "session".into(),
                id: user.as_ref().map(|u| u.id.clone()),
                label: user.as_ref().map_or_else(|| "Anonymous".into(), |u| u.name.clone()),
            },
        };
        Origin { credential, actor: caller.actor(), user_id: caller.user.as_ref().map(|u| u.id.clone()) }
    }

    pub fn webhook(key: &WebhookKey) -> Origin {
        let label = format!("{} ({})", key.name, key.display);
        Origin {
            credential: CredentialDescriptor { kind: "webhook_key".into(), id: Some(key.id.clone()), label: label.clone() },
            actor: Actor { kind: "api_key".into(), id: Some(key.id.clone()), label, name: None, email: None },
            user_id: None,
        }
    }

    pub fn scheduler() -> Origin {
        Origin {
            credential: CredentialDescriptor { kind: "internal".into(), id: None, label: "Scheduler".into() },
            actor: Actor::system("Scheduler"),
            user_id: None,
        }
    }

    /// The actor a run's own events (`credential.accessed`) name: its credential.
    fn from_descriptor(credential: CredentialDescriptor, user_id: Option<String>) -> Origin {
        let kind = match credential.kind.as_str() {
            "session" => "user",
            "internal" => "system",
            _ => "api_key",
        };
        let name = (kind == "user").then(|| credential.label.clone());
        let actor = Actor { kind: kind.into(), id: credential.id.clone(), label: credential.label.clone(), name, email: None };
        Origin { credential, actor, user_id }
    }
}

/// A run checked and ready to be queued: the workflow's current definition, strictly valid.
pub struct Prepared {
    id: String,
    org_id: String,
    workflow_id: String,
    workflow_name: String,
    hash: String,
    version: i64,
    definition: String,
    trigger: Trigger,
    origin: Origin,
    payload: Option<Value>,
}

/// Loads and checks what a run of `workflow_id` will execute: its newest approved version,
/// never a pending or rejected one. Not in the org → 404; no approved version → 409
/// `approval_required`; a webhook or schedule run of a workflow that is disabled or whose
/// approved version lacks that trigger → 404 (there is no such hook); a definition that is
/// not strictly valid → 422 naming the field.
pub async fn prepare(db: &Db, org_id: Option<&str>, workflow_id: &str, trigger: Trigger, origin: Origin, payload: Option<Value>) -> ApiResult<Prepared> {
    let run = workflows::runnable(db, org_id, workflow_id).await?;
    let parsed: Definition = serde_json::from_str(&run.definition).map_err(|_| ApiError::internal())?;
    if let Some(kind) = trigger.node_kind() {
        if !run.enabled || !has_node(&parsed, kind) {
            return Err(ApiError::not_found(if kind == "webhook_trigger" { "Enabled webhook-triggered workflow" } else { "Enabled scheduled workflow" }));
        }
    }
    validate_strict(&parsed.nodes)?;
    Ok(Prepared {
        id: new_id(),
        org_id: run.org_id,
        workflow_id: workflow_id.into(),
        workflow_name: run.name,
        hash: run.content_hash,
        version: run.version,
        definition: run.definition,
        trigger,
        origin,
        payload,
    })
}

/// The org of `workflow_id` if it is enabled and has a webhook trigger: whether
/// `POST /hooks/{workflow_id}` exists at all.
pub async fn hook_org(db: &Db, workflow_id: &str) -> ApiResult<Option<String>> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT org_id, definition FROM workflows WHERE id = $1 AND enabled = 1")
        .bind(workflow_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(|(org, definition)| {
        let parsed: Definition = serde_json::from_str(&definition).ok()?;
        has_node(&parsed, "webhook_trigger").then_some(org)
    }))
}

fn has_node(definition: &Definition, kind: &str) -> bool {
    definition.nodes.iter().any(|n| n.kind == kind)
}

impl Prepared {
    /// Queues the run in `conn`'s transaction (the scheduler claims its slot in the same one).
    pub async fn insert(&self, conn: &mut sqlx::AnyConnection) -> ApiResult<Execution> {
        let created_at = now();
        let payload = self.payload.as_ref().map(Value::to_string);
        sqlx::query(
            "INSERT INTO executions (id, org_id, workflow_id, workflow_name, status, trigger_kind, credential_type, credential_id, credential_label, \
             user_id, executed_workflow_hash, version, definition, payload, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&self.id)
        .bind(&self.org_id)
        .bind(&self.workflow_id)
        .bind(&self.workflow_name)
        .bind(self.trigger.as_str())
        .bind(&self.origin.credential.kind)
        .bind(self.origin.credential.id.as_deref())
        .bind(&self.origin.credential.label)
        .bind(self.origin.user_id.as_deref())
        .bind(&self.hash)
        .bind(self.version)
        .bind(&self.definition)
        .bind(payload.as_deref())
        .bind(&created_at)
        .execute(&mut *conn)
        .await?;
        Ok(Execution {
            id: self.id.clone(),
            workflow_id: self.workflow_id.clone(),
            workflow_name: self.workflow_name.clone(),
            status: "queued".into(),
            trigger: self.trigger.as_str().into(),
            credential: self.origin.credential.clone(),
            executed_workflow_hash: self.hash.clone(),
            version: Some(self.version),
            payload: self.payload.clone(),
            error: None,
            created_at,
            started_at: None,
            finished_at: None,
            steps: None,
        })
    }

    /// Records `workflow.executed` (durably) and wakes a worker.
    pub async fn announce(&self, audit: &Recorder, runner: &Runner, client: Option<&ClientInfo>) {
        let meta = serde_json::json!({
            "execution_id": self.id, "name": self.workflow_name, "trigger": self.trigger.as_str(), "version": self.version,
            "executed_workflow_hash": self.hash, "credential": self.origin.credential,
        });
        let mut event = NewEvent::new(Some(&self.org_id), "workflow.executed", self.origin.actor.clone(), "workflow", Some(&self.workflow_id)).metadata(meta);
        if let Some(client) = client {
            event = event.client(client);
        }
        audit.record(event).await;
        runner.wake();
    }
}

/// Triggers a run: checks, queues, records, wakes a worker. Answers the queued execution.
pub async fn start(
    db: &Db,
    audit: &Recorder,
    runner: &Runner,
    org_id: Option<&str>,
    workflow_id: &str,
    trigger: Trigger,
    origin: Origin,
    payload: Option<Value>,
    client: Option<&ClientInfo>,
) -> ApiResult<Execution> {
    let prepared = prepare(db, org_id, workflow_id, trigger, origin, payload).await?;
    let mut conn = db.pool().acquire().await?;
    let execution = prepared.insert(&mut conn).await?;
    drop(conn);
    prepared.announce(audit, runner, client).await;
    Ok(execution)
}


const COLUMNS: &str = "seq, id, workflow_id, workflow_name, status, trigger_kind, credential_type, credential_id, credential_label, \
                       executed_workflow_hash, version, payload, error, created_at, started_at, finished_at";

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

fn from_row(r: Row) -> Execution {
    Execution {
        id: r.1,
        workflow_id: r.2,
        workflow_name: r.3,
        status: r.4,
        trigger: r.5,
        credential: CredentialDescriptor { kind: r.6, id: r.7, label: r.8 },
        executed_workflow_hash: r.9,
        version: r.10,
        payload: r.11.and_then(|p| serde_json::from_str(&p).ok()),
        error: r.12,
        created_at: r.13,
        started_at: r.14,
        finished_at: r.15,
        steps: None,
    }
}

/// The org's runs, newest first; `only_user`: just that person's (a member's view).
pub async fn list(db: &Db, org_id: &str, query: &ExecutionQuery, only_user: Option<&str>) -> ApiResult<ExecutionPage> {
    let limit = crate::backend::cursor::limit(query.limit)?;
    let filled = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let status = filled(&query.status);
    if let Some(s) = &status {
        if !EXECUTION_STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid("status", format!("must be one of {}", EXECUTION_STATUSES.join(", "))));
        }
    }
    let credential_type = filled(&query.credential_type);
    if let Some(t) = &credential_type {
        if !CREDENTIAL_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid("credential_type", format!("must be one of {}", CREDENTIAL_TYPES.join(", "))));
        }
    }
    let before = match filled(&query.cursor) {
        Some(c) => cursor::decode::<1>(&c)?[0],
        None => i64::MAX,
    };
    let mut sql = format!("SELECT {COLUMNS} FROM executions WHERE org_id = $1 AND seq < $2");
    let mut binds: Vec<String> = Vec::new();
    for (column, value) in
        [("workflow_id", filled(&query.workflow_id)), ("status", status), ("credential_type", credential_type), ("user_id", only_user.map(str::to_owned))]
    {
        if let Some(value) = value {
            binds.push(value);
            sql += &format!(" AND {column} = ${}", binds.len() + 2);
        }
    }
    sql += &format!(" ORDER BY seq DESC LIMIT {}", limit + 1);
    let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(before);
    for value in &binds {
        q = q.bind(value);
    }
    let mut rows = q.fetch_all(db.pool()).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| cursor::encode([r.0]))
    } else {
        None
    };
    Ok(ExecutionPage { executions: rows.into_iter().map(from_row).collect(), next_cursor })
}

/// One run with its steps; 404 when not in the org. `only_user` (a member): another
/// person's run is a 403, as SPEC's role table has it (the member belongs to the org).
pub async fn get(db: &Db, org_id: &str, id: &str, only_user: Option<&str>) -> ApiResult<Execution> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE org_id = $1 AND id = $2");
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(id).fetch_optional(db.pool()).await?.ok_or_else(|| ApiError::not_found("Execution"))?;
    if let Some(user) = only_user {
        let (owner,): (Option<String>,) = sqlx::query_as("SELECT user_id FROM executions WHERE id = $1").bind(id).fetch_one(db.pool()).await?;
        if owner.as_deref() != Some(user) {
            return Err(ApiError::new(crate::error::ErrorKind::Forbidden, "Members see their own runs only; this one was started by someone else."));
        }
    }
    let mut execution = from_row(row);
    execution.steps = Some(steps(db, id).await?);
    Ok(execution)
}

async fn steps(db: &Db, id: &str) -> ApiResult<Vec<ExecutionStep>> {
    type StepRow = (String, String, String, String, String, String, Option<String>, Option<String>);
    let rows: Vec<StepRow> = sqlx::query_as(
        "SELECT node_id, node_type, label, status, started_at, finished_at, output, error FROM execution_steps WHERE execution_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ExecutionStep {
            node_id: r.0,
            kind: r.1,
            label: r.2,
            status: r.3,
            started_at: r.4,
            finished_at: r.5,
            output: r.6.and_then(|o| serde_json::from_str(&o).ok()),
            error: r.7,
        })
        .collect())
}

/// How many runs each version of an org's workflow had: `(version, runs)`, for the history
/// overlay; 404 for a workflow of another org.
pub async fn runs_by_version(db: &Db, org_id: &str, workflow_id: &str) -> ApiResult<Vec<(i64, i64)>> {
    crate::backend::workflows::get(db, org_id, workflow_id).await?;
    Ok(sqlx::query_as(
        "SELECT version, COUNT(*) FROM executions WHERE org_id = $1 AND workflow_id = $2 AND version IS NOT NULL GROUP BY version ORDER BY version",
    )
    .bind(org_id)
    .bind(workflow_id)
    .fetch_all(db.pool())
    .await?)
}
