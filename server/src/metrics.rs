//! Prometheus metrics at `/metrics`: request counts and latency by route, the audit trail's
//! queue and writer, the outbox, finished runs, the database pool, and the process (`process_*`, as the
//! Prometheus client libraries name them). Everything of Chronicle's own is under
//! `chronicle_`. Gauges that mirror state are read when scraped.

use app::backend::AppState;
use app::error::{ApiError, ErrorKind};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

// Every label value comes from a closed set (the methods below, the routes the router
// knows, the statuses it answers), so no request can add series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// The method as a label: the standard ones by name, any other as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN.iter().find(|(m, _)| m == method).map_or("other", |(_, name)| name)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrgLabel {
    org: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    audit_overflowed: Counter,
    audit_written: Counter,
    /// What `audit_written` has been told so far (the recorder counts; scrapes add the rest).
    audit_written_seen: AtomicU64,
    audit_queue_depth: Gauge,
    outbox_mails: Family<StatusLabel, Gauge>,
    executions: Family<StatusLabel, Counter>,
    /// What `executions` has been told so far, per status (the runner counts; scrapes add the rest).
    executions_seen: [AtomicU64; 2],
    pool_connections: Family<StateLabel, Gauge>,
    storage_used: Family<OrgLabel, Gauge>,
    process: ProcessMetrics,
    /// Tracking and webhook counters, kept by the app and registered here.
    pub telemetry: app::backend::telemetry::Telemetry,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut root = Registry::default();
        let process = ProcessMetrics::register(&mut root);
        let registry = root.sub_registry_with_prefix("chronicle");
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms … ~16 s.
        let latency: LatencyFamily = Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)));
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request, by route", latency.clone());
        let audit_overflowed = Counter::default();
        registry.register(
            "audit_events_overflowed",
            "Audit events that found no room in the queue for 10 s and were written to the log instead",
            audit_overflowed.clone(),
        );
        let audit_written = Counter::default();
        registry.register("audit_events_written", "Audit events committed to the trail by this instance", audit_written.clone());
        let audit_queue_depth = Gauge::default();
        registry.register("audit_queue_depth", "Audit events waiting for the writer", audit_queue_depth.clone());
        let outbox_mails = Family::<StatusLabel, Gauge>::default();
        registry.register("outbox_mails", "Mail in the outbox, by status (pending, sent, failed)", outbox_mails.clone());
        let executions = Family::<StatusLabel, Counter>::default();
        registry.register("executions", "Runs this instance finished, by status (succeeded, failed)", executions.clone());
        let pool_connections = Family::<StateLabel, Gauge>::default();
        registry.register("db_pool_connections", "Database pool connections, by state (in_use, idle)", pool_connections.clone());
        let storage_used = Family::<OrgLabel, Gauge>::default();
        registry.register_with_unit("storage_used", "Storage the org's files take, as metered", Unit::Bytes, storage_used.clone());
        let telemetry = app::backend::telemetry::Telemetry::default();
        telemetry.register(registry);
        Arc::new(Metrics {
            registry: root,
            requests,
            latency,
            audit_overflowed,
            audit_written,
            audit_written_seen: AtomicU64::new(0),
            audit_queue_depth,
            outbox_mails,
            executions,
            executions_seen: [AtomicU64::new(0), AtomicU64::new(0)],
            pool_connections,
            storage_used,
            process,
            telemetry,
        })
    }

    /// What the audit recorder calls for each event that did not fit in its queue.
    pub fn audit_overflow_hook(&self) -> app::backend::audit::recorder::OverflowHook {
        let counter = self.audit_overflowed.clone();
        Arc::new(move || {
            counter.inc();
        })
    }

    /// Reads the state the gauges mirror, then renders the text format; with
    /// `CHRONICLE_METRICS_TOKEN` set, only for `Authorization: Bearer <that token>`.
    pub async fn scrape(&self, state: &AppState, headers: &axum::http::HeaderMap) -> Response {
        if let Some(token) = &state.config.metrics_token {
            let given = app::backend::api_keys::bearer(headers).unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes())) {
                return ApiError::new(ErrorKind::Unauthorized, "The metrics need `Authorization: Bearer <CHRONICLE_METRICS_TOKEN>`.").into_response();
            }
        }
        let written = state.audit.written();
        let seen = self.audit_written_seen.swap(written, Ordering::Relaxed);
        self.audit_written.inc_by(written.saturating_sub(seen));
        self.audit_queue_depth.set(state.audit.queued() as i64);
        match app::backend::mail::outbox::count_by_status(&state.db).await {
            Ok(counts) => {
                for status in ["pending", "sent", "failed"] {
                    let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                    self.outbox_mails.get_or_create(&StatusLabel { status: status.into() }).set(n);
                }
            }
            Err(err) => tracing::warn!(error = %err, "metrics: could not count the outbox"),
        }
        for (i, status) in ["succeeded", "failed"].into_iter().enumerate() {
            let finished = state.runner.finished(status);
            let seen = self.executions_seen[i].swap(finished, Ordering::Relaxed);
            self.executions.get_or_create(&StatusLabel { status: status.into() }).inc_by(finished.saturating_sub(seen));
        }
        match app::backend::files::storage_by_org(&state.db).await {
            Ok(orgs) => {
                for (org, used) in orgs {
                    self.storage_used.get_or_create(&OrgLabel { org }).set(used);
                }
            }
            Err(err) => tracing::warn!(error = %err, "metrics: could not read storage use"),
        }
        let pool = state.db.pool();
        let idle = pool.num_idle() as i64;
        self.pool_connections.get_or_create(&StateLabel { state: "idle" }).set(idle);
        self.pool_connections.get_or_create(&StateLabel { state: "in_use" }).set(pool.size() as i64 - idle);
        self.process.refresh();
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
    }
}

