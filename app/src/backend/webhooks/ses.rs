//! SES events delivered through a verified SNS envelope: each SNS `MessageId` processed once
//! (a receipt row commits with whatever the message recorded), SES types mapped onto the
//! allowlist, the event time taken from the record itself, the message's `chronicle_code`
//! tag read as any tracking code (`source="ses"`).

use super::sns::{Envelope, Verifier};
use super::Outcome;
use crate::backend::tracking::codes::{Keys, Read};
use crate::backend::tracking::events::{self, NewEngagement};
use crate::backend::db::{format_time, now, Db};
use crate::backend::telemetry::Telemetry;
use crate::error::ApiResult;
use serde_json::{json, Value};

/// `(SES type, its record's key, allowlisted event)`.
const TYPES: [(&str, &str, &str); 8] = [
    ("Send", "send", "$workflows_email_sent"),
    ("Delivery", "delivery", "$workflows_email_delivered"),
    ("Open", "open", "$workflows_email_opened"),
    ("Click", "click", "$workflows_email_link_clicked"),
    ("Bounce", "bounce", "$workflows_email_bounced"),
    ("Complaint", "complaint", "$workflows_email_blocked"),
    ("Reject", "reject", "$workflows_email_blocked"),
    ("Rendering Failure", "failure", "$workflows_email_failed"),
];

