-- Failed sign-ins, keyed by the email typed ('email:…', whether or not it exists, so the
-- throttle reveals nothing) and by the client address ('ip:…'). Old rows are purged.
CREATE TABLE login_failures (
    key  TEXT NOT NULL,
    at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (key, at);