/// The process's CPU time, memory and open files, read from /proc at scrape time (Linux).
struct ProcessMetrics {
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    cpu_seen: std::sync::Mutex<f64>,
    resident_bytes: Gauge,
    open_fds: Gauge,
    start_time: Gauge,
}

impl ProcessMetrics {
    fn register(registry: &mut Registry) -> ProcessMetrics {
        let metrics = ProcessMetrics {
            cpu_seconds: Counter::default(),
            cpu_seen: std::sync::Mutex::new(0.0),
            resident_bytes: Gauge::default(),
            open_fds: Gauge::default(),
            start_time: Gauge::default(),
        };
        registry.register_with_unit("process_cpu", "User and system CPU time spent", Unit::Seconds, metrics.cpu_seconds.clone());
        registry.register_with_unit("process_resident_memory", "Resident memory size", Unit::Bytes, metrics.resident_bytes.clone());
        registry.register("process_open_fds", "Open file descriptors", metrics.open_fds.clone());
        registry.register_with_unit("process_start_time", "Start time since the Unix epoch", Unit::Seconds, metrics.start_time.clone());
        metrics.start_time.set(chrono::Utc::now().timestamp());
        metrics
    }

    fn refresh(&self) {
        // /proc/self/stat: utime and stime (fields 14, 15) in clock ticks; the name (field 2)
        // may hold spaces, so count from the closing parenthesis.
        let ticks = 100.0; // USER_HZ on Linux
        if let Some(fields) = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_owned())) {
            let f: Vec<&str> = fields.split_whitespace().collect();
            let (utime, stime) = (f.get(11).and_then(|v| v.parse::<f64>().ok()), f.get(12).and_then(|v| v.parse::<f64>().ok()));
            if let (Some(u), Some(s)) = (utime, stime) {
                let total = (u + s) / ticks;
                let mut seen = self.cpu_seen.lock().unwrap_or_else(|e| e.into_inner());
                if total > *seen {
                    self.cpu_seconds.inc_by(total - *seen);
                    *seen = total;
                }
            }
        }
        if let Some(pages) = std::fs::read_to_string("/proc/self/statm").ok().and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<i64>().ok())) {
            self.resident_bytes.set(pages * 4096);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(dir.count() as i64);
        }
    }
}

/// The route pattern a request matched, handed from [`note_route`] (inside the router) to
/// [`track`] (around it) on the response.
#[derive(Clone)]
struct MatchedRoute(String);

/// Route middleware: notes the matched route pattern on the response (never the raw path,
/// which would put ids into label values).
pub async fn note_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// Middleware around the whole router: counts and times each request under its route
/// pattern, or `unmatched` when no route took it (static files, unknown paths).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response.extensions().get::<MatchedRoute>().map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = response.status().as_u16();
    metrics.latency.get_or_create(&RouteLabels { method, route: route.clone() }).observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    response
}
