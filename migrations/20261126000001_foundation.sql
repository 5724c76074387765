-- Bosun's foundation schema: people, projects, ingest tokens, scans and findings.
-- Forward-only: later changes go in new files.

CREATE TYPE severity AS ENUM ('critical', 'high', 'medium', 'low', 'info');
CREATE TYPE layer AS ENUM ('code', 'dependency', 'image', 'cluster_config', 'secret', 'dast', 'runtime');
CREATE TYPE finding_state AS ENUM
    ('open', 'confirmed', 'in_progress', 'fixed', 'false_positive', 'risk_accepted', 'reopened');
CREATE TYPE scan_status AS ENUM ('accepted', 'rejected');

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (email)
);

-- Server-side sessions: the cookie carries an opaque random token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash    BYTEA PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE projects (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Ingest tokens are 256-bit random secrets, so a plain SHA-256 is a sound lookup hash
-- (a slow password hash would only slow every upload). Shown once, never stored in clear.
CREATE TABLE ingest_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    token_hash    BYTEA NOT NULL UNIQUE,
    -- first characters of the token, so people can tell tokens apart in lists
    prefix        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX ingest_tokens_project_idx ON ingest_tokens (project_id);

-- One report received, accepted or rejected. Scope = (project, scanner, target).
CREATE TABLE scans (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id       BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    token_id         BIGINT REFERENCES ingest_tokens(id) ON DELETE SET NULL,
    status           scan_status NOT NULL,
    format           TEXT NOT NULL,
    scanner          TEXT NOT NULL,
    scanner_version  TEXT,
    target           TEXT NOT NULL DEFAULT '',
    commit_sha       TEXT,
    branch           TEXT,
    pipeline_url     TEXT,
    error            TEXT,
    report_bytes     BIGINT NOT NULL DEFAULT 0,
    findings_total   INTEGER NOT NULL DEFAULT 0,
    findings_new     INTEGER NOT NULL DEFAULT 0,
    findings_unchanged INTEGER NOT NULL DEFAULT 0,
    received_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX scans_scope_idx ON scans (project_id, scanner, target, received_at DESC);

-- One distinct problem on one asset, living across many scans.
CREATE TABLE findings (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id       BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint      BYTEA NOT NULL,
    scanner          TEXT NOT NULL,
    target           TEXT NOT NULL DEFAULT '',
    layer            layer NOT NULL,
    severity         severity NOT NULL,
    -- what the scanner said before any human override
    scanner_severity severity NOT NULL,
    state            finding_state NOT NULL DEFAULT 'open',
    title            TEXT NOT NULL,
    rule_id          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    file_path        TEXT,
    line             INTEGER,
    location         TEXT NOT NULL DEFAULT '',
    package_name     TEXT,
    package_version  TEXT,
    fixed_version    TEXT,
    first_scan_id    BIGINT NOT NULL REFERENCES scans(id),
    last_scan_id     BIGINT NOT NULL REFERENCES scans(id),
    first_seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    fixed_at         TIMESTAMPTZ,
    -- bounded raw evidence from the report (truncated by the parser)
    evidence         JSONB,
    UNIQUE (project_id, fingerprint)
);
-- newest first, the explorer's default order
CREATE INDEX findings_first_seen_idx ON findings (first_seen_at DESC, id DESC);
CREATE INDEX findings_severity_idx ON findings (severity, first_seen_at DESC, id DESC);
CREATE INDEX findings_scope_idx ON findings (project_id, scanner, target);
