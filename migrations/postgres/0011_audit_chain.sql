-- Trail integrity: each org's events chained by hash in seq order (one chain for events
-- outside any org), the head of each chain, signed checkpoints, and the sealer's lease (one
-- instance seals at a time).

ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;

CREATE TABLE audit_chain_heads (
    chain           TEXT PRIMARY KEY,           -- the org id; '' for events outside any org
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    sealed_since_checkpoint BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE audit_checkpoints (
    chain           TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    signature       TEXT NOT NULL,              -- base64 Ed25519 over JCS({org_id, seq, hash, created_at})
    PRIMARY KEY (chain, seq)
);

-- The sealer's lease, and how far it has sealed (every seq up to it is sealed, or skipped:
-- rolled back): the next round reads on from there by the primary key, so unsealed events
-- need no index of their own.
CREATE TABLE audit_sealer (
    id              INTEGER PRIMARY KEY,
    holder          TEXT,
    until           TEXT,
    sealed_through  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO audit_sealer (id, holder, until, sealed_through) VALUES (1, NULL, NULL, 0);
