-- Maintained aggregates for the overview, the projects list and the project page (#15).
--
-- At a million findings, counting open findings by severity x layer, by team and by project
-- on every page view reads hundreds of thousands of rows. These tables hold the counts
-- instead, kept by statement-level triggers on `findings` in the same transaction as the
-- rows they count: a page never shows a number older than the last commit, and an ingest of
-- 100k rows does one aggregate per statement (over its transition table), not 100k updates.
--
-- * finding_counts: findings per (project, severity, layer, state).
-- * finding_weekly: per (project, UTC week starting Monday, severity) the findings first
--   seen that week (`opened`), and the findings fixed that week that are still fixed
--   (`fixed`, with `fix_seconds` the sum of their times from first seen to fixed, for the
--   mean time to remediate). A fixed finding that reopens leaves its week's `fixed`.
-- * team_open_counts, team_weekly, project_open_counts: the same, rolled up to what the
--   overview and the projects list read for everything a viewer may see at once. Teams are
--   what visibility follows, so an admin's overview sums 50 teams' rows, not 2,000
--   projects'. `team_id` 0 stands for projects without a team. Only active findings (open,
--   confirmed, in_progress, reopened) are in the two `open` tables.
-- * scope_layers: which layers each scope (project, scanner, target) has reported findings
--   in, so a project's coverage map can say when each layer was last scanned (a scope's
--   latest scan, clean or not, is in `scopes`).
--
-- Rows whose count falls to zero stay (a later finding reuses them) until their project's
-- findings are deleted. There are no foreign keys: deleting a project deletes its findings
-- in a statement of its own, whose trigger takes their counts away.

CREATE TABLE finding_counts (
    project_id BIGINT NOT NULL,
    severity   severity NOT NULL,
    layer      layer NOT NULL,
    state      finding_state NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (project_id, severity, layer, state)
);

CREATE TABLE finding_weekly (
    project_id  BIGINT NOT NULL,
    week        DATE NOT NULL,
    severity    severity NOT NULL,
    opened      BIGINT NOT NULL DEFAULT 0,
    fixed       BIGINT NOT NULL DEFAULT 0,
    fix_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, week, severity)
);

CREATE TABLE team_open_counts (
    team_id  BIGINT NOT NULL,
    severity severity NOT NULL,
    layer    layer NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (team_id, severity, layer)
);

CREATE TABLE project_open_counts (
    project_id BIGINT NOT NULL,
    severity   severity NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (project_id, severity)
);

CREATE TABLE team_weekly (
    team_id     BIGINT NOT NULL,
    week        DATE NOT NULL,
    severity    severity NOT NULL,
    opened      BIGINT NOT NULL DEFAULT 0,
    fixed       BIGINT NOT NULL DEFAULT 0,
    fix_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, week, severity)
);

CREATE TABLE scope_layers (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scanner    TEXT NOT NULL,
    target     TEXT NOT NULL,
    layer      layer NOT NULL,
    PRIMARY KEY (project_id, scanner, target, layer)
);

