-- One lease shape for every kind of background work (backend/jobs): which claim holds a row
-- (`lease_holder`, a token per claim) and until when (`lease_until`, renewed while it works).
ALTER TABLE outbox RENAME COLUMN claimed_until TO lease_until;
ALTER TABLE outbox ADD COLUMN lease_holder TEXT;
ALTER TABLE posthog_queue RENAME COLUMN claimed_until TO lease_until;
ALTER TABLE posthog_queue ADD COLUMN lease_holder TEXT;
ALTER TABLE executions RENAME COLUMN claimed_until TO lease_until;
ALTER TABLE executions ADD COLUMN lease_holder TEXT;
ALTER TABLE audit_sealer RENAME COLUMN holder TO lease_holder;
ALTER TABLE audit_sealer RENAME COLUMN until TO lease_until;
