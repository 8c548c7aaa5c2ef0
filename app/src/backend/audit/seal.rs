//! The sealer: chains stored events per org in `seq` order (`chain`), a few seconds after
//! they are stored, and signs a checkpoint of a chain's head every 1,000 events and at least
//! hourly while events arrive. One sealer at a time across instances (a background job on
//! one lease row, taken for each round); within an instance a mutex orders the loop and
//! on-demand checkpoints. On
//! PostgreSQL, where a smaller `seq` may commit after a larger one, a round seals only up to
//! the largest `seq` seen while briefly holding the table against inserts, so every `seq`
//! below it has committed (or rolled back, leaving a gap the chain simply skips).

use super::chain::{self, GENESIS};
use super::signing::CheckpointSigner;
use super::store::{from_row, Scope, SeqPages};
use crate::backend::db::{format_time, now, Db};
use crate::backend::jobs::{self, Extra, Jobs, Kind, Lease};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::AuditEvent;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(2);
pub const CHECKPOINT_EVENTS: i64 = 1_000;
const BATCH: usize = 5_000;

/// The one sealer row: whoever holds it seals, one instance at a time.
pub static KIND: Kind = Kind { name: "sealer", table: "audit_sealer", key: "id", due: "id = 1", order: "id", batch: 1 };

/// One sealing at a time in this process.
fn local_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// A signed checkpoint as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub org_id: Option<String>,
    pub seq: i64,
    pub hash: String,
    pub created_at: String,
    pub key_id: String,
    pub signature: String,
}

struct Head {
    seq: i64,
    hash: String,
    since_checkpoint: i64,
    known: bool,
}

/// Seals every stored event; how many. `None` when another instance is sealing now.
pub async fn seal_pending(jobs: &Jobs, signer: &CheckpointSigner) -> ApiResult<Option<usize>> {
    let _local = local_lock().lock().await;
    let Some((_, lease)) = jobs.claim::<(i64,)>(&KIND, "id", &Extra::default()).await? else { return Ok(None) };
    let result = seal_rounds(jobs.db(), signer, &lease).await;
    lease.release().await;
    if result.is_ok() {
        jobs.count(&KIND, "done", 1);
    }
    result.map(Some)
}

/// The largest `seq` below which every insert has committed.
async fn settled_seq(db: &Db) -> ApiResult<i64> {
    let mut tx = db.pool().begin().await?;
    if let Some(settle) = db.dialect().settle_audit_inserts() {
        sqlx::query(settle).execute(&mut *tx).await?;
    }
    let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM audit_events").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(max.unwrap_or(0))
}

async fn seal_rounds(db: &Db, signer: &CheckpointSigner, lease: &Lease) -> ApiResult<usize> {
    let limit = settled_seq(db).await?;
    let (through,): (i64,) = sqlx::query_as("SELECT sealed_through FROM audit_sealer WHERE id = 1").fetch_one(db.pool()).await?;
    let mut sealed = 0;
    let mut heads = HashMap::new();
    let mut pages = SeqPages::new(db, Scope::All, through, limit, BATCH);
    // Chaining a page (hashing: CPU) overlaps writing the page before (a database round trip
    // about as long): writes still go one after another, so the watermark only moves forward.
    let mut writing: Option<tokio::task::JoinHandle<ApiResult<()>>> = None;
    loop {
        let rows = pages.next().await?;
        let Some(last) = rows.last().map(|r| r.seq) else { break };
        let count = rows.len();
        let batch = chain_batch(db, &mut heads, rows.into_iter().map(from_row).filter(|e| e.hash.is_none()).collect(), last).await?;
        finish(writing.take()).await?;
        let (db, signer, holder) = (db.clone(), signer.clone(), lease.holder().to_owned());
        writing = Some(tokio::spawn(async move { write_batch(&db, &signer, &holder, batch).await }));
        sealed += count;
    }
    finish(writing).await?;
    hourly_checkpoints(db, signer).await?;
    Ok(sealed)
}

async fn finish(writing: Option<tokio::task::JoinHandle<ApiResult<()>>>) -> ApiResult<()> {
    match writing {
        Some(w) => w.await.map_err(|e| {
            tracing::error!(error = %e, "audit sealer: a write task failed");
            ApiError::internal()
        })?,
        None => Ok(()),
    }
}

/// What sealing one page writes: each event's hashes, the chains' new heads, the checkpoints
/// due, and the watermark.
struct SealedBatch {
    hashes: Vec<(i64, String, String)>,
    heads: Vec<(String, bool, i64, String, i64)>,
    checkpoints: Vec<(String, i64, String)>,
    through: i64,
}

