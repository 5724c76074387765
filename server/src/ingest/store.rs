//! Writing a report: one scan row and a batched upsert of its findings, in one transaction.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgPool;

use super::{NewFinding, ParseError, ParsedReport, ReportFormat, detect, format_named};
use crate::tokens::TokenGrant;

/// What the sender tells Bosun about a report besides its body.
#[derive(Debug, Clone, Default)]
pub struct ScanMeta {
    /// Format override; detected from the body when `None`.
    pub format: Option<String>,
    /// What was scanned: repository path, image, cluster/namespace. Part of the scope.
    pub target: String,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
    pub pipeline_url: Option<String>,
    /// production, staging, …: free text from the sender.
    pub environment: Option<String>,
    /// The scan deliberately covered part of its scope: it never auto-closes anything.
    pub partial: bool,
}

/// When a scan may close what it no longer reports.
#[derive(Debug, Clone, Copy)]
pub struct Guardrails {
    /// An empty report does not auto-close when the last complete scan of its scope had at
    /// least this many findings: more likely a broken scan than a perfect fix.
    pub empty_scan_min_previous: i64,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            empty_scan_min_previous: 5,
        }
    }
}

/// The answer to a sender: counts per outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    pub scan_id: i64,
    pub project: String,
    pub format: String,
    pub scanner: String,
    pub scanner_version: Option<String>,
    /// Findings seen for the first time.
    pub new: i64,
    /// Findings already known (re-sent).
    pub unchanged: i64,
    /// Findings that were fixed and came back (not counted in `unchanged`).
    pub reopened: i64,
    /// Findings of this scope the scan no longer contains: now fixed (verified by scan).
    pub fixed: i64,
    /// Distinct findings in the report.
    pub total: i64,
    /// Why missing findings were not auto-closed, when they were not.
    pub auto_close_skipped: Option<String>,
    /// The project's CI gate evaluated on this scan.
    pub gate: crate::gate::GateVerdict,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the report is empty (0 bytes)")]
    Empty,
    #[error("unknown report format: the body is not {known}; name one with ?format=")]
    UnknownFormat { known: String },
    #[error("unknown format '{0}'; supported: {1}")]
    UnknownFormatName(String, String),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn known_formats() -> String {
    super::FORMATS
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses and stores a report for the token's project. A report that cannot be read is
/// recorded as a rejected scan (so it shows in the scan history) and nothing else is stored.
pub async fn ingest(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    body: &[u8],
) -> Result<IngestOutcome, IngestError> {
    let format = match pick_format(meta, body) {
        Ok(f) => f,
        Err(err) => {
            record_rejection(
                pool,
                grant,
                meta,
                meta.format.as_deref().unwrap_or("unknown"),
                body.len(),
                &err,
            )
            .await?;
            return Err(err);
        }
    };
    // Parsing is CPU work on possibly large input: keep it off the async workers.
    let owned = body.to_vec();
    let parsed = match tokio::task::spawn_blocking(move || format.parse(&owned)).await {
        Ok(result) => result,
        // a parser bug must not take the request down with it: refuse the report instead
        Err(join) => Err(ParseError {
            format: format.name(),
            message: format!(
                "the parser failed on this report ({join}); please report this as a Bosun bug"
            ),
            line: None,
            column: None,
        }),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(err) => {
            let err = IngestError::Parse(err);
            record_rejection(pool, grant, meta, format.name(), body.len(), &err).await?;
            return Err(err);
        }
    };
    store(pool, grant, meta, guard, format.name(), body.len(), parsed).await
}

fn pick_format(meta: &ScanMeta, body: &[u8]) -> Result<&'static dyn ReportFormat, IngestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty);
    }
    match &meta.format {
        Some(name) => format_named(name)
            .ok_or_else(|| IngestError::UnknownFormatName(name.clone(), known_formats())),
        None => detect(body).ok_or_else(|| IngestError::UnknownFormat {
            known: known_formats(),
        }),
    }
}

