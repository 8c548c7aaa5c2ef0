//! Everything that runs only on the server: storage, identity, roles.
//! Server functions and REST handlers are thin doors onto these modules.

pub mod access;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod db;
pub mod demo;
pub mod orgs;
pub mod outbox;
pub mod passwords;
pub mod request;
pub mod sessions;
pub mod testing;
pub mod users;
pub mod workflows;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings read once at start-up, each with a safe default.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Header holding the client address when behind a proxy we trust (e.g.
    /// `x-forwarded-for`). Unset: the socket peer is the client.
    pub trusted_proxy_header: Option<String>,
    /// `smtp://host:port` of the relay that delivers the outbox. Unset: mail stays in the outbox.
    pub smtp_url: Option<String>,
}

impl Config {
    pub fn from_env() -> Config {
        let data_dir = PathBuf::from(std::env::var("CHRONICLE_DATA_DIR").unwrap_or_else(|_| "data".into()));
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("chronicle.db").display()));
        let trusted_proxy_header = std::env::var("CHRONICLE_TRUSTED_PROXY_HEADER")
            .ok()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty());
        let smtp_url = std::env::var("SMTP_URL").ok().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        Config { data_dir, database_url, trusted_proxy_header, smtp_url }
    }
}

/// Who acts, from where, and the trail that records it: what every audited operation takes.
pub struct Acting<'a> {
    pub actor: crate::model::Actor,
    pub client: &'a sessions::ClientInfo,
    pub audit: &'a audit::Recorder,
}

/// Shared by every handler and server function.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: db::Db,
    pub config: Arc<Config>,
    pub audit: audit::Recorder,
}

impl AppState {
    /// `caller`, acting from `client`, recorded in this state's audit trail.
    pub fn acting<'a>(&'a self, caller: &auth::Caller, client: &'a sessions::ClientInfo) -> Acting<'a> {
        Acting { actor: caller.actor(), client, audit: &self.audit }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
