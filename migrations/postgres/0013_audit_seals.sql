-- The chain's hashes move out of the events into a narrow table of their own: sealing then
-- inserts a ~150-byte row per event instead of updating the ~1.6 KB event row, which on
-- PostgreSQL writes a whole new version of it. Readers join on `seq`; an event without a row
-- here is not sealed yet. (SQLite updates a row in place: there the hashes stay columns of
-- the event, which measured faster to seal and to verify.)
CREATE TABLE audit_seals (
    seq             BIGINT PRIMARY KEY,         -- the event's seq
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
INSERT INTO audit_seals (seq, prev_hash, hash) SELECT seq, prev_hash, hash FROM audit_events WHERE hash IS NOT NULL;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN hash;
