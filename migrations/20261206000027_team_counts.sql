-- The explorer's total from the maintained counts (#15).
--
-- The explorer shows how many findings match its filters. Counting the rows on every page
-- view reads up to 10,000 index entries (a millisecond or more each time at a million
-- findings); when the filters are only severity, layer, state, project and team, the total
-- is a sum over the counts the triggers of migration 26 already keep, and it is exact at any
-- size. Per project that is `finding_counts`; for someone who sees every project, summing
-- 2,000 projects' rows would cost as much as counting, so the team roll-up now keeps every
-- state, not only the active ones: `team_counts` (team, severity, layer, state) replaces
-- `team_open_counts` (the overview reads its active states). Same number of tables written
-- per statement for these.
--
-- The overview's "SLA breached" is every active finding whose due date has passed: at a
-- million findings that can be hundreds of thousands of rows to count on each view. Due
-- dates only move forward into the past, so `team_due_weeks` keeps the active findings with
-- a due date per (team, severity, UTC week of the due date): the weeks before this one are
-- summed from it, and only this week's due dates are counted from the findings' index
-- (exact to the second, never stale). `project_due_weeks` does the same per project, without
-- the severity, for the projects list and the project page.

CREATE TABLE team_due_weeks (
    team_id  BIGINT NOT NULL,
    severity severity NOT NULL,
    week     DATE NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (team_id, severity, week)
);

CREATE TABLE project_due_weeks (
    project_id BIGINT NOT NULL,
    week       DATE NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (project_id, week)
);

CREATE TABLE team_counts (
    team_id  BIGINT NOT NULL,
    severity severity NOT NULL,
    layer    layer NOT NULL,
    state    finding_state NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (team_id, severity, layer, state)
);

