//! `server`: runs Chronicle, or with a subcommand, administers it.

use app::backend::{db::Db, demo, orgs, users, Config};
use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;

// glibc's malloc was a quarter of a page's profile, its arena lock contended between the
// runtime's threads (README, "Pages beside the REST calls").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "server", version, about = "Chronicle: version history, audit trail and API keys for workflow automation.")]
struct Cli {
    /// Seed the demo orgs and users (never use in production).
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the first owner of a real deployment: a user and a new organisation they own.
    /// The password is read from CHRONICLE_OWNER_PASSWORD, or asked for on the terminal.
    CreateOwner {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Name of the new organisation.
        #[arg(long)]
        org: String,
    },
    /// After changing CHRONICLE_SECRET: seal every org credential again under the new secret.
    /// Set the old one in CHRONICLE_SECRET_PREVIOUS for this run (and keep it set on running
    /// instances until this is done).
    ResealCredentials,
    /// The audit trail's integrity.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Amazon SNS, which delivers SES events to `/api/v1/webhooks/ses`.
    Sns {
        #[command(subcommand)]
        command: SnsCommand,
    },
}

#[derive(Subcommand)]
enum SnsCommand {
    /// The subscription confirmations SNS sent, newest first, one JSON line each
    /// (`{message_id, topic_arn, subscribe_url, received_at}`): open the `subscribe_url` of a
    /// topic you created to confirm it. They name the operator's topic, so only the operator
    /// sees them, never an org's owners.
    Confirmations,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Seal what is stored, then check the hash chain and the signed checkpoints of one org
    /// (or of every chain). Prints `{ok, events_checked, checkpoints_checked, first_bad_seq,
    /// reason}` per chain; exits 1 when a chain is broken.
    Verify {
        /// The org whose chain to check (default: every org, and events outside any org).
        #[arg(long)]
        org: Option<String>,
    },
    /// Apply each org's audit_retention_days now (the server does it daily): remove the whole
    /// sealed segments older than the window, up to a checkpoint that stays as the anchor.
    Prune {
        /// Only this org.
        #[arg(long)]
        org: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    // Logs on stderr: a subcommand's stdout is its answer (JSON lines a script reads).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Err(message) = run(cli).await {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::from_env()?;
    let db = Db::connect(&config.database_url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    let filled = app::backend::audit::keys::backfill(&db).await.map_err(|e| format!("cannot fill in the audit trail's index keys: {e}"))?;
    if filled > 0 {
        tracing::info!(events = filled, "audit trail: index keys filled in for events stored before migration 0006");
    }
    match cli.command {
        Some(Command::CreateOwner { email, name, org }) => create_owner(&db, &email, &name, &org).await,
        Some(Command::ResealCredentials) => {
            let n = app::backend::credentials::reseal_all(&db, &config).await.map_err(|e| e.message)?;
            println!("Resealed {n} secrets (credentials and TOTP secrets) under the current CHRONICLE_SECRET.");
            Ok(())
        }
        Some(Command::Audit { command: AuditCommand::Verify { org } }) => verify(&db, &config, org).await,
        Some(Command::Audit { command: AuditCommand::Prune { org } }) => prune(&db, org).await,
        Some(Command::Sns { command: SnsCommand::Confirmations }) => {
            for s in app::backend::webhooks::ses::subscriptions(&db).await.map_err(|e| e.message)? {
                println!("{}", serde_json::to_string(&s).map_err(|e| e.to_string())?);
            }
            Ok(())
        }
        None => serve(db, config, cli.demo).await,
    }
}

async fn verify(db: &Db, config: &Config, org: Option<String>) -> Result<(), String> {
    let chains: Vec<Option<String>> = match org {
        Some(org) => vec![Some(org)],
        None => {
            let orgs: Vec<(String,)> = sqlx::query_as("SELECT id FROM orgs ORDER BY id").fetch_all(db.pool()).await.map_err(|e| e.to_string())?;
            std::iter::once(None).chain(orgs.into_iter().map(|(id,)| Some(id))).collect()
        }
    };
    let jobs = app::backend::jobs::Jobs::new(db.clone(), config.job_lease, Default::default());
    let mut broken = false;
    for org in chains {
        let report = app::backend::audit::verify::verify(&jobs, &config.signing_key, org.as_deref()).await.map_err(|e| e.message)?;
        broken |= !report.ok;
        let mut line = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        line["org_id"] = serde_json::json!(org);
        println!("{line}");
    }
    if broken {
        std::process::exit(1);
    }
    Ok(())
}

async fn prune(db: &Db, org: Option<String>) -> Result<(), String> {
    let audit = app::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
    let pruned = app::backend::audit::retention::prune_all(db, &audit, org.as_deref(), chrono::Utc::now()).await.map_err(|e| e.message);
    audit.shutdown().await;
    for p in pruned? {
        println!("{}", serde_json::json!({ "org_id": p.org_id, "events": p.events, "through_seq": p.through_seq }));
    }
    Ok(())
}

async fn create_owner(db: &Db, email: &str, name: &str, org: &str) -> Result<(), String> {
    let password = match std::env::var("CHRONICLE_OWNER_PASSWORD") {
        Ok(p) => p,
        Err(_) => rpassword::prompt_password("Password for the new owner: ").map_err(|e| e.to_string())?,
    };
    let user = users::create_user(db, email, name, &password).await.map_err(|e| e.message)?;
    let org = orgs::create_org(db, org, &user.id).await.map_err(|e| e.message)?;
    // Who created the first owner, and when, is the first line of the new org's trail.
    let audit = app::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
    let operator = app::model::Actor { kind: "system".into(), id: None, label: "Command line (create-owner)".into(), name: None, email: None };
    audit
        .record(
            app::backend::audit::NewEvent::new(Some(&org.id), "user.created", operator, "user", Some(&user.id))
                .metadata(serde_json::json!({ "name": user.name, "email": user.email, "role": "owner", "org": org.name })),
        )
        .await;
    audit.shutdown().await;
    println!("Created {} <{}>, owner of {} ({}).", user.name, user.email, org.name, org.id);
    Ok(())
}

async fn serve(db: Db, config: Config, demo: bool) -> Result<(), String> {
    let leptos_options = leptos_options()?;
    let addr = leptos_options.site_addr;
    let metrics = server::metrics::Metrics::new();
    let state = server::app_state(db.clone(), leptos_options, config, &metrics);
    server::background::start(&state);
    if demo && demo::seed(&db, &state.config, &state.audit).await.map_err(|e| e.message)? {
        tracing::info!("seeded the demo data");
    }
    let app = server::router(state.clone(), metrics);
    // Pages stream in several chunks (the shell, then each resolved suspense): with Nagle's
    // algorithm on, every chunk after the first waited for the browser's delayed ACK, ~40 ms
    // a page.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?
        .tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(error = %err, "could not set TCP_NODELAY on a connection");
            }
        });
    println!("Chronicle is running at http://{addr}");
    if demo {
        println!("Demo logins (password \"{}\"):", demo::DEMO_PASSWORD);
        for (email, name, what) in demo::DEMO_LOGINS {
            println!("  {email:<20} {name} ({what})");
        }
    }
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    // Every queued audit event is written before the database closes.
    state.audit.shutdown().await;
    db.close().await;
    Ok(())
}

/// Leptos settings from the environment (`LEPTOS_SITE_ADDR`, `LEPTOS_SITE_ROOT`…), with the
/// workspace's defaults, so the binary runs the same with or without cargo-leptos.
fn leptos_options() -> Result<LeptosOptions, String> {
    let mut options = leptos::config::get_configuration(None).map_err(|e| format!("Leptos configuration: {e}"))?.leptos_options;
    // A release build by cargo-leptos leaves the content hashes of the site's files beside
    // the binary: pages then name the hashed files, served as immutable. No file: plain names.
    let hashes = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
    options.hash_files |= hashes.is_some_and(|file| file.exists());
    Ok(options)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
