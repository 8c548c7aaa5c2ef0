-- The audit trail gets an insertion sequence: the keyset tie-breaker after time, and the
-- order a later hash chain follows. The text id stays the public id but loses its index
-- (nothing looks an event up by it): fewer, narrower indexes are what make sustained
-- ingest fast (benches/audit.rs). Ids, actions and timestamps compare bytewise (COLLATE "C"),
-- as on SQLite: text order is time order, and no locale rules run in the index.

CREATE TABLE audit_events_new (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
    id              TEXT COLLATE "C" NOT NULL,          -- UUIDv7, the id the API shows
    org_id          TEXT COLLATE "C",                   -- NULL for events outside any org (e.g. failed logins)
    action          TEXT COLLATE "C" NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT COLLATE "C",
    actor_label     TEXT NOT NULL,
    actor_name      TEXT,
    actor_email     TEXT,
    resource_type   TEXT COLLATE "C" NOT NULL,
    resource_id     TEXT COLLATE "C",
    changes         TEXT NOT NULL,          -- JSON, redacted
    metadata        TEXT NOT NULL,          -- JSON, redacted
    ip              TEXT,
    user_agent      TEXT,
    created_at      TEXT COLLATE "C" NOT NULL
);
INSERT INTO audit_events_new (id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email,
                              resource_type, resource_id, changes, metadata, ip, user_agent, created_at)
SELECT id, org_id, action, actor_type, actor_id, actor_label, actor_name, actor_email,
       resource_type, resource_id, changes, metadata, ip, user_agent, created_at
FROM audit_events ORDER BY created_at, id;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;

-- One index per explorer query shape, newest first by (time, seq).
CREATE INDEX audit_by_org_time ON audit_events (org_id, created_at, seq);
CREATE INDEX audit_by_org_actor_time ON audit_events (org_id, actor_id, created_at, seq);
CREATE INDEX audit_by_org_resource_time ON audit_events (org_id, resource_type, resource_id, created_at, seq);
CREATE INDEX audit_by_org_action_time ON audit_events (org_id, action, created_at, seq);
