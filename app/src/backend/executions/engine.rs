//! The engine: runs a claimed execution's nodes in edge order from its trigger, one step row
//! per node. `http_request` makes a real request (`egress`), `send_email` queues through the
//! outbox, `condition` evaluates on the trigger payload (false stops that branch); `code`,
//! `read_contract` and `write_contract` are skipped with the reason — this engine does not
//! run them, and says so.

use super::{egress, Origin, Trigger};
use crate::backend::audit::{NewEvent, Recorder};
use crate::backend::db::{new_id, now, Db};
use crate::backend::tracking::{self, Tracking};
use crate::backend::{credentials, mail, Config};
use crate::model::CredentialDescriptor;
use crate::workflow::catalog;
use crate::workflow::{condition, Definition, Node};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// What the workers share.
pub struct Context {
    pub db: Db,
    pub config: Arc<Config>,
    pub audit: Recorder,
    pub http: reqwest::Client,
    pub tracking: Arc<Tracking>,
    /// Where links in mail point: `CHRONICLE_PUBLIC_URL`, else `http://` + the site address.
    pub public_base: String,
}

impl Context {
    pub fn new(db: Db, config: Arc<Config>, audit: Recorder, tracking: Arc<Tracking>, public_base: String) -> Context {
        let http = egress::client(config.egress_allow_private);
        Context { db, config, audit, http, tracking, public_base }
    }
}

/// A claimed run.
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub workflow_id: String,
    pub trigger: Trigger,
    pub origin: Origin,
    pub definition: String,
    pub payload: Value,
}

impl Job {
    pub(super) fn from_claimed(r: (String, String, String, String, String, Option<String>, String, Option<String>, String, Option<String>)) -> Job {
        let credential = CredentialDescriptor { kind: r.4, id: r.5, label: r.6 };
        Job {
            id: r.0,
            org_id: r.1,
            workflow_id: r.2,
            trigger: Trigger::parse(&r.3).unwrap_or(Trigger::Api),
            origin: Origin::from_descriptor(credential, r.7),
            definition: r.8,
            payload: r.9.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or(Value::Null),
        }
    }
}

/// How one node went.
enum Outcome {
    Succeeded(Value),
    /// The branch stops here (a condition that is false).
    Stop(Value),
    Skipped(String),
    Failed(Option<Value>, String),
}

/// The most steps one run takes, and the longest it may take: a run past either stops,
/// failed, the reason in its error (SPEC: limits under abuse).
pub const MAX_STEPS: i64 = 200;
pub const MAX_RUN_TIME: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Runs every reachable node; `Err` is the run's error (the first failed step's, or the limit
/// it reached).
pub async fn run(ctx: &Context, job: &Job) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + MAX_RUN_TIME;
    let definition: Definition = serde_json::from_str(&job.definition).map_err(|e| format!("the stored definition does not parse: {e}"))?;
    let order = order_from_trigger(&definition, job.trigger);
    // Nodes that ran and let their branch go on.
    let mut live: HashSet<&str> = HashSet::new();
    let mut position = 0i64;
    for node in order.nodes {
        // A node runs when an edge from a live node reaches it.
        let reached = node.id == order.start || order.parents.get(node.id.as_str()).is_some_and(|ps| ps.iter().any(|p| live.contains(p)));
        if !reached {
            continue;
        }
        if position == MAX_STEPS {
            return Err(format!("The run stopped after {MAX_STEPS} steps, the most one run may take; step \"{}\" ({}) and any after it did not run.", label_of(node), node.id));
        }
        let started_at = now();
        let Ok(outcome) = tokio::time::timeout_at(deadline, run_node(ctx, job, node)).await else {
            return Err(format!("The run stopped after {} s, the longest one run may take, during step \"{}\" ({}).", MAX_RUN_TIME.as_secs(), label_of(node), node.id));
        };
        let (status, output, error) = match &outcome {
            Outcome::Succeeded(out) | Outcome::Stop(out) => ("succeeded", Some(out.clone()), None),
            Outcome::Skipped(reason) => ("skipped", Some(json!({ "reason": reason })), Some(reason.clone())),
            Outcome::Failed(out, err) => ("failed", out.clone(), Some(err.clone())),
        };
        let saved = sqlx::query(
            "INSERT INTO execution_steps (execution_id, position, node_id, node_type, label, status, started_at, finished_at, output, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&job.id)
        .bind(position)
        .bind(&node.id)
        .bind(&node.kind)
        .bind(&node.data.label)
        .bind(status)
        .bind(&started_at)
        .bind(now())
        .bind(output.map(|o| o.to_string()))
        .bind(error.as_deref())
        .execute(ctx.db.pool())
        .await;
        if let Err(err) = saved {
            return Err(format!("could not record step {}: {err}", node.id));
        }
        position += 1;
        match outcome {
            Outcome::Failed(_, err) => return Err(format!("Step \"{}\" ({}) failed: {err}", label_of(node), node.id)),
            Outcome::Stop(_) => {}
            Outcome::Succeeded(_) | Outcome::Skipped(_) => {
                live.insert(node.id.as_str());
            }
        }
    }
    Ok(())
}

