-- Workflows (the live definition) and their versions (one row per semantic change).

CREATE TABLE workflows (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    definition      TEXT NOT NULL,          -- JSON {nodes, edges}, cosmetic state included
    version         BIGINT NOT NULL,        -- the current version number
    content_hash    TEXT NOT NULL,
    enabled         BIGINT NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by_name TEXT NOT NULL
);
CREATE INDEX workflows_by_org ON workflows (org_id, updated_at);

CREATE TABLE workflow_versions (
    id              TEXT PRIMARY KEY,
    workflow_id     TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    name            TEXT NOT NULL,
    snapshot        TEXT NOT NULL,          -- JSON {nodes, edges} exactly as saved
    content_hash    TEXT NOT NULL,
    change          TEXT NOT NULL,          -- JSON semantic diff against the previous version
    nodes_added     BIGINT NOT NULL,
    nodes_removed   BIGINT NOT NULL,
    nodes_changed   BIGINT NOT NULL,
    edges_added     BIGINT NOT NULL,
    edges_removed   BIGINT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    actor_label     TEXT NOT NULL,
    actor_name      TEXT,                   -- as they were at the time
    actor_email     TEXT,
    source          TEXT NOT NULL CHECK (source IN ('create', 'update', 'restore', 'api')),
    label           TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (workflow_id, version)           -- two saves can never claim one number
);
-- Runs will join their executed hash to the version that produced it.
CREATE INDEX workflow_versions_by_hash ON workflow_versions (workflow_id, content_hash);
