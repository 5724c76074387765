//! The second step: writing a chunk. A project's part of a scan opens with its scan row
//! and its scope (see [`super::scope`]); each chunk of findings routed to it then costs a
//! few statements whatever its size: one lookup of the fingerprints the scope does not
//! hold, one `COPY` of the new findings into `findings`, and one `COPY` of the known ones
//! to rewrite into the staging table (applied once, when the scan finishes).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::PgConnection;

use super::ScanContext;
use super::scope::{self, Outcome, ScopeDiff};
use crate::gate;
use crate::ingest::copy_rows::{self, COLUMNS, EncodedFinding, RowContext};
use crate::ingest::routing::Destination;

/// One project's scan while its findings are being written.
pub(super) struct ProjectScan {
    pub(super) dest: Destination,
    pub(super) scan_id: i64,
    /// The scope as the scan began, and what the scan has reported of it so far.
    pub(super) diff: ScopeDiff,
    /// The project's gate policy and SLA, read when the scan began.
    pub(super) rules: gate::ProjectRules,
    /// Who the project's new findings are assigned to (default assignee, owning team).
    assignee: (Option<i64>, Option<i64>),
    /// Time spent reading the scope, looking up fingerprints and copying rows (debug log).
    pub(super) scope_time: Duration,
    pub(super) lookup_time: Duration,
    pub(super) copy_time: Duration,
}

impl ProjectScan {
    /// Records the scan of `dest` and reads what the scan is compared with: its scope's
    /// findings, and the project's gate rules and assignees.
    pub(super) async fn open(
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
        dest: Destination,
    ) -> Result<ProjectScan, sqlx::Error> {
        let meta = scan.meta;
        let scanner = &scan.header.scanner;
        let scan_id = sqlx::query_scalar!(
            "INSERT INTO scans (project_id, token_id, status, format, scanner, scanner_version,
                                target, commit_sha, branch, pipeline_url, partial, environment)
             VALUES ($1, $2, 'accepted', $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            dest.project_id,
            scan.grant.token_id,
            scan.format.name(),
            scanner,
            scan.header.scanner_version.as_deref(),
            &meta.target,
            meta.commit_sha.as_deref(),
            meta.branch.as_deref(),
            meta.pipeline_url.as_deref(),
            meta.partial,
            meta.environment.as_deref(),
        )
        .fetch_one(&mut *conn)
        .await?;
        let project = sqlx::query!(
            r#"SELECT default_assignee_id, team_id,
                      NOT EXISTS (SELECT 1 FROM findings
                                   WHERE scanner = $2 AND target = $3 AND project_id = $1)
                        AS "empty_scope!"
                 FROM projects WHERE id = $1"#,
            dest.project_id,
            scanner,
            &meta.target,
        )
        .fetch_one(&mut *conn)
        .await?;
        let rules = gate::rules_for(conn, dest.project_id).await?;
        let started = Instant::now();
        let scope = if project.empty_scope {
            None
        } else {
            Some(scope::scope_findings(conn, dest.project_id, scanner, &meta.target).await?)
        };
        Ok(ProjectScan {
            assignee: (project.default_assignee_id, project.team_id),
            dest,
            scan_id,
            diff: ScopeDiff::new(scope),
            rules,
            scope_time: started.elapsed(),
            lookup_time: Duration::default(),
            copy_time: Duration::default(),
        })
    }

    /// Writes a chunk of the findings routed to this project: new ones inserted, known
    /// ones that changed staged, unchanged ones only counted.
    pub(super) async fn write_chunk(
        &mut self,
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
        findings: Vec<EncodedFinding>,
    ) -> Result<(), sqlx::Error> {
        let mut fresh = Vec::with_capacity(findings.len());
        let mut outcomes = Vec::with_capacity(findings.len());
        for f in findings {
            if let Some(outcome) = self.diff.classify(&f, &self.rules.sla, scan.now) {
                outcomes.push(outcome);
                fresh.push(f);
            }
        }
        let lookup_started = Instant::now();
        let to_look_up = to_look_up(&fresh, &outcomes);
        if !to_look_up.is_empty() {
            let known = self.lookup(conn, &to_look_up).await?;
            answer_lookups(&fresh, &mut outcomes, &known);
        }
        self.lookup_time += lookup_started.elapsed();

        let ctx = RowContext {
            project_id: self.dest.project_id,
            scan_id: self.scan_id,
            now: scan.now,
            assignee_user_id: self.assignee.0,
            assignee_team_id: self.assignee.1,
            sla: self.rules.sla,
        };
        let (new_rows, staged_rows) = self.diff.rows(&ctx, &fresh, outcomes);
        let copy_started = Instant::now();
        copy_in(conn, "findings", new_rows).await?;
        copy_in(conn, "staged_findings", staged_rows).await?;
        self.copy_time += copy_started.elapsed();
        Ok(())
    }

