//! The third step: reconciling a project's scope once the report is written. The staged
//! rewrites are applied by one `UPDATE` (reopening fixed findings that came back), repeats
//! merged, what the scan no longer contains closed unless a guardrail says the scan cannot
//! be trusted to speak for its whole scope, the gate evaluated, and the scan's counts
//! recorded on its row and its scope.

use std::time::Instant;

use app::domain::Severity;
use sqlx::PgConnection;

use super::chunk::ProjectScan;
use super::outcome::ProjectOutcome;
use super::{Guardrails, ScanContext};
use crate::gate::{self, GateVerdict};
use crate::tokens::TokenGrant;

/// Why a partial scan never closes anything.
const PARTIAL: &str = "partial scan (partial=true): it speaks for part of its scope only";

impl ProjectScan {
    /// Applies what the chunks staged, closes what the scan no longer contains, evaluates
    /// the gate and records the outcome on the scan and its scope.
    pub(super) async fn finish(
        self,
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
    ) -> Result<ProjectOutcome, sqlx::Error> {
        let total = self.diff.total;
        // a temp table has no statistics until analysed: without them a large rewrite
        // could be planned as a nested loop (a runtime query, as is every statement on the
        // staging table: it is created by the transaction, so the checked macros cannot see it)
        if self.diff.staged > 0 {
            sqlx::query("ANALYZE staged_findings")
                .execute(&mut *conn)
                .await?;
        }
        let phase = Instant::now();
        let reopened = self.apply_rewrites(conn, scan.grant).await?;
        let staged_time = phase.elapsed();
        let (fixed, auto_close_skipped) = self.close(conn, scan).await?;
        let close_time = phase.elapsed() - staged_time;
        let gate = self.evaluate_gate(conn).await?;
        let gate_time = phase.elapsed() - staged_time - close_time;
        tracing::debug!(
            project = %self.dest.project_slug,
            new = self.diff.new, staged = self.diff.staged, unchanged = self.diff.unchanged,
            scope_ms = self.scope_time.as_millis() as u64,
            lookup_ms = self.lookup_time.as_millis() as u64,
            copy_ms = self.copy_time.as_millis() as u64,
            staged_ms = staged_time.as_millis() as u64,
            close_ms = close_time.as_millis() as u64,
            gate_ms = gate_time.as_millis() as u64,
            "ingest writes"
        );
        let outcome = ProjectOutcome {
            project: self.dest.project_slug,
            scan_id: self.scan_id,
            new: self.diff.new,
            unchanged: total - self.diff.new - reopened,
            reopened,
            fixed,
            total,
            auto_close_skipped,
            gate,
        };
        record(conn, &outcome).await?;
        Ok(outcome)
    }

    /// Applies the staged rewrites and merges repeats; returns how many findings reopened.
    async fn apply_rewrites(
        &self,
        conn: &mut PgConnection,
        grant: &TokenGrant,
    ) -> Result<i64, sqlx::Error> {
        let reopened = if self.diff.staged > 0 {
            apply_staged(conn, grant, self.dest.project_id, self.scan_id).await?
        } else {
            0
        };
        if !self.diff.repeats.is_empty() {
            self.merge_repeats(conn).await?;
        }
        Ok(reopened)
    }

    /// Closes what the scope held and the scan did not report, unless the scan must not:
    /// how many findings it fixed, and why it closed none when it must not.
    async fn close(
        &self,
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
    ) -> Result<(i64, Option<String>), sqlx::Error> {
        let (project_id, scan_id) = (self.dest.project_id, self.scan_id);
        let why_not = auto_close_guard(conn, scan, project_id, scan_id, self.diff.total).await?;
        // what the scope held and the scan did not report
        let missing = self.diff.unreported();
        let fixed = match why_not {
            Some(_) => 0,
            None if missing.is_empty() => 0,
            None => close_missing(conn, scan, project_id, scan_id, &missing).await?,
        };
        Ok((fixed, why_not))
    }

