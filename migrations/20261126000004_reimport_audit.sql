-- Re-import: what each scan closed and reopened, and why it may have declined to close.
ALTER TABLE scans
    ADD COLUMN partial            BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN findings_reopened  INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN findings_fixed     INTEGER NOT NULL DEFAULT 0,
    -- why this scan did not auto-close missing findings (partial, suspiciously empty, ...)
    ADD COLUMN auto_close_skipped TEXT,
    -- the CI gate's verdict on this scan
    ADD COLUMN gate_passed        BOOLEAN;

-- The audit trail: an append-only history of every change. Actor is a person, a token,
-- or a scan; before/after hold the changed fields.
CREATE TABLE audit_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_user_id BIGINT REFERENCES users(id),
    actor_token_id BIGINT REFERENCES ingest_tokens(id),
    scan_id       BIGINT REFERENCES scans(id),
    project_id    BIGINT REFERENCES projects(id) ON DELETE CASCADE,
    subject_type  TEXT NOT NULL,
    subject_id    BIGINT NOT NULL,
    action        TEXT NOT NULL,
    before        JSONB,
    after         JSONB,
    reason        TEXT
);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_type, subject_id, at);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, at);

-- Append-only, enforced by the database: the app can only add rows. (Deleting a whole
-- project cascades, which is the one way history leaves.)
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION audit_events_append_only();

-- Risk acceptance expiry (the triage workflow sets it); the gate waives accepted findings
-- until then.
ALTER TABLE findings ADD COLUMN risk_accepted_until TIMESTAMPTZ;

-- A project's CI gate policy; projects without a row use the default policy.
CREATE TABLE gate_policies (
    project_id  BIGINT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    policy      JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
