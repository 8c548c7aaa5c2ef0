-- Executions (runs of a workflow, each with its steps), webhook keys, org credentials, and
-- the schedule slots already fired.

-- A run outlives its workflow, its key and its user: who ran it (the credential descriptor)
-- and what ran (hash, version, definition) are copied here, never referenced.
CREATE TABLE executions (
    seq                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,    -- insertion order: the queue and list order, the cursor
    id                      TEXT NOT NULL UNIQUE,
    org_id                  TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    workflow_id             TEXT NOT NULL,
    workflow_name           TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    trigger_kind            TEXT NOT NULL CHECK (trigger_kind IN ('manual', 'api', 'webhook', 'schedule')),
    credential_type         TEXT NOT NULL,
    credential_id           TEXT,
    credential_label        TEXT NOT NULL,
    user_id                 TEXT,               -- the person who ran it, if any: members see their own runs
    executed_workflow_hash  TEXT NOT NULL,
    version                 BIGINT,
    definition              TEXT NOT NULL,      -- exactly what runs, as validated when triggered
    payload                 TEXT,               -- JSON
    error                   TEXT,
    created_at              TEXT NOT NULL,
    started_at              TEXT,
    finished_at             TEXT,
    claimed_until           TEXT                -- the lease of the worker running it
);
CREATE INDEX executions_by_org ON executions (org_id, seq);
CREATE INDEX executions_by_workflow ON executions (workflow_id, seq);
CREATE INDEX executions_by_status ON executions (status, seq);

CREATE TABLE execution_steps (
    execution_id    TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    node_id         TEXT NOT NULL,
    node_type       TEXT NOT NULL,
    label           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    output          TEXT,                       -- JSON
    error           TEXT,
    PRIMARY KEY (execution_id, position)
);

CREATE TABLE webhook_keys (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    workflow_id     TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    display         TEXT NOT NULL,
    secret_hash     TEXT NOT NULL UNIQUE,       -- SHA-256 of the secret; the secret is never stored
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE INDEX webhook_keys_by_workflow ON webhook_keys (workflow_id, created_at);

-- Secrets sealed with a key derived from CHRONICLE_SECRET (nonce + ciphertext, hex).
CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    sealed_secret   TEXT NOT NULL,
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    UNIQUE (org_id, name)
);

-- One row per schedule slot fired: the primary key is the claim that makes two instances
-- fire a slot once.
CREATE TABLE schedule_firings (
    workflow_id     TEXT NOT NULL,
    slot            TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    PRIMARY KEY (workflow_id, slot)
);
