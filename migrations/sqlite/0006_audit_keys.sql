-- The explorer's indexes are built on integers instead of texts: 64-bit hashes for the
-- 36-character ids and the time in microseconds. Each hash key covers the org and one filter
-- (org alone; org + actor; org + resource id; org + action), so one index seek answers
-- "this org's events [of this actor / resource / action], newest first", and an index entry
-- is a third of its old width — what sustained ingest is bound by (benches/audit.rs).
-- Queries still compare the texts, so a hash collision costs a row check, never a wrong row.
-- The keys of rows written before this migration are filled in by the server at startup
-- (SQL has no XXH3): until then such a row has a NULL org_key.
ALTER TABLE audit_events ADD COLUMN org_key INTEGER;
ALTER TABLE audit_events ADD COLUMN actor_key INTEGER;
ALTER TABLE audit_events ADD COLUMN resource_key INTEGER;
ALTER TABLE audit_events ADD COLUMN action_key INTEGER;
ALTER TABLE audit_events ADD COLUMN created_us INTEGER;  -- created_at, µs since 1970

DROP INDEX audit_by_org_time;
DROP INDEX audit_by_org_actor_time;
DROP INDEX audit_by_org_resource_time;
DROP INDEX audit_by_org_action_time;
-- SQLite appends the rowid (= seq) to each: the keyset is (created_us, seq).
CREATE INDEX audit_by_org_time ON audit_events (org_key, created_us);
CREATE INDEX audit_by_actor_time ON audit_events (actor_key, created_us);
CREATE INDEX audit_by_resource_time ON audit_events (resource_key, created_us);
CREATE INDEX audit_by_action_time ON audit_events (action_key, created_us);
