-- Trail integrity: each org's events chained by hash in seq order (one chain for events
-- outside any org), the head of each chain, signed checkpoints, and the sealer's lease (one
-- instance seals at a time).

ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
-- What is left to seal: small, since the sealer keeps up.
CREATE INDEX audit_unsealed ON audit_events (seq) WHERE hash IS NULL;

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

CREATE TABLE audit_sealer (
    id              INTEGER PRIMARY KEY,
    holder          TEXT,
    until           TEXT
);
INSERT INTO audit_sealer (id, holder, until) VALUES (1, NULL, NULL);
