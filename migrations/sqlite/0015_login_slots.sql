-- Login throttling counts attempts, not finished failures: one row per account and per client
-- address, whose `used` an attempt raises atomically before any password check (and a
-- successful or refused attempt lowers again), so parallel attempts cannot all pass the
-- check. The window starts with its first attempt.
CREATE TABLE login_slots (
    scope           TEXT NOT NULL,      -- 'account' (the email, trimmed and lower-cased) or 'ip'
    subject         TEXT NOT NULL,
    window_start_us BIGINT NOT NULL,    -- µs since 1970
    used            BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);
DROP TABLE login_failures;
