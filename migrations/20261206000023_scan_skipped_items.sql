-- Items of a report that did not become findings, with why: `[{"reason": …, "count": n}]`
-- (#13: nothing is dropped silently; the scan history shows it).
ALTER TABLE scans ADD COLUMN skipped JSONB;
