-- Governed credentials: the hosts a credential may be sent to, and four-eyes approval of
-- members' versions.

-- A JSON array of host patterns. Existing credentials get the empty list, which refuses
-- every request until an owner or admin names the hosts: the safer of the two migrations
-- (the hosts their nodes point at today may be exactly the ones a member slipped in).
ALTER TABLE credentials ADD COLUMN allowed_hosts TEXT NOT NULL DEFAULT '[]';

-- credentials (default) | all | off
ALTER TABLE orgs ADD COLUMN workflow_approval TEXT NOT NULL DEFAULT 'credentials';

-- Every version written so far was in force when it was written: approved (by nobody named).
ALTER TABLE workflow_versions ADD COLUMN approval_state TEXT NOT NULL DEFAULT 'approved';
ALTER TABLE workflow_versions ADD COLUMN approved_by_id TEXT;
ALTER TABLE workflow_versions ADD COLUMN approved_by_name TEXT;
ALTER TABLE workflow_versions ADD COLUMN approved_at TEXT;
ALTER TABLE workflow_versions ADD COLUMN rejection_reason TEXT;

-- The version runs execute: the newest approved one (NULL: none yet, runs answer 409).
ALTER TABLE workflows ADD COLUMN approved_version BIGINT;
UPDATE workflows SET approved_version = version;