fn label_of(node: &Node) -> &str {
    if node.data.label.is_empty() { &node.id } else { &node.data.label }
}

/// The nodes reachable from the run's trigger, in edge order (breadth first, each edge in
/// the order the definition lists it), with each node's parents.
struct Order<'a> {
    start: &'a str,
    nodes: Vec<&'a Node>,
    parents: HashMap<&'a str, Vec<&'a str>>,
}

fn order_from_trigger(definition: &Definition, trigger: Trigger) -> Order<'_> {
    let is_trigger = |n: &Node| catalog::spec(&n.kind).is_some_and(|s| s.is_trigger);
    let wanted = trigger.node_kind();
    let start = definition
        .nodes
        .iter()
        .find(|n| wanted.map_or(n.kind == "manual_trigger", |k| n.kind == k))
        .or_else(|| definition.nodes.iter().find(|n| is_trigger(n)));
    let Some(start) = start else { return Order { start: "", nodes: Vec::new(), parents: HashMap::new() } };
    let by_id: HashMap<&str, &Node> = definition.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in &definition.edges {
        children.entry(e.source.as_str()).or_default().push(e.target.as_str());
        parents.entry(e.target.as_str()).or_default().push(e.source.as_str());
    }
    let (mut nodes, mut seen, mut queue) = (Vec::new(), HashSet::from([start.id.as_str()]), VecDeque::from([start.id.as_str()]));
    while let Some(id) = queue.pop_front() {
        let Some(node) = by_id.get(id) else { continue };
        nodes.push(*node);
        for child in children.get(id).into_iter().flatten() {
            // Other triggers start other runs; an edge into one is not followed.
            if seen.insert(*child) && by_id.get(child).is_some_and(|n| !is_trigger(n)) {
                queue.push_back(child);
            }
        }
    }
    Order { start: start.id.as_str(), nodes, parents }
}

async fn run_node(ctx: &Context, job: &Job, node: &Node) -> Outcome {
    let text = |key: &str| node.data.config.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    match node.kind.as_str() {
        "manual_trigger" | "webhook_trigger" | "schedule_trigger" => Outcome::Succeeded(json!({ "trigger": job.trigger.as_str(), "payload": job.payload })),
        "condition" => match condition::parse(&text("expression")) {
            Ok(c) => {
                let result = c.holds(&job.payload);
                let out = json!({ "expression": text("expression"), "result": result });
                if result { Outcome::Succeeded(out) } else { Outcome::Stop(out) }
            }
            Err(why) => Outcome::Failed(None, format!("expression: {why}")),
        },
        "send_email" => send_email(ctx, job, &text("to"), &text("subject"), node.data.config.get("body").and_then(Value::as_str).unwrap_or_default()).await,
        "http_request" => http_request(ctx, job, node).await,
        "code" => Outcome::Skipped("This engine does not run code nodes; nothing was executed.".into()),
        "read_contract" | "write_contract" => {
            Outcome::Skipped("This engine does not call smart contracts; nothing was read or written on chain.".into())
        }
        other => Outcome::Skipped(format!("Unknown node type {other:?}; nothing was executed.")),
    }
}

