//! `POST /webhooks/billing`: Stripe-signed billing events, processed exactly once.

use app::backend::billing::{self, Processed};
use app::backend::AppState;
use app::error::{ApiError, ErrorKind};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[utoipa::path(
    post,
    operation_id = "receiveBillingWebhook",
    path = "/webhooks/billing",
    summary = "Billing events (Stripe's scheme): the Stripe-Signature header is verified before the body is read; each event id processed once",
    request_body(content = serde_json::Value, description = "A Stripe event"),
    responses((status = 200, description = "Processed, or `{\"duplicate\": true}` for a redelivery", body = serde_json::Value), super::Failure)
)]
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let count = |outcome: &'static str| state.telemetry.webhook("billing", outcome);
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    if let Err(why) = billing::verify_signature(signature, &body, &state.config.billing_webhook_secrets, chrono::Utc::now().timestamp()) {
        count("invalid_signature");
        return ApiError::new(ErrorKind::InvalidSignature, format!("The billing signature was refused: {why}.")).into_response();
    }
    match billing::process(&state.db, &state.audit, &body).await {
        Ok(Processed::Applied) => {
            count("processed");
            Json(json!({ "ok": true })).into_response()
        }
        Ok(Processed::Duplicate) => {
            count("duplicate");
            Json(json!({ "duplicate": true })).into_response()
        }
        Ok(Processed::Ignored) => {
            count("ignored");
            Json(json!({ "ok": true, "applied": false })).into_response()
        }
        Err(err) => {
            count(if err.status() < 500 { "bad_request" } else { "error" });
            err.into_response()
        }
    }
}
