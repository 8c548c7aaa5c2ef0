//! Workflows and their versions. [`save`] is the one save path: create, update, autosave,
//! API and restore all go through it, so normalisation, hashing, versioning and the
//! four-eyes approval of a member's version happen in exactly one place. [`review`] approves
//! or rejects a pending version; runs execute the newest approved one (`approved_version`).

use super::audit::NewEvent;
use super::db::{new_id, now, Db};
use super::Acting;
use super::users::validate_name;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{
    Actor, Approval, ApprovalState, HistoryPage, Reviewer, Role, VersionDiff, VersionInfo, VersionSource, Workflow, WorkflowSummary,
};
use crate::workflow::catalog::validate_strict;
use crate::workflow::definition::normalise;
use crate::workflow::{content_hash, diff, Definition, DiffSummary, WorkflowDiff};
use serde_json::{json, Value};
use sqlx::{Any, Transaction};

/// What a save asks for.
#[derive(Debug, Clone)]
pub struct SaveInput {
    /// Required on create; on update `None` keeps the name.
    pub name: Option<String>,
    pub definition: Definition,
    /// `Some(true)` enables the workflow, which requires a strictly valid definition.
    pub enabled: Option<bool>,
    /// An optional label for the version this save creates.
    pub label: Option<String>,
    /// The version the editor started from: if another save came first, the save answers
    /// 409 `version_conflict` instead of overwriting it. `None`: last write wins.
    pub base_version: Option<i64>,
    /// The author's role for approval ([`crate::backend::access::author_role`]): an owner's
    /// or admin's version is approved when written, a member's may wait for one.
    pub author_role: Role,
}

#[derive(Debug, Clone)]
pub struct Saved {
    pub workflow: Workflow,
    /// Whether the save created a version (false: same content, cosmetic state only).
    pub versioned: bool,
}

/// Creates a workflow with a manual trigger to start from (the app's "New workflow").
pub async fn create_starter(db: &Db, org_id: &str, name: String, author_role: crate::model::Role, by: &Acting<'_>) -> ApiResult<Workflow> {
    let starter: Definition = serde_json::from_value(json!({
        "nodes": [{"id": "trigger", "type": "manual_trigger", "position": {"x": 80, "y": 120}, "data": {"label": "Start"}}],
        "edges": []
    }))
    .expect("the starter definition is well formed");
    let input = SaveInput { name: Some(name), definition: starter, enabled: None, label: None, base_version: None, author_role };
    Ok(save(db, org_id, None, input, by, crate::model::VersionSource::Create).await?.workflow)
}

