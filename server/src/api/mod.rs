//! REST API v1: the door for CI jobs, SIEMs and scripts. Handlers are thin — extract, check
//! the role, call the same backend functions the server functions call.

mod account;
mod audit;
mod auth;
mod billing;
mod contract;
mod executions;
mod extract;
mod files;
mod keys;
mod members;
mod settings;
mod tracking;
mod workflows;

pub use extract::{optional_json, ApiJson, ApiPath, ApiQuery, Authenticated, Client};


use app::backend::AppState;
use app::error::ApiError;
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document's frame; the paths come from the handlers' `#[utoipa::path]` as they are
/// routed below, so a route cannot exist without its entry.
#[derive(OpenApi)]
#[openapi(
    info(title = "Chronicle REST API", version = "1", description = "Version history, audit trail and API keys of a workflow-automation platform. Authenticate with the session cookie from POST /api/v1/auth/login, or `Authorization: Bearer <api key>`."),
)]
struct ApiDoc;

/// What every operation may answer on failure: `{"error": {"code", "message", "field"?}}`
/// with the status of its code (401, 403, 404, 409, 413, 422, 429).
#[derive(utoipa::IntoResponses)]
#[response(status = "4XX")]
struct Failure;

static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();

/// The OpenAPI 3.1 document of every route of this API.
#[utoipa::path(get, operation_id = "getOpenApiDocument", path = "/openapi.json", summary = "This document", responses((status = 200, description = "OpenAPI 3.1", body = serde_json::Value)))]
async fn openapi() -> axum::Json<&'static serde_json::Value> {
    axum::Json(document())
}

/// The document, built once from the routes and completed by [`contract::refine`].
pub fn document() -> &'static serde_json::Value {
    DOCUMENT.get_or_init(|| {
        let generated = serde_json::to_value(routes_with_doc().split_for_parts().1).expect("the OpenAPI document is JSON");
        contract::refine(generated)
    })
}

/// REST API v1, to be nested under `/api/v1`, with its OpenAPI document.
fn routes_with_doc() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::complete_mfa))
        .routes(routes!(auth::start_passkey))
        .routes(routes!(auth::finish_passkey))
        .routes(routes!(auth::me, account::delete))
        .routes(routes!(account::change_password))
        .routes(routes!(account::mfa_status))
        .routes(routes!(account::enrol_totp, account::disable_totp))
        .routes(routes!(account::confirm_totp))
        .routes(routes!(account::list_passkeys))
        .routes(routes!(account::start_passkey_registration))
        .routes(routes!(account::finish_passkey_registration))
        .routes(routes!(account::remove_passkey))
        .routes(routes!(keys::list_mine, keys::create_mine))
        .routes(routes!(keys::activity_mine))
        .routes(routes!(keys::revoke_mine))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::checkpoints, audit::create_checkpoint))
        .routes(routes!(audit::signing_key))
        .routes(routes!(audit::list_streams, audit::create_stream))
        .routes(routes!(audit::delete_stream))
        .routes(routes!(audit::test_stream))
        .routes(routes!(keys::list_org, keys::create_org))
        .routes(routes!(keys::activity_org))
        .routes(routes!(keys::revoke_org))
        .routes(routes!(members::list))
        .routes(routes!(members::change_role, members::remove))
        .routes(routes!(members::list_invitations, members::create_invitation))
        .routes(routes!(members::revoke_invitation))
        .routes(routes!(members::accept_invitation))
        .routes(routes!(workflows::list, workflows::create))
        .routes(routes!(workflows::get, workflows::update, workflows::delete))
        .routes(routes!(workflows::history))
        .routes(routes!(workflows::diff))
        .routes(routes!(workflows::restore))
        .routes(routes!(workflows::approve))
        .routes(routes!(workflows::reject))
        .routes(routes!(workflows::name_version))
        .routes(routes!(executions::run))
        .routes(routes!(executions::list))
        .routes(routes!(executions::get))
        .routes(routes!(executions::hook))
        .routes(routes!(executions::list_webhook_keys, executions::create_webhook_key))
        .routes(routes!(executions::revoke_webhook_key))
        .routes(routes!(executions::list_credentials, executions::create_credential))
        .routes(routes!(executions::update_credential, executions::delete_credential))
        .routes(routes!(settings::get, settings::update))
        .routes(routes!(settings::engagement))
        .routes(routes!(files::list, files::upload))
        .routes(routes!(files::content))
        .routes(routes!(files::delete))
        .routes(routes!(files::share, files::revoke_share))
        .routes(routes!(files::usage))
        .routes(routes!(files::export_workflow));
    // Public doors outside /api/v1: signed codes and provider signatures, no session.
    let public = OpenApiRouter::new()
        .routes(routes!(tracking::open))
        .routes(routes!(tracking::click))
        .routes(routes!(tracking::ses_webhook))
        .routes(routes!(billing::webhook))
        .routes(routes!(files::public_link));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).merge(public)
}

/// The REST API (its paths already under `/api/v1`); anything else under it is a JSON 404.
pub fn router() -> axum::Router<AppState> {
    let (router, _) = routes_with_doc().split_for_parts();
    router.route("/api/v1/{*rest}", axum::routing::any(|| async { ApiError::not_found("Endpoint") }))
}