async fn record_rejection(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    format: &str,
    bytes: usize,
    err: &IngestError,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scans (project_id, token_id, status, format, scanner, target, commit_sha, branch,
                            pipeline_url, error, report_bytes, environment, partial)
         VALUES ($1, $2, 'rejected', $3, '', $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(grant.project_id)
    .bind(grant.token_id)
    .bind(format)
    .bind(&meta.target)
    .bind(&meta.commit_sha)
    .bind(&meta.branch)
    .bind(&meta.pipeline_url)
    .bind(err.to_string())
    .bind(bytes as i64)
    .bind(&meta.environment)
    .bind(meta.partial)
    .execute(pool)
    .await?;
    Ok(())
}

/// Column-wise copies of the findings, bound as arrays: one statement for any count.
#[derive(Default)]
struct Columns {
    fingerprint: Vec<Vec<u8>>,
    layer: Vec<app::domain::Layer>,
    severity: Vec<app::domain::Severity>,
    title: Vec<String>,
    rule_id: Vec<String>,
    description: Vec<String>,
    file_path: Vec<Option<String>>,
    line: Vec<Option<i32>>,
    location: Vec<String>,
    package_name: Vec<Option<String>>,
    package_version: Vec<Option<String>>,
    fixed_version: Vec<Option<String>>,
    // Postgres arrays cannot be ragged, so list columns travel as JSON text.
    aliases: Vec<String>,
    remediation: Vec<String>,
    references: Vec<String>,
    image: Vec<Option<String>>,
    k8s_namespace: Vec<Option<String>>,
    k8s_kind: Vec<Option<String>>,
    k8s_name: Vec<Option<String>>,
    url: Vec<Option<String>>,
    asset_kind: Vec<Option<app::domain::AssetKind>>,
    asset_key: Vec<Option<String>>,
    evidence: Vec<Option<String>>,
    occurrences: Vec<i32>,
    first_seen: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    last_seen: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

impl Columns {
    fn push(&mut self, f: NewFinding) {
        self.fingerprint.push(f.fingerprint.to_vec());
        self.layer.push(f.layer);
        self.severity.push(f.severity);
        self.title.push(f.title);
        self.rule_id.push(f.rule_id);
        self.description.push(f.description);
        self.file_path.push(f.file_path);
        self.line.push(f.line);
        self.location.push(f.location);
        self.package_name.push(f.package_name);
        self.package_version.push(f.package_version);
        self.fixed_version.push(f.fixed_version);
        self.aliases
            .push(serde_json::to_string(&f.aliases).expect("strings serialise"));
        self.remediation.push(f.remediation);
        self.references
            .push(serde_json::to_string(&f.references).expect("strings serialise"));
        self.image.push(f.image);
        self.k8s_namespace.push(f.k8s_namespace);
        self.k8s_kind.push(f.k8s_kind);
        self.k8s_name.push(f.k8s_name);
        self.url.push(f.url);
        self.asset_kind.push(f.asset.as_ref().map(|a| a.kind));
        self.asset_key.push(f.asset.map(|a| a.key));
        self.evidence.push(f.evidence.map(|e| e.to_string()));
        self.occurrences
            .push(i32::try_from(f.occurrences).unwrap_or(i32::MAX).max(1));
        self.first_seen.push(f.seen.map(|(first, _)| first));
        self.last_seen.push(f.seen.map(|(_, last)| last));
    }
}

/// One finding per fingerprint: a report that repeats a problem (say, the same rule on the
/// same line twice) yields it once, at the highest severity it was given, counting the
/// repeats and spanning their observation times.
fn distinct(findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut index: HashMap<[u8; 32], usize> = HashMap::with_capacity(findings.len());
    let mut out: Vec<NewFinding> = Vec::with_capacity(findings.len());
    for f in findings {
        match index.get(&f.fingerprint) {
            Some(&i) => {
                let kept = &mut out[i];
                kept.severity = kept.severity.min(f.severity);
                kept.occurrences = kept.occurrences.saturating_add(f.occurrences);
                kept.seen = match (kept.seen, f.seen) {
                    (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
                    (a, b) => a.or(b),
                };
            }
            None => {
                index.insert(f.fingerprint, out.len());
                out.push(f);
            }
        }
    }
    out
}

async fn store(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    format: &'static str,
    bytes: usize,
    parsed: ParsedReport,
) -> Result<IngestOutcome, IngestError> {
    let findings = distinct(parsed.findings);
    let total = findings.len() as i64;
    let mut cols = Columns::default();
    for f in findings {
        cols.push(f);
    }

    let mut tx = pool.begin().await?;
    let scan_id: i64 = sqlx::query_scalar(
        "INSERT INTO scans (project_id, token_id, status, format, scanner, scanner_version, target,
                            commit_sha, branch, pipeline_url, report_bytes, findings_total, partial,
                            environment)
         VALUES ($1, $2, 'accepted', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(grant.project_id)
    .bind(grant.token_id)
    .bind(format)
    .bind(&parsed.scanner)
    .bind(&parsed.scanner_version)
    .bind(&meta.target)
    .bind(&meta.commit_sha)
    .bind(&meta.branch)
    .bind(&meta.pipeline_url)
    .bind(bytes as i64)
    .bind(total as i32)
    .bind(meta.partial)
    .bind(&meta.environment)
    .fetch_one(&mut *tx)
    .await?;

    // `xmax = 0` is true for a freshly inserted row, false for one the upsert updated.
    // A severity a person changed (severity <> scanner_severity) is kept.
    let (new, reopened): (i64, i64) = sqlx::query_as(
        r#"WITH input AS (
            SELECT * FROM unnest($4::bytea[], $5::layer[], $6::severity[], $7::text[], $8::text[],
                                 $9::text[], $10::text[], $11::int4[], $12::text[], $13::text[],
                                 $14::text[], $15::text[], $17::text[], $18::text[], $19::text[],
                                 $20::text[], $21::text[], $22::text[], $23::text[], $24::text[],
                                 $25::asset_kind[], $26::text[], $27::text[], $28::int4[],
                                 $29::timestamptz[], $30::timestamptz[])
              AS t(fingerprint, layer, severity, title, rule_id, description, file_path, line,
                   location, package_name, package_version, fixed_version, aliases, remediation,
                   refs, image, k8s_namespace, k8s_kind, k8s_name, url, asset_kind, asset_key,
                   evidence, occurrences, first_seen, last_seen)
         ), prev AS (
            -- states before this scan (same snapshot as the upsert below)
            SELECT f.id, f.state FROM findings f JOIN input i ON i.fingerprint = f.fingerprint
             WHERE f.project_id = $1
         ), upserted AS (
            INSERT INTO findings AS f (project_id, fingerprint, scanner, target, layer, severity,
                   scanner_severity, title, rule_id, description, file_path, line, location,
                   package_name, package_version, fixed_version, aliases, remediation,
                   "references", image, k8s_namespace, k8s_kind, k8s_name, url, asset_kind,
                   asset_key, evidence, occurrences, first_seen_at, last_seen_at, first_scan_id,
                   last_scan_id)
            SELECT $1, fingerprint, $2, $3, layer, severity, severity, title, rule_id, description,
                   file_path, line, location, package_name, package_version, fixed_version,
                   ARRAY(SELECT jsonb_array_elements_text(aliases::jsonb)), remediation,
                   ARRAY(SELECT jsonb_array_elements_text(refs::jsonb)), image, k8s_namespace,
                   k8s_kind, k8s_name, url, asset_kind, asset_key, evidence::jsonb, occurrences,
                   coalesce(first_seen, now()), coalesce(last_seen, now()), $16, $16
              FROM input
            ON CONFLICT (project_id, fingerprint) DO UPDATE SET
                   last_scan_id = EXCLUDED.last_scan_id,
                   last_seen_at = greatest(f.last_seen_at, EXCLUDED.last_seen_at),
                   -- a finding belongs to the scope that last reported it, so only that
                   -- scope's next complete scan may close it
                   scanner = EXCLUDED.scanner,
                   target = EXCLUDED.target,
                   -- a fixed finding that comes back is reopened; human decisions
                   -- (false positive, risk accepted) are never overridden by a scan
                   state = CASE WHEN f.state = 'fixed' THEN 'reopened'::finding_state ELSE f.state END,
                   fixed_at = CASE WHEN f.state = 'fixed' THEN NULL ELSE f.fixed_at END,
                   -- events add up, but only newer ones: re-sending a batch counts nothing
                   occurrences = CASE
                       WHEN EXCLUDED.layer <> 'runtime' THEN EXCLUDED.occurrences
                       WHEN EXCLUDED.last_seen_at > f.last_seen_at THEN f.occurrences + EXCLUDED.occurrences
                       ELSE f.occurrences END,
                   severity = CASE WHEN f.severity = f.scanner_severity
                                   THEN EXCLUDED.scanner_severity ELSE f.severity END,
                   scanner_severity = EXCLUDED.scanner_severity,
                   title = EXCLUDED.title,
                   description = EXCLUDED.description,
                   remediation = EXCLUDED.remediation,
                   aliases = EXCLUDED.aliases,
                   "references" = EXCLUDED."references",
                   file_path = EXCLUDED.file_path,
                   line = EXCLUDED.line,
                   location = EXCLUDED.location,
                   package_version = EXCLUDED.package_version,
                   fixed_version = EXCLUDED.fixed_version,
                   image = EXCLUDED.image,
                   evidence = EXCLUDED.evidence
            RETURNING f.id, (xmax = 0) AS inserted
         ), reopened AS (
            INSERT INTO audit_events (actor_token_id, scan_id, project_id, subject_type, subject_id,
                                      action, before, after, reason)
            SELECT $31, $16, $1, 'finding', u.id, 'reopened_by_scan', '{"state":"fixed"}',
                   '{"state":"reopened"}', 'reported again by a scan after it was fixed'
              FROM upserted u JOIN prev p ON p.id = u.id
             WHERE p.state = 'fixed'
            RETURNING 1
         )
         SELECT count(*) FILTER (WHERE inserted), (SELECT count(*) FROM reopened) FROM upserted"#,
    )
    .bind(grant.project_id)
    .bind(&parsed.scanner)
    .bind(&meta.target)
    .bind(&cols.fingerprint)
    .bind(&cols.layer)
    .bind(&cols.severity)
    .bind(&cols.title)
    .bind(&cols.rule_id)
    .bind(&cols.description)
    .bind(&cols.file_path)
    .bind(&cols.line)
    .bind(&cols.location)
    .bind(&cols.package_name)
    .bind(&cols.package_version)
    .bind(&cols.fixed_version)
    .bind(scan_id)
    .bind(&cols.aliases)
    .bind(&cols.remediation)
    .bind(&cols.references)
    .bind(&cols.image)
    .bind(&cols.k8s_namespace)
    .bind(&cols.k8s_kind)
    .bind(&cols.k8s_name)
    .bind(&cols.url)
    .bind(&cols.asset_kind)
    .bind(&cols.asset_key)
    .bind(&cols.evidence)
    .bind(&cols.occurrences)
    .bind(&cols.first_seen)
    .bind(&cols.last_seen)
    .bind(grant.token_id)
    .fetch_one(&mut *tx)
    .await?;
    let unchanged = total - new - reopened;

    let auto_close_skipped =
        auto_close_guard(&mut tx, grant, meta, &parsed.scanner, scan_id, total, guard).await?;
    let fixed = match auto_close_skipped {
        Some(_) => 0,
        None => close_missing(&mut tx, grant, meta, &parsed.scanner, scan_id).await?,
    };

    let policy = crate::gate::policy_for(&mut tx, grant.project_id).await?;
    let gate = crate::gate::evaluate(&mut tx, grant.project_id, scan_id, &policy).await?;

    sqlx::query(
        "UPDATE scans SET findings_new = $2, findings_unchanged = $3, findings_reopened = $4,
                          findings_fixed = $5, auto_close_skipped = $6, gate_passed = $7
          WHERE id = $1",
    )
    .bind(scan_id)
    .bind(new as i32)
    .bind(unchanged as i32)
    .bind(reopened as i32)
    .bind(fixed as i32)
    .bind(&auto_close_skipped)
    .bind(gate.passed)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    Ok(IngestOutcome {
        scan_id,
        project: grant.project_slug.clone(),
        format: format.to_string(),
        scanner: parsed.scanner,
        scanner_version: parsed.scanner_version,
        new,
        unchanged,
        reopened,
        fixed,
        total,
        auto_close_skipped,
        gate,
    })
}

/// Why this scan must not auto-close its scope's missing findings, if it must not.
async fn auto_close_guard(
    tx: &mut sqlx::PgConnection,
    grant: &TokenGrant,
    meta: &ScanMeta,
    scanner: &str,
    scan_id: i64,
    total: i64,
    guard: Guardrails,
) -> Result<Option<String>, sqlx::Error> {
    if meta.partial {
        return Ok(Some(
            "partial scan (partial=true): it speaks for part of its scope only".into(),
        ));
    }
    if total > 0 {
        return Ok(None);
    }
    let previous: Option<i32> = sqlx::query_scalar(
        "SELECT findings_total FROM scans
          WHERE project_id = $1 AND scanner = $2 AND target = $3 AND status = 'accepted'
            AND NOT partial AND id <> $4
          ORDER BY id DESC LIMIT 1",
    )
    .bind(grant.project_id)
    .bind(scanner)
    .bind(&meta.target)
    .bind(scan_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(previous
        .filter(|&n| i64::from(n) >= guard.empty_scan_min_previous)
        .map(|n| {
            format!(
                "suspiciously empty: no findings where the last complete scan of this scope had {n}"
            )
        }))
}

/// Marks findings of the scan's scope that it no longer contains as fixed (verified by
/// scan), each with an audit event. Runtime alerts are a stream, not a snapshot: never closed.
async fn close_missing(
    tx: &mut sqlx::PgConnection,
    grant: &TokenGrant,
    meta: &ScanMeta,
    scanner: &str,
    scan_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        r#"WITH closed AS (
            UPDATE findings f SET state = 'fixed', fixed_at = now()
              FROM (SELECT id, state FROM findings
                     WHERE project_id = $1 AND scanner = $2 AND target = $3
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
         )
         SELECT count(*) FROM events"#,
    )
    .bind(grant.project_id)
    .bind(scanner)
    .bind(&meta.target)
    .bind(scan_id)
    .bind(grant.token_id)
    .fetch_one(&mut *tx)
    .await
}
