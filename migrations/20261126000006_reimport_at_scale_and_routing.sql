-- Re-import at scale, and tokens that speak for a team or a whole cluster.

-- A hash of what the scanner said about a finding (every stored field but the observation
-- times): a re-import that reports a finding unchanged leaves its row alone instead of
-- rewriting it, which is what makes re-importing 100k findings cheap.
ALTER TABLE findings ADD COLUMN content_hash BYTEA;

-- first_scan_id / last_scan_id stay plain ids: ingest writes them from the scan row it has
-- just inserted in the same transaction, and scans are never deleted on their own (only with
-- their project, which takes its findings along). As foreign keys they cost three row-lock
-- lookups per inserted finding, which tripled the time of a large first import.
ALTER TABLE findings DROP CONSTRAINT findings_first_scan_id_fkey,
                     DROP CONSTRAINT findings_last_scan_id_fkey;

-- Each scope's latest scans. A finding that a scan reports unchanged is not rewritten, so
-- its own last_scan_id / last_seen_at say when it last *changed*; it was last seen by its
-- scope's latest scan as long as it is still open there.
CREATE TABLE scopes (
    project_id            BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scanner               TEXT NOT NULL,
    target                TEXT NOT NULL,
    last_scan_id          BIGINT NOT NULL REFERENCES scans(id),
    last_scan_at          TIMESTAMPTZ NOT NULL,
    last_complete_scan_id BIGINT REFERENCES scans(id),
    PRIMARY KEY (project_id, scanner, target)
);

-- Teams own projects (people and roles arrive with the triage work).
CREATE TABLE teams (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE projects ADD COLUMN team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL;

-- A token speaks for one project, for one team (routing into that team's projects), or,
-- with neither, for the whole estate (a cluster-wide tool routing into any project).
ALTER TABLE ingest_tokens
    ALTER COLUMN project_id DROP NOT NULL,
    ADD COLUMN team_id BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    ADD CONSTRAINT ingest_tokens_one_scope CHECK (project_id IS NULL OR team_id IS NULL);
CREATE INDEX ingest_tokens_team_idx ON ingest_tokens (team_id);

-- A rejected report from a team or cluster token has no single project to belong to; it
-- stays findable through its token.
ALTER TABLE scans ALTER COLUMN project_id DROP NOT NULL;
CREATE INDEX scans_token_idx ON scans (token_id, received_at DESC);

-- Routing rules: which project a finding from a team or cluster token lands in. Rules are
-- tried by position (then id); the first whose every pattern matches wins. Patterns are
-- globs over the finding's Kubernetes namespace, image repository (no tag or digest) and
-- file path.
CREATE TABLE routing_rules (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL: an estate-wide rule, used by cluster-wide tokens only
    team_id           BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL DEFAULT 100,
    namespace         TEXT,
    image_repository  TEXT,
    path              TEXT,
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (namespace IS NOT NULL OR image_repository IS NOT NULL OR path IS NOT NULL)
);
CREATE INDEX routing_rules_team_idx ON routing_rules (team_id, position, id);
