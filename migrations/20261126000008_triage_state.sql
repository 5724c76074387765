-- Triage state changes by people.

-- A person's "fixed" awaits verification: the next complete scan of its scope that does
-- not report it verifies the fix (a scan that does report it reopens it).
ALTER TABLE findings ADD COLUMN fix_verified BOOLEAN NOT NULL DEFAULT true;
-- who approved the current risk acceptance (the audit trail keeps every earlier one)
ALTER TABLE findings ADD COLUMN risk_accepted_by BIGINT REFERENCES users(id);
-- the expiry job looks for accepted risks whose time is up
CREATE INDEX findings_risk_expiry_idx ON findings (risk_accepted_until)
    WHERE state = 'risk_accepted';
