//! The Chronicle server: the Leptos app, REST API v1, health and metrics on one Axum router.

#![recursion_limit = "256"]

pub mod api;
pub mod background;
pub mod delivery;
pub mod metrics;
pub mod web;

use app::backend::audit::Recorder;
use app::backend::db::Db;
use app::backend::{AppState, Config};
use leptos::config::LeptosOptions;
use std::sync::Arc;
use app::error::ApiError;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// Requests larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The state every handler shares: the database, the audit recorder (its writer started
/// here, its overflow counted in `metrics`), settings. Background work is started by
/// [`background::start`].
pub fn app_state(db: Db, leptos_options: LeptosOptions, config: Config, metrics: &metrics::Metrics) -> AppState {
    let audit = Recorder::start(db.clone(), metrics.audit_overflow_hook());
    let telemetry = metrics.telemetry.clone();
    let jobs = app::backend::jobs::Jobs::new(db.clone(), config.job_lease, telemetry.clone());
    let blobs = app::backend::files::blobs::Blobs::new(&config.data_dir);
    let config = Arc::new(config);
    let tracking = Arc::new(app::backend::tracking::Tracking::start(db.clone(), &config, telemetry.clone()));
    // Links in mail: the public URL, else the address this instance serves.
    let public_base = config.public_url.clone().unwrap_or_else(|| format!("http://{}", leptos_options.site_addr));
    let runner = app::backend::executions::Runner::new();
    AppState::new(app::backend::Services { leptos_options, db, config, audit, runner, tracking, telemetry, blobs, public_base, jobs })
}

pub fn router(state: AppState, metrics: Arc<metrics::Metrics>) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    let metrics_for_route = metrics.clone();
    let config = state.config.clone();
    Router::new()
        .merge(api::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(move |State(state): State<AppState>, headers: axum::http::HeaderMap| async move { metrics_for_route.scrape(&state, &headers).await }))
        .merge(
            Router::new()
                .leptos_routes_with_context(&state, routes, move || provide_context(context_state.clone()), move || shell(shell_options.clone()))
                .route_layer(axum::middleware::from_fn_with_state(state.clone(), web::identify_caller)),
        )
        .route_layer(axum::middleware::from_fn(metrics::note_route))
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), delivery::site_code(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(axum::middleware::from_fn(delivery::pages_revalidate))
        .layer(delivery::compression())
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::audit_gate))
        .layer(axum::middleware::from_fn(web::server_fn_status))
        // One limit for every door: REST extractors answer 413 in JSON, and `limit_body` stops
        // any other body (server functions included) before it is read whole.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(web::limit_body))
        .layer(axum::middleware::from_fn_with_state(config.clone(), web::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(config, web::security_headers))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.db.ping().await.map(|_| "ok").map_err(|e| {
        tracing::error!(error = %e, "health check: database does not answer");
        ApiError::new(app::error::ErrorKind::Internal, "The database does not answer.")
    })
}
