//! Billing, as the provider tells it: `POST /webhooks/billing` in Stripe's scheme. The
//! `Stripe-Signature` header is verified before the body is parsed; each provider event id is
//! processed once (`webhooks::once`). Effects: the org's plan, quota, seats and billing
//! status (`backend/plans`). Recorded as `billing.*` by the system actor "Billing webhook",
//! with the provider's event time; recording never fails the processing.

use super::{Outcome, Refusal};
use crate::backend::audit::{NewEvent, Recorder};
use crate::backend::db::{format_time, Db};
use crate::backend::plans::{plan_quota, PLANS};
use crate::error::ApiResult;
use crate::model::Actor;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// How far `t` may be from now.
pub const TOLERANCE_SECS: i64 = 300;

/// Checks `Stripe-Signature: t=…,v1=…[,v1=…]` against every secret: HMAC-SHA256 of
/// `t.body`, any `v1` may match, compared in constant time, `t` within the tolerance of `now`
/// (seconds); answers `t`.
pub fn verify(headers: &HeaderMap, body: &[u8], secrets: &[String], now: i64) -> Result<i64, Refusal> {
    verify_header(headers.get("stripe-signature").and_then(|v| v.to_str().ok()), body, secrets, now).map_err(|why| Refusal::Invalid(why.into()))
}

fn verify_header(header: Option<&str>, body: &[u8], secrets: &[String], now: i64) -> Result<i64, &'static str> {
    let header = header.ok_or("the Stripe-Signature header is missing")?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = timestamp.ok_or("the signature has no timestamp")?;
    if signatures.is_empty() {
        return Err("the signature has no v1 entry");
    }
    // `abs_diff`: a timestamp at either end of i64 must not overflow the subtraction.
    if now.abs_diff(t) > TOLERANCE_SECS.unsigned_abs() {
        return Err("the signature's timestamp is more than 5 minutes away");
    }
    if secrets.is_empty() {
        return Err("no billing webhook secret is configured (CHRONICLE_BILLING_WEBHOOK_SECRETS)");
    }
    let matches = secrets.iter().any(|secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time.
        signatures.iter().any(|s| mac.clone().verify_slice(s).is_ok())
    });
    if matches { Ok(t) } else { Err("no signature matches") }
}

/// A delivery, verified and then applied once: a body that is not an event (no string `id`
/// and `type`) is unreadable; anything else is acknowledged.
pub async fn receive(db: &Db, audit: &Recorder, secrets: &[String], headers: &HeaderMap, body: &[u8], now: i64) -> Outcome {
    if let Err(refusal) = verify(headers, body, secrets, now) {
        return Outcome::Refused(refusal);
    }
    process(db, audit, body).await.unwrap_or_else(|outcome| outcome)
}

fn actor() -> Actor {
    Actor::system("Billing webhook")
}

/// The org state billing changes.
#[derive(Debug, Clone, PartialEq)]
struct OrgBilling {
    plan: String,
    storage_quota_bytes: Option<i64>,
    seats: Option<i64>,
    billing_status: String,
}

impl OrgBilling {
    fn to_json(&self) -> Value {
        json!({ "plan": self.plan, "storage_quota_bytes": self.storage_quota_bytes.unwrap_or_else(|| plan_quota(&self.plan)), "seats": self.seats, "billing_status": self.billing_status })
    }
}

