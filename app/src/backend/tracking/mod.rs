//! Email engagement tracking: signed codes (`codes`), tracked mail (`compose`), the one door
//! events are recorded through (`events`), opens and clicks from the public endpoints
//! (`ingest`), and forwarding to PostHog (`posthog`). SES notifications arrive through the
//! provider webhooks (`backend/webhooks`).

pub mod codes;
pub mod compose;
pub mod events;
pub mod ingest;
pub mod posthog;

use super::db::Db;
use super::webhooks::sns;
use super::telemetry::Telemetry;
use super::Config;

/// What the tracking endpoints and the SES webhook share.
pub struct Tracking {
    pub keys: codes::Keys,
    pub ingest: ingest::Ingest,
    pub sns: sns::Verifier,
}

impl Tracking {
    /// Starts the ingest writer.
    pub fn start(db: Db, config: &Config, telemetry: Telemetry) -> Tracking {
        let keys = if config.tracking_keys.is_empty() {
            vec![hex::encode(config.secret.derive("chronicle tracking codes v1"))]
        } else {
            config.tracking_keys.clone()
        };
        Tracking {
            keys: codes::Keys::new(&keys, config.tracking_accept_unsigned),
            ingest: ingest::Ingest::start(db, telemetry),
            sns: sns::Verifier::new(config.sns_certs.clone(), config.sns_topic_arns.clone()),
        }
    }
}
