-- Comments on findings, in markdown (rendered and sanitised when shown, so a better
-- sanitiser protects old comments too), and whom they mention.
CREATE TABLE comments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id  BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    author_id   BIGINT NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at   TIMESTAMPTZ
);
CREATE INDEX comments_finding_idx ON comments (finding_id, created_at);

-- One row per person or team a comment mentions (for notifications and "mentioned me").
CREATE TABLE comment_mentions (
    comment_id  BIGINT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id     BIGINT REFERENCES users(id) ON DELETE CASCADE,
    team_id     BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX comment_mentions_comment_idx ON comment_mentions (comment_id);
CREATE INDEX comment_mentions_user_idx ON comment_mentions (user_id);