    /// Which of `fingerprints` the project already has, in one statement: one probe of the
    /// unique (project_id, fingerprint) index per fingerprint, however stale the statistics
    /// (see migration 20). As a join, or as `= ANY`, a project whose large first import was
    /// not yet analysed got a scan of all its findings per chunk instead.
    async fn lookup(
        &self,
        conn: &mut PgConnection,
        fingerprints: &[&[u8]],
    ) -> Result<HashSet<Vec<u8>>, sqlx::Error> {
        let known = sqlx::query_scalar!(
            r#"SELECT k.fingerprint AS "fingerprint!" FROM unnest($2::bytea[]) AS i(fingerprint)
              CROSS JOIN LATERAL (SELECT f.fingerprint FROM findings f
                                   WHERE f.project_id = $1 AND f.fingerprint = i.fingerprint
                                   LIMIT 1) k"#,
            self.dest.project_id,
            fingerprints as &[&[u8]],
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(known.into_iter().collect())
    }
}

/// Copies `rows` into `table` (`findings` or the staging table, which share [`COLUMNS`]).
async fn copy_in(
    conn: &mut PgConnection,
    table: &str,
    rows: copy_rows::Rows,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let statement = format!("COPY {table} ({COLUMNS}) FROM STDIN WITH (FORMAT binary)");
    let mut copy = conn.copy_in_raw(&statement).await?;
    copy.send(rows.finish()).await?;
    copy.finish().await?;
    Ok(())
}

/// The fingerprints of a chunk's findings that only the project can place.
fn to_look_up<'f>(fresh: &'f [EncodedFinding], outcomes: &[Outcome]) -> Vec<&'f [u8]> {
    fresh
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| matches!(o, Outcome::LookUp))
        .map(|(f, _)| &f.fingerprint[..])
        .collect()
}

/// Answers a chunk's lookups: a fingerprint the project `known` is rewritten, any other new.
fn answer_lookups(fresh: &[EncodedFinding], outcomes: &mut [Outcome], known: &HashSet<Vec<u8>>) {
    for (f, outcome) in fresh.iter().zip(outcomes.iter_mut()) {
        if matches!(outcome, Outcome::LookUp) {
            *outcome = if known.contains(&f.fingerprint[..]) {
                Outcome::Rewrite
            } else {
                Outcome::New
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use app::domain::{Layer, Severity};

    use super::*;
    use crate::ingest::store::scope::tests::encoded;

    fn chunk() -> Vec<EncodedFinding> {
        (1..=4)
            .map(|id| encoded(id, Layer::Dependency, Severity::Medium, "a finding"))
            .collect()
    }

    #[test]
    fn only_findings_the_scope_could_not_place_are_looked_up() {
        let fresh = chunk();
        let outcomes = [
            Outcome::LookUp,
            Outcome::Rewrite,
            Outcome::LookUp,
            Outcome::Unchanged,
        ];
        let fingerprints = to_look_up(&fresh, &outcomes);
        assert_eq!(
            fingerprints,
            vec![&fresh[0].fingerprint[..], &fresh[2].fingerprint[..]]
        );
        assert!(to_look_up(&fresh, &[Outcome::New; 4]).is_empty());
    }

    #[test]
    fn a_fingerprint_the_project_knows_is_rewritten_any_other_is_new() {
        let fresh = chunk();
        let mut outcomes = [
            Outcome::LookUp,
            Outcome::LookUp,
            Outcome::Unchanged,
            Outcome::Rewrite,
        ];
        let known: HashSet<Vec<u8>> = [fresh[1].fingerprint.to_vec()].into();
        answer_lookups(&fresh, &mut outcomes, &known);
        assert_eq!(
            outcomes,
            [
                Outcome::New,
                Outcome::Rewrite,
                Outcome::Unchanged,
                Outcome::Rewrite
            ]
        );
    }

    #[test]
    fn a_known_fingerprint_answers_only_its_own_lookup() {
        let fresh = chunk();
        let mut outcomes = [Outcome::LookUp; 4];
        // the project knows fingerprints of other scopes too: none of these
        let known: HashSet<Vec<u8>> = [vec![9; 32], fresh[3].fingerprint[..16].to_vec()].into();
        answer_lookups(&fresh, &mut outcomes, &known);
        assert_eq!(outcomes, [Outcome::New; 4]);
    }
}
