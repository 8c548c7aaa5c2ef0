//! The signed-in person's own account: password and deletion (a session, never a key).

use super::{ApiJson, Authenticated, Client};
use app::backend::{account, sessions, AppState};
use app::error::ApiResult;
use axum::extract::State;
use axum::http::{header::SET_COOKIE, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(
    post,
    operation_id = "changePassword",
    path = "/me/password",
    summary = "Change the password: signs out other sessions, revokes personal keys",
    request_body = PasswordBody,
    responses((status = 204, description = "No content"), super::Failure)
)]
/// 204; the other sessions are signed out and the personal keys revoked.
pub async fn change_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let by = state.acting(&caller, &client);
    account::change_password(&state.db, &caller, &body.current_password, &body.new_password, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    current_password: Option<String>,
}

#[utoipa::path(
    delete,
    operation_id = "deleteAccount",
    path = "/me",
    summary = "Delete the account (409 for the last owner of an org)",
    request_body = DeleteBody,
    responses((status = 204, description = "No content"), super::Failure)
)]
/// 204 and the cookie cleared; 409 while the caller is the last owner of an org.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<DeleteBody>,
) -> ApiResult<impl IntoResponse> {
    let by = state.acting(&caller, &client);
    account::delete_account(&state.db, &caller, body.current_password.as_deref(), &by).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, sessions::clear_cookie(&headers, &state.config))]))
}
