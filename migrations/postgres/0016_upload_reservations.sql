-- Quota reserved while uploads stream (backend/files/reservation.rs): the org's total beside
-- its used bytes, and one row per upload in flight, renewed as it streams and reclaimed by
-- housekeeping when its instance died.
ALTER TABLE orgs ADD COLUMN storage_reserved_bytes BIGINT NOT NULL DEFAULT 0;
CREATE TABLE upload_reservations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    bytes       BIGINT NOT NULL,
    renewed_us  BIGINT NOT NULL     -- µs since 1970
);
CREATE INDEX upload_reservations_by_renewal ON upload_reservations (renewed_us);
