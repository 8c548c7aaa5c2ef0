//! Extractors that turn a request into what handlers need, answering bad input with the
//! API's JSON errors instead of axum's plain-text ones.

use app::backend::auth::{self, Caller};
use app::backend::request::client_info;
use app::backend::sessions::ClientInfo;
use app::backend::AppState;
use app::error::{ApiError, ApiResult};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

/// A JSON body; a malformed, oversized or mistyped one gets a clear 4xx.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters; bad ones get a 422 naming the parameter.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// An optional JSON body: none (or `null`) is `None`.
pub fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<Option<T>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<Option<T>>(body).map_err(|e| ApiError::invalid("body", format!("must be JSON: {e}")))
}

/// Path parameters; one that cannot be parsed is a JSON 404, like any path naming nothing.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The authenticated caller; 401 without valid credentials.
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        auth::require_caller(&state.db, &parts.headers).await.map(Authenticated)
    }
}

/// Where the request came from.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Client(client_info(&parts.headers, peer, &state.config)))
    }
}