/// Creates (`id: None`) or updates a workflow, creating a version when — and only when —
/// the content hash changes. Concurrent saves of one workflow run one after another: the
/// update holds the workflow row's write lock from its first statement, and the unique
/// (workflow, version) constraint backs that up. The semantic diff is computed before the
/// lock, on a blocking thread, against the version read then; under the lock a save only
/// checks that no other save came in between (and diffs again in the rare case one did).
pub async fn save(db: &Db, org_id: &str, id: Option<&str>, input: SaveInput, by: &Acting<'_>, source: VersionSource) -> ApiResult<Saved> {
    let actor = &by.actor;
    let definition = normalise(input.definition)?;
    let hash = content_hash(&definition);
    let label = input.label.map(|l| validate_name("label", &l)).transpose()?;
    let new_name = input.name.as_deref().map(|n| validate_name("name", n)).transpose()?;
    check_credentials(db, org_id, &definition).await?;
    let (definition, prepared) = match id {
        Some(id) => {
            let (d, p) = prepare_update(db, org_id, id, definition, &hash).await?;
            (d, Some(p))
        }
        None => (definition, None),
    };
    let at = now();
    let mut tx = db.pool().begin().await?;

    // The audited state before the save (None: a new workflow).
    let mut before: Option<Value> = None;
    let (id, name, enabled, version, change, approval, approved_version) = match (id, prepared) {
        (Some(id), Some(prepared)) => {
            let current = lock_current(&mut tx, org_id, id).await?;
            if let Some(base) = input.base_version.filter(|b| *b != current.version) {
                return Err(ApiError {
                    version: Some(current.version),
                    ..ApiError::new(
                        ErrorKind::VersionConflict,
                        format!("{} saved version {} since your version {base}: reload or compare before saving.", current.updated_by, current.version),
                    )
                });
            }
            before = Some(audited_state(&current.name, &current.content_hash, current.enabled));
            let name = new_name.unwrap_or_else(|| current.name.clone());
            let enabled = input.enabled.unwrap_or(current.enabled);
            // An enabled workflow stays strictly valid, whatever the save changes.
            if enabled {
                validate_strict(&definition.nodes)?;
            }
            let (version, change) = if hash == current.content_hash {
                (current.version, None)
            } else if current.version == prepared.version {
                (current.version + 1, prepared.change)
            } else {
                // Someone saved between our read and the lock: diff against what is there now.
                let now_live = read_definition(&mut tx, id).await?;
                (current.version + 1, Some(diff(&now_live, &definition)))
            };
            let change = change.map(|c| c.with_name(&current.name, &name));
            let approval = match &change {
                Some(_) => Some(approval_for(&mut tx, org_id, input.author_role, &definition, current.approved_version.map(|v| (id, v)), actor, &at).await?),
                None => None,
            };
            let approved_version = match &approval {
                Some(a) if a.state == ApprovalState::Approved => Some(version),
                _ => current.approved_version,
            };
            sqlx::query(
                "UPDATE workflows SET name = $1, definition = $2, version = $3, content_hash = $4, enabled = $5, \
                 updated_at = $6, updated_by_name = $7, approved_version = $8 WHERE id = $9",
            )
            .bind(&name)
            .bind(to_json(&definition))
            .bind(version)
            .bind(&hash)
            .bind(enabled as i64)
            .bind(&at)
            .bind(&actor.label)
            .bind(approved_version)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let approval = approval.unwrap_or(current.approval);
            (id.to_owned(), name, enabled, version, change, approval, approved_version)
        }
        _ => {
            let name = new_name.ok_or_else(|| ApiError::invalid("name", "must not be empty"))?;
            let enabled = input.enabled.unwrap_or(false);
            if enabled {
                validate_strict(&definition.nodes)?;
            }
            let id = new_id();
            let approval = approval_for(&mut tx, org_id, input.author_role, &definition, None, actor, &at).await?;
            let approved_version = (approval.state == ApprovalState::Approved).then_some(1);
            sqlx::query(
                "INSERT INTO workflows (id, org_id, name, definition, version, content_hash, enabled, created_at, updated_at, updated_by_name, approved_version) \
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7, $8, $9)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(&name)
            .bind(to_json(&definition))
            .bind(&hash)
            .bind(enabled as i64)
            .bind(&at)
            .bind(&actor.label)
            .bind(approved_version)
            .execute(&mut *tx)
            .await?;
            (id, name, enabled, 1, Some(diff(&Definition::default(), &definition)), approval, approved_version)
        }
    };

    if let Some(change) = &change {
        let written = Written { workflow_id: &id, version, name: &name, definition: &definition, hash: &hash, change, actor, source, label: label.as_deref(), at: &at };
        insert_version(&mut tx, &written, &approval).await?;
    }
    tx.commit().await?;
    let after = audited_state(&name, &hash, enabled);
    let event = |action| {
        NewEvent::new(Some(org_id), action, actor.clone(), "workflow", Some(&id))
            .changes(before.as_ref().unwrap_or(&json!({})), &after)
            .metadata(json!({ "name": name, "version": version, "versioned": change.is_some(), "source": source.as_str(), "approval": approval.state.as_str() }))
            .client(by.client)
    };
    match &before {
        None => by.audit.record(event("workflow.created")).await,
        // A restore is recorded as such by `restore`; a cosmetic save changes nothing audited.
        Some(b) if source != VersionSource::Restore && *b != after => by.audit.record(event("workflow.updated")).await,
        _ => {}
    }
    Ok(Saved {
        workflow: Workflow {
            id,
            org_id: org_id.to_owned(),
            name,
            nodes: definition.nodes,
            edges: definition.edges,
            version,
            content_hash: hash,
            enabled,
            updated_at: at,
            approval,
            approved_version,
        },
        versioned: change.is_some(),
    })
}

/// Writes version `n`'s snapshot back through [`save`]: a new version with source
/// `restore`. History is never rewritten.
pub async fn restore(db: &Db, org_id: &str, id: &str, n: i64, by: &Acting<'_>) -> ApiResult<Saved> {
    let old = get_version(db, org_id, id, n).await?;
    let hash_before = live_hash(db, org_id, id).await?;
    if old.content_hash == hash_before {
        return Err(ApiError::conflict(format!("Version {n} has the same content as the current version: nothing to restore.")));
    }
    let input = SaveInput {
        name: Some(old.name),
        definition: Definition { nodes: old.nodes, edges: old.edges },
        enabled: None,
        label: Some(format!("Restored from version {n}")),
        base_version: None,
        // Restoring needs the admin role (`Access::MANAGE_WORKFLOWS`): approved when written.
        author_role: Role::Admin,
    };
    let saved = save(db, org_id, Some(id), input, by, VersionSource::Restore).await?;
    by.audit.record(
        NewEvent::new(Some(org_id), "workflow.restored", by.actor.clone(), "workflow", Some(id))
            .changes(&json!({ "content_hash": hash_before }), &json!({ "content_hash": saved.workflow.content_hash }))
            .metadata(json!({ "name": saved.workflow.name, "from_version": n, "to_version": saved.workflow.version }))
            .client(by.client),
    )
    .await;
    Ok(saved)
}

/// What the trail records of a workflow: never the whole definition.
fn audited_state(name: &str, content_hash: &str, enabled: bool) -> Value {
    json!({ "name": name, "content_hash": content_hash, "enabled": enabled })
}

struct Current {
    name: String,
    version: i64,
    content_hash: String,
    enabled: bool,
    updated_by: String,
    approved_version: Option<i64>,
    /// The live version's approval.
    approval: Approval,
}

/// An update's diff, computed before the save takes its lock, against `version`.
struct Prepared {
    version: i64,
    /// `None` when the content is unchanged.
    change: Option<WorkflowDiff>,
}

/// Reads the live definition (no lock) and diffs the new one against it on a blocking
/// thread: parsing and diffing a big workflow takes milliseconds of CPU, which must neither
/// stall an async worker nor hold the write lock. 404 for a workflow not in the org.
async fn prepare_update(db: &Db, org_id: &str, id: &str, definition: Definition, hash: &str) -> ApiResult<(Definition, Prepared)> {
    let live: Option<(String, i64, String)> =
        sqlx::query_as("SELECT definition, version, content_hash FROM workflows WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(db.pool())
            .await?;
    let (live, version, live_hash) = live.ok_or_else(|| ApiError::not_found("Workflow"))?;
    if live_hash == hash {
        return Ok((definition, Prepared { version, change: None }));
    }
    let (definition, change) = tokio::task::spawn_blocking(move || {
        let change = from_json(&live).map(|old| diff(&old, &definition));
        (definition, change)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    Ok((definition, Prepared { version, change: Some(change?) }))
}

/// Takes the live row's write lock inside `tx` (an UPDATE that changes nothing: on
/// PostgreSQL a row lock, on SQLite the database write lock) and reads what a save checks.
async fn lock_current(tx: &mut Transaction<'_, Any>, org_id: &str, id: &str) -> ApiResult<Current> {
    let locked = sqlx::query("UPDATE workflows SET version = version WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if locked == 0 {
        return Err(ApiError::not_found("Workflow"));
    }
    let sql = format!(
        "SELECT w.name, w.version, w.content_hash, w.enabled, w.updated_by_name, w.approved_version, {APPROVAL_COLUMNS} \
         FROM workflows w LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version WHERE w.id = $1"
    );
    let row: LiveRow = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut **tx).await?;
    Ok(Current {
        approval: row.approval.into(),
        name: row.name,
        version: row.version,
        content_hash: row.content_hash,
        enabled: row.enabled != 0,
        updated_by: row.updated_by_name,
        approved_version: row.approved_version,
    })
}

async fn read_definition(tx: &mut Transaction<'_, Any>, id: &str) -> ApiResult<Definition> {
    let (definition,): (String,) = sqlx::query_as("SELECT definition FROM workflows WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
    from_json(&definition)
}

/// A version about to be written.
struct Written<'a> {
    workflow_id: &'a str,
    version: i64,
    name: &'a str,
    definition: &'a Definition,
    hash: &'a str,
    change: &'a WorkflowDiff,
    actor: &'a Actor,
    source: VersionSource,
    label: Option<&'a str>,
    at: &'a str,
}

async fn insert_version(tx: &mut Transaction<'_, Any>, w: &Written<'_>, approval: &Approval) -> ApiResult<()> {
    let s = w.change.summary();
    sqlx::query(
        "INSERT INTO workflow_versions (id, workflow_id, version, name, snapshot, content_hash, change, \
         nodes_added, nodes_removed, nodes_changed, edges_added, edges_removed, \
         actor_type, actor_id, actor_label, actor_name, actor_email, source, label, created_at, \
         approval_state, approved_by_id, approved_by_name, approved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(new_id())
    .bind(w.workflow_id)
    .bind(w.version)
    .bind(w.name)
    .bind(to_json(w.definition))
    .bind(w.hash)
    .bind(serde_json::to_string(w.change).map_err(|_| ApiError::internal())?)
    .bind(s.nodes_added)
    .bind(s.nodes_removed)
    .bind(s.nodes_changed)
    .bind(s.edges_added)
    .bind(s.edges_removed)
    .bind(&w.actor.kind)
    .bind(w.actor.id.as_deref())
    .bind(&w.actor.label)
    .bind(w.actor.name.as_deref())
    .bind(w.actor.email.as_deref())
    .bind(w.source.as_str())
    .bind(w.label)
    .bind(w.at)
    .bind(approval.state.as_str())
    .bind(approval.by.as_ref().and_then(|b| b.id.as_deref()))
    .bind(approval.by.as_ref().map(|b| b.name.as_str()))
    .bind(approval.at.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How a new version starts out. An owner's or admin's (an org key's too) is approved by its
/// author; a member's waits for review when the org's `workflow_approval` asks for it:
/// `all` always, `credentials` (the default) when this version or the one runs use now
/// (`approved`: workflow id and version) references a credential, `off` never.
async fn approval_for(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    author_role: Role,
    definition: &Definition,
    approved: Option<(&str, i64)>,
    actor: &Actor,
    at: &str,
) -> ApiResult<Approval> {
    let approved_now = Approval { state: ApprovalState::Approved, by: Some(Reviewer { id: actor.id.clone(), name: actor.label.clone() }), at: Some(at.into()), reason: None };
    if author_role >= Role::Admin {
        return Ok(approved_now);
    }
    let (mode,): (String,) = sqlx::query_as("SELECT workflow_approval FROM orgs WHERE id = $1").bind(org_id).fetch_one(&mut **tx).await?;
    let pending = match mode.as_str() {
        "off" => false,
        "all" => true,
        _ => {
            uses_credentials(definition)
                || match approved {
                    Some((id, n)) => {
                        let (snapshot,): (String,) = sqlx::query_as("SELECT snapshot FROM workflow_versions WHERE workflow_id = $1 AND version = $2")
                            .bind(id)
                            .bind(n)
                            .fetch_one(&mut **tx)
                            .await?;
                        uses_credentials(&from_json(&snapshot)?)
                    }
                    None => false,
                }
        }
    };
    Ok(if pending { Approval { state: ApprovalState::Pending, by: None, at: None, reason: None } } else { approved_now })
}

/// Whether any node references a credential.
fn uses_credentials(definition: &Definition) -> bool {
    definition.nodes.iter().any(|n| n.data.config.get("credential_id").and_then(Value::as_str).is_some_and(|id| !id.trim().is_empty()))
}

/// The approval columns of `workflow_versions v`, as [`ApprovalRow`] reads them.
const APPROVAL_COLUMNS: &str = "v.approval_state, v.approved_by_id, v.approved_by_name, v.approved_at, v.rejection_reason";

/// A version's approval as stored (every column null: no version row joined).
#[derive(sqlx::FromRow)]
struct ApprovalRow {
    approval_state: Option<String>,
    approved_by_id: Option<String>,
    approved_by_name: Option<String>,
    approved_at: Option<String>,
    rejection_reason: Option<String>,
}

impl From<ApprovalRow> for Approval {
    fn from(r: ApprovalRow) -> Approval {
        Approval {
            state: ApprovalState::parse(r.approval_state.as_deref().unwrap_or("approved")),
            by: r.approved_by_name.map(|name| Reviewer { id: r.approved_by_id, name }),
            at: r.approved_at,
            reason: r.rejection_reason,
        }
    }
}

/// The live row with its newest version's approval.
#[derive(sqlx::FromRow)]
struct LiveRow {
    name: String,
    version: i64,
    content_hash: String,
    enabled: i64,
    updated_by_name: String,
    approved_version: Option<i64>,
    #[sqlx(flatten)]
    approval: ApprovalRow,
}

/// One page of the org's workflows, most recently updated first, and the cursor of the next.
pub async fn list(db: &Db, org_id: &str, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(Vec<WorkflowSummary>, Option<String>)> {
    let limit = super::cursor::limit(limit)?;
    let after = cursor.filter(|c| !c.is_empty()).map(super::cursor::decode_text::<2>).transpose()?;
    let keyset = if after.is_some() { " AND (updated_at < $3 OR (updated_at = $3 AND id < $4))" } else { "" };
    let sql = format!(
        "SELECT id, name, version, content_hash, enabled, updated_at, updated_by_name FROM workflows \
         WHERE org_id = $1{keyset} ORDER BY updated_at DESC, id DESC LIMIT $2"
    );
    let mut query = sqlx::query_as::<_, (String, String, i64, String, i64, String, String)>(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(limit + 1);
    if let Some([at, id]) = &after {
        query = query.bind(at).bind(id);
    }
    let mut rows = query.fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|r| super::cursor::encode_text([&r.5, &r.0])) } else { None };
    let workflows = rows
        .into_iter()
        .map(|(id, name, version, content_hash, enabled, updated_at, updated_by)| WorkflowSummary {
            id,
            org_id: org_id.to_owned(),
            name,
            version,
            content_hash,
            enabled: enabled != 0,
            updated_at,
            updated_by,
        })
        .collect();
    Ok((workflows, next))
}

/// The live workflow; 404 when absent or in another org.
pub async fn get(db: &Db, org_id: &str, id: &str) -> ApiResult<Workflow> {
    #[derive(sqlx::FromRow)]
    struct Row {
        definition: String,
        updated_at: String,
        #[sqlx(flatten)]
        live: LiveRow,
    }
    let sql = format!(
        "SELECT w.definition, w.updated_at, w.name, w.version, w.content_hash, w.enabled, w.updated_by_name, w.approved_version, {APPROVAL_COLUMNS} \
         FROM workflows w LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version WHERE w.id = $1 AND w.org_id = $2"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(org_id).fetch_optional(db.pool()).await?;
    let row = row.ok_or_else(|| ApiError::not_found("Workflow"))?;
    let d = from_json(&row.definition)?;
    let l = row.live;
    Ok(Workflow {
        id: id.into(),
        org_id: org_id.into(),
        name: l.name,
        nodes: d.nodes,
        edges: d.edges,
        version: l.version,
        content_hash: l.content_hash,
        enabled: l.enabled != 0,
        updated_at: row.updated_at,
        approval: l.approval.into(),
        approved_version: l.approved_version,
    })
}

/// Version `n`'s snapshot in the shape of a live workflow.
pub async fn get_version(db: &Db, org_id: &str, id: &str, n: i64) -> ApiResult<Workflow> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        snapshot: String,
        content_hash: String,
        created_at: String,
        enabled: i64,
        approved_version: Option<i64>,
        #[sqlx(flatten)]
        approval: ApprovalRow,
    }
    let sql = format!(
        "SELECT v.name, v.snapshot, v.content_hash, v.created_at, w.enabled, w.approved_version, {APPROVAL_COLUMNS} FROM workflow_versions v \
         JOIN workflows w ON w.id = v.workflow_id WHERE w.id = $1 AND w.org_id = $2 AND v.version = $3"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(org_id).bind(n).fetch_optional(db.pool()).await?;
    let Some(r) = row else {
        live_hash(db, org_id, id).await?;
        return Err(ApiError::not_found(&format!("Version {n}")));
    };
    let d = from_json(&r.snapshot)?;
    Ok(Workflow {
        id: id.into(),
        org_id: org_id.into(),
        name: r.name,
        nodes: d.nodes,
        edges: d.edges,
        version: n,
        content_hash: r.content_hash,
        enabled: r.enabled != 0,
        updated_at: r.created_at,
        approval: r.approval.into(),
        approved_version: r.approved_version,
    })
}

/// What a run of `workflow_id` executes: the newest approved version (org, name, enabled,
/// version, content hash, definition). 404 when absent (or not in `org_id`); 409
/// `approval_required` when no version is approved yet.
pub struct Runnable {
    pub org_id: String,
    pub name: String,
    pub enabled: bool,
    pub version: i64,
    pub content_hash: String,
    pub definition: String,
}

pub async fn runnable(db: &Db, org_id: Option<&str>, workflow_id: &str) -> ApiResult<Runnable> {
    type Row = (String, String, i64, Option<i64>, i64, String, String);
    let row: Option<Row> = sqlx::query_as("SELECT org_id, name, enabled, approved_version, version, content_hash, definition FROM workflows WHERE id = $1")
        .bind(workflow_id)
        .fetch_optional(db.pool())
        .await?;
    let Some((wf_org, name, enabled, approved, live_version, live_hash, live_definition)) = row.filter(|r| org_id.is_none_or(|o| o == r.0)) else {
        return Err(ApiError::not_found("Workflow"));
    };
    let runnable = |version, content_hash, definition| Runnable { org_id: wf_org.clone(), name: name.clone(), enabled: enabled != 0, version, content_hash, definition };
    match approved {
        None => Err(ApiError::new(
            ErrorKind::ApprovalRequired,
            "This workflow has no approved version yet: an owner or admin must approve it in History before it can run.",
        )),
        // The common case: the live version is the approved one (no second read).
        Some(n) if n == live_version => Ok(runnable(n, live_hash, live_definition)),
        Some(n) => {
            let (hash, snapshot): (String, String) = sqlx::query_as("SELECT content_hash, snapshot FROM workflow_versions WHERE workflow_id = $1 AND version = $2")
                .bind(workflow_id)
                .bind(n)
                .fetch_one(db.pool())
                .await?;
            Ok(runnable(n, hash, snapshot))
        }
    }
}

/// Approves (`reason: None`) or rejects a pending version: owners and admins other than its
/// author. 404 for no such version; 403 `own_change` for its author; 409 `not_pending` when
/// it was already reviewed. Approving makes it the version runs use if it is the newest
/// approved one; approving version n approves no other.
pub async fn review(db: &Db, org_id: &str, id: &str, n: i64, decision: Decision, reviewer: &Reviewer, by: &Acting<'_>) -> ApiResult<VersionInfo> {
    let reason = match &decision {
        Decision::Reject(Some(reason)) => {
            let reason = reason.trim();
            if reason.chars().count() > 1000 || reason.chars().any(|c| c.is_control() && c != '\n') {
                return Err(ApiError::invalid("reason", "must be at most 1,000 characters, without control characters"));
            }
            (!reason.is_empty()).then(|| reason.to_owned())
        }
        _ => None,
    };
    let mut tx = db.pool().begin().await?;
    // The workflow row's lock orders reviews and saves of one workflow.
    let current = lock_current(&mut tx, org_id, id).await?;
    let row: Option<(String, Option<String>, String)> =
        sqlx::query_as("SELECT approval_state, actor_id, content_hash FROM workflow_versions WHERE workflow_id = $1 AND version = $2")
            .bind(id)
            .bind(n)
            .fetch_optional(&mut *tx)
            .await?;
    let (state, author, hash) = row.ok_or_else(|| ApiError::not_found(&format!("Version {n}")))?;
    if author.is_some() && author == reviewer.id {
        return Err(ApiError::new(ErrorKind::OwnChange, "You wrote this version: another owner or admin must review it (four eyes)."));
    }
    if ApprovalState::parse(&state) != ApprovalState::Pending {
        return Err(ApiError::new(ErrorKind::NotPending, format!("Version {n} is not pending approval: it is already {state}.")));
    }
    let at = now();
    let state = match decision {
        Decision::Approve => ApprovalState::Approved,
        Decision::Reject(_) => ApprovalState::Rejected,
    };
    sqlx::query("UPDATE workflow_versions SET approval_state = $1, approved_by_id = $2, approved_by_name = $3, approved_at = $4, rejection_reason = $5 WHERE workflow_id = $6 AND version = $7")
        .bind(state.as_str())
        .bind(reviewer.id.as_deref())
        .bind(&reviewer.name)
        .bind(&at)
        .bind(reason.as_deref())
        .bind(id)
        .bind(n)
        .execute(&mut *tx)
        .await?;
    if state == ApprovalState::Approved && current.approved_version.is_none_or(|v| v < n) {
        sqlx::query("UPDATE workflows SET approved_version = $1 WHERE id = $2").bind(n).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let action = if state == ApprovalState::Approved { "workflow.version_approved" } else { "workflow.version_rejected" };
    let mut meta = json!({ "name": current.name, "version": n, "content_hash": hash, "author": author });
    if let Some(reason) = &reason {
        meta["reason"] = json!(reason);
    }
    by.audit.record(NewEvent::new(Some(org_id), action, by.actor.clone(), "workflow", Some(id)).metadata(meta).client(by.client)).await;
    version_info(db, org_id, id, n).await
}

/// Names version `n` (`None` clears the name), so people find the versions that matter in the
/// history. The version's content stays as it was.
pub async fn name_version(db: &Db, org_id: &str, id: &str, n: i64, label: Option<&str>, by: &Acting<'_>) -> ApiResult<VersionInfo> {
    let label = label.map(|l| validate_name("label", l)).transpose()?;
    let name: Option<(String,)> = sqlx::query_as("SELECT name FROM workflows WHERE id = $1 AND org_id = $2").bind(id).bind(org_id).fetch_optional(db.pool()).await?;
    let (name,) = name.ok_or_else(|| ApiError::not_found("Workflow"))?;
    let before: Option<(Option<String>,)> = sqlx::query_as("SELECT label FROM workflow_versions WHERE workflow_id = $1 AND version = $2")
        .bind(id)
        .bind(n)
        .fetch_optional(db.pool())
        .await?;
    let (before,) = before.ok_or_else(|| ApiError::not_found(&format!("Version {n}")))?;
    sqlx::query("UPDATE workflow_versions SET label = $1 WHERE workflow_id = $2 AND version = $3").bind(label.as_deref()).bind(id).bind(n).execute(db.pool()).await?;
    let meta = json!({ "name": name, "version": n, "label": label });
    let event = NewEvent::new(Some(org_id), "workflow.version_named", by.actor.clone(), "workflow", Some(id))
        .metadata(meta)
        .changes(&json!({ "label": before }), &json!({ "label": label }))
        .client(by.client);
    by.audit.record(event).await;
    version_info(db, org_id, id, n).await
}

/// The person reviewing: keys cannot ([`crate::backend::access::Access::REVIEW_VERSIONS`]).
pub fn reviewer(caller: &super::auth::Caller) -> ApiResult<Reviewer> {
    let person = caller.person()?;
    Ok(Reviewer { id: Some(person.id.clone()), name: person.name.clone() })
}

/// A review's outcome; a rejection may say why.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    Reject(Option<String>),
}

/// The live content hash; 404 unless the workflow exists in this org. Reads no definition.
async fn live_hash(db: &Db, org_id: &str, id: &str) -> ApiResult<String> {
    let found: Option<(String,)> = sqlx::query_as("SELECT content_hash FROM workflows WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .fetch_optional(db.pool())
        .await?;
    found.map(|(hash,)| hash).ok_or_else(|| ApiError::not_found("Workflow"))
}

/// Deletes a workflow and its versions; the event is recorded once the delete is committed,
/// and only by the call that deleted it (a concurrent second delete answers 404).
pub async fn delete(db: &Db, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<()> {
    let deleted: Option<(String, String)> =
        sqlx::query_as("DELETE FROM workflows WHERE id = $1 AND org_id = $2 RETURNING name, content_hash")
            .bind(id)
            .bind(org_id)
            .fetch_optional(db.pool())
            .await?;
    let (name, hash) = deleted.ok_or_else(|| ApiError::not_found("Workflow"))?;
    by.audit
        .record(
            NewEvent::new(Some(org_id), "workflow.deleted", by.actor.clone(), "workflow", Some(id))
                .metadata(json!({ "name": name, "content_hash": hash }))
                .client(by.client),
        )
        .await;
    Ok(())
}

/// Versions newest first. The cursor is opaque to clients: the last version number seen.
pub async fn history(db: &Db, org_id: &str, id: &str, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<HistoryPage> {
    history_named(db, org_id, id, limit, cursor, None).await
}

/// As [`history`], only the versions whose name (label) contains `named`, in any case.
pub async fn history_named(db: &Db, org_id: &str, id: &str, limit: Option<i64>, cursor: Option<&str>, named: Option<&str>) -> ApiResult<HistoryPage> {
    live_hash(db, org_id, id).await?;
    let limit = super::cursor::limit(limit)?;
    let before = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => super::cursor::decode::<1>(c)?[0],
        None => i64::MAX,
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        version: i64,
        name: String,
        content_hash: String,
        source: String,
        label: Option<String>,
        created_at: String,
        actor_type: String,
        actor_id: Option<String>,
        actor_label: String,
        actor_name: Option<String>,
        actor_email: Option<String>,
        nodes_added: i64,
        nodes_removed: i64,
        nodes_changed: i64,
        edges_added: i64,
        edges_removed: i64,
        #[sqlx(flatten)]
        approval: ApprovalRow,
    }
    let sql = format!(
        "SELECT v.version, v.name, v.content_hash, v.source, v.label, v.created_at, v.actor_type, v.actor_id, v.actor_label, v.actor_name, v.actor_email, \
         v.nodes_added, v.nodes_removed, v.nodes_changed, v.edges_added, v.edges_removed, {APPROVAL_COLUMNS} \
         FROM workflow_versions v WHERE v.workflow_id = $1 AND v.version < $2 {} ORDER BY v.version DESC LIMIT $3",
        if named.is_some() { "AND LOWER(v.label) LIKE $4 ESCAPE '!'" } else { "" }
    );
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(id).bind(before).bind(limit + 1);
    if let Some(named) = named {
        // The words as typed: LIKE's wildcards in them are plain characters.
        let escaped: String = named.trim().to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '!') { vec!['!', c] } else { vec![c] }).collect();
        query = query.bind(format!("%{escaped}%"));
    }
    let rows: Vec<Row> = query.fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    let versions: Vec<VersionInfo> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| {
            Ok(VersionInfo {
                version: r.version,
                name: r.name,
                content_hash: r.content_hash,
                source: r.source.parse().map_err(|_| ApiError::internal())?,
                label: r.label,
                created_at: r.created_at,
                actor: Actor { kind: r.actor_type, id: r.actor_id, label: r.actor_label, name: r.actor_name, email: r.actor_email },
                summary: DiffSummary {
                    nodes_added: r.nodes_added,
                    nodes_removed: r.nodes_removed,
                    nodes_changed: r.nodes_changed,
                    edges_added: r.edges_added,
                    edges_removed: r.edges_removed,
                },
                approval: r.approval.into(),
            })
        })
        .collect::<ApiResult<_>>()?;
    let next_cursor = if more { versions.last().map(|v| super::cursor::encode([v.version])) } else { None };
    Ok(HistoryPage { versions, next_cursor })
}

/// Version `n`'s entry in the history.
pub async fn version_info(db: &Db, org_id: &str, id: &str, n: i64) -> ApiResult<VersionInfo> {
    let page = history(db, org_id, id, Some(1), Some(&super::cursor::encode([n.saturating_add(1)]))).await?;
    page.versions.into_iter().find(|v| v.version == n).ok_or_else(|| ApiError::not_found(&format!("Version {n}")))
}

/// The semantic diff between any two versions.
pub async fn diff_versions(db: &Db, org_id: &str, id: &str, from: i64, to: i64) -> ApiResult<VersionDiff> {
    let a = get_version(db, org_id, id, from).await?;
    let b = get_version(db, org_id, id, to).await?;
    let d = diff(&Definition { nodes: a.nodes, edges: a.edges }, &Definition { nodes: b.nodes, edges: b.edges }).with_name(&a.name, &b.name);
    Ok(VersionDiff { from, to, diff: d })
}

/// The change version `n` made against its predecessor, as stored when it was saved.
pub async fn version_change(db: &Db, org_id: &str, id: &str, n: i64) -> ApiResult<WorkflowDiff> {
    live_hash(db, org_id, id).await?;
    let row: Option<(String,)> = sqlx::query_as("SELECT change FROM workflow_versions WHERE workflow_id = $1 AND version = $2")
        .bind(id)
        .bind(n)
        .fetch_optional(db.pool())
        .await?;
    let (change,) = row.ok_or_else(|| ApiError::not_found(&format!("Version {n}")))?;
    serde_json::from_str(&change).map_err(|_| ApiError::internal())
}


/// Every `credential_id` a node references is one of the org's credentials (422 naming the
/// field otherwise): a workflow never reaches another org's secrets, drafts included.
async fn check_credentials(db: &Db, org_id: &str, definition: &Definition) -> ApiResult<()> {
    for node in &definition.nodes {
        let Some(value) = node.data.config.get("credential_id").filter(|v| !v.is_null() && v.as_str() != Some("")) else { continue };
        let field = format!("nodes[{}].config.credential_id", node.id);
        let Some(id) = value.as_str() else { return Err(ApiError::invalid(&field, "must be the id of one of this org's credentials")) };
        if !super::credentials::exists(db, org_id, id).await? {
            return Err(ApiError::invalid(&field, "is not one of this organisation's credentials"));
        }
    }
    Ok(())
}

fn to_json(d: &Definition) -> String {
    serde_json::to_string(d).expect("a definition always serialises")
}

fn from_json(s: &str) -> ApiResult<Definition> {
    serde_json::from_str(s).map_err(|e| {
        tracing::error!(error = %e, "stored workflow definition does not parse");
        ApiError::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::testing::test_databases;
    use crate::backend::audit::Recorder;
    use crate::backend::sessions::ClientInfo;
    use crate::backend::{orgs, users};
    use serde_json::json;

    async fn setup(db: &Db) -> (String, Actor) {
        let user = users::create_user(db, &format!("{}@t.test", new_id()), "Ada Admin", "long-enough-password").await.unwrap();
        let org = orgs::create_org(db, "Acme", &user.id).await.unwrap();
        (org.id, Actor::user(&user))
    }

    fn recorder(db: &Db) -> Recorder {
        Recorder::start(db.clone(), std::sync::Arc::new(|| {}))
    }

    fn definition(label: &str, x: f64) -> Definition {
        serde_json::from_value(json!({
            "nodes": [
                {"id": "t", "type": "manual_trigger", "position": {"x": x, "y": 0}, "data": {"label": "Start"}},
                {"id": "h", "type": "http_request", "position": {"x": 200, "y": 0}, "data": {"label": label, "config": {"url": "https://a.test", "method": "GET"}}}
            ],
            "edges": [{"id": "e1", "source": "t", "target": "h"}]
        }))
        .unwrap()
    }

    fn input(def: Definition) -> SaveInput {
        SaveInput { name: Some("Onboarding".into()), definition: def, enabled: None, label: None, base_version: None, author_role: Role::Admin }
    }

    #[tokio::test]
    async fn versions_follow_semantic_changes_only() {
        for (backend, db) in test_databases().await {
            let (org, actor) = setup(&db).await;
            let (audit, client) = (recorder(&db), ClientInfo::default());
            let by = Acting { actor: actor.clone(), client: &client, audit: &audit };
            let created = save(&db, &org, None, input(definition("Fetch", 0.0)), &by, VersionSource::Create).await.unwrap();
            let w = created.workflow;
            assert!(created.versioned && w.version == 1, "[{backend}]");

            // Dragging a node: live row moves, no version.
            let dragged = save(&db, &org, Some(&w.id), input(definition("Fetch", 500.0)), &by, VersionSource::Update).await.unwrap();
            assert!(!dragged.versioned);
            assert_eq!(dragged.workflow.version, 1);
            let live = get(&db, &org, &w.id).await.unwrap();
            assert_eq!(live.nodes.iter().find(|n| n.id == "t").unwrap().position.x, 500.0, "[{backend}] live row keeps the drag");

            let renamed = save(&db, &org, Some(&w.id), input(definition("Fetch user", 500.0)), &by, VersionSource::Update).await.unwrap();
            assert!(renamed.versioned && renamed.workflow.version == 2);

            let page = history(&db, &org, &w.id, None, None).await.unwrap();
            assert_eq!(page.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
            assert_eq!(page.versions[0].summary, DiffSummary { nodes_changed: 1, ..Default::default() });
            assert_eq!(page.versions[0].actor.name.as_deref(), Some("Ada Admin"));
            assert_eq!(page.versions[1].source, VersionSource::Create);
            assert_eq!(page.versions[1].summary.nodes_added, 2);
            assert!(page.next_cursor.is_none());

            let d = diff_versions(&db, &org, &w.id, 1, 2).await.unwrap();
            let f = &d.diff.nodes_changed[0].fields[0];
            assert_eq!((f.path.as_str(), &f.before, &f.after), ("label", &json!("Fetch"), &json!("Fetch user")));

            // Version 1's snapshot is kept exactly, cosmetic state included.
            let v1 = get_version(&db, &org, &w.id, 1).await.unwrap();
            let node = |id: &str| v1.nodes.iter().find(|n| n.id == id).unwrap().clone();
            assert_eq!((v1.version, node("h").data.label, node("t").position.x), (1, "Fetch".to_owned(), 0.0));

            let restored = restore(&db, &org, &w.id, 1, &by).await.unwrap();
            assert!(restored.versioned && restored.workflow.version == 3);
            assert_eq!(restored.workflow.content_hash, v1.content_hash);
            let top = &history(&db, &org, &w.id, Some(1), None).await.unwrap().versions[0];
            assert_eq!((top.version, top.source, top.label.as_deref()), (3, VersionSource::Restore, Some("Restored from version 1")));
            assert_eq!(restore(&db, &org, &w.id, 1, &by).await.unwrap_err().status(), 409, "nothing to restore");
            assert_eq!(restore(&db, &org, &w.id, 99, &by).await.unwrap_err().status(), 404);

            // Another org sees nothing.
            let (other_org, _) = setup(&db).await;
            assert_eq!(get(&db, &other_org, &w.id).await.unwrap_err().status(), 404);
            assert_eq!(history(&db, &other_org, &w.id, None, None).await.unwrap_err().status(), 404);

            delete(&db, &org, &w.id, &by).await.unwrap();
            assert_eq!(get(&db, &org, &w.id).await.unwrap_err().status(), 404);
            let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM workflow_versions WHERE workflow_id = $1").bind(&w.id).fetch_one(db.pool()).await.unwrap();
            assert_eq!(left, 0);
        }
    }

    #[tokio::test]
    async fn a_version_is_named_found_by_its_name_and_renamed_or_cleared() {
        for (backend, db) in test_databases().await {
            let (org, actor) = setup(&db).await;
            let (audit, client) = (recorder(&db), ClientInfo::default());
            let by = Acting { actor: actor.clone(), client: &client, audit: &audit };
            let w = save(&db, &org, None, input(definition("Fetch", 0.0)), &by, VersionSource::Create).await.unwrap().workflow;
            for label in ["Fetch user", "Fetch all", "Fetch none"] {
                save(&db, &org, Some(&w.id), input(definition(label, 0.0)), &by, VersionSource::Update).await.unwrap();
            }
            let named = name_version(&db, &org, &w.id, 2, Some("  Before the 50% LAUNCH "), &by).await.unwrap();
            assert_eq!((named.version, named.label.as_deref()), (2, Some("Before the 50% LAUNCH")), "[{backend}] trimmed");
            name_version(&db, &org, &w.id, 4, Some("After launch"), &by).await.unwrap();
            let found = |q: &'static str| {
                let db = db.clone();
                let (org, id) = (org.clone(), w.id.clone());
                async move { history_named(&db, &org, &id, None, None, Some(q)).await.unwrap().versions.iter().map(|v| v.version).collect::<Vec<_>>() }
            };
            assert_eq!(found("launch").await, [4, 2], "[{backend}] any case, newest first");
            assert_eq!(found("50%").await, [2], "[{backend}] % is a character, not a wildcard");
            assert_eq!(found("%").await, [2]);
            assert_eq!(found("nothing").await, Vec::<i64>::new());
            // Renamed, then cleared: the content and the version count stay.
            name_version(&db, &org, &w.id, 2, Some("Baseline"), &by).await.unwrap();
            assert_eq!(found("launch").await, [4]);
            assert_eq!(name_version(&db, &org, &w.id, 2, None, &by).await.unwrap().label, None);
            assert_eq!(history(&db, &org, &w.id, None, None).await.unwrap().versions.len(), 4);
            // Bad names, unknown versions and other orgs are refused.
            let long = "x".repeat(101);
            assert_eq!(name_version(&db, &org, &w.id, 2, Some(&long), &by).await.unwrap_err().field.as_deref(), Some("label"));
            assert_eq!(name_version(&db, &org, &w.id, 2, Some("a\nb"), &by).await.unwrap_err().field.as_deref(), Some("label"));
            assert_eq!(name_version(&db, &org, &w.id, 2, Some("  "), &by).await.unwrap_err().field.as_deref(), Some("label"), "blank: null clears");
            assert_eq!(name_version(&db, &org, &w.id, 9, Some("x"), &by).await.unwrap_err().status(), 404);
            let (other_org, _) = setup(&db).await;
            assert_eq!(name_version(&db, &other_org, &w.id, 2, Some("x"), &by).await.unwrap_err().status(), 404);
        }
    }

    #[tokio::test]
    async fn history_pages_with_an_opaque_cursor() {
        for (backend, db) in test_databases().await {
            let (org, actor) = setup(&db).await;
            let (audit, client) = (recorder(&db), ClientInfo::default());
            let by = Acting { actor: actor.clone(), client: &client, audit: &audit };
            let w = save(&db, &org, None, input(definition("v1", 0.0)), &by, VersionSource::Create).await.unwrap().workflow;
            for n in 2..=7 {
                save(&db, &org, Some(&w.id), input(definition(&format!("v{n}"), 0.0)), &by, VersionSource::Api).await.unwrap();
            }
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = history(&db, &org, &w.id, Some(3), cursor.as_deref()).await.unwrap();
                seen.extend(page.versions.iter().map(|v| v.version));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1], "[{backend}]");
            assert_eq!(history(&db, &org, &w.id, Some(0), None).await.unwrap_err().field.as_deref(), Some("limit"));
            assert_eq!(history(&db, &org, &w.id, None, Some("garbage")).await.unwrap_err().field.as_deref(), Some("cursor"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_saves_get_distinct_consecutive_versions() {
        for (backend, db) in test_databases().await {
            let (org, actor) = setup(&db).await;
            let (audit, client) = (recorder(&db), ClientInfo::default());
            let by = Acting { actor: actor.clone(), client: &client, audit: &audit };
            let w = save(&db, &org, None, input(definition("start", 0.0)), &by, VersionSource::Create).await.unwrap().workflow;
            let tasks: Vec<_> = (0..12)
                .map(|i| {
                    let (db, org, id, actor, audit) = (db.clone(), org.clone(), w.id.clone(), actor.clone(), audit.clone());
                    tokio::spawn(async move {
                        let client = ClientInfo::default();
                        let by = Acting { actor, client: &client, audit: &audit };
                        save(&db, &org, Some(&id), input(definition(&format!("edit {i}"), 0.0)), &by, VersionSource::Update).await
                    })
                })
                .collect();
            for t in tasks {
                assert!(t.await.unwrap().unwrap().versioned, "[{backend}]");
            }
            let page = history(&db, &org, &w.id, Some(200), None).await.unwrap();
            assert_eq!(page.versions.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=13).rev().collect::<Vec<_>>(), "[{backend}]");
            let live = get(&db, &org, &w.id).await.unwrap();
            assert_eq!(live.version, 13);
            assert_eq!(live.content_hash, page.versions[0].content_hash, "[{backend}] live row is the newest version");
            // Every version's change was computed against its real predecessor.
            for v in &page.versions[..12] {
                assert_eq!(v.summary, DiffSummary { nodes_changed: 1, ..Default::default() }, "[{backend}] v{}", v.version);
            }
        }
    }

    #[tokio::test]
    async fn enabling_needs_a_strictly_valid_definition() {
        for (backend, db) in test_databases().await {
            let (org, actor) = setup(&db).await;
            let (audit, client) = (recorder(&db), ClientInfo::default());
            let by = Acting { actor: actor.clone(), client: &client, audit: &audit };
            let mut incomplete = definition("Fetch", 0.0);
            incomplete.nodes[1].data.config.remove("url");
            let w = save(&db, &org, None, input(incomplete.clone()), &by, VersionSource::Create).await.unwrap().workflow;
            let mut enable = input(incomplete);
            enable.enabled = Some(true);
            let err = save(&db, &org, Some(&w.id), enable, &by, VersionSource::Update).await.unwrap_err();
            assert_eq!(err.field.as_deref(), Some("nodes[h].config.url"), "[{backend}]");
            assert!(!get(&db, &org, &w.id).await.unwrap().enabled, "nothing half-written");
            let mut enable = input(definition("Fetch", 0.0));
            enable.enabled = Some(true);
            assert!(save(&db, &org, Some(&w.id), enable, &by, VersionSource::Update).await.unwrap().workflow.enabled);
        }
    }
}
