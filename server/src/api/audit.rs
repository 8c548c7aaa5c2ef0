use super::workflows::ListQuery;
use super::{ApiPath, ApiJson, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::audit::export::{self, Format};
use app::backend::audit::store::{self, Filter};
use app::backend::audit::streams;
use app::backend::{cursor, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{AuditPage, AuditQuery};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[utoipa::path(
    get,
    operation_id = "listAuditEvents",
    path = "/orgs/{org}/audit",
    summary = "The org's audit trail, newest first",
    params(("org" = String, Path, description = "Organisation id"), AuditQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
/// The org's audit trail, newest first (owner/admin, or a key with `audit:read`).
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    require(&caller, &org, Access::READ_AUDIT)?;
    store::list(&state.db, Some(&org), &Filter::from_query(&q)?, q.limit, q.cursor.as_deref()).await.map(Json)
}

/// The explorer's filters plus `format`; no paging: an export is the whole filtered trail.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    #[param(value_type = Option<app::backend::schema::ExportFormat>, inline)]
    format: Option<String>,
    action: Option<String>,
    actor_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    #[param(value_type = Option<app::backend::schema::Instant>, inline)]
    since: Option<String>,
    #[param(value_type = Option<app::backend::schema::Instant>, inline)]
    until: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "exportAuditEvents",
    path = "/orgs/{org}/audit/export",
    summary = "The filtered trail as a streamed file (format=csv|jsonl|ocsf)",
    params(("org" = String, Path, description = "Organisation id"), ExportQuery),
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
/// The filtered trail as a streamed CSV, JSON Lines or OCSF 1.5.0 file; the export is itself audited.
pub async fn export(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    require(&caller, &org, Access::READ_AUDIT)?;
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => Format::Csv,
        "jsonl" => Format::Jsonl,
        "ocsf" => Format::Ocsf,
        other => return Err(ApiError::invalid("format", format!("must be csv, jsonl or ocsf, not \"{other}\""))),
    };
    let query = AuditQuery {
        action: q.action, actor_id: q.actor_id, resource_type: q.resource_type, resource_id: q.resource_id,
        since: q.since, until: q.until, limit: None, cursor: None,
    };
    let by = state.acting(&caller, &client);
    let stream = export::start(state.db.clone(), org.clone(), &query, format, by.actor, client, state.audit.clone()).await?;
    let filename = format!("audit-{}.{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"), format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(
    get,
    operation_id = "verifyAuditTrail",
    path = "/orgs/{org}/audit/verify",
    summary = "Seal what is stored, then check the org's hash chain and signed checkpoints",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "{ok, events_checked, checkpoints_checked, first_bad_seq, reason}", body = serde_json::Value), super::Failure)
)]
pub async fn verify(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<app::backend::audit::verify::Report>> {
    require(&caller, &org, Access::READ_AUDIT)?;
    let by = state.acting(&caller, &client);
    Ok(Json(app::backend::audit::verify::verify_recorded(&state.jobs, &state.config.signing_key, &org, &by).await?))
}

#[derive(serde::Serialize)]
pub struct CheckpointList {
    checkpoints: Vec<app::backend::audit::seal::Checkpoint>,
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listAuditCheckpoints",
    path = "/orgs/{org}/audit/checkpoints",
    summary = "The org's signed checkpoints, oldest first",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{checkpoints:[{org_id, seq, hash, created_at, key_id, signature}], next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn checkpoints(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<CheckpointList>> {
    require(&caller, &org, Access::READ_AUDIT)?;
    let all = app::backend::audit::seal::checkpoints(&state.db, Some(&org)).await?;
    // Zero-padded, so the text order is the number order.
    let (checkpoints, next_cursor) = cursor::page(all, |c| [format!("{:020}", c.seq), c.hash.clone()], true, q.limit, q.cursor.as_deref())?;
    Ok(Json(CheckpointList { checkpoints, next_cursor }))
}

#[utoipa::path(
    post,
    operation_id = "createAuditCheckpoint",
    path = "/orgs/{org}/audit/checkpoints",
    summary = "Seal what is stored and sign a checkpoint of the org's chain now (owner/admin)",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 201, description = "The checkpoint", body = serde_json::Value), super::Failure)
)]
pub async fn create_checkpoint(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiPath(org): ApiPath<String>) -> ApiResult<(axum::http::StatusCode, Json<app::backend::audit::seal::Checkpoint>)> {
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let checkpoint = app::backend::audit::seal::checkpoint_now(&state.jobs, &state.config.signing_key, &org).await?;
    Ok((axum::http::StatusCode::CREATED, Json(checkpoint)))
}

#[utoipa::path(
    get,
    operation_id = "getAuditSigningKey",
    path = "/audit/signing-key",
    summary = "The public key that signs audit checkpoints (Ed25519)",
    responses((status = 200, description = "{key_id, public_key (base64, 32 bytes), pem}", body = serde_json::Value))
)]
pub async fn signing_key(State(state): State<AppState>) -> Json<serde_json::Value> {
    let key = &state.config.signing_key;
    Json(serde_json::json!({ "key_id": key.key_id(), "public_key": key.public_key_base64(), "pem": key.public_key_pem() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamBody {
    url: String,
    #[schema(value_type = Option<app::backend::schema::StreamFormat>)]
    format: Option<String>,
}

#[derive(serde::Serialize)]
pub struct StreamList {
    streams: Vec<app::model::AuditStream>,
    next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "listAuditStreams",
    path = "/orgs/{org}/audit/streams",
    summary = "The org's audit streams, with lag, last success and last error (owner/admin)",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{streams:[…], next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list_streams(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<StreamList>> {
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let all = streams::list(&state.db, &org).await?;
    let (streams, next_cursor) = cursor::page(all, |s| [s.created_at.clone(), s.id.clone()], true, q.limit, q.cursor.as_deref())?;
    Ok(Json(StreamList { streams, next_cursor }))
}

#[utoipa::path(
    post,
    operation_id = "createAuditStream",
    path = "/orgs/{org}/audit/streams",
    summary = "Stream the org's trail to a URL, signed per Standard Webhooks (owner/admin); the secret is shown once",
    params(("org" = String, Path, description = "Organisation id")),
    request_body = StreamBody,
    responses((status = 201, description = "{stream, secret}", body = serde_json::Value), super::Failure)
)]
pub async fn create_stream(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<StreamBody>,
) -> ApiResult<(axum::http::StatusCode, Json<serde_json::Value>)> {
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let by = state.acting(&caller, &client);
    let (stream, secret) = streams::create(&state.db, &state.config, &org, &body.url, body.format.as_deref().unwrap_or("json"), &by).await?;
    Ok((axum::http::StatusCode::CREATED, Json(serde_json::json!({ "stream": stream, "secret": secret }))))
}

#[utoipa::path(
    delete,
    operation_id = "deleteAuditStream",
    path = "/orgs/{org}/audit/streams/{id}",
    summary = "Stop and remove a stream (owner/admin)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Stream id")),
    responses((status = 204, description = "Deleted"), super::Failure)
)]
pub async fn delete_stream(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    streams::delete(&state.db, &org, &id, &state.acting(&caller, &client)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "testAuditStream",
    path = "/orgs/{org}/audit/streams/{id}/test",
    summary = "Send a signed test event to the stream now (not part of the trail)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Stream id")),
    responses((status = 200, description = "{ok, error}", body = serde_json::Value), super::Failure)
)]
pub async fn test_stream(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath((org, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    require(&caller, &org, Access::MANAGE_AUDIT)?;
    let http = app::backend::executions::egress::client(state.config.egress_allow_private);
    let result = streams::send_test(&state.db, &state.config, &http, &org, &id, &state.acting(&caller, &client)).await?;
    Ok(Json(serde_json::json!({ "ok": result.is_ok(), "error": result.err() })))
}
