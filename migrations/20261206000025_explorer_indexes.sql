-- The findings explorer at a million findings (#15): a stored due date, and indexes that
-- lead with what the viewer can see.
--
-- 1. `findings.due_at`: when a finding must be fixed by (first seen + time spent
--    risk-accepted + its severity's SLA days in the project's effective policy, as
--    `app::sla::sql::DUE_AT` computes it); NULL when the severity has no SLA. Stored, so
--    that "sort by due date" and "SLA breached / due soon" read an index instead of
--    computing every visible finding's date. Kept right by:
--    - ingest: its binary COPY writes the date (`copy_rows`, from the project's policy it
--      already reads for the gate); the INSERT trigger below only fills rows written
--      without one (other writers, tests) and is skipped for every row ingest writes
--      with a date;
--    - the BEFORE UPDATE trigger below, when severity, first sighting or the paused time
--      change (after `findings_sla_pause`, which moves `sla_paused`: triggers fire in name
--      order);
--    - one batched UPDATE in the transaction that changes the instance policy or a
--      project's overrides (`app::sla_settings::db`).
-- 2. Indexes (see README "Findings explorer" for plans and costs):
--    - (project_id, id), carrying severity, state and layer: a developer's newest
--      findings, one index range per visible project (a LATERAL top-50 each, merged),
--      instead of walking the primary key over everyone's findings; the common filters
--      and the total are answered from the index alone (an index-only scan);
--    - the due date of findings not closed, NULL (no SLA) last: sort=due and the SLA
--      filters, for everyone (admins) and per project (developers).
--    Measured on 1M findings in 2,000 projects, a one-team developer (40 projects,
--    ~15k findings): newest 3-15 ms, critical only 2.8 ms (was a BitmapAnd with the
--    severity index, 160-320 ms), sort=due 8 ms (140 ms without the per-project due
--    index), total 2.4 ms (54 ms reading the heap); an admin's sort=due 0.3 ms.

ALTER TABLE findings ADD COLUMN due_at TIMESTAMPTZ;

UPDATE findings f
   SET due_at = f.first_seen_at + f.sla_paused + make_interval(hours => 24 *
        CASE f.severity WHEN 'critical' THEN s.critical_days WHEN 'high' THEN s.high_days
             WHEN 'medium' THEN s.medium_days WHEN 'low' THEN s.low_days
             ELSE s.info_days END)
  FROM project_sla s
 WHERE s.project_id = f.project_id;

-- A finding's due date from its project's effective SLA.
CREATE FUNCTION bosun_due_at(project BIGINT, sev severity, first_seen TIMESTAMPTZ,
                             paused INTERVAL)
RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
    SELECT first_seen + paused + make_interval(hours => 24 *
             CASE sev WHEN 'critical' THEN s.critical_days WHEN 'high' THEN s.high_days
                  WHEN 'medium' THEN s.medium_days WHEN 'low' THEN s.low_days
                  ELSE s.info_days END)
      FROM project_sla s WHERE s.project_id = project
$$;

CREATE FUNCTION findings_due_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.due_at := bosun_due_at(NEW.project_id, NEW.severity, NEW.first_seen_at, NEW.sla_paused);
    RETURN NEW;
END $$;

-- Named to fire after `findings_sla_pause` (same event, name order), whose change of
-- sla_paused it must see; `state` is listed because that trigger changes sla_paused on
-- state changes the statement itself does not name.
CREATE TRIGGER findings_sla_refresh_due BEFORE UPDATE OF severity, first_seen_at, sla_paused,
        state, project_id ON findings
    FOR EACH ROW
    WHEN (OLD.severity IS DISTINCT FROM NEW.severity
          OR OLD.first_seen_at IS DISTINCT FROM NEW.first_seen_at
          OR OLD.sla_paused IS DISTINCT FROM NEW.sla_paused
          OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION findings_due_at();

-- Rows written without a date (ingest writes one whenever the severity has an SLA).
CREATE TRIGGER findings_sla_fill_due BEFORE INSERT ON findings
    FOR EACH ROW WHEN (NEW.due_at IS NULL)
    EXECUTE FUNCTION findings_due_at();

CREATE INDEX findings_project_newest_idx ON findings (project_id, id)
    INCLUDE (severity, state, layer);

CREATE INDEX findings_due_idx ON findings ((coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state NOT IN ('fixed', 'false_positive');

CREATE INDEX findings_project_due_idx
    ON findings (project_id, (coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE state NOT IN ('fixed', 'false_positive');
