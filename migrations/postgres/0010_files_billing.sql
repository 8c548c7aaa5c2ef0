-- Billing (plan, quota, seats, status, set by the billing webhook) and org files with the
-- storage meter that changes in the same transaction as the file rows.

ALTER TABLE orgs ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
ALTER TABLE orgs ADD COLUMN storage_quota_bytes BIGINT;         -- NULL: the plan's quota
ALTER TABLE orgs ADD COLUMN storage_used_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN seats BIGINT;
ALTER TABLE orgs ADD COLUMN billing_status TEXT NOT NULL DEFAULT 'active';

-- Which org a provider subscription belongs to (invoices name their subscription only).
CREATE TABLE billing_subscriptions (
    subscription_id     TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
);

-- File contents live in the data directory under their SHA-256; rows say whose they are.
CREATE TABLE files (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    size                BIGINT NOT NULL,
    sha256              TEXT NOT NULL,
    content_type        TEXT NOT NULL,
    created_by_id       TEXT,
    created_by_name     TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX files_by_org ON files (org_id, created_at);
CREATE INDEX files_by_sha256 ON files (sha256);

-- Public links: only the SHA-256 of the token is stored.
CREATE TABLE file_shares (
    id                  TEXT PRIMARY KEY,
    file_id             TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    token_hash          TEXT NOT NULL UNIQUE,
    created_by_name     TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    revoked_at          TEXT
);
CREATE INDEX file_shares_by_file ON file_shares (file_id);
