-- People in teams, with a role per team (see README "Who may do what").
CREATE TYPE team_role AS ENUM ('viewer', 'developer', 'ops', 'security');

CREATE TABLE team_members (
    team_id   BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role      team_role NOT NULL,
    added_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- A security engineer may be given every team: security on every project.
ALTER TABLE users ADD COLUMN security_all_teams BOOLEAN NOT NULL DEFAULT false;
