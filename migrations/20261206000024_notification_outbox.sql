-- The notification outbox: what the app has decided someone must hear about, written in the
-- same transaction as the change that causes it (an assignment, an @mention, a risk
-- acceptance), so a notification is never sent for a change that rolled back nor lost for
-- one that committed. Nothing reads it yet; the mail worker (issue 16) will send each row
-- once, coalescing bursts per recipient, and set `sent_at`.
CREATE TABLE notification_outbox (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind              TEXT NOT NULL CHECK (kind IN ('assigned', 'mentioned', 'risk_accepted')),
    -- one recipient a row: a person, or a team (sent to its address or its members)
    recipient_user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    recipient_team_id BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    -- who caused it, and the audit event that says what changed (before/after, reason)
    actor_user_id     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    audit_event_id    BIGINT NOT NULL REFERENCES audit_events(id) ON DELETE CASCADE,
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    finding_id        BIGINT REFERENCES findings(id) ON DELETE CASCADE,
    sent_at           TIMESTAMPTZ,
    CHECK ((recipient_user_id IS NULL) <> (recipient_team_id IS NULL))
);
-- the worker's queue: unsent rows, oldest first
CREATE INDEX notification_outbox_unsent_idx ON notification_outbox (created_at, id)
    WHERE sent_at IS NULL;
CREATE INDEX notification_outbox_user_idx ON notification_outbox (recipient_user_id);
CREATE INDEX notification_outbox_team_idx ON notification_outbox (recipient_team_id);
CREATE INDEX notification_outbox_finding_idx ON notification_outbox (finding_id);
CREATE INDEX notification_outbox_audit_idx ON notification_outbox (audit_event_id);
