//! Quota reserved while an upload streams. Each upload holds a reservation: a row in
//! `upload_reservations` and its bytes in the org's `storage_reserved_bytes`, raised by one
//! conditional `UPDATE` that checks used + reserved + more ≤ quota on the org's row. So
//! uploads that together pass the org's room are refused as they stream, however they
//! interleave, across instances, instead of each filling the disk and losing at the end.
//! An upload that ends turns its reservation into used bytes in the file's transaction; one
//! refused or cut off gives it back; one whose instance died is reclaimed by housekeeping
//! once it has not been renewed for [`STALE_AFTER_US`].

use super::super::plans::quota_sql;
use super::super::db::{new_id, Db};
use crate::error::ApiResult;

/// Bytes reserved at a time while a body of unannounced length streams.
const STEP: u64 = 4 << 20;
/// A reservation is renewed at least this often while its upload streams…
const RENEW_EVERY_US: i64 = 60 * 1_000_000;
/// …and reclaimed when it has not been for this long (its upload is gone).
pub const STALE_AFTER_US: i64 = 10 * 60 * 1_000_000;

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Room an upload holds in its org's quota. Dropped without being settled or given back, it
/// gives the room back from a task, so a cancelled request does too.
pub struct Reservation {
    db: Db,
    id: String,
    org_id: String,
    /// Bytes held.
    held: u64,
    renewed_us: i64,
    /// Settled or given back: nothing left for a drop to do.
    done: bool,
}

impl Reservation {
    /// Opens a reservation of `bytes`; `None` when the org has not that much room.
    pub async fn open(db: &Db, org_id: &str, bytes: u64) -> ApiResult<Option<Reservation>> {
        let id = new_id();
        let now = now_us();
        let mut tx = db.pool().begin().await?;
        if !raise(&mut tx, org_id, bytes).await? {
            return Ok(None);
        }
        sqlx::query("INSERT INTO upload_reservations (id, org_id, bytes, renewed_us) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(org_id)
            .bind(bytes as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Reservation { db: db.clone(), id, org_id: org_id.to_owned(), held: bytes, renewed_us: now, done: false }))
    }

    /// Makes the reservation cover `size` bytes (a step more at a time, or just what is
    /// missing when a step does not fit); `false` when the org has no room for them, or the
    /// reservation was reclaimed. Renews it now and then on the way.
    pub async fn cover(&mut self, size: u64) -> ApiResult<bool> {
        let now = now_us();
        if size <= self.held && now - self.renewed_us < RENEW_EVERY_US {
            return Ok(true);
        }
        let missing = size.saturating_sub(self.held);
        for more in if missing == 0 { vec![0] } else { vec![missing.max(STEP), missing] } {
            let mut tx = self.db.pool().begin().await?;
            if !raise(&mut tx, &self.org_id, more).await? {
                continue;
            }
            let renewed = sqlx::query("UPDATE upload_reservations SET bytes = bytes + $1, renewed_us = $2 WHERE id = $3")
                .bind(more as i64)
                .bind(now)
                .bind(&self.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if renewed == 0 {
                return Ok(false); // reclaimed as stale: the transaction rolls back
            }
            tx.commit().await?;
            self.held += more;
            self.renewed_us = now;
            return Ok(true);
        }
        Ok(false)
    }

    /// Turns the reservation into `size` used bytes, in the transaction that stores the
    /// file; `false` when it was reclaimed meanwhile (the file must not be stored).
    pub async fn settle_in(&mut self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, size: u64) -> ApiResult<bool> {
        let gone = sqlx::query("DELETE FROM upload_reservations WHERE id = $1").bind(&self.id).execute(&mut **tx).await?.rows_affected();
        if gone == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE orgs SET storage_used_bytes = storage_used_bytes + $1, storage_reserved_bytes = storage_reserved_bytes - $2 WHERE id = $3")
            .bind(size as i64)
            .bind(self.held as i64)
            .bind(&self.org_id)
            .execute(&mut **tx)
            .await?;
        // Only final once the transaction commits; until then a drop must still give back.
        Ok(true)
    }

    /// The transaction that settled this reservation committed.
    pub fn settled(mut self) {
        self.done = true;
    }

    /// Gives the room back now (a drop would too, a moment later).
    pub async fn give_back(mut self) {
        self.done = true;
        release(&self.db, &self.id).await;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (db, id) = (self.db.clone(), std::mem::take(&mut self.id));
        let give_back = async move { release(&db, &id).await };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(give_back)),
            Err(_) => tracing::warn!("files: no runtime to give back an upload's reservation; housekeeping will"),
        }
    }
}

/// Raises the org's reserved bytes by `bytes` if used + reserved stays within its quota.
async fn raise(tx: &mut sqlx::Transaction<'_, sqlx::Any>, org_id: &str, bytes: u64) -> ApiResult<bool> {
    let sql = format!(
        "UPDATE orgs SET storage_reserved_bytes = storage_reserved_bytes + $1 \
         WHERE id = $2 AND storage_used_bytes + storage_reserved_bytes + $1 <= {}",
        quota_sql()
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bytes as i64).bind(org_id).execute(&mut **tx).await?.rows_affected() == 1)
}

/// Gives back one upload's reservation (its upload was refused, cut off or cancelled); a
/// failure is logged and left to housekeeping, which reclaims the row once it is stale.
async fn release(db: &Db, id: &str) {
    let released = async {
        let mut tx = db.pool().begin().await?;
        let gone: Vec<(String, i64)> =
            sqlx::query_as("DELETE FROM upload_reservations WHERE id = $1 RETURNING org_id, bytes").bind(id).fetch_all(&mut *tx).await?;
        return_to_orgs(&mut tx, &gone).await?;
        ApiResult::Ok(tx.commit().await?)
    };
    if let Err(err) = released.await {
        tracing::warn!(error = %err, "files: could not give back an upload's reservation; housekeeping will");
    }
}

/// Gives back the reservations of uploads that stopped renewing them (their instance died);
/// the housekeeping loop calls this. How many went.
pub async fn reclaim_stale(db: &Db) -> ApiResult<u64> {
    let mut tx = db.pool().begin().await?;
    let gone: Vec<(String, i64)> = sqlx::query_as("DELETE FROM upload_reservations WHERE renewed_us < $1 RETURNING org_id, bytes")
        .bind(now_us() - STALE_AFTER_US)
        .fetch_all(&mut *tx)
        .await?;
    return_to_orgs(&mut tx, &gone).await?;
    tx.commit().await?;
    Ok(gone.len() as u64)
}

/// The bytes of removed reservations, out of their orgs' reserved bytes.
async fn return_to_orgs(tx: &mut sqlx::Transaction<'_, sqlx::Any>, gone: &[(String, i64)]) -> ApiResult<()> {
    for (org_id, bytes) in gone {
        sqlx::query("UPDATE orgs SET storage_reserved_bytes = storage_reserved_bytes - $1 WHERE id = $2").bind(bytes).bind(org_id).execute(&mut **tx).await?;
    }
    Ok(())
}
