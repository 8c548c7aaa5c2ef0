//! Provider webhooks, one shape. Each provider's `verify(headers, body, keys, now)` is pure
//! and comes first, so nothing unsigned is ever parsed; [`once`] takes the delivery's receipt
//! in the transaction that applies it, so each provider event is processed exactly once
//! (concurrent redeliveries wait on the row and find it); [`answer`] counts the outcome and
//! says it, the same way for every provider.

pub mod billing;
pub mod ses;
pub mod sns;

use super::db::{now, Db};
use super::telemetry::Telemetry;
use crate::error::{ApiError, ApiResult, ErrorKind};
use serde_json::{json, Value};
use sqlx::{Any, Transaction};

/// Why a delivery was refused before its content was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an SNS envelope at all (e.g. a raw SES record): 403, raw delivery carries no signature.
    NotEnvelope,
    /// Missing or bad signature, certificate, fields or time: 400 `invalid_signature`.
    Invalid(String),
    /// Signed, but from a topic not in `CHRONICLE_SNS_TOPIC_ARNS`: 403.
    Topic,
}

/// How a delivery that was not refused went.
#[derive(Debug)]
pub enum Outcome {
    /// Its effect was applied (recorded).
    Applied,
    /// Processed before: nothing written.
    Duplicate,
    /// Acknowledged and kept, with nothing to change (an unknown type or org; the reason of a
    /// dropped engagement event is counted).
    Ignored,
    /// An SNS subscription confirmation, kept for the operator (`server sns confirmations`).
    Subscription,
    Refused(Refusal),
    /// Signed, but not what this webhook takes: 400.
    Unreadable(String),
    Failed(ApiError),
}

impl From<ApiError> for Outcome {
    fn from(err: ApiError) -> Outcome {
        Outcome::Failed(err)
    }
}

impl From<sqlx::Error> for Outcome {
    fn from(err: sqlx::Error) -> Outcome {
        Outcome::Failed(err.into())
    }
}

/// A transaction holding the fresh receipt of `provider`'s `event_id`, or `None` if it was
/// processed before. Whatever the delivery changes commits with it.
pub async fn once(db: &Db, provider: &str, event_id: &str) -> ApiResult<Option<Transaction<'static, Any>>> {
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

/// Counts `outcome` as `chronicle_webhook_requests_total{provider, outcome}` and answers it:
/// the body of a 200, or the error.
pub fn answer(telemetry: &Telemetry, provider: &'static str, name: &str, outcome: Outcome) -> Result<Value, ApiError> {
    let (label, answer) = match outcome {
        Outcome::Applied => ("processed", Ok(json!({ "ok": true }))),
        Outcome::Duplicate => ("duplicate", Ok(json!({ "duplicate": true }))),
        Outcome::Ignored => ("ignored", Ok(json!({ "ok": true, "applied": false }))),
        Outcome::Subscription => ("subscription", Ok(json!({ "ok": true, "subscription": "kept for the operator: `server sns confirmations`" }))),
        Outcome::Refused(Refusal::NotEnvelope) => (
            "not_envelope",
            Err(ApiError::new(ErrorKind::Forbidden, "Only SNS envelopes are accepted (Type, Signature, SigningCertURL); raw message delivery carries no signature.")),
        ),
        Outcome::Refused(Refusal::Topic) => ("topic_refused", Err(ApiError::new(ErrorKind::Forbidden, "This SNS topic is not in CHRONICLE_SNS_TOPIC_ARNS."))),
        Outcome::Refused(Refusal::Invalid(why)) => ("invalid_signature", Err(ApiError::new(ErrorKind::InvalidSignature, format!("The {name} signature was refused: {why}.")))),
        Outcome::Unreadable(why) => ("bad_request", Err(ApiError::new(ErrorKind::BadRequest, why))),
        Outcome::Failed(err) => ("error", Err(err)),
    };
    telemetry.webhook(provider, label);
    answer
}