/// Chains `events` (the unsealed ones read up to `through`) onto `heads`, which carries the
/// chains' heads from page to page (a page's write may still be on its way).
async fn chain_batch(db: &Db, heads: &mut HashMap<String, Head>, events: Vec<AuditEvent>, through: i64) -> ApiResult<SealedBatch> {
    let mut missing: Vec<String> = events.iter().map(chain::chain_of).filter(|c| !heads.contains_key(*c)).map(str::to_owned).collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        heads.extend(load_heads(db, &missing).await?);
    }
    let mut touched = std::collections::HashSet::new();
    let mut hashes = Vec::with_capacity(events.len());
    let mut checkpoints = Vec::new();
    for mut event in events {
        let seq = event.seq.unwrap_or_default();
        let chain = chain::chain_of(&event).to_owned();
        let head = heads.get_mut(&chain).expect("every chain of the batch has a head");
        if seq <= head.seq {
            // Cannot happen with the settled limit; never chain out of order if it does.
            tracing::error!(seq, head = head.seq, "audit sealer: an event below its chain's head stays unsealed");
            continue;
        }
        event.prev_hash = Some(head.hash.clone());
        let hash = chain::hash(&head.hash, &event);
        hashes.push((seq, head.hash.clone(), hash.clone()));
        head.seq = seq;
        head.hash = hash;
        head.since_checkpoint += 1;
        if head.since_checkpoint >= CHECKPOINT_EVENTS {
            checkpoints.push((chain.clone(), seq, head.hash.clone()));
            head.since_checkpoint = 0;
        }
        touched.insert(chain);
    }
    let heads = touched
        .into_iter()
        .map(|chain| {
            let head = heads.get_mut(&chain).expect("a touched chain has a head");
            // The next page's write comes after this one, which stores the row.
            let known = std::mem::replace(&mut head.known, true);
            (chain, known, head.seq, head.hash.clone(), head.since_checkpoint)
        })
        .collect();
    Ok(SealedBatch { hashes, heads, checkpoints, through })
}

