-- SLAs: days allowed to fix a finding, by severity; instance-wide with per-project
-- overrides. A finding is due `days` after it was first seen, plus the time it spent
-- risk-accepted (the clock stops while a risk is accepted).

-- The instance's policy: exactly one row. NULL days = that severity has no SLA.
CREATE TABLE sla_policy (
    singleton     BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    critical_days INTEGER CHECK (critical_days BETWEEN 0 AND 3650),
    high_days     INTEGER CHECK (high_days BETWEEN 0 AND 3650),
    medium_days   INTEGER CHECK (medium_days BETWEEN 0 AND 3650),
    low_days      INTEGER CHECK (low_days BETWEEN 0 AND 3650),
    info_days     INTEGER CHECK (info_days BETWEEN 0 AND 3650),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by    BIGINT REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO sla_policy (critical_days, high_days, medium_days, low_days, info_days)
VALUES (7, 30, 90, 180, NULL);

-- A project's changes to it: NULL keeps the instance's days for that severity.
CREATE TABLE project_sla_overrides (
    project_id    BIGINT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    critical_days INTEGER CHECK (critical_days BETWEEN 0 AND 3650),
    high_days     INTEGER CHECK (high_days BETWEEN 0 AND 3650),
    medium_days   INTEGER CHECK (medium_days BETWEEN 0 AND 3650),
    low_days      INTEGER CHECK (low_days BETWEEN 0 AND 3650),
    info_days     INTEGER CHECK (info_days BETWEEN 0 AND 3650),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by    BIGINT REFERENCES users(id) ON DELETE SET NULL
);

-- Each project's effective days per severity; queries join this to compute due dates.
CREATE VIEW project_sla AS
SELECT p.id AS project_id,
       coalesce(o.critical_days, i.critical_days) AS critical_days,
       coalesce(o.high_days, i.high_days) AS high_days,
       coalesce(o.medium_days, i.medium_days) AS medium_days,
       coalesce(o.low_days, i.low_days) AS low_days,
       coalesce(o.info_days, i.info_days) AS info_days
  FROM projects p
 CROSS JOIN sla_policy i
  LEFT JOIN project_sla_overrides o ON o.project_id = p.id;

-- When the current risk acceptance began, and the total time of the ended ones.
ALTER TABLE findings
    ADD COLUMN risk_accepted_at TIMESTAMPTZ,
    ADD COLUMN sla_paused INTERVAL NOT NULL DEFAULT '0';
UPDATE findings f
   SET risk_accepted_at = coalesce(
        (SELECT max(e.at) FROM audit_events e
          WHERE e.subject_type = 'finding' AND e.subject_id = f.id
            AND e.after->>'state' = 'risk_accepted'),
        now())
 WHERE state = 'risk_accepted';

-- Kept by the database rather than by each code path that changes a state (triage, bulk
-- triage, the expiry job): entering risk_accepted starts the pause, leaving it adds the
-- pause to sla_paused. The WHEN clause keeps every other update (ingest) free of it.
CREATE FUNCTION findings_sla_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'risk_accepted' THEN
        NEW.risk_accepted_at := now();
    ELSE
        -- as seconds: a difference of timestamps comes back in days, and adding days
        -- follows the session's time zone across daylight-saving changes
        NEW.sla_paused := NEW.sla_paused + make_interval(secs => greatest(0,
            extract(epoch FROM now() - coalesce(OLD.risk_accepted_at, now()))));
        NEW.risk_accepted_at := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER findings_sla_pause BEFORE UPDATE OF state ON findings
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          AND (OLD.state = 'risk_accepted' OR NEW.state = 'risk_accepted'))
    EXECUTE FUNCTION findings_sla_pause();
