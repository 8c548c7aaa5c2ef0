//! Everything that runs only on the server: storage, identity, roles.
//! Server functions and REST handlers are thin doors onto these modules.

pub mod access;
pub mod account;
pub mod allowed_hosts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod csp;
pub mod cursor;
pub mod db;
pub mod credentials;
pub mod demo;
pub mod executions;
pub mod files;
pub mod housekeeping;
pub mod invitations;
pub mod jobs;
pub mod key_secret;
pub mod mail;
pub mod mfa;
pub mod orgs;
pub mod passwords;
pub mod plans;
pub mod schema;
pub mod request;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod throttle;
pub mod tracking;
pub mod users;
pub mod webhooks;
pub mod webhook_keys;
pub mod workflows;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::path::PathBuf;
use std::sync::Arc;

pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// Settings read once at start-up, each with a safe default.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Header holding the client address when behind a proxy we trust (e.g.
    /// `x-forwarded-for`). Unset: the socket peer is the client.
    pub trusted_proxy_header: Option<String>,
    /// How many proxies we trust append to that header: the client address is the entry this
    /// many places from the right (`CHRONICLE_TRUSTED_PROXY_HOPS`, default 1). Entries further
    /// left were written by the client and prove nothing.
    pub trusted_proxy_hops: usize,
    /// `smtp://host:port` of the relay that delivers the outbox. Unset: mail stays in the outbox.
    pub smtp_url: Option<String>,
    /// Where users reach Chronicle (`CHRONICLE_PUBLIC_URL`, e.g. `https://chronicle.example`):
    /// its origin is accepted on cross-site checks, and https turns on HSTS and Secure cookies.
    pub public_url: Option<String>,
    /// `CHRONICLE_SECRET` (or the one kept in the data directory): credentials are sealed
    /// under a key derived from it.
    pub secret: secret::RootSecret,
    /// `CHRONICLE_SECRET_PREVIOUS`, while rotating: credentials sealed under it still open,
    /// and `server reseal-credentials` seals them again under the current one.
    pub previous_secret: Option<secret::RootSecret>,
    /// `CHRONICLE_EGRESS_ALLOW_PRIVATE=1`: `http_request` steps may reach private, loopback
    /// and link-local addresses (tests, on-premises targets). Off by default.
    pub egress_allow_private: bool,
    /// `CHRONICLE_TRACKING_KEYS` (comma-separated; the first signs) and
    /// `CHRONICLE_TRACKING_ACCEPT_UNSIGNED` (legacy codes read unless `false`). No keys: one
    /// derived from the secret.
    pub tracking_keys: Vec<String>,
    pub tracking_accept_unsigned: bool,
    /// The keys of `CHRONICLE_SNS_CERTS` (PEM files, comma-separated), which alone may sign
    /// SNS messages when set; then no certificate is fetched.
    pub sns_certs: Vec<rsa::RsaPublicKey>,
    /// `CHRONICLE_SNS_TOPIC_ARNS`: the SNS topics accepted (comma-separated); unset: any.
    pub sns_topic_arns: Vec<String>,
    /// `CHRONICLE_BILLING_WEBHOOK_SECRETS`: Stripe signing secrets (comma-separated; any may
    /// sign, for rotation). Unset: every billing webhook is refused.
    pub billing_webhook_secrets: Vec<String>,
    /// `CHRONICLE_MAX_FILE_BYTES`: the largest upload (default 100 MiB), whatever the quota.
    pub max_file_bytes: u64,
    /// The key that signs audit checkpoints: `CHRONICLE_SIGNING_KEY`, else the data
    /// directory's `signing.key` (created on first start). Never in the database.
    pub signing_key: Arc<audit::signing::CheckpointSigner>,
    /// `CHRONICLE_AUDIT_POLICY=completeness`: an action whose event cannot be stored is
    /// refused (503) before it happens. Default `availability`: it proceeds, its event retried.
    pub audit_completeness: bool,
    /// `CHRONICLE_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer`
    /// with it (the page names every org's id).
    pub metrics_token: Option<String>,
    /// `CHRONICLE_JOB_LEASE_SECS`: how long a background job's claim holds without renewal
    /// (default 15; renewed every third of it), so how soon another instance takes over the
    /// work of one that died.
    pub job_lease: std::time::Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            trusted_proxy_header: None,
            trusted_proxy_hops: 1,
            smtp_url: None,
            public_url: None,
            secret: secret::RootSecret::random(),
            previous_secret: None,
            egress_allow_private: false,
            tracking_keys: Vec::new(),
            tracking_accept_unsigned: true,
            sns_certs: Vec::new(),
            sns_topic_arns: Vec::new(),
            billing_webhook_secrets: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            signing_key: Arc::new(audit::signing::CheckpointSigner::random()),
            audit_completeness: false,
            metrics_token: None,
            job_lease: jobs::DEFAULT_LEASE,
        }
    }
}

