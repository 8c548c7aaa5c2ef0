//! Verification of a chain, as an outside verifier would do it from the export and the
//! public key: every sealed event's `prev_hash` continues the chain and its `hash` is
//! recomputed; every checkpoint's signature holds and names a stored event with that hash;
//! the chain's head matches its last event. A pruned chain starts from its anchor checkpoint
//! (`retention`). The first `seq` where any of this fails is named.

use super::chain::{self, GENESIS};
use super::signing::CheckpointSigner;
use super::store::{from_row, Scope, SeqPages};
use crate::backend::jobs::Jobs;
use crate::error::ApiResult;
use std::collections::BTreeMap;

/// What verifying found: the one report both doors answer (and the CLI prints).
pub use crate::model::TrailReport as Report;

const PAGE: usize = 10_000;

/// Records the first failure only: the earliest place the trail stops being trustworthy.
fn fail(report: &mut Report, seq: i64, reason: String) {
    if report.ok {
        report.ok = false;
        report.first_bad_seq = Some(seq);
        report.reason = Some(reason);
    }
}

pub async fn verify(jobs: &Jobs, signer: &CheckpointSigner, org_id: Option<&str>) -> ApiResult<Report> {
    // Sealing first: what is stored now is checked as sealed.
    let _ = super::seal::seal_pending(jobs, signer).await;
    let db = jobs.db();
    let chain_key = org_id.unwrap_or("");
    let checkpoints = super::seal::checkpoints(db, org_id).await?;
    let mut pending: BTreeMap<i64, &super::seal::Checkpoint> = checkpoints.iter().map(|c| (c.seq, c)).collect();
    let mut report = Report { ok: true, events_checked: 0, checkpoints_checked: 0, first_bad_seq: None, reason: None };
    for c in &checkpoints {
        if !signer.verify(&chain::checkpoint_message(org_id, c.seq, &c.hash, &c.created_at), &c.signature) {
            fail(&mut report, c.seq, format!("the checkpoint at seq {} does not carry a valid signature", c.seq));
        }
    }
    // The chain as the sealer left it: checked up to its head (sealing may go on meanwhile).
    let head: Option<(i64, String, i64)> =
        sqlx::query_as("SELECT seq, hash, pruned_through FROM audit_chain_heads WHERE chain = $1").bind(chain_key).fetch_optional(db.pool()).await?;
    let head_seq = head.as_ref().map_or(0, |h| h.0);
    let (mut prev, mut last_sealed, mut start) = (GENESIS.to_owned(), 0i64, 0i64);
    // A pruned chain starts at its anchor: the signed checkpoint it was pruned up to.
    let pruned_through = head.as_ref().map_or(0, |h| h.2);
    if pruned_through > 0 {
        match pending.remove(&pruned_through) {
            Some(anchor) => {
                report.checkpoints_checked += 1;
                prev = anchor.hash.clone();
                (last_sealed, start) = (pruned_through, pruned_through);
            }
            None => fail(&mut report, pruned_through, format!("the trail was pruned up to seq {pruned_through}, but the checkpoint anchoring it is gone")),
        }
    }
    let mut unsealed_at: Option<i64> = None;
    let mut pages = SeqPages::new(db, Scope::Chain(org_id), start, head_seq, PAGE);
    loop {
        let rows = pages.next().await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let event = from_row(row);
            let seq = event.seq.unwrap_or_default();
            let Some(stored) = event.hash.clone() else {
                unsealed_at.get_or_insert(seq);
                continue;
            };
            report.events_checked += 1;
            if let Some(gap) = unsealed_at {
                fail(&mut report, gap, format!("event {gap} is not sealed but later events are: it was inserted afterwards"));
            }
            if event.prev_hash.as_deref() != Some(prev.as_str()) {
                fail(&mut report, seq, format!("event {seq} does not continue the chain: an event before it was deleted, inserted or moved"));
            } else if chain::hash(&prev, &event) != stored {
                fail(&mut report, seq, format!("event {seq} does not match its hash: it was changed after it was sealed"));
            }
            while let Some((&at, c)) = pending.first_key_value() {
                if at > seq {
                    break;
                }
                report.checkpoints_checked += 1;
                if at < seq {
                    fail(&mut report, at, format!("the checkpoint at seq {at} names an event that is gone"));
                } else if c.hash != stored {
                    fail(&mut report, seq, format!("event {seq} differs from its signed checkpoint"));
                }
                pending.pop_first();
            }
            prev = stored;
            last_sealed = seq;
        }
    }
    if let Some((&at, _)) = pending.first_key_value() {
        report.checkpoints_checked += pending.len() as i64;
        fail(&mut report, at, format!("the checkpoint at seq {at} names an event that is gone"));
    }
    if let Some((seq, hash, _)) = head {
        if seq > last_sealed {
            fail(&mut report, seq, format!("the chain's head is event {seq}, but the trail ends at {last_sealed}: events were deleted"));
        } else if hash != prev {
            fail(&mut report, seq, format!("event {seq} is not the head the sealer recorded"));
        }
    }
    // Past the head: an event that looks sealed but that the sealer never chained was
    // inserted (events sealed since the head was read are past it by then too, so re-read).
    let condition = if org_id.is_some() { "org_id = $1" } else { "org_id IS NULL AND $1 = ''" };
    let sql = format!("SELECT MIN(seq) FROM {} WHERE {condition} AND seq > $2", db.dialect().audit_events_in_range(true, 2, None));
    let (beyond,): (Option<i64>,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id.unwrap_or("")).bind(head_seq).fetch_one(db.pool()).await?;
    if let Some(beyond) = beyond {
        let now_head: Option<(i64,)> = sqlx::query_as("SELECT seq FROM audit_chain_heads WHERE chain = $1").bind(chain_key).fetch_optional(db.pool()).await?;
        if now_head.is_none_or(|(h,)| beyond > h) {
            fail(&mut report, beyond, format!("event {beyond} claims to be sealed, but the sealer never chained it: it was inserted"));
        }
    }
    Ok(report)
}

/// [`verify`] of an org's chain on someone's request, recorded as `audit_log.verified` with
/// its outcome (after the check: the new event is not part of what was checked).
pub async fn verify_recorded(jobs: &Jobs, signer: &CheckpointSigner, org_id: &str, by: &crate::backend::Acting<'_>) -> ApiResult<Report> {
    let report = verify(jobs, signer, Some(org_id)).await?;
    let meta = serde_json::to_value(&report).unwrap_or_default();
    by.audit.record(super::NewEvent::new(Some(org_id), "audit_log.verified", by.actor.clone(), "audit_log", None).metadata(meta).client(by.client)).await;
    Ok(report)
}