-- The UTC week (its Monday) an instant falls in.
CREATE FUNCTION bosun_week(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('week', at AT TIME ZONE 'UTC')::date
$$;

-- The trigger functions run with JIT off: transition tables have no statistics, so the
-- planner's estimates for their joins are huge and JIT compilation (about 2 s) would cost
-- far more than the few milliseconds the aggregation takes.
--
-- The statement that applies signed deltas to both aggregates, given a query over a
-- transition table that yields (project_id, severity, layer, state, first_seen_at,
-- fixed_at, d) with d = +1 for a row counted now and -1 for a row no longer counted.
-- One statement, so each trigger reads its transition table once; the counts are upserted
-- in key order, so two transactions touching the same counts lock them in the same order.
CREATE FUNCTION finding_aggregates_sql(deltas text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT format($q$
    -- one pass over the transition table: the rows, summed by everything counted
    WITH deltas AS MATERIALIZED (
        SELECT project_id, scanner, target, severity, layer, state,
               bosun_week(first_seen_at) AS opened_week,
               CASE WHEN state = 'fixed' AND fixed_at IS NOT NULL THEN bosun_week(fixed_at) END
                   AS fixed_week,
               sum(d) AS d,
               sum(CASE WHEN state = 'fixed' AND fixed_at IS NOT NULL
                        THEN d * extract(epoch FROM fixed_at - first_seen_at)::float8
                        ELSE 0 END) AS fix_seconds
          FROM (%s) AS raw
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8),
    -- the projects counted, locked against a concurrent change of their team (which
    -- moves their counts between teams) until this transaction ends
    owners AS MATERIALIZED (
        SELECT p.id AS project_id, coalesce(p.team_id, 0) AS team_id
          FROM projects p WHERE p.id IN (SELECT project_id FROM deltas)
         ORDER BY p.id FOR SHARE),
    counts AS (
        INSERT INTO finding_counts AS c (project_id, severity, layer, state, n)
        SELECT project_id, severity, layer, state, sum(d)
          FROM deltas
         GROUP BY project_id, severity, layer, state
        HAVING sum(d) <> 0
         ORDER BY project_id, severity, layer, state
            ON CONFLICT (project_id, severity, layer, state) DO UPDATE SET n = c.n + excluded.n),
    open AS MATERIALIZED (
        SELECT * FROM deltas WHERE state IN ('open', 'confirmed', 'in_progress', 'reopened')),
    project_open AS (
        INSERT INTO project_open_counts AS c (project_id, severity, n)
        SELECT project_id, severity, sum(d) FROM open
         GROUP BY project_id, severity
        HAVING sum(d) <> 0
         ORDER BY project_id, severity
            ON CONFLICT (project_id, severity) DO UPDATE SET n = c.n + excluded.n),
    -- a project being deleted is gone from `owners`: its team's rows were taken down by
    -- projects_aggregates_deleted
    team_open AS (
        INSERT INTO team_open_counts AS c (team_id, severity, layer, n)
        SELECT t.team_id, o.severity, o.layer, sum(o.d)
          FROM open o JOIN owners t USING (project_id)
         GROUP BY t.team_id, o.severity, o.layer
        HAVING sum(o.d) <> 0
         ORDER BY t.team_id, o.severity, o.layer
            ON CONFLICT (team_id, severity, layer) DO UPDATE SET n = c.n + excluded.n),
    layers AS (
        INSERT INTO scope_layers (project_id, scanner, target, layer)
        SELECT DISTINCT project_id, scanner, target, layer FROM deltas WHERE d > 0
            ON CONFLICT DO NOTHING),
    weekly AS MATERIALIZED (
        SELECT project_id, week, severity,
               sum(opened) AS opened, sum(fixed) AS fixed, sum(fix_seconds) AS fix_seconds
          FROM (SELECT project_id, opened_week AS week, severity,
                       d AS opened, 0 AS fixed, 0::float8 AS fix_seconds
                  FROM deltas
                UNION ALL
                SELECT project_id, fixed_week, severity, 0, d, fix_seconds
                  FROM deltas
                 WHERE fixed_week IS NOT NULL) x
         GROUP BY project_id, week, severity
        HAVING sum(opened) <> 0 OR sum(fixed) <> 0),
    project_weekly AS (
        INSERT INTO finding_weekly AS w (project_id, week, severity, opened, fixed, fix_seconds)
        SELECT * FROM weekly ORDER BY project_id, week, severity
            ON CONFLICT (project_id, week, severity) DO UPDATE
           SET opened = w.opened + excluded.opened,
               fixed = w.fixed + excluded.fixed,
               -- back to exactly 0 when the last fixed finding leaves (no float residue)
               fix_seconds = CASE WHEN w.fixed + excluded.fixed = 0 THEN 0
                                  ELSE w.fix_seconds + excluded.fix_seconds END)
    INSERT INTO team_weekly AS w (team_id, week, severity, opened, fixed, fix_seconds)
    SELECT t.team_id, x.week, x.severity, sum(x.opened), sum(x.fixed), sum(x.fix_seconds)
      FROM weekly x JOIN owners t USING (project_id)
     GROUP BY t.team_id, x.week, x.severity
     ORDER BY t.team_id, x.week, x.severity
        ON CONFLICT (team_id, week, severity) DO UPDATE
       SET opened = w.opened + excluded.opened,
           fixed = w.fixed + excluded.fixed,
           fix_seconds = CASE WHEN w.fixed + excluded.fixed = 0 THEN 0
                              ELSE w.fix_seconds + excluded.fix_seconds END
    $q$, deltas)
$f$;

-- Every aggregate row belongs to a team's projects (team 0: projects without one). Two
-- transactions writing findings of one team (two scopes, two projects, a scan and a
-- bulk triage) would otherwise lock that team's rows in different orders across their
-- statements and deadlock; each waits here for the other's team first, in team order.
CREATE FUNCTION finding_aggregates_lock(project_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1651, t.team_id)
       FROM (SELECT DISTINCT coalesce(p.team_id, 0)::int AS team_id
               FROM projects p WHERE p.id = ANY(project_ids)
              ORDER BY 1) AS t;
END $$;

CREATE FUNCTION finding_aggregates_inserted() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
BEGIN
    PERFORM finding_aggregates_lock(ARRAY(SELECT DISTINCT project_id FROM inserted));
    EXECUTE finding_aggregates_sql(
        'SELECT project_id, scanner, target, severity, layer, state, first_seen_at,
                fixed_at, 1 AS d
           FROM inserted');
    RETURN NULL;
END $$;

CREATE FUNCTION finding_aggregates_updated() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
BEGIN
    PERFORM finding_aggregates_lock(ARRAY(SELECT DISTINCT project_id FROM new_rows
                                          UNION SELECT DISTINCT project_id FROM old_rows));
    -- only rows whose counted columns changed: an ingest mostly rewrites other columns
    EXECUTE finding_aggregates_sql(
        'SELECT x.*
           FROM old_rows o JOIN new_rows n ON n.id = o.id
          CROSS JOIN LATERAL (VALUES
                (o.project_id, o.scanner, o.target, o.severity, o.layer, o.state,
                 o.first_seen_at, o.fixed_at, -1),
                (n.project_id, n.scanner, n.target, n.severity, n.layer, n.state,
                 n.first_seen_at, n.fixed_at, 1))
                AS x(project_id, scanner, target, severity, layer, state, first_seen_at,
                     fixed_at, d)
          WHERE (o.project_id, o.scanner, o.target, o.severity, o.layer, o.state,
                 o.first_seen_at, o.fixed_at)
                IS DISTINCT FROM
                (n.project_id, n.scanner, n.target, n.severity, n.layer, n.state,
                 n.first_seen_at, n.fixed_at)');
    RETURN NULL;
END $$;

CREATE FUNCTION finding_aggregates_deleted() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
BEGIN
    PERFORM finding_aggregates_lock(ARRAY(SELECT DISTINCT project_id FROM deleted));
    EXECUTE finding_aggregates_sql(
        'SELECT project_id, scanner, target, severity, layer, state, first_seen_at,
                fixed_at, -1 AS d
           FROM deleted');
    -- a deleted project leaves no rows behind
    DELETE FROM finding_counts
     WHERE n = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    DELETE FROM finding_weekly
     WHERE opened = 0 AND fixed = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    DELETE FROM project_open_counts
     WHERE n = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    RETURN NULL;
END $$;

CREATE TRIGGER finding_aggregates_inserted AFTER INSERT ON findings
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION finding_aggregates_inserted();
CREATE TRIGGER finding_aggregates_updated AFTER UPDATE ON findings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_aggregates_updated();
CREATE TRIGGER finding_aggregates_deleted AFTER DELETE ON findings
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION finding_aggregates_deleted();

CREATE FUNCTION projects_aggregates_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_team bigint := coalesce(OLD.team_id, 0);
    to_team bigint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE coalesce(NEW.team_id, 0) END;
BEGIN
    -- both teams' counts change: their locks, in team order (see finding_aggregates_lock)
    PERFORM pg_advisory_xact_lock(1651, t::int)
       FROM unnest(ARRAY[from_team, to_team]) AS t WHERE t IS NOT NULL ORDER BY t;
    INSERT INTO team_open_counts AS c (team_id, severity, layer, n)
    SELECT t.team_id, f.severity, f.layer, t.sign * sum(f.n)
      FROM finding_counts f
     CROSS JOIN (VALUES (from_team, -1), (to_team, 1)) AS t(team_id, sign)
     WHERE f.project_id = OLD.id AND t.team_id IS NOT NULL
       AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')
     GROUP BY t.team_id, t.sign, f.severity, f.layer
     ORDER BY t.team_id, f.severity, f.layer
        ON CONFLICT (team_id, severity, layer) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO team_weekly AS w (team_id, week, severity, opened, fixed, fix_seconds)
    SELECT t.team_id, f.week, f.severity, t.sign * f.opened, t.sign * f.fixed,
           t.sign * f.fix_seconds
      FROM finding_weekly f
     CROSS JOIN (VALUES (from_team, -1), (to_team, 1)) AS t(team_id, sign)
     WHERE f.project_id = OLD.id AND t.team_id IS NOT NULL
     ORDER BY t.team_id, f.week, f.severity
        ON CONFLICT (team_id, week, severity) DO UPDATE
       SET opened = w.opened + excluded.opened,
           fixed = w.fixed + excluded.fixed,
           fix_seconds = CASE WHEN w.fixed + excluded.fixed = 0 THEN 0
                              ELSE w.fix_seconds + excluded.fix_seconds END;
    -- (BEFORE DELETE: OLD lets the delete go on; AFTER UPDATE ignores it)
    RETURN OLD;
END $$;

CREATE TRIGGER projects_aggregates_moved AFTER UPDATE OF team_id ON projects
    FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id)
    EXECUTE FUNCTION projects_aggregates_moved();
-- BEFORE: the project's findings are still counted under it
CREATE TRIGGER projects_aggregates_deleted BEFORE DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION projects_aggregates_moved();

-- Backfill from what is there.
INSERT INTO finding_counts (project_id, severity, layer, state, n)
SELECT project_id, severity, layer, state, count(*)
  FROM findings GROUP BY project_id, severity, layer, state;

INSERT INTO finding_weekly (project_id, week, severity, opened, fixed, fix_seconds)
SELECT project_id, week, severity, sum(opened), sum(fixed), sum(fix_seconds)
  FROM (SELECT project_id, bosun_week(first_seen_at) AS week, severity,
               1 AS opened, 0 AS fixed, 0::float8 AS fix_seconds
          FROM findings
        UNION ALL
        SELECT project_id, bosun_week(fixed_at), severity, 0, 1,
               extract(epoch FROM fixed_at - first_seen_at)::float8
          FROM findings
         WHERE state = 'fixed' AND fixed_at IS NOT NULL) x
 GROUP BY project_id, week, severity;

INSERT INTO project_open_counts (project_id, severity, n)
SELECT project_id, severity, sum(n) FROM finding_counts
 WHERE state IN ('open', 'confirmed', 'in_progress', 'reopened')
 GROUP BY project_id, severity;

INSERT INTO team_open_counts (team_id, severity, layer, n)
SELECT coalesce(p.team_id, 0), c.severity, c.layer, sum(c.n)
  FROM finding_counts c JOIN projects p ON p.id = c.project_id
 WHERE c.state IN ('open', 'confirmed', 'in_progress', 'reopened')
 GROUP BY 1, 2, 3;

INSERT INTO team_weekly (team_id, week, severity, opened, fixed, fix_seconds)
SELECT coalesce(p.team_id, 0), w.week, w.severity, sum(w.opened), sum(w.fixed),
       sum(w.fix_seconds)
  FROM finding_weekly w JOIN projects p ON p.id = w.project_id
 GROUP BY 1, 2, 3;

INSERT INTO scope_layers (project_id, scanner, target, layer)
SELECT DISTINCT project_id, scanner, target, layer FROM findings;

-- Gate failures this week, without reading every scan.
CREATE INDEX scans_gate_failed_idx ON scans (received_at) WHERE gate_passed = false;
