-- The security audit trail. No foreign keys: events outlive the users, keys and orgs they name.

CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,       -- UUIDv7: time-ordered, the keyset tie-breaker
    org_id          TEXT,                   -- NULL for events outside any org (e.g. failed logins)
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    actor_label     TEXT NOT NULL,
    actor_name      TEXT,
    actor_email     TEXT,
    resource_type   TEXT NOT NULL,
    resource_id     TEXT,
    changes         TEXT NOT NULL,          -- JSON, redacted
    metadata        TEXT NOT NULL,          -- JSON, redacted
    ip              TEXT,
    user_agent      TEXT,
    created_at      TEXT NOT NULL
);
-- One index per explorer query shape, newest first by (time, id).
CREATE INDEX audit_by_org_time ON audit_events (org_id, created_at, id);
CREATE INDEX audit_by_org_actor_time ON audit_events (org_id, actor_id, created_at, id);
CREATE INDEX audit_by_org_resource_time ON audit_events (org_id, resource_type, resource_id, created_at, id);
CREATE INDEX audit_by_org_action_time ON audit_events (org_id, action, created_at, id);
