-- The rest of the normalised finding: aliases, remediation, references, where in an image
-- or cluster it is, and the asset it is about.

CREATE TYPE asset_kind AS ENUM ('repository', 'image', 'workload', 'cluster', 'url', 'host');

ALTER TABLE findings
    ADD COLUMN aliases       TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN remediation   TEXT NOT NULL DEFAULT '',
    ADD COLUMN "references"  TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN image         TEXT,
    ADD COLUMN k8s_namespace TEXT,
    ADD COLUMN k8s_kind      TEXT,
    ADD COLUMN k8s_name      TEXT,
    ADD COLUMN url           TEXT,
    ADD COLUMN asset_kind    asset_kind,
    ADD COLUMN asset_key     TEXT;

-- "which findings mention CVE-2024-…" across every project
CREATE INDEX findings_aliases_idx ON findings USING gin (aliases);
