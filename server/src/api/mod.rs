//! REST API v1: the door for CI jobs, SIEMs and scripts. Handlers are thin — extract, check
//! the role, call the same backend functions the server functions call.

mod account;
mod audit;
mod auth;
mod extract;
mod keys;
mod members;
mod workflows;

pub use extract::{ApiJson, ApiQuery, Authenticated, Client};

use app::backend::AppState;
use app::error::ApiError;
use axum::routing::{delete, get, patch, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me).delete(account::delete))
        .route("/me/password", post(account::change_password))
        .route("/me/api-keys", get(keys::list_mine).post(keys::create_mine))
        .route("/me/api-keys/activity", get(keys::activity_mine))
        .route("/me/api-keys/{id}", delete(keys::revoke_mine))
        .route("/orgs/{org}/audit", get(audit::list))
        .route("/orgs/{org}/audit/export", get(audit::export))
        .route("/orgs/{org}/api-keys", get(keys::list_org).post(keys::create_org))
        .route("/orgs/{org}/api-keys/activity", get(keys::activity_org))
        .route("/orgs/{org}/api-keys/{id}", delete(keys::revoke_org))
        .route("/orgs/{org}/members", get(members::list))
        .route("/orgs/{org}/members/{user_id}", patch(members::change_role).delete(members::remove))
        .route("/orgs/{org}/workflows", get(workflows::list).post(workflows::create))
        .route("/orgs/{org}/workflows/{id}", get(workflows::get).put(workflows::update).delete(workflows::delete))
        .route("/orgs/{org}/workflows/{id}/history", get(workflows::history))
        .route("/orgs/{org}/workflows/{id}/diff", get(workflows::diff))
        .route("/orgs/{org}/workflows/{id}/restore", post(workflows::restore))
        .fallback(|| async { ApiError::not_found("Endpoint") })
}
