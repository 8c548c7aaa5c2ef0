//! The public doors of email tracking: the open pixel, tracked links, and SES notifications
//! through SNS. No session is looked up on any of them; each answers from the code or the
//! signature alone, and none can be made to fail with a 500 by its input.

use app::backend::tracking::codes::Read;
use app::backend::tracking::ingest::{self, Hit};
use app::backend::{webhooks, AppState};
use app::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

#[utoipa::path(
    get,
    operation_id = "trackOpen",
    path = "/t/o/{code}",
    summary = "Open pixel: always a 1×1 GIF; a valid code records an open (orgs that record engagement)",
    params(("code" = String, Path, description = "Tracking code")),
    responses((status = 200, description = "image/gif"))
)]
pub async fn open(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let read = state.tracking.keys.read(&code);
    state.telemetry.code_read(read.format(), "tracking");
    if let Read::Signed(payload) | Read::Unsigned(payload) = &read {
        let unsigned = matches!(read, Read::Unsigned(_));
        state.tracking.ingest.hit(Hit { payload: payload.clone(), unsigned, clicked: None, at: app::backend::db::now() });
    }
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store, max-age=0")], PIXEL).into_response()
}

#[utoipa::path(
    get,
    operation_id = "trackClick",
    path = "/t/c/{code}",
    summary = "Tracked link: 302 to the code's signed target (a legacy code: only to a link its message contains), else 404",
    params(("code" = String, Path, description = "Tracking code")),
    responses((status = 302, description = "To the link's target"), super::Failure)
)]
pub async fn click(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let read = state.tracking.keys.read(&code);
    state.telemetry.code_read(read.format(), "tracking");
    // The target always comes from a signature or from the stored message, never from the
    // request alone: no open redirect.
    let (payload, target, unsigned) = match read {
        Read::Signed(p) => {
            let target = p.u.clone();
            (p, target, false)
        }
        Read::Unsigned(p) => {
            let target = ingest::stored_link(&state.db, &p).await;
            (p, target, true)
        }
        Read::Invalid => return ApiError::not_found("Link").into_response(),
    };
    let Some(target) = target else { return ApiError::not_found("Link").into_response() };
    state.tracking.ingest.hit(Hit { payload, unsigned, clicked: Some(target.clone()), at: app::backend::db::now() });
    (StatusCode::FOUND, [(header::LOCATION, target.as_str()), (header::CACHE_CONTROL, "no-store")]).into_response()
}

#[utoipa::path(
    post,
    operation_id = "receiveSesWebhook",
    path = "/webhooks/ses",
    summary = "SES events through SNS: the envelope's signature is verified first; each MessageId processed once",
    request_body(content = serde_json::Value, content_type = "text/plain", description = "An SNS envelope (Notification or SubscriptionConfirmation)"),
    responses(
        (status = 200, description = "Processed, or `{\"duplicate\": true}` for a redelivery"),
        super::Failure
    )
)]
pub async fn ses_webhook(State(state): State<AppState>, body: Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let outcome = webhooks::ses::receive(&state.db, &state.telemetry, &state.tracking.keys, &state.tracking.sns, &body, chrono::Utc::now()).await;
    webhooks::answer(&state.telemetry, "ses", "SNS", outcome).map(Json)
}
