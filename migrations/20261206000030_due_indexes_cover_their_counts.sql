-- The due-date indexes carry what SLA counts read (#15), so they are answered from the
-- index alone.
--
-- The overview's "breached this week" and "due within 7 days", and the projects' "breached
-- this week" (migration 27 keeps the earlier weeks), count the active findings in a range of
-- due dates. Through the indexes of migration 25 each row was a table fetch for its state
-- and severity: at a million findings, with 24k findings due around now, 246 ms for the
-- overview and 108 ms for the 100 riskiest projects. Index-only (PostgreSQL needs `due_at`
-- itself beside the `coalesce` key to skip the table): 15 ms and 14 ms. The same key and
-- predicate, so sort=due and the SLA filters keep their plans; the entries are 16 bytes
-- wider, and ingest writes the same number of index entries as before.
DROP INDEX findings_due_idx;
CREATE INDEX findings_due_idx ON findings ((coalesce(due_at, 'infinity'::timestamptz)), id)
    INCLUDE (due_at, severity, state)
    WHERE state NOT IN ('fixed', 'false_positive');

DROP INDEX findings_project_due_idx;
CREATE INDEX findings_project_due_idx
    ON findings (project_id, (coalesce(due_at, 'infinity'::timestamptz)), id)
    INCLUDE (due_at, state)
    WHERE state NOT IN ('fixed', 'false_positive');
