//! Prometheus metrics: request counts and latency by route, rendered at `/metrics`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    audit_overflowed: Counter,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms … ~16 s.
        let latency: LatencyFamily = Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)));
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request, by route", latency.clone());
        let audit_overflowed = Counter::default();
        registry.register(
            "audit_events_overflowed",
            "Audit events that found the queue full and were written to the log instead",
            audit_overflowed.clone(),
        );
        Arc::new(Metrics { registry, requests, latency, audit_overflowed })
    }

    /// What the audit recorder calls for each event that did not fit in its queue.
    pub fn audit_overflow_hook(&self) -> app::backend::audit::recorder::OverflowHook {
        let counter = self.audit_overflowed.clone();
        Arc::new(move || {
            counter.inc();
        })
    }

    pub fn render(&self) -> Response {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
    }
}

/// Middleware: counts and times each request under its route pattern (never the raw path,
/// which would put ids into label values).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    response
}
