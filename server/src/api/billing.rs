//! `POST /webhooks/billing`: Stripe-signed billing events, processed exactly once.

use app::backend::{webhooks, AppState};
use app::error::ApiError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

#[utoipa::path(
    post,
    operation_id = "receiveBillingWebhook",
    path = "/webhooks/billing",
    summary = "Billing events (Stripe's scheme): the Stripe-Signature header is verified before the body is read; each event id processed once",
    request_body(content = serde_json::Value, description = "A Stripe event"),
    responses((status = 200, description = "Processed, or `{\"duplicate\": true}` for a redelivery", body = serde_json::Value), super::Failure)
)]
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, ApiError> {
    let secrets = &state.config.billing_webhook_secrets;
    let outcome = webhooks::billing::receive(&state.db, &state.audit, secrets, &headers, &body, chrono::Utc::now().timestamp()).await;
    webhooks::answer(&state.telemetry, "billing", "billing", outcome).map(Json)
}
