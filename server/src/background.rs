//! Every background loop of an instance, started in one place. Each is safe with any number
//! of instances on one database: work is claimed there (`backend/jobs`), never in memory.

use app::backend::{audit, executions, housekeeping, mail, tracking, AppState};
use std::time::Duration;

/// Runs one instance executes at once (each mostly waits on the network or the database).
pub const EXECUTION_WORKERS: usize = 4;

pub fn start(state: &AppState) {
    let (db, jobs, config, telemetry) = (&state.db, &state.jobs, &state.config, &state.telemetry);
    audit::seal::spawn(jobs.clone(), config.signing_key.clone());
    audit::streams::spawn(jobs.clone(), config.clone(), telemetry.clone(), Duration::from_millis(250));
    audit::retention::spawn(db.clone(), state.audit.clone());
    match config.smtp_url.as_deref().map(mail::smtp::transport) {
        Some(Ok(smtp)) => mail::outbox::spawn_delivery(jobs.clone(), smtp, telemetry.clone(), Duration::from_secs(1)),
        Some(Err(err)) => tracing::error!("{}: {}; mail stays in the outbox", err.field.as_deref().unwrap_or("SMTP_URL"), err.message),
        None => tracing::info!("SMTP_URL is not set: mail stays in the outbox (Outbox page)"),
    }
    tracking::posthog::spawn(jobs.clone(), config.clone(), Duration::from_secs(2));
    let context = executions::engine::Context::new(db.clone(), config.clone(), state.audit.clone(), state.tracking.clone(), state.public_base.clone());
    state.runner.spawn(jobs.clone(), context, EXECUTION_WORKERS);
    executions::schedule::spawn(db.clone(), state.audit.clone(), state.runner.clone());
    housekeeping::spawn(db.clone(), state.blobs.clone(), Duration::from_secs(600));
}
