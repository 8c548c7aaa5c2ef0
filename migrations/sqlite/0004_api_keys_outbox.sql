-- API keys and the mail outbox.

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('org', 'personal')),
    org_id          TEXT REFERENCES orgs(id) ON DELETE CASCADE,    -- org keys
    user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,   -- personal keys: whose
    name            TEXT NOT NULL,
    display         TEXT NOT NULL,          -- prefix + last 4: safe to show anywhere
    secret_hash     TEXT NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret is never stored
    scopes          TEXT NOT NULL,          -- space-separated
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    expires_at      TEXT,
    revoked_at      TEXT,
    CHECK ((kind = 'org' AND org_id IS NOT NULL) OR (kind = 'personal' AND user_id IS NOT NULL))
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, created_at);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

-- Mail waits here until it is delivered; without SMTP it stays, readable on the Outbox page.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    org_id          TEXT,                   -- whose owners may read it; NULL for personal mail
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_org ON outbox (org_id, created_at);