/// Queues a tracked mail: one code for the message (pixel, headers), one per link.
async fn send_email(ctx: &Context, job: &Job, to: &str, subject: &str, body: &str) -> Outcome {
    let message_id = new_id();
    // The trigger payload names who this is about when it can; else the recipient does, so a
    // batch or scheduled run stays attributable.
    let distinct_id = match job.payload.get("distinct_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => to.to_owned(),
    };
    let payload = tracking::codes::Payload { o: job.org_id.clone(), w: job.workflow_id.clone(), x: job.id.clone(), m: message_id.clone(), d: distinct_id.clone(), u: None };
    let composed = tracking::compose::compose(&ctx.tracking.keys, &ctx.public_base, &payload, body);
    let mail = mail::outbox::Tracked { message_id: &message_id, workflow_id: &job.workflow_id, execution_id: &job.id, distinct_id: &distinct_id, composed: &composed };
    match mail::outbox::enqueue_tracked(&ctx.db, &job.org_id, to, subject, &mail).await {
        Ok(()) => Outcome::Succeeded(json!({ "to": to, "subject": subject, "queued": true, "message_id": message_id, "links": composed.links.len() })),
        Err(err) => Outcome::Failed(None, format!("could not queue the mail: {}", err.message)),
    }
}

async fn http_request(ctx: &Context, job: &Job, node: &Node) -> Outcome {
    let config = &node.data.config;
    let text = |key: &str| config.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let url = text("url").unwrap_or_default();
    let mut bearer = None;
    if let Some(credential_id) = text("credential_id") {
        // The host is matched before the secret is decrypted; a refusal sends nothing.
        let host = match egress::host_of(url) {
            Ok(host) => host,
            Err(why) => return Outcome::Failed(None, why),
        };
        let meta = |name: &str| json!({ "execution_id": job.id, "node_id": node.id, "credential_name": name });
        let event = |action, meta| NewEvent::new(Some(&job.org_id), action, job.origin.actor.clone(), "credential", Some(credential_id)).metadata(meta);
        match credentials::open_for_run(&ctx.db, &ctx.config, &job.org_id, credential_id, &host).await {
            Ok(opened) => {
                // Every resolution is on the record, with who ran it; the secret never is.
                ctx.audit.record(event("credential.accessed", meta(&opened.name))).await;
                bearer = Some(opened.secret);
            }
            Err(credentials::Unusable::HostRefused { name, message }) => {
                let mut meta = meta(&name);
                meta["host"] = json!(host);
                ctx.audit.record(event("credential.refused", meta)).await;
                return Outcome::Failed(None, message);
            }
            Err(credentials::Unusable::Other(why)) => return Outcome::Failed(None, why),
        }
    }
    let request = egress::Request {
        url,
        method: text("method").unwrap_or("GET"),
        body: config.get("body").and_then(Value::as_str),
        bearer: bearer.as_deref(),
    };
    match egress::send(&ctx.http, ctx.config.egress_allow_private, request).await {
        Ok(response) if response.status < 400 => Outcome::Succeeded(response.to_json()),
        Ok(response) => {
            let error = format!("the server answered HTTP {}", response.status);
            Outcome::Failed(Some(response.to_json()), error)
        }
        Err(why) => Outcome::Failed(None, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(nodes: &[(&str, &str)], edges: &[(&str, &str)]) -> Definition {
        serde_json::from_value(json!({
            "nodes": nodes.iter().map(|(id, kind)| json!({"id": id, "type": kind, "data": {"label": id, "config": {}}})).collect::<Vec<_>>(),
            "edges": edges.iter().enumerate().map(|(i, (s, t))| json!({"id": format!("e{i}"), "source": s, "target": t})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn nodes_run_in_edge_order_from_the_runs_trigger() {
        let d = definition(
            &[("c", "code"), ("b", "code"), ("m", "manual_trigger"), ("w", "webhook_trigger"), ("a", "code"), ("x", "code"), ("lonely", "code")],
            &[("m", "b"), ("m", "a"), ("b", "c"), ("a", "c"), ("w", "x"), ("x", "m")],
        );
        let ids = |o: Order| o.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(order_from_trigger(&d, Trigger::Manual)), ["m", "b", "a", "c"]);
        assert_eq!(ids(order_from_trigger(&d, Trigger::Api)), ["m", "b", "a", "c"]);
        assert_eq!(ids(order_from_trigger(&d, Trigger::Webhook)), ["w", "x"], "an edge into another trigger is not followed");
        assert!(ids(order_from_trigger(&definition(&[("a", "code")], &[]), Trigger::Manual)).is_empty());
    }
}