async fn process(db: &Db, audit: &Recorder, body: &[u8]) -> Result<Outcome, Outcome> {
    let event: Value = serde_json::from_slice(body).map_err(|_| Outcome::Unreadable("The body is not JSON.".into()))?;
    let field = |name: &str| event.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
    let (Some(id), Some(kind)) = (field("id"), field("type")) else {
        return Err(Outcome::Unreadable("The event needs a string id and type.".into()));
    };
    let object = &event["data"]["object"];
    let occurred = event["created"].as_i64().and_then(|t| chrono::DateTime::from_timestamp(t, 0)).map(format_time);
    let Some(mut tx) = super::once(db, "billing", id).await? else { return Ok(Outcome::Duplicate) };
    let subscription_id = match kind {
        k if k.starts_with("customer.subscription.") => object["id"].as_str(),
        _ => object["subscription"].as_str().or_else(|| object["subscription"]["id"].as_str()),
    };
    let org_id = org_of(&mut tx, object, subscription_id).await?;
    let before = match &org_id {
        Some(org) => {
            let row: Option<(String, Option<i64>, Option<i64>, String)> =
                sqlx::query_as("SELECT plan, storage_quota_bytes, seats, billing_status FROM orgs WHERE id = $1").bind(org).fetch_optional(&mut *tx).await?;
            row.map(|r| OrgBilling { plan: r.0, storage_quota_bytes: r.1, seats: r.2, billing_status: r.3 })
        }
        None => None,
    };
    let (action, after) = match (kind, &before) {
        ("customer.subscription.created" | "customer.subscription.updated", Some(b)) => ("billing.subscription_changed", Some(subscription_state(object, b))),
        ("customer.subscription.deleted", Some(_)) => (
            "billing.subscription_changed",
            Some(OrgBilling { plan: "free".into(), storage_quota_bytes: None, seats: None, billing_status: "active".into() }),
        ),
        ("invoice.paid", Some(b)) => ("billing.invoice_paid", Some(OrgBilling { billing_status: "active".into(), ..b.clone() })),
        ("invoice.payment_failed", Some(b)) => ("billing.payment_failed", Some(OrgBilling { billing_status: "past_due".into(), ..b.clone() })),
        ("charge.dispute.created", _) => ("billing.dispute_created", before.clone()),
        ("customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted", None) => ("billing.subscription_changed", None),
        ("invoice.paid", None) => ("billing.invoice_paid", None),
        ("invoice.payment_failed", None) => ("billing.payment_failed", None),
        _ => {
            tx.commit().await?;
            return Ok(Outcome::Ignored);
        }
    };
    if let (Some(org), Some(after)) = (&org_id, &after) {
        if before.is_some() {
            sqlx::query("UPDATE orgs SET plan = $1, storage_quota_bytes = $2, seats = $3, billing_status = $4 WHERE id = $5")
                .bind(&after.plan)
                .bind(after.storage_quota_bytes)
                .bind(after.seats)
                .bind(&after.billing_status)
                .bind(org)
                .execute(&mut *tx)
                .await?;
            if let (Some(sub), true) = (subscription_id, kind.starts_with("customer.subscription.")) {
                sqlx::query("INSERT INTO billing_subscriptions (subscription_id, org_id) VALUES ($1, $2) ON CONFLICT (subscription_id) DO UPDATE SET org_id = $2")
                    .bind(sub)
                    .bind(org)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    // After the commit: the effect stands whatever happens to its record.
    let known_org = org_id.as_deref().filter(|_| before.is_some());
    let mut metadata = json!({ "event_id": id, "event_type": kind, "provider_created_at": occurred, "subscription_id": subscription_id });
    if known_org.is_none() {
        metadata["org_id_given"] = json!(org_id);
        metadata["note"] = json!("no such organisation: acknowledged, nothing changed");
    }
    if kind == "charge.dispute.created" {
        metadata["amount"] = object["amount"].clone();
        metadata["currency"] = object["currency"].clone();
        metadata["reason"] = object["reason"].clone();
    }
    let mut record = NewEvent::new(known_org, action, actor(), "org", known_org).metadata(metadata);
    if let (Some(b), Some(a)) = (&before, &after) {
        if b != a {
            record = record.changes(&b.to_json(), &a.to_json());
        }
    }
    audit.record(record).await;
    Ok(if known_org.is_some() { Outcome::Applied } else { Outcome::Ignored })
}

/// The org an object names: `metadata.org_id` (its own, or its subscription's as newer API
/// versions nest it), else the org its subscription was recorded for.
async fn org_of(tx: &mut sqlx::Transaction<'_, sqlx::Any>, object: &Value, subscription_id: Option<&str>) -> ApiResult<Option<String>> {
    let named = [
        &object["metadata"]["org_id"],
        &object["subscription_details"]["metadata"]["org_id"],
        &object["parent"]["subscription_details"]["metadata"]["org_id"],
        &object["subscription"]["metadata"]["org_id"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned));
    if named.is_some() {
        return Ok(named);
    }
    let Some(sub) = subscription_id else { return Ok(None) };
    let row: Option<(String,)> = sqlx::query_as("SELECT org_id FROM billing_subscriptions WHERE subscription_id = $1").bind(sub).fetch_optional(&mut **tx).await?;
    Ok(row.map(|r| r.0))
}

/// A subscription's plan, quota, seats and status.
fn subscription_state(object: &Value, before: &OrgBilling) -> OrgBilling {
    let metadata = &object["metadata"];
    let plan = metadata["plan"].as_str().filter(|p| PLANS.iter().any(|(name, _)| name == p)).map_or_else(|| before.plan.clone(), str::to_owned);
    let number = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    let storage_quota_bytes = number(&metadata["storage_quota_bytes"]).filter(|q| *q >= 0);
    let seats = number(&object["quantity"]).or_else(|| number(&object["items"]["data"][0]["quantity"])).or(before.seats);
    let billing_status = match object["status"].as_str() {
        Some("past_due" | "unpaid") => "past_due",
        Some(_) => "active",
        None => before.billing_status.as_str(),
    };
    OrgBilling { plan, storage_quota_bytes, seats, billing_status: billing_status.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn stripe_signatures_are_checked_as_stripe_signs_them() {
        let (body, now) = (br#"{"id":"evt_1"}"#.as_slice(), 1_764_000_000);
        let secrets = vec!["whsec_new".to_owned(), "whsec_old".to_owned()];
        let good = format!("t={now},v1={}", sign("whsec_new", now, body));
        assert_eq!(verify_header(Some(&good), body, &secrets, now), Ok(now));
        let rotated = format!("t={now},v1={}", sign("whsec_old", now, body));
        assert!(verify_header(Some(&rotated), body, &secrets, now + 299).is_ok(), "an old secret still verifies");
        let second = format!("t={now},v1={},v1={}", "00".repeat(32), sign("whsec_new", now, body));
        assert!(verify_header(Some(&second), body, &secrets, now).is_ok(), "any v1 may match");
        for (header, at) in [
            (format!("t={now},v1={}", sign("whsec_wrong", now, body)), now),
            (good.clone(), now + 301),
            (good.clone(), now - 301),
            (format!("t={now},v0={}", sign("whsec_new", now, body)), now),
            (format!("v1={}", sign("whsec_new", now, body)), now),
            ("garbage".to_owned(), now),
            (format!("t={},v1={}", i64::MIN, sign("whsec_new", i64::MIN, body)), now),
            (format!("t={},v1={}", i64::MAX, sign("whsec_new", i64::MAX, body)), now),
        ] {
            assert!(verify_header(Some(&header), body, &secrets, at).is_err(), "{header} at {at}");
        }
        assert!(verify_header(Some(&good), br#"{"id":"evt_2"}"#, &secrets, now).is_err(), "tampered body");
        assert!(verify_header(None, body, &secrets, now).is_err());
        assert!(verify_header(Some(&good), body, &[], now).is_err(), "no secret configured: nothing verifies");
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", good.parse().unwrap());
        assert_eq!(verify(&headers, body, &secrets, now), Ok(now));
        assert!(matches!(verify(&HeaderMap::new(), body, &secrets, now), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn subscriptions_set_plan_quota_seats_and_status() {
        let before = OrgBilling { plan: "free".into(), storage_quota_bytes: None, seats: None, billing_status: "active".into() };
        let s = subscription_state(&json!({ "status": "active", "quantity": 5, "metadata": { "plan": "team", "storage_quota_bytes": "2048" } }), &before);
        assert_eq!(s, OrgBilling { plan: "team".into(), storage_quota_bytes: Some(2048), seats: Some(5), billing_status: "active".into() });
    }
}