/// Stores a chained page in one transaction and moves the watermark past it, while
/// `holder` holds the sealer: the watermark is written first, so the sealer row stays locked
/// until the page commits, and a sealer whose lease is gone writes nothing.
async fn write_batch(db: &Db, signer: &CheckpointSigner, holder: &str, batch: SealedBatch) -> ApiResult<()> {
    let mut tx = db.pool().begin().await?;
    let held = sqlx::query("UPDATE audit_sealer SET sealed_through = $1 WHERE id = 1 AND lease_holder = $2")
        .bind(batch.through)
        .bind(holder)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if held == 0 {
        tx.rollback().await?;
        return Err(ApiError::new(ErrorKind::Unavailable, "The sealer's lease was lost; another instance goes on sealing."));
    }
    for chunk in batch.hashes.chunks(300) {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(db.dialect().store_seals(chunk.len())));
        for (seq, prev, hash) in chunk {
            q = q.bind(*seq).bind(prev).bind(hash);
        }
        q.execute(&mut *tx).await?;
    }
    for (chain, known, seq, hash, since) in &batch.heads {
        let sql = if *known {
            "UPDATE audit_chain_heads SET seq = $2, hash = $3, sealed_since_checkpoint = $4 WHERE chain = $1"
        } else {
            "INSERT INTO audit_chain_heads (chain, seq, hash, sealed_since_checkpoint) VALUES ($1, $2, $3, $4)"
        };
        sqlx::query(sql).bind(chain).bind(seq).bind(hash).bind(since).execute(&mut *tx).await?;
    }
    for (chain, seq, hash) in &batch.checkpoints {
        insert_checkpoint(&mut tx, signer, chain, *seq, hash).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn load_heads(db: &Db, chains: &[String]) -> ApiResult<HashMap<String, Head>> {
    let marks: Vec<String> = (1..=chains.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT chain, seq, hash, sealed_since_checkpoint FROM audit_chain_heads WHERE chain IN ({})", marks.join(", "));
    let mut q = sqlx::query_as::<_, (String, i64, String, i64)>(sqlx::AssertSqlSafe(sql));
    for chain in chains {
        q = q.bind(chain);
    }
    let mut heads: HashMap<String, Head> =
        q.fetch_all(db.pool()).await?.into_iter().map(|(chain, seq, hash, since)| (chain, Head { seq, hash, since_checkpoint: since, known: true })).collect();
    for chain in chains {
        heads.entry(chain.clone()).or_insert(Head { seq: 0, hash: GENESIS.into(), since_checkpoint: 0, known: false });
    }
    Ok(heads)
}

fn org_of_chain(chain: &str) -> Option<&str> {
    (!chain.is_empty()).then_some(chain)
}

async fn insert_checkpoint(tx: &mut sqlx::Transaction<'_, sqlx::Any>, signer: &CheckpointSigner, chain: &str, seq: i64, hash: &str) -> ApiResult<Checkpoint> {
    let created_at = now();
    let signature = signer.sign(&chain::checkpoint_message(org_of_chain(chain), seq, hash, &created_at));
    sqlx::query("INSERT INTO audit_checkpoints (chain, seq, hash, created_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain, seq) DO NOTHING")
        .bind(chain)
        .bind(seq)
        .bind(hash)
        .bind(&created_at)
        .bind(signer.key_id())
        .bind(&signature)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE audit_chain_heads SET sealed_since_checkpoint = 0 WHERE chain = $1 AND seq = $2").bind(chain).bind(seq).execute(&mut **tx).await?;
    Ok(Checkpoint { org_id: org_of_chain(chain).map(str::to_owned), seq, hash: hash.to_owned(), created_at, key_id: signer.key_id(), signature })
}

/// Chains with events sealed since their last checkpoint, none in the last hour: signed now.
async fn hourly_checkpoints(db: &Db, signer: &CheckpointSigner) -> ApiResult<()> {
    let hour_ago = format_time(chrono::Utc::now() - chrono::Duration::hours(1));
    let due: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT h.chain, h.seq, h.hash FROM audit_chain_heads h WHERE h.sealed_since_checkpoint > 0 \
         AND NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.chain = h.chain AND c.created_at > $1)",
    )
    .bind(hour_ago)
    .fetch_all(db.pool())
    .await?;
    for (chain, seq, hash) in due {
        let mut tx = db.pool().begin().await?;
        insert_checkpoint(&mut tx, signer, &chain, seq, &hash).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// `POST …/audit/checkpoints`: seals what is stored and signs the org's head now.
pub async fn checkpoint_now(jobs: &Jobs, signer: &CheckpointSigner, org_id: &str) -> ApiResult<Checkpoint> {
    let db = jobs.db();
    // Another instance may hold the lease for a round: wait for it, a few seconds at most.
    let mut sealed = None;
    for _ in 0..50 {
        sealed = seal_pending(jobs, signer).await?;
        if sealed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if sealed.is_none() {
        return Err(ApiError::new(ErrorKind::Unavailable, "Another instance is sealing the trail; try again in a moment."));
    }
    let head: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_chain_heads WHERE chain = $1").bind(org_id).fetch_optional(db.pool()).await?;
    let Some((seq, hash)) = head else { return Err(ApiError::new(ErrorKind::Conflict, "This organisation's trail has no events to checkpoint yet.")) };
    let existing: Option<(String, String, String)> =
        sqlx::query_as("SELECT created_at, key_id, signature FROM audit_checkpoints WHERE chain = $1 AND seq = $2").bind(org_id).bind(seq).fetch_optional(db.pool()).await?;
    if let Some((created_at, key_id, signature)) = existing {
        return Ok(Checkpoint { org_id: Some(org_id.to_owned()), seq, hash, created_at, key_id, signature });
    }
    let mut tx = db.pool().begin().await?;
    let checkpoint = insert_checkpoint(&mut tx, signer, org_id, seq, &hash).await?;
    tx.commit().await?;
    Ok(checkpoint)
}

/// An org's checkpoints, oldest first.
pub async fn checkpoints(db: &Db, org_id: Option<&str>) -> ApiResult<Vec<Checkpoint>> {
    let rows: Vec<(i64, String, String, String, String)> =
        sqlx::query_as("SELECT seq, hash, created_at, key_id, signature FROM audit_checkpoints WHERE chain = $1 ORDER BY seq")
            .bind(org_id.unwrap_or(""))
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, hash, created_at, key_id, signature)| Checkpoint { org_id: org_id.map(str::to_owned), seq, hash, created_at, key_id, signature })
        .collect())
}

/// The sealing loop: a round every [`EVERY`] (safe with any number of instances).
pub fn spawn(jobs: Jobs, signer: Arc<CheckpointSigner>) {
    jobs::spawn_loop("sealer", EVERY, move || {
        let (jobs, signer) = (jobs.clone(), signer.clone());
        async move {
            if let Some(n) = seal_pending(&jobs, &signer).await?.filter(|n| *n > 0) {
                tracing::debug!(sealed = n, "audit sealer: events chained");
            }
            Ok(false)
        }
    });
}
