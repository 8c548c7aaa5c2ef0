//! Opens and clicks from `/t/o/` and `/t/c/`: the request hands its verified code to a
//! bounded queue and answers at once; a writer records the queue in batches (one
//! transaction per batch), so the public endpoints stay cheap under load. A full queue drops
//! the hit and counts it (`reason="overloaded"`); hits are analytics, never worth a slow page.

use super::codes::Payload;
use super::events::{self, NewEngagement};
use crate::backend::db::Db;
use crate::backend::telemetry::Telemetry;
use crate::error::ApiResult;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;

const QUEUE: usize = 16_384;
const BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct Hit {
    pub payload: Payload,
    /// A legacy unsigned code: recorded only if its message really exists in its org.
    pub unsigned: bool,
    /// The clicked target; `None` for an open.
    pub clicked: Option<String>,
    pub at: String,
}

#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Hit>,
    telemetry: Telemetry,
}

impl Ingest {
    pub fn start(db: Db, telemetry: Telemetry) -> Ingest {
        let (queue, hits) = mpsc::channel(QUEUE);
        tokio::spawn(write(db, telemetry.clone(), hits));
        Ingest { queue, telemetry }
    }

    pub fn hit(&self, hit: Hit) {
        if self.queue.try_send(hit).is_err() {
            self.telemetry.event_dropped("overloaded");
        }
    }
}

async fn write(db: Db, telemetry: Telemetry, mut hits: mpsc::Receiver<Hit>) {
    let mut batch = Vec::with_capacity(BATCH);
    while hits.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(err) = write_batch(&db, &telemetry, &batch).await {
            tracing::warn!(error = %err, hits = batch.len(), "tracking: could not record opens and clicks");
        }
        batch.clear();
    }
}

async fn write_batch(db: &Db, telemetry: &Telemetry, batch: &[Hit]) -> ApiResult<()> {
    // Reads first, outside the transaction: on SQLite a transaction that reads and then
    // writes cannot wait for the write lock (it would fail as busy, not queue).
    let recipients = recipients(db, batch).await?;
    let mut events = Vec::with_capacity(batch.len());
    for hit in batch {
        let p = &hit.payload;
        let to = recipients.get(&(p.m.clone(), p.o.clone()));
        if hit.unsigned && to.is_none() {
            telemetry.event_dropped("unknown_message");
            continue;
        }
        let mut properties = json!({ "$workflow_id": p.w, "$messaging_source": "direct" });
        if let Some(to) = to {
            properties["$email_to"] = json!(to);
        }
        if let Some(url) = &hit.clicked {
            properties["$link_url"] = json!(url);
        }
        events.push(NewEngagement {
            org_id: p.o.clone(),
            event: if hit.clicked.is_some() { "$workflows_email_link_clicked" } else { "$workflows_email_opened" }.into(),
            distinct_id: if p.d.is_empty() { to.cloned().unwrap_or_default() } else { p.d.clone() },
            workflow_id: Some(p.w.clone()).filter(|w| !w.is_empty()),
            execution_id: Some(p.x.clone()).filter(|x| !x.is_empty()),
            message_id: Some(p.m.clone()),
            properties,
            occurred_at: hit.at.clone(),
        });
    }
    let mut tx = db.pool().begin().await?;
    events::record_all(&mut tx, telemetry, &events).await?;
    tx.commit().await?;
    Ok(())
}

/// The recipient of each message the batch names, by (message id, org id).
async fn recipients(db: &Db, batch: &[Hit]) -> ApiResult<HashMap<(String, String), String>> {
    let ids: HashSet<&str> = batch.iter().map(|h| h.payload.m.as_str()).collect();
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, org_id, recipient FROM outbox WHERE id IN ({})", marks.join(", "));
    let mut q = sqlx::query_as::<_, (String, Option<String>, String)>(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(db.pool()).await?;
    Ok(rows.into_iter().filter_map(|(id, org, to)| Some(((id, org?), to))).collect())
}

/// The target an unsigned click may go to: only a link the stored message contains.
pub async fn stored_link(db: &Db, payload: &Payload) -> Option<String> {
    let target = payload.u.as_deref()?;
    let (links,): (Option<String>,) =
        sqlx::query_as("SELECT links FROM outbox WHERE id = $1 AND org_id = $2").bind(&payload.m).bind(&payload.o).fetch_optional(db.pool()).await.ok()??;
    let links: Vec<String> = serde_json::from_str(&links?).ok()?;
    links.iter().any(|l| l == target).then(|| target.to_owned())
}
