-- Invitations and second factors. Tokens, challenges and recovery codes are stored only as
-- their SHA-256; the TOTP secret is sealed under the instance secret like credentials.

CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    email_key       TEXT NOT NULL,          -- lower-cased: whom it is for, any case
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    token_hash      TEXT NOT NULL UNIQUE,
    invited_by      TEXT NOT NULL,          -- the inviter's name as it was (the trail keeps who)
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    accepted_at     TEXT,
    revoked_at      TEXT
);
CREATE INDEX invitations_by_org ON invitations (org_id, created_at);

CREATE TABLE user_totp (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret          TEXT NOT NULL,          -- sealed base32
    confirmed_at    TEXT,                   -- NULL while enrolling
    last_step       BIGINT NOT NULL DEFAULT 0  -- the newest time step accepted: no code twice
);

CREATE TABLE recovery_codes (
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash       TEXT NOT NULL,
    used_at         TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- The step between a right password and the second factor: no session until it succeeds.
CREATE TABLE mfa_challenges (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);

-- Passkeys: the credential id (hex) finds the key at sign-in; `passkey` is webauthn-rs's
-- record of it (public key, signature counter) as JSON.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    passkey         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A WebAuthn ceremony between its two requests (any instance may finish it, once).
CREATE TABLE webauthn_ceremonies (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,  -- registering; NULL: signing in
    kind            TEXT NOT NULL CHECK (kind IN ('register', 'sign_in')),
    state           TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);

ALTER TABLE orgs ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- A mail's one-time secret (an invitation's token) waits beside its body, which holds
-- `{{secret}}` in its place, and is forgotten once the mail is sent or given up.
ALTER TABLE outbox ADD COLUMN secret TEXT;
