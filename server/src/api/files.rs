//! Org files, the storage meter, public links, workflow export: the exfiltration trail's doors.

use super::workflows::ListQuery;
use super::{ApiPath, ApiQuery, Authenticated, Client};
use app::backend::access::{require, Access};
use app::backend::files::{self, Upload};
use app::backend::{workflows, AppState};
use app::error::{ApiError, ApiResult};
use app::model::{Actor, FileList, FileShare, OrgFile, Usage};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameQuery {
    #[param(value_type = app::backend::schema::FileName, inline)]
    name: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "uploadFile",
    path = "/orgs/{org}/files",
    summary = "Upload a file (the raw body; ?name=); the org's storage grows in the same transaction",
    params(("org" = String, Path, description = "Organisation id"), NameQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "{id, name, size, sha256, created_by, created_at}", body = serde_json::Value), super::Failure)
)]
pub async fn upload(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiPath(org): ApiPath<String>,
    ApiQuery(query): ApiQuery<NameQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<OrgFile>)> {
    require(&caller, &org, Access::WRITE_FILES)?;
    let announced = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let upload = Upload { org_id: &org, name: query.name.as_deref().unwrap_or_default(), announced, max_file_bytes: state.config.max_file_bytes };
    let file = files::upload(&state.db, &state.blobs, upload, body, &state.acting(&caller, &client)).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

#[utoipa::path(
    get,
    operation_id = "listFiles",
    path = "/orgs/{org}/files",
    summary = "The org's files, newest first",
    params(("org" = String, Path, description = "Organisation id"), ListQuery),
    responses((status = 200, description = "{files, next_cursor}", body = serde_json::Value), super::Failure)
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<FileList>> {
    require(&caller, &org, Access::READ_FILES)?;
    let (files, next_cursor) = files::list(&state.db, &org, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(FileList { files, next_cursor }))
}

#[utoipa::path(
    get,
    operation_id = "downloadFile",
    path = "/orgs/{org}/files/{id}/content",
    summary = "Download a file (streamed; audited as file.downloaded)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The contents"), super::Failure)
)]
pub async fn content(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<Response> {
    require(&caller, &org, Access::READ_FILES)?;
    let file = files::get(&state.db, &org, &id).await?;
    let contents = files::open(&state.blobs, &file).await?;
    files::record_download(&org, &file, caller.actor(), &client, &state.audit, false).await;
    Ok(stream(&file, contents))
}

/// A file as a download: its type, its name (RFC 6266, UTF-8 names included), its bytes.
fn stream(file: &OrgFile, contents: tokio::fs::File) -> Response {
    let ascii: String = file.name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = file.name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(contents, 256 * 1024)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size as u64));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[utoipa::path(
    delete,
    operation_id = "deleteFile",
    path = "/orgs/{org}/files/{id}",
    summary = "Delete a file (its size subtracted once; a second delete is a 404)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "File id")),
    responses((status = 204, description = "Deleted"), super::Failure)
)]
pub async fn delete(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<StatusCode> {
    require(&caller, &org, Access::WRITE_FILES)?;
    files::delete(&state.db, &state.blobs, &org, &id, &state.acting(&caller, &client)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "shareFile",
    path = "/orgs/{org}/files/{id}/share",
    summary = "Create a public link /s/{token} (shown once; owner/admin)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "File id")),
    responses((status = 201, description = "{id, url, created_at}", body = serde_json::Value), super::Failure)
)]
pub async fn share(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<(StatusCode, Json<FileShare>)> {
    require(&caller, &org, Access::SHARE_FILES)?;
    let share = files::share(&state.db, &org, &id, &state.public_base, &state.acting(&caller, &client)).await?;
    Ok((StatusCode::CREATED, Json(share)))
}

#[utoipa::path(
    delete,
    operation_id = "revokeFileShare",
    path = "/orgs/{org}/files/{id}/share",
    summary = "Revoke the file's public links (they answer 404 from then on)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "File id")),
    responses((status = 200, description = "{revoked}", body = serde_json::Value), super::Failure)
)]
pub async fn revoke_share(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<Json<serde_json::Value>> {
    require(&caller, &org, Access::SHARE_FILES)?;
    let revoked = files::revoke_shares(&state.db, &org, &id, &state.acting(&caller, &client)).await?;
    Ok(Json(serde_json::json!({ "revoked": revoked })))
}

#[utoipa::path(
    get,
    operation_id = "downloadSharedFile",
    path = "/s/{token}",
    summary = "A public link: the file, to anyone with the link (audited with the visitor's address)",
    params(("token" = String, Path, description = "The link's token")),
    responses((status = 200, description = "The contents"), super::Failure)
)]
pub async fn public_link(State(state): State<AppState>, Client(client): Client, ApiPath(token): ApiPath<String>) -> ApiResult<Response> {
    let (org, file) = files::resolve_share(&state.db, &token).await?;
    let contents = files::open(&state.blobs, &file).await?;
    let visitor = Actor { kind: "anonymous".into(), id: None, label: "Public link".into(), name: None, email: None };
    files::record_download(&org, &file, visitor, &client, &state.audit, true).await;
    Ok(stream(&file, contents))
}

#[utoipa::path(
    get,
    operation_id = "getUsage",
    path = "/orgs/{org}/usage",
    summary = "Storage used and quota, file count, plan and billing status (owner/admin)",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, description = "{storage_used_bytes, storage_quota_bytes, files, plan, billing_status, seats}", body = serde_json::Value), super::Failure)
)]
pub async fn usage(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiPath(org): ApiPath<String>) -> ApiResult<Json<Usage>> {
    require(&caller, &org, Access::READ_USAGE)?;
    Ok(Json(files::usage(&state.db, &org).await?))
}

#[utoipa::path(
    get,
    operation_id = "exportWorkflow",
    path = "/orgs/{org}/workflows/{id}/export",
    summary = "The workflow as a JSON download (audited as workflow.exported)",
    params(("org" = String, Path, description = "Organisation id"), ("id" = String, Path, description = "Workflow id")),
    responses((status = 200, description = "The workflow JSON", body = serde_json::Value), super::Failure)
)]
pub async fn export_workflow(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath((org, id)): ApiPath<(String, String)>) -> ApiResult<Response> {
    require(&caller, &org, Access::READ_WORKFLOWS)?;
    let workflow = workflows::get(&state.db, &org, &id).await?;
    let by = state.acting(&caller, &client);
    let meta = serde_json::json!({ "name": workflow.name, "version": workflow.version, "content_hash": workflow.content_hash });
    by.audit.record(app::backend::audit::NewEvent::new(Some(&org), "workflow.exported", by.actor.clone(), "workflow", Some(&id)).metadata(meta).client(&client)).await;
    let body = serde_json::to_vec_pretty(&workflow).map_err(|_| ApiError::internal())?;
    let slug: String = workflow.name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let disposition = format!("attachment; filename=\"{}-v{}.json\"", slug.trim_matches('-'), workflow.version);
    Ok((
        [(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}