/// A delivery: its SNS envelope verified at `now`, then processed once. A Message that is not
/// an SES event is unreadable, and nothing is written then.
pub async fn receive(db: &Db, telemetry: &Telemetry, keys: &Keys, sns: &Verifier, body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Outcome {
    let envelope = match sns.verify(body, now).await {
        Ok(envelope) => envelope,
        Err(refusal) => return Outcome::Refused(refusal),
    };
    let kind = envelope.field("Type").unwrap_or_default();
    let record = match kind {
        "Notification" => match ses_record(envelope.field("Message").unwrap_or_default()) {
            Ok(record) => Some(record),
            Err(why) => return Outcome::Unreadable(why),
        },
        _ => None,
    };
    write(db, telemetry, keys, &envelope, kind, record).await.unwrap_or_else(Outcome::Failed)
}

/// An SES event (event publishing's `eventType`, or a notification's `notificationType`).
fn ses_record(message: &str) -> Result<Value, String> {
    let record: Value = serde_json::from_str(message).map_err(|_| "Message is not SES event JSON".to_owned())?;
    let typed = record.get("eventType").or_else(|| record.get("notificationType")).is_some_and(Value::is_string);
    if !typed || !record.get("mail").is_some_and(Value::is_object) {
        return Err("Message is not an SES event (it needs eventType or notificationType, and mail)".into());
    }
    Ok(record)
}

async fn write(db: &Db, telemetry: &Telemetry, keys: &Keys, envelope: &Envelope, kind: &str, record: Option<Value>) -> ApiResult<Outcome> {
    let message_id = envelope.field("MessageId").unwrap_or_default();
    let Some(mut tx) = super::once(db, "ses", message_id).await? else { return Ok(Outcome::Duplicate) };
    let processed = match (kind, record) {
        ("SubscriptionConfirmation", _) => {
            sqlx::query("INSERT INTO sns_subscriptions (message_id, topic_arn, subscribe_url, received_at) VALUES ($1, $2, $3, $4)")
                .bind(message_id)
                .bind(envelope.field("TopicArn").unwrap_or_default())
                .bind(envelope.field("SubscribeURL").unwrap_or_default())
                .bind(now())
                .execute(&mut *tx)
                .await?;
            Outcome::Subscription
        }
        (_, Some(record)) => match engagement(telemetry, keys, &record) {
            // An unsigned code proves nothing: it counts only for a message that org's outbox
            // really sent (as for `/t/c/`).
            Some((event, Signed::No)) if !sent_by(&mut tx, &event).await? => {
                telemetry.event_dropped("unknown_message");
                Outcome::Ignored
            }
            Some((event, _)) if events::record(&mut tx, telemetry, &event).await? => Outcome::Applied,
            _ => Outcome::Ignored,
        },
        _ => Outcome::Ignored,
    };
    tx.commit().await?;
    Ok(processed)
}

/// Whether a record's tracking code was signed.
enum Signed {
    Yes,
    No,
}

/// Whether the message an event names went out through its org's outbox.
async fn sent_by(tx: &mut sqlx::Transaction<'_, sqlx::Any>, event: &NewEngagement) -> ApiResult<bool> {
    let Some(message_id) = &event.message_id else { return Ok(false) };
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM outbox WHERE id = $1 AND org_id = $2 AND status = 'sent'")
        .bind(message_id)
        .bind(&event.org_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// The engagement event an SES record stands for, or `None` (counted) when it stands for none.
fn engagement(telemetry: &Telemetry, keys: &Keys, record: &Value) -> Option<(NewEngagement, Signed)> {
    let ses_type = record.get("eventType").or_else(|| record.get("notificationType")).and_then(Value::as_str).unwrap_or_default();
    let Some(&(_, key, event)) = TYPES.iter().find(|(t, _, _)| *t == ses_type) else {
        telemetry.event_dropped("unknown_ses_type");
        return None;
    };
    let mail = &record["mail"];
    let code = mail["tags"]["chronicle_code"][0].as_str().map(str::to_owned).or_else(|| header(mail, "X-Chronicle-Tracking-Code"));
    let Some(code) = code else {
        telemetry.event_dropped("no_tracking_code");
        return None;
    };
    let read = keys.read(&code);
    telemetry.code_read(read.format(), "ses");
    let (payload, signed) = match read {
        Read::Signed(p) => (p, Signed::Yes),
        Read::Unsigned(p) => (p, Signed::No),
        Read::Invalid => {
            telemetry.event_dropped("invalid_tracking_code");
            return None;
        }
    };
    let detail = &record[key];
    // When it happened: the record's own time, else the mail's; the notification's never.
    let occurred_at = [&detail["timestamp"], &mail["timestamp"]]
        .iter()
        .find_map(|t| t.as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
        .map_or_else(now, |t| format_time(t.with_timezone(&chrono::Utc)));
    let to = mail["destination"][0].as_str().map(str::to_owned);
    let mut properties = json!({ "$workflow_id": payload.w, "$messaging_source": "ses" });
    if let Some(to) = &to {
        properties["$email_to"] = json!(to);
    }
    if matches!(event, "$workflows_email_sent" | "$workflows_email_failed") {
        if let Some(subject) = mail["commonHeaders"]["subject"].as_str() {
            properties["$email_subject"] = json!(subject);
        }
    }
    if event == "$workflows_email_link_clicked" {
        properties["$link_url"] = json!(payload.u.as_deref().or(detail["link"].as_str()));
    }
    let event = NewEngagement {
        org_id: payload.o,
        event: event.to_owned(),
        distinct_id: if payload.d.is_empty() { to.unwrap_or_default() } else { payload.d },
        workflow_id: Some(payload.w).filter(|w| !w.is_empty()),
        execution_id: Some(payload.x).filter(|x| !x.is_empty()),
        message_id: Some(payload.m),
        properties,
        occurred_at,
    };
    Some((event, signed))
}

fn header(mail: &Value, name: &str) -> Option<String> {
    mail["headers"].as_array()?.iter().find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))?["value"].as_str().map(str::to_owned)
}

/// Subscription confirmations received, newest first (owners confirm them by opening the URL).
pub async fn subscriptions(db: &Db) -> ApiResult<Vec<crate::model::SnsSubscription>> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT message_id, topic_arn, subscribe_url, received_at FROM sns_subscriptions ORDER BY received_at DESC LIMIT 20").fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(|r| crate::model::SnsSubscription { message_id: r.0, topic_arn: r.1, subscribe_url: r.2, received_at: r.3 }).collect())
}
