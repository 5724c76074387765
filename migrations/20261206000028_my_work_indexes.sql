-- "My work" (#15) reads its sections from indexes.
--
-- Due soon: a person's active findings by stored due date (`findings.due_at`, migration 25),
-- the earliest first. `findings_assignee_user_idx` finds all of a person's findings, every
-- state, in first-seen order: "due within 7 days or breached" would read and sort their
-- whole backlog (a project's default assignee collects every new finding). This one holds
-- only active findings that have an assignee, so the section reads the range it shows and
-- stops. The predicate is written as `app::overview::ACTIVE_STATES` writes it, so that the
-- planner matches the query to it.
CREATE INDEX findings_assignee_due_idx ON findings (assignee_user_id, due_at, id)
    WHERE assignee_user_id IS NOT NULL
      AND state IN ('open', 'confirmed', 'in_progress', 'reopened');

-- Mentions: a team's mentions, for its members' "my work" (a person's own are read through
-- comment_mentions_user_idx).
CREATE INDEX comment_mentions_team_idx ON comment_mentions (team_id)
    WHERE team_id IS NOT NULL;
