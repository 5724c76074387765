-- Signal quality (#13): a finding belongs to one scope, and scanners are named by tool.
--
-- 1. Scanner ids: what a report calls its producer ("Semgrep OSS", "Checkov", "OWASP ZAP")
--    becomes one lowercase id per tool, so the same tool's JSON and SARIF speak for one
--    scope. `bosun_scanner_id` mirrors `server::ingest::tools::scanner_id` (a test keeps
--    them equal).
-- 2. A finding's fingerprint now includes its scope (scanner, target): the same problem
--    reported for two targets is two findings. The stored fingerprint becomes
--    SHA-256('bosun-scope/v1' NUL scanner NUL target NUL old fingerprint), as
--    `copy_rows::scoped_fingerprint` computes for new reports. Rows keep their ids, so
--    triage state, comments and the audit trail stay with them.

CREATE FUNCTION bosun_scanner_id(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE s
             WHEN 'semgrep oss' THEN 'semgrep'
             WHEN 'semgrep pro' THEN 'semgrep'
             WHEN 'semgrep cli' THEN 'semgrep'
             WHEN 'semgrep' THEN 'semgrep'
             WHEN 'trivy operator' THEN 'trivy-operator'
             WHEN 'owasp zap' THEN 'zap'
             WHEN 'zed attack proxy' THEN 'zap'
             WHEN 'owasp zed attack proxy' THEN 'zap'
             WHEN 'npm audit' THEN 'npm-audit'
             WHEN 'yarn audit' THEN 'yarn-audit'
             WHEN 'osv scanner' THEN 'osv-scanner'
             WHEN 'kubelinter' THEN 'kube-linter'
             WHEN 'retire.js' THEN 'retire'
             WHEN 'retirejs' THEN 'retire'
             WHEN 'dependency check' THEN 'dependency-check'
             WHEN 'owasp dependency-check' THEN 'dependency-check'
             ELSE replace(s, ' ', '-')
           END
      FROM (SELECT lower(regexp_replace(btrim(name), '\s+', ' ', 'g')) AS s) n
$$;

CREATE FUNCTION bosun_scoped_fingerprint(scanner text, target text, fingerprint bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256('bosun-scope/v1'::bytea || '\x00'::bytea || convert_to(scanner, 'UTF8')
                  || '\x00'::bytea || convert_to(target, 'UTF8') || '\x00'::bytea
                  || fingerprint)
$$;

-- Two spellings of one tool for one project and target: their scopes merge, keeping the
-- one scanned last.
DELETE FROM scopes s
 USING scopes t
 WHERE s.project_id = t.project_id AND s.target = t.target
   AND s.scanner <> t.scanner
   AND bosun_scanner_id(s.scanner) = bosun_scanner_id(t.scanner)
   AND (s.last_scan_at, s.scanner) < (t.last_scan_at, t.scanner);
UPDATE scopes SET scanner = bosun_scanner_id(scanner)
 WHERE scanner <> bosun_scanner_id(scanner);

UPDATE scans SET scanner = bosun_scanner_id(scanner)
 WHERE scanner <> bosun_scanner_id(scanner);

UPDATE findings
   SET scanner = bosun_scanner_id(scanner),
       fingerprint = bosun_scoped_fingerprint(bosun_scanner_id(scanner), target, fingerprint);
