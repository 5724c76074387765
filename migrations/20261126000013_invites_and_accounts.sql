-- Invitations: an admin invites a person by email with a one-time link that expires. The link
-- carries a random 256-bit token; like a session, the table stores only its SHA-256.
CREATE TABLE invites (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       TEXT NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    token_hash  BYTEA NOT NULL UNIQUE,
    -- the account created from it is a global admin
    is_admin    BOOLEAN NOT NULL DEFAULT false,
    invited_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    -- an invitation ends once: accepted or revoked, never both
    CHECK (used_at IS NULL OR revoked_at IS NULL)
);
-- the admin page lists pending invitations; a new one for an email replaces its pending ones
CREATE INDEX invites_pending_idx ON invites (email) WHERE used_at IS NULL AND revoked_at IS NULL;
