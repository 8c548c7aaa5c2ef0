-- Email engagement tracking: org settings, tracked workflow mail, engagement events, their
-- forwarding to PostHog, and the provider notifications already processed.

-- Org settings. Engagement is recorded only once an owner or admin turns it on.
ALTER TABLE orgs ADD COLUMN capture_engagement_events INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN audit_retention_days INTEGER;
ALTER TABLE orgs ADD COLUMN posthog_host TEXT;
ALTER TABLE orgs ADD COLUMN posthog_api_key TEXT;           -- sealed like credentials; never returned

-- A workflow mail keeps what tracking needs: its HTML part, its code, where it came from,
-- and the links it really contains (a legacy unsigned click may only go to one of those).
ALTER TABLE outbox ADD COLUMN html_body TEXT;
ALTER TABLE outbox ADD COLUMN tracking_code TEXT;
ALTER TABLE outbox ADD COLUMN workflow_id TEXT;
ALTER TABLE outbox ADD COLUMN execution_id TEXT;
ALTER TABLE outbox ADD COLUMN distinct_id TEXT;
ALTER TABLE outbox ADD COLUMN links TEXT;                   -- JSON array of link targets
CREATE INDEX outbox_by_workflow ON outbox (workflow_id, created_at);

CREATE TABLE engagement_events (
    seq                 INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,               -- UUIDv7; PostHog's uuid, so it drops repeats
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    event               TEXT NOT NULL,
    distinct_id         TEXT NOT NULL,
    workflow_id         TEXT,
    execution_id        TEXT,
    message_id          TEXT,
    properties          TEXT NOT NULL,                      -- JSON
    occurred_at         TEXT NOT NULL,
    received_at         TEXT NOT NULL
);
CREATE INDEX engagement_by_org ON engagement_events (org_id, seq);
CREATE INDEX engagement_by_workflow ON engagement_events (workflow_id, seq);
CREATE INDEX engagement_by_message ON engagement_events (message_id);

-- Events waiting to reach PostHog, claimed like outbox mail so one instance sends each.
CREATE TABLE posthog_queue (
    event_id            TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    next_attempt_at     TEXT NOT NULL,
    claimed_until       TEXT,
    sent_at             TEXT
);
CREATE INDEX posthog_due ON posthog_queue (status, next_attempt_at);
CREATE INDEX posthog_by_org ON posthog_queue (org_id, status);

-- Provider notifications processed: a redelivery finds its id here and changes nothing.
CREATE TABLE webhook_receipts (
    provider            TEXT NOT NULL,
    event_id            TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- SNS subscription confirmations, shown to owners with the URL that confirms them.
CREATE TABLE sns_subscriptions (
    message_id          TEXT PRIMARY KEY,
    topic_arn           TEXT NOT NULL,
    subscribe_url       TEXT NOT NULL,
    received_at         TEXT NOT NULL
);