impl Config {
    /// The settings of the environment. The data directory is created here, since a
    /// generated secret is kept in it.
    pub fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let data_dir = PathBuf::from(var("CHRONICLE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url =
            var("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("chronicle.db").display()));
        let trusted_proxy_hops = match var("CHRONICLE_TRUSTED_PROXY_HOPS").map(|h| h.parse::<usize>()) {
            None => 1,
            Some(Ok(hops)) if hops >= 1 => hops,
            Some(_) => {
                tracing::error!("CHRONICLE_TRUSTED_PROXY_HOPS must be a whole number from 1 up; using 1");
                1
            }
        };
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("cannot create data directory {}: {e}", data_dir.display()))?;
        let secret = secret::load_or_create(var("CHRONICLE_SECRET").as_deref(), &data_dir)?;
        let signing_key = Arc::new(audit::signing::CheckpointSigner::load_or_create(var("CHRONICLE_SIGNING_KEY").as_deref(), &data_dir)?);
        let previous_secret = var("CHRONICLE_SECRET_PREVIOUS").map(|s| secret::RootSecret::new(s.as_bytes()));
        let list = |name: &str| var(name).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let audit_completeness = match var("CHRONICLE_AUDIT_POLICY").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("availability") => false,
            Some("completeness") => true,
            Some(other) => return Err(format!("CHRONICLE_AUDIT_POLICY must be availability or completeness, not {other:?}")),
        };
        Ok(Config {
            signing_key,
            audit_completeness,
            tracking_keys: list("CHRONICLE_TRACKING_KEYS"),
            tracking_accept_unsigned: !var("CHRONICLE_TRACKING_ACCEPT_UNSIGNED").is_some_and(|v| v.eq_ignore_ascii_case("false") || v == "0"),
            sns_certs: webhooks::sns::load_pinned(&list("CHRONICLE_SNS_CERTS").into_iter().map(PathBuf::from).collect::<Vec<_>>())?,
            sns_topic_arns: list("CHRONICLE_SNS_TOPIC_ARNS"),
            billing_webhook_secrets: list("CHRONICLE_BILLING_WEBHOOK_SECRETS"),
            max_file_bytes: match var("CHRONICLE_MAX_FILE_BYTES").map(|v| v.parse::<u64>()) {
                None => DEFAULT_MAX_FILE_BYTES,
                Some(Ok(n)) if n > 0 => n,
                Some(_) => return Err("CHRONICLE_MAX_FILE_BYTES must be a number of bytes above 0".into()),
            },
            secret,
            previous_secret,
            egress_allow_private: var("CHRONICLE_EGRESS_ALLOW_PRIVATE").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
            data_dir,
            database_url,
            trusted_proxy_header: var("CHRONICLE_TRUSTED_PROXY_HEADER").map(|h| h.to_ascii_lowercase()),
            trusted_proxy_hops,
            smtp_url: var("SMTP_URL"),
            metrics_token: var("CHRONICLE_METRICS_TOKEN"),
            job_lease: match var("CHRONICLE_JOB_LEASE_SECS").map(|v| v.parse::<u64>()) {
                None => jobs::DEFAULT_LEASE,
                Some(Ok(n)) if (1..=3600).contains(&n) => std::time::Duration::from_secs(n),
                Some(_) => return Err("CHRONICLE_JOB_LEASE_SECS must be a whole number of seconds from 1 to 3600".into()),
            },
            public_url: var("CHRONICLE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    /// Whether users reach Chronicle over https only (HSTS, Secure cookies).
    pub fn https_only(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// Who acts, from where, and the trail that records it: what every audited operation takes.
pub struct Acting<'a> {
    pub actor: crate::model::Actor,
    pub client: &'a sessions::ClientInfo,
    pub audit: &'a audit::Recorder,
}

/// Shared by every handler and server function. A page reads it from context many times a
/// request, so a clone is one reference count, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Services {
    pub leptos_options: LeptosOptions,
    pub db: db::Db,
    pub config: Arc<Config>,
    pub audit: audit::Recorder,
    /// Wakes the execution workers when a run is queued.
    pub runner: executions::Runner,
    /// Tracking codes, the engagement ingest queue, SNS verification.
    pub tracking: Arc<tracking::Tracking>,
    pub telemetry: telemetry::Telemetry,
    /// Where org files' contents live.
    pub blobs: files::blobs::Blobs,
    /// Where users reach this instance (links in mail, public file links).
    pub public_base: String,
    /// Background work: the database, the lease, the counters.
    pub jobs: jobs::Jobs,
}

impl Services {
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