    /// The project's gate on the findings this scan reported.
    async fn evaluate_gate(&self, conn: &mut PgConnection) -> Result<GateVerdict, sqlx::Error> {
        let inserted = self.diff.tally_inserted(&self.rules.policy);
        let in_scan = gate::ScanFindings {
            scan_id: self.scan_id,
            inserted: &inserted,
            unchanged_candidates: &self.diff.unchanged_gate_candidates,
        };
        gate::evaluate(conn, self.dest.project_id, &in_scan).await
    }

    /// Repeats of a fingerprint in one report: one finding at the highest severity given,
    /// with the occurrences of every repeat.
    async fn merge_repeats(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let repeats = &self.diff.repeats;
        let fps: Vec<&[u8]> = repeats.iter().map(|r| &r.fingerprint[..]).collect();
        let severities: Vec<Severity> = repeats.iter().map(|r| r.severity).collect();
        let (total_fps, totals) = self.diff.repeat_totals();
        sqlx::query!(
            "WITH worst AS (
                SELECT fp, min(sev) AS severity FROM unnest($2::bytea[], $3::severity[]) AS t(fp, sev)
                 GROUP BY fp
             ), merged AS (
                SELECT w.fp, w.severity, o.total
                  FROM worst w JOIN unnest($4::bytea[], $5::int4[]) AS o(fp, total) ON o.fp = w.fp
             )
             UPDATE findings f SET
                 severity = CASE WHEN f.severity = f.scanner_severity
                                 THEN least(f.scanner_severity, m.severity) ELSE f.severity END,
                 scanner_severity = least(f.scanner_severity, m.severity),
                 occurrences = CASE WHEN f.layer = 'runtime' THEN f.occurrences ELSE m.total END
               FROM merged m
              WHERE f.project_id = $1 AND f.fingerprint = m.fp",
            self.dest.project_id,
            &fps as &[&[u8]],
            severities as _,
            &total_fps as &[&[u8]],
            &totals,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Records a project's outcome on its scan row, and the scan as its scope's last one (and
/// last complete one, unless it is partial).
async fn record(conn: &mut PgConnection, outcome: &ProjectOutcome) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH scan AS (
            UPDATE scans SET findings_total = $2, findings_new = $3, findings_unchanged = $4,
                             findings_reopened = $5, findings_fixed = $6,
                             auto_close_skipped = $7, gate_passed = $8
             WHERE id = $1
            RETURNING id, project_id, scanner, target, received_at, partial
         )
         INSERT INTO scopes (project_id, scanner, target, last_scan_id, last_scan_at,
                             last_complete_scan_id)
         SELECT project_id, scanner, target, id, received_at, CASE WHEN NOT partial THEN id END
           FROM scan
         ON CONFLICT (project_id, scanner, target) DO UPDATE SET
             last_scan_id = EXCLUDED.last_scan_id,
             last_scan_at = EXCLUDED.last_scan_at,
             last_complete_scan_id = coalesce(EXCLUDED.last_complete_scan_id,
                                              scopes.last_complete_scan_id)",
        outcome.scan_id,
        outcome.total as i32,
        outcome.new as i32,
        outcome.unchanged as i32,
        outcome.reopened as i32,
        outcome.fixed as i32,
        outcome.auto_close_skipped.as_deref(),
        outcome.gate.passed,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies the staged rows of a project (known findings that changed, reopen, or are
/// runtime alerts with new events); returns how many were reopened.
async fn apply_staged(
    conn: &mut PgConnection,
    grant: &TokenGrant,
    project_id: i64,
    scan_id: i64,
) -> Result<i64, sqlx::Error> {
    // Both statements of the WITH see the rows as they were before it: `reopened` picks
    // the fixed ones, `updated` rewrites them. A runtime query: it reads the staging table.
    sqlx::query_scalar(
        r#"WITH reopened AS (
            INSERT INTO audit_events (actor_token_id, scan_id, project_id, subject_type, subject_id,
                                      action, before, after, reason)
            SELECT $3, $2, $1, 'finding', f.id, 'reopened_by_scan', '{"state":"fixed"}',
                   '{"state":"reopened"}', 'reported again by a scan after it was fixed'
              FROM findings f JOIN staged_findings s ON s.fingerprint = f.fingerprint
             WHERE f.project_id = $1 AND s.project_id = $1 AND f.state = 'fixed'
            RETURNING 1
         ), updated AS (
            UPDATE findings f SET
                   content_hash = s.content_hash,
                   last_scan_id = s.last_scan_id,
                   last_seen_at = greatest(f.last_seen_at, s.last_seen_at),
                   -- a finding belongs to the scope that last reported it, so only that
                   -- scope's next complete scan may close it
                   scanner = s.scanner,
                   target = s.target,
                   -- a fixed finding that comes back is reopened; human decisions
                   -- (false positive, risk accepted) are never overridden by a scan
                   state = CASE WHEN f.state = 'fixed' THEN 'reopened'::finding_state ELSE f.state END,
                   fixed_at = CASE WHEN f.state = 'fixed' THEN NULL ELSE f.fixed_at END,
                   fix_verified = true,
                   -- events add up, but only newer ones: re-sending a batch counts nothing
                   occurrences = CASE
                       WHEN s.layer <> 'runtime' THEN s.occurrences
                       WHEN s.last_seen_at > f.last_seen_at THEN f.occurrences + s.occurrences
                       ELSE f.occurrences END,
                   -- a severity a person changed (severity <> scanner_severity) is kept
                   severity = CASE WHEN f.severity = f.scanner_severity
                                   THEN s.scanner_severity ELSE f.severity END,
                   scanner_severity = s.scanner_severity,
                   title = s.title,
                   rule_id = s.rule_id,
                   description = s.description,
                   remediation = s.remediation,
                   aliases = s.aliases,
                   "references" = s."references",
                   file_path = s.file_path,
                   line = s.line,
                   location = s.location,
                   package_name = s.package_name,
                   package_version = s.package_version,
                   fixed_version = s.fixed_version,
                   image = s.image,
                   k8s_namespace = s.k8s_namespace,
                   k8s_kind = s.k8s_kind,
                   k8s_name = s.k8s_name,
                   url = s.url,
                   asset_kind = s.asset_kind,
                   asset_key = s.asset_key,
                   evidence = s.evidence
              FROM staged_findings s
             WHERE f.project_id = $1 AND s.project_id = $1 AND f.fingerprint = s.fingerprint
            RETURNING 1
         )
         SELECT count(*) FROM reopened"#,
    )
    .bind(project_id)
    .bind(scan_id)
    .bind(grant.token_id)
    .fetch_one(&mut *conn)
    .await
}

/// Why this scan must not auto-close its scope's missing findings, if it must not.
async fn auto_close_guard(
    conn: &mut PgConnection,
    scan: &ScanContext<'_>,
    project_id: i64,
    scan_id: i64,
    total: i64,
) -> Result<Option<String>, sqlx::Error> {
    if scan.meta.partial {
        return Ok(Some(PARTIAL.into()));
    }
    if total > 0 {
        return Ok(None);
    }
    let previous = sqlx::query_scalar!(
        "SELECT findings_total FROM scans
          WHERE project_id = $1 AND scanner = $2 AND target = $3 AND status = 'accepted'
            AND NOT partial AND id <> $4
          ORDER BY id DESC LIMIT 1",
        project_id,
        &scan.header.scanner,
        &scan.meta.target,
        scan_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(suspiciously_empty(previous, scan.guard))
}

/// Why an empty complete scan must not close anything: the last complete scan of its scope
/// (`previous` findings, when there was one) had enough to make a broken scan likelier
/// than a perfect fix.
fn suspiciously_empty(previous: Option<i32>, guard: Guardrails) -> Option<String> {
    previous
        .filter(|&n| i64::from(n) >= guard.empty_scan_min_previous)
        .map(|n| {
            format!(
                "suspiciously empty: no findings where the last complete scan of this scope had {n}"
            )
        })
}

/// Marks the scope's findings that the scan no longer contains (`missing`, read when it
/// began) as fixed (verified by scan), each with an audit event, and verifies the fixes
/// people reported among them. Runtime alerts are a stream, not a snapshot: never closed.
/// The scope is checked again here, in case a finding changed while the scan ran.
async fn close_missing(
    conn: &mut PgConnection,
    scan: &ScanContext<'_>,
    project_id: i64,
    scan_id: i64,
    missing: &[i64],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH closed AS (
            UPDATE findings f SET state = 'fixed', fixed_at = now()
              FROM (SELECT id, state FROM findings
                     WHERE id = ANY($6) AND project_id = $1 AND scanner = $2 AND target = $3
                       AND last_scan_id <> $4 AND layer <> 'runtime'
                       AND state IN ('open', 'confirmed', 'in_progress', 'reopened')
                     FOR UPDATE) old
             WHERE f.id = old.id
            RETURNING f.id, old.state
         ), events AS (
            INSERT INTO audit_events (actor_token_id, scan_id, project_id, subject_type, subject_id,
                                      action, before, after, reason)
            SELECT $5, $4, $1, 'finding', id, 'fixed_by_scan', jsonb_build_object('state', state),
                   '{"state":"fixed"}', 'not reported by a complete scan of its scope'
              FROM closed
            RETURNING 1
         ), verified AS (
            -- a fix a person reported is confirmed by a complete scan that no longer sees it
            UPDATE findings SET fix_verified = true
             WHERE id = ANY($6) AND project_id = $1 AND scanner = $2 AND target = $3
               AND last_scan_id <> $4 AND state = 'fixed' AND NOT fix_verified
            RETURNING id
         ), verified_events AS (
            INSERT INTO audit_events (actor_token_id, scan_id, project_id, subject_type, subject_id,
                                      action, before, after, reason)
            SELECT $5, $4, $1, 'finding', id, 'fix_verified_by_scan', '{"fix_verified":false}',
                   '{"fix_verified":true}', 'not reported by a complete scan of its scope'
              FROM verified
            RETURNING 1
         )
         SELECT count(*) AS "count!" FROM events"#,
        project_id,
        &scan.header.scanner,
        &scan.meta.target,
        scan_id,
        scan.grant.token_id,
        missing,
    )
    .fetch_one(&mut *conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_scan_closes_nothing_after_a_scan_that_found_enough() {
        let guard = Guardrails::default();
        let why = suspiciously_empty(Some(5), guard).expect("5 is enough by default");
        assert!(why.starts_with("suspiciously empty"), "{why}");
        assert!(why.ends_with("had 5"), "{why}");
        assert!(suspiciously_empty(Some(1_000), guard).is_some());
    }

    #[test]
    fn an_empty_scan_closes_what_a_small_or_no_previous_scan_left() {
        let guard = Guardrails::default();
        assert_eq!(suspiciously_empty(Some(4), guard), None);
        assert_eq!(suspiciously_empty(Some(0), guard), None);
        // the scope's first complete scan
        assert_eq!(suspiciously_empty(None, guard), None);
    }

    #[test]
    fn the_threshold_is_the_guardrails() {
        let strict = Guardrails {
            empty_scan_min_previous: 1,
        };
        assert!(suspiciously_empty(Some(1), strict).is_some());
        assert_eq!(suspiciously_empty(Some(0), strict), None);
        let off = Guardrails {
            empty_scan_min_previous: i64::MAX,
        };
        assert_eq!(suspiciously_empty(Some(i32::MAX), off), None);
    }
}
