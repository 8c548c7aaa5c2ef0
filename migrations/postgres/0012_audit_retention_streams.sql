-- Retention: a chain pruned up to a signed checkpoint starts from that checkpoint's hash (the
-- anchor); the pruner runs once a day across instances (whoever moves `ran_on` first).
ALTER TABLE audit_chain_heads ADD COLUMN pruned_through BIGINT NOT NULL DEFAULT 0;

CREATE TABLE audit_pruner (
    id              INTEGER PRIMARY KEY,
    ran_on          TEXT NOT NULL               -- the UTC date of the last run
);
INSERT INTO audit_pruner (id, ran_on) VALUES (1, '');

-- Streams: each org's SIEM destinations. `cursor_seq` is the last event delivered (every
-- sealed event of the org up to it has been POSTed); the lease lets one instance deliver a
-- stream at a time. The signing secret is sealed like org credentials.
CREATE TABLE audit_streams (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    format          TEXT NOT NULL,              -- json | ocsf
    secret          TEXT NOT NULL,
    created_by_id   TEXT,
    created_at      TEXT NOT NULL,
    cursor_seq      BIGINT NOT NULL,
    delivered       BIGINT NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0, -- failures in a row
    next_attempt_at TEXT NOT NULL,
    lease_holder    TEXT,
    lease_until     TEXT,
    last_success_at TEXT,
    last_error      TEXT,
    last_error_at   TEXT
);
CREATE INDEX audit_streams_org ON audit_streams (org_id, created_at);

-- Sealing sets prev_hash and hash on every stored row once. With room left on each page the
-- row's new version stays on its page and no index is touched (a HOT update): sealing keeps
-- up with ingest (README "Figures").
ALTER TABLE audit_events SET (fillfactor = 70);
