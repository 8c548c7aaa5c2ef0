use super::{ApiJson, Authenticated, Client};
use app::backend::{auth, sessions, AppState};
use app::error::ApiResult;
use app::model::SessionInfo;
use axum::extract::State;
use axum::http::{header::SET_COOKIE, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(max_length = 254)]
    email: String,
    password: String,
}

#[utoipa::path(
    post,
    operation_id = "login",
    path = "/auth/login",
    summary = "Sign in: the user and their orgs, and the session cookie",
    request_body = LoginBody,
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let (info, token) = auth::login(&state.db, &state.audit, &body.email, &body.password, &client).await?;
    Ok(([(SET_COOKIE, sessions::set_cookie(&token, &headers, &state.config))], Json(info)))
}

#[utoipa::path(
    post,
    operation_id = "logout",
    path = "/auth/logout",
    summary = "Sign out (ends the session, clears the cookie)",
    responses((status = 204, description = "No content"), super::Failure)
)]
/// Ends the session, if there is one; always clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Client(client): Client) -> ApiResult<impl IntoResponse> {
    if let Some(caller) = auth::authenticate(&state.db, &headers).await? {
        auth::logout(&state.db, &state.audit, &caller, &client).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, sessions::clear_cookie(&headers, &state.config))]))
}

#[utoipa::path(
    get,
    operation_id = "getMe",
    path = "/me",
    summary = "The caller: user and orgs",
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn me(Authenticated(caller): Authenticated) -> ApiResult<Json<SessionInfo>> {
    auth::session_info(&caller).map(Json)
}
