-- Security review (#12).

-- Sign-in attempts are recorded before the password is checked (so parallel guesses
-- cannot all reach it); a refused or successful attempt takes its own record back by id.
-- Keys: 'user:<id>' for an existing account, 'email:<normalised email>' otherwise, and
-- 'ip:<client address>'.
ALTER TABLE login_failures RENAME TO login_attempts;
ALTER INDEX login_failures_key_idx RENAME TO login_attempts_key_idx;
ALTER TABLE login_attempts ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE login_attempts ADD PRIMARY KEY (id);
-- failures were keyed by the email typed; accounts are now keyed by id, so the old
-- email keys would only linger
DELETE FROM login_attempts WHERE key LIKE 'email:%';

-- A person's list of sessions (account page): which browser, from where; an id to name
-- one by, since the token's hash is a credential.
ALTER TABLE sessions
    ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN user_agent TEXT,
    ADD COLUMN client_address TEXT;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);

-- Ingest tokens may expire; who created a token from the web is kept for the tokens page.
ALTER TABLE ingest_tokens
    ADD COLUMN expires_at TIMESTAMPTZ,
    ADD COLUMN created_by BIGINT REFERENCES users(id) ON DELETE SET NULL;