CREATE OR REPLACE FUNCTION finding_aggregates_sql(deltas text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT format($q$
    -- one pass over the transition table: the rows, summed by everything counted
    WITH deltas AS MATERIALIZED (
        SELECT project_id, scanner, target, severity, layer, state,
               bosun_week(first_seen_at) AS opened_week,
               CASE WHEN state = 'fixed' AND fixed_at IS NOT NULL THEN bosun_week(fixed_at) END
                   AS fixed_week,
               CASE WHEN state IN ('open', 'confirmed', 'in_progress', 'reopened')
                    THEN bosun_week(due_at) END AS due_week,
               sum(d) AS d,
               sum(CASE WHEN state = 'fixed' AND fixed_at IS NOT NULL
                        THEN d * extract(epoch FROM fixed_at - first_seen_at)::float8
                        ELSE 0 END) AS fix_seconds
          FROM (%s) AS raw
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
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
    -- projects_aggregates_moved
    team_counts AS (
        INSERT INTO team_counts AS c (team_id, severity, layer, state, n)
        SELECT t.team_id, d.severity, d.layer, d.state, sum(d.d)
          FROM deltas d JOIN owners t USING (project_id)
         GROUP BY t.team_id, d.severity, d.layer, d.state
        HAVING sum(d.d) <> 0
         ORDER BY t.team_id, d.severity, d.layer, d.state
            ON CONFLICT (team_id, severity, layer, state) DO UPDATE SET n = c.n + excluded.n),
    team_due AS (
        INSERT INTO team_due_weeks AS c (team_id, severity, week, n)
        SELECT t.team_id, d.severity, d.due_week, sum(d.d)
          FROM deltas d JOIN owners t USING (project_id)
         WHERE d.due_week IS NOT NULL
         GROUP BY t.team_id, d.severity, d.due_week
        HAVING sum(d.d) <> 0
         ORDER BY t.team_id, d.severity, d.due_week
            ON CONFLICT (team_id, severity, week) DO UPDATE SET n = c.n + excluded.n),
    project_due AS (
        INSERT INTO project_due_weeks AS c (project_id, week, n)
        SELECT project_id, due_week, sum(d)
          FROM deltas
         WHERE due_week IS NOT NULL
         GROUP BY project_id, due_week
        HAVING sum(d) <> 0
         ORDER BY project_id, due_week
            ON CONFLICT (project_id, week) DO UPDATE SET n = c.n + excluded.n),
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

-- The transition tables' rows now carry their due dates.
CREATE OR REPLACE FUNCTION finding_aggregates_inserted() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
BEGIN
    PERFORM finding_aggregates_lock(ARRAY(SELECT DISTINCT project_id FROM inserted));
    EXECUTE finding_aggregates_sql(
        'SELECT project_id, scanner, target, severity, layer, state, first_seen_at,
                fixed_at, due_at, 1 AS d
           FROM inserted');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION finding_aggregates_updated() RETURNS trigger LANGUAGE plpgsql
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
                 o.first_seen_at, o.fixed_at, o.due_at, -1),
                (n.project_id, n.scanner, n.target, n.severity, n.layer, n.state,
                 n.first_seen_at, n.fixed_at, n.due_at, 1))
                AS x(project_id, scanner, target, severity, layer, state, first_seen_at,
                     fixed_at, due_at, d)
          WHERE (o.project_id, o.scanner, o.target, o.severity, o.layer, o.state,
                 o.first_seen_at, o.fixed_at, o.due_at)
                IS DISTINCT FROM
                (n.project_id, n.scanner, n.target, n.severity, n.layer, n.state,
                 n.first_seen_at, n.fixed_at, n.due_at)');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION finding_aggregates_deleted() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
BEGIN
    PERFORM finding_aggregates_lock(ARRAY(SELECT DISTINCT project_id FROM deleted));
    EXECUTE finding_aggregates_sql(
        'SELECT project_id, scanner, target, severity, layer, state, first_seen_at,
                fixed_at, due_at, -1 AS d
           FROM deleted');
    -- a deleted project leaves no rows behind
    DELETE FROM finding_counts
     WHERE n = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    DELETE FROM finding_weekly
     WHERE opened = 0 AND fixed = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    DELETE FROM project_open_counts
     WHERE n = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    DELETE FROM project_due_weeks
     WHERE n = 0 AND project_id IN (SELECT DISTINCT project_id FROM deleted);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION projects_aggregates_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_team bigint := coalesce(OLD.team_id, 0);
    to_team bigint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE coalesce(NEW.team_id, 0) END;
BEGIN
    -- both teams' counts change: their locks, in team order (see finding_aggregates_lock)
    PERFORM pg_advisory_xact_lock(1651, t::int)
       FROM unnest(ARRAY[from_team, to_team]) AS t WHERE t IS NOT NULL ORDER BY t;
    INSERT INTO team_counts AS c (team_id, severity, layer, state, n)
    SELECT t.team_id, f.severity, f.layer, f.state, t.sign * f.n
      FROM finding_counts f
     CROSS JOIN (VALUES (from_team, -1), (to_team, 1)) AS t(team_id, sign)
     WHERE f.project_id = OLD.id AND t.team_id IS NOT NULL
     ORDER BY t.team_id, f.severity, f.layer, f.state
        ON CONFLICT (team_id, severity, layer, state) DO UPDATE SET n = c.n + excluded.n;
    -- no per-project due weeks are kept: a project changes team rarely, read its findings
    INSERT INTO team_due_weeks AS c (team_id, severity, week, n)
    SELECT t.team_id, f.severity, f.week, t.sign * f.n
      FROM (SELECT severity, bosun_week(due_at) AS week, count(*) AS n
              FROM findings
             WHERE project_id = OLD.id AND due_at IS NOT NULL
               AND state IN ('open', 'confirmed', 'in_progress', 'reopened')
             GROUP BY 1, 2) f
     CROSS JOIN (VALUES (from_team, -1), (to_team, 1)) AS t(team_id, sign)
     WHERE t.team_id IS NOT NULL
     ORDER BY t.team_id, f.severity, f.week
        ON CONFLICT (team_id, severity, week) DO UPDATE SET n = c.n + excluded.n;
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


INSERT INTO team_counts (team_id, severity, layer, state, n)
SELECT coalesce(p.team_id, 0), c.severity, c.layer, c.state, sum(c.n)
  FROM finding_counts c JOIN projects p ON p.id = c.project_id
 GROUP BY 1, 2, 3, 4
HAVING sum(c.n) <> 0;

INSERT INTO team_due_weeks (team_id, severity, week, n)
SELECT coalesce(p.team_id, 0), f.severity, bosun_week(f.due_at), count(*)
  FROM findings f JOIN projects p ON p.id = f.project_id
 WHERE f.due_at IS NOT NULL AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')
 GROUP BY 1, 2, 3;

INSERT INTO project_due_weeks (project_id, week, n)
SELECT project_id, bosun_week(due_at), count(*)
  FROM findings
 WHERE due_at IS NOT NULL AND state IN ('open', 'confirmed', 'in_progress', 'reopened')
 GROUP BY 1, 2;

DROP TABLE team_open_counts;
