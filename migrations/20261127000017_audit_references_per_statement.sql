-- The audit trail's references (actor user, actor token, scan, project) checked once per
-- statement, as migration 15 did for findings. A scan that closes or reopens many findings
-- writes an event for each: as foreign keys, the four checks per event were 257 ms of a
-- 850 ms scan closing 15,500 findings.
--
-- Same guarantees as the foreign keys: an event cannot name a missing row; what it names is
-- locked FOR KEY SHARE until commit; deleting a project deletes its events (the one way
-- history leaves, as before); a user, token or scan an event names cannot be deleted,
-- unless it goes with its project.

ALTER TABLE audit_events
    DROP CONSTRAINT audit_events_actor_user_id_fkey,
    DROP CONSTRAINT audit_events_actor_token_id_fkey,
    DROP CONSTRAINT audit_events_scan_id_fkey,
    DROP CONSTRAINT audit_events_project_id_fkey;

CREATE FUNCTION audit_events_references_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    users bigint[];
    tokens bigint[];
    scans bigint[];
    projects bigint[];
BEGIN
    SELECT array_agg(DISTINCT actor_user_id), array_agg(DISTINCT actor_token_id),
           array_agg(DISTINCT scan_id), array_agg(DISTINCT project_id)
      INTO users, tokens, scans, projects
      FROM inserted;
    PERFORM reference_check('audit_events', 'actor_user_id', 'users', users);
    PERFORM reference_check('audit_events', 'actor_token_id', 'ingest_tokens', tokens);
    PERFORM reference_check('audit_events', 'scan_id', 'scans', scans);
    PERFORM reference_check('audit_events', 'project_id', 'projects', projects);
    RETURN NULL;
END $$;

CREATE TRIGGER audit_events_references_inserted AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_references_inserted();

-- The referenced side. A project's deletion cascades to its scans and tokens first (their
-- own foreign keys, row by row), then deletes its events here: events of a project that is
-- gone do not hold its scans and tokens back.
CREATE FUNCTION audit_events_project_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- allowed by audit_events_no_delete: it runs inside this trigger
    DELETE FROM audit_events WHERE project_id IN (SELECT id FROM deleted);
    RETURN NULL;
END $$;

CREATE TRIGGER audit_events_project_deleted AFTER DELETE ON projects
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_project_deleted();

-- TG_ARGV[0]: the audit_events column that names rows of the table the trigger is on.
CREATE FUNCTION audit_events_referenced_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced bigint;
BEGIN
    EXECUTE format(
        'SELECT e.%1$I FROM audit_events e
          WHERE e.%1$I IN (SELECT id FROM deleted)
            AND (e.project_id IS NULL OR EXISTS (SELECT 1 FROM projects p WHERE p.id = e.project_id))
          LIMIT 1',
        TG_ARGV[0])
    INTO referenced;
    IF referenced IS NOT NULL THEN
        RAISE EXCEPTION '% % is named by the audit trail (audit_events.%) and cannot be deleted',
                        TG_TABLE_NAME, referenced, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', TABLE = 'audit_events', COLUMN = TG_ARGV[0];
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_events_user_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_referenced_deleted('actor_user_id');
CREATE TRIGGER audit_events_token_deleted AFTER DELETE ON ingest_tokens
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_referenced_deleted('actor_token_id');
CREATE TRIGGER audit_events_scan_deleted AFTER DELETE ON scans
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_referenced_deleted('scan_id');

-- No index backs these lookups, as none backed the foreign keys: deleting a user, token or
-- scan is rare, and every index would cost each of the many events a scan writes.
