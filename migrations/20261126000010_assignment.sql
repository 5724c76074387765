-- Who works on a finding: a person, a team, or both (a team with one person on it).
ALTER TABLE findings
    ADD COLUMN assignee_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN assignee_team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL;
-- "my work": a person's open assignments
CREATE INDEX findings_assignee_user_idx ON findings (assignee_user_id, first_seen_at DESC)
    WHERE assignee_user_id IS NOT NULL;
CREATE INDEX findings_assignee_team_idx ON findings (assignee_team_id)
    WHERE assignee_team_id IS NOT NULL;

-- New findings go to the project's owning team, and to its default assignee when it has one.
ALTER TABLE projects ADD COLUMN default_assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
