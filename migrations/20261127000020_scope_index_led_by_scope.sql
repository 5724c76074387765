-- The scope index leads with scanner and target, no longer with the project. Led by
-- project_id, it answered "project_id = X" as well as the unique (project_id, fingerprint)
-- index did, and when the statistics had not yet seen a project's first large import the
-- planner probed it for fingerprint lookups: every probe then filtered all the project's
-- findings (33 s for one chunk of 2,500 in a test; a new target's import of 310k findings
-- took 25 s). Scope reads give all three columns and use it as before; anything else by
-- project goes to the unique index.
DROP INDEX findings_scope_idx;
CREATE INDEX findings_scope_idx ON findings (scanner, target, project_id);
