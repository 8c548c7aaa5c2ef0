-- Login throttling, and outbox mail claimed by one delivery loop at a time.

-- One row per failed login, kept for the throttling windows (15 minutes at most).
CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,      -- the attempted email, trimmed and lower-cased
    ip          TEXT,
    failed_us   BIGINT NOT NULL     -- µs since 1970
);
CREATE INDEX login_failures_by_account ON login_failures (account, failed_us);
CREATE INDEX login_failures_by_ip ON login_failures (ip, failed_us);

-- SQLite cannot change a CHECK in place: the outbox is rebuilt with the 'failed' state and
-- a lease (claimed_until) that one delivery loop holds while it sends a mail.
CREATE TABLE outbox_new (
    id              TEXT PRIMARY KEY,
    org_id          TEXT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    claimed_until   TEXT
);
INSERT INTO outbox_new (id, org_id, recipient, subject, body, status, attempts, last_error, next_attempt_at, created_at, sent_at)
    SELECT id, org_id, recipient, subject, body, status, attempts, last_error, next_attempt_at, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_org ON outbox (org_id, created_at);
