-- Login throttling, and outbox mail claimed by one delivery loop at a time.

-- One row per failed login, kept for the throttling windows (15 minutes at most).
CREATE TABLE login_failures (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     TEXT NOT NULL,      -- the attempted email, trimmed and lower-cased
    ip          TEXT,
    failed_us   BIGINT NOT NULL     -- µs since 1970
);
CREATE INDEX login_failures_by_account ON login_failures (account, failed_us);
CREATE INDEX login_failures_by_ip ON login_failures (ip, failed_us);

-- A final 'failed' state, and a lease (claimed_until) that one delivery loop holds while it
-- sends a mail.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
