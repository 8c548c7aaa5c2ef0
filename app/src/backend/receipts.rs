//! Provider events processed exactly once: a receipt row per (provider, event id), inserted
//! first in the transaction that applies the event. A redelivery — concurrent ones included,
//! which wait on the row — finds it and changes nothing.

use super::db::{now, Db};
use crate::error::ApiResult;
use sqlx::{Any, Transaction};

/// A transaction holding the fresh receipt of `event_id`, or `None` if it was processed before.
pub async fn begin_once(db: &Db, provider: &str, event_id: &str) -> ApiResult<Option<Transaction<'static, Any>>> {
    let mut tx = db.pool().begin().await?;
    let fresh = sqlx::query("INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(provider)
        .bind(event_id)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    Ok(fresh.then_some(tx))
}
