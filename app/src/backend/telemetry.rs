//! Counters the tracking and webhook paths keep, registered by the server's `/metrics`
//! (`chronicle_` prefix). One set per app state, so test servers in one process count apart.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub format: &'static str,
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub provider: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Default)]
pub struct Telemetry {
    tracking_codes: Family<CodeLabels, Counter>,
    engagement_events: Family<EventLabel, Counter>,
    engagement_dropped: Family<ReasonLabel, Counter>,
    webhook_requests: Family<WebhookLabels, Counter>,
    stream_deliveries: Family<OutcomeLabel, Counter>,
    jobs: Family<JobLabels, Counter>,
}

impl Telemetry {
    pub fn register(&self, registry: &mut Registry) {
        // Every format and source from the start, so a dashboard sees zeros, not gaps.
        for format in ["signed", "unsigned", "invalid"] {
            for source in ["tracking", "ses"] {
                let _ = self.tracking_codes.get_or_create(&CodeLabels { format, source });
            }
        }
        registry.register("tracking_code_format", "Tracking codes read, by format (signed, unsigned, invalid) and source", self.tracking_codes.clone());
        registry.register("engagement_events", "Engagement events recorded, by event", self.engagement_events.clone());
        registry.register("engagement_events_dropped", "Engagement events not recorded, by reason", self.engagement_dropped.clone());
        registry.register("webhook_requests", "Provider webhook requests, by provider and outcome", self.webhook_requests.clone());
        for outcome in ["delivered", "failed"] {
            let _ = self.stream_deliveries.get_or_create(&OutcomeLabel { outcome });
        }
        registry.register("stream_deliveries", "Audit stream deliveries, by outcome (delivered, failed)", self.stream_deliveries.clone());
        registry.register(
            "jobs",
            "Background job items, by kind and outcome (claimed, done, retried, failed; lease_lost counts leases)",
            self.jobs.clone(),
        );
    }

    pub fn code_read(&self, format: &'static str, source: &'static str) {
        self.tracking_codes.get_or_create(&CodeLabels { format, source }).inc();
    }

    pub fn event_recorded(&self, event: &str) {
        self.engagement_events.get_or_create(&EventLabel { event: event.to_owned() }).inc();
    }

    pub fn event_dropped(&self, reason: &'static str) {
        self.engagement_dropped.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn webhook(&self, provider: &'static str, outcome: &'static str) {
        self.webhook_requests.get_or_create(&WebhookLabels { provider, outcome }).inc();
    }

    pub fn job(&self, kind: &'static str, outcome: &'static str, n: u64) {
        self.jobs.get_or_create(&JobLabels { kind, outcome }).inc_by(n);
    }

    pub fn stream_delivery(&self, outcome: &'static str) {
        self.stream_deliveries.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}
