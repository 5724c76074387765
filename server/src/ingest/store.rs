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
}

/// The answer to a sender: counts per outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Distinct findings in the report.
    pub total: i64,
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
    let parsed = tokio::task::spawn_blocking(move || format.parse(&owned))
        .await
        .expect("parser does not panic");
    let parsed = match parsed {
        Ok(p) => p,
        Err(err) => {
            let err = IngestError::Parse(err);
            record_rejection(pool, grant, meta, format.name(), body.len(), &err).await?;
            return Err(err);
        }
    };
    store(pool, grant, meta, format.name(), body.len(), parsed).await
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
                            pipeline_url, error, report_bytes)
         VALUES ($1, $2, 'rejected', $3, '', $4, $5, $6, $7, $8, $9)",
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
    }
}

/// One finding per fingerprint: a report that repeats a problem (say, the same rule on the
/// same line twice) yields it once, at the highest severity it was given.
fn distinct(findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut index: HashMap<[u8; 32], usize> = HashMap::with_capacity(findings.len());
    let mut out: Vec<NewFinding> = Vec::with_capacity(findings.len());
    for f in findings {
        match index.get(&f.fingerprint) {
            Some(&i) => {
                if f.severity < out[i].severity {
                    out[i].severity = f.severity;
                }
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
                            commit_sha, branch, pipeline_url, report_bytes, findings_total)
         VALUES ($1, $2, 'accepted', $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
    .fetch_one(&mut *tx)
    .await?;

    // `xmax = 0` is true for a freshly inserted row, false for one the upsert updated.
    // A severity a person changed (severity <> scanner_severity) is kept.
    let new: i64 = sqlx::query_scalar(
        r#"WITH input AS (
            SELECT * FROM unnest($4::bytea[], $5::layer[], $6::severity[], $7::text[], $8::text[],
                                 $9::text[], $10::text[], $11::int4[], $12::text[], $13::text[],
                                 $14::text[], $15::text[], $17::text[], $18::text[], $19::text[],
                                 $20::text[], $21::text[], $22::text[], $23::text[], $24::text[],
                                 $25::asset_kind[], $26::text[], $27::text[])
              AS t(fingerprint, layer, severity, title, rule_id, description, file_path, line,
                   location, package_name, package_version, fixed_version, aliases, remediation,
                   refs, image, k8s_namespace, k8s_kind, k8s_name, url, asset_kind, asset_key,
                   evidence)
         ), upserted AS (
            INSERT INTO findings AS f (project_id, fingerprint, scanner, target, layer, severity,
                   scanner_severity, title, rule_id, description, file_path, line, location,
                   package_name, package_version, fixed_version, aliases, remediation,
                   "references", image, k8s_namespace, k8s_kind, k8s_name, url, asset_kind,
                   asset_key, evidence, first_scan_id, last_scan_id)
            SELECT $1, fingerprint, $2, $3, layer, severity, severity, title, rule_id, description,
                   file_path, line, location, package_name, package_version, fixed_version,
                   ARRAY(SELECT jsonb_array_elements_text(aliases::jsonb)), remediation,
                   ARRAY(SELECT jsonb_array_elements_text(refs::jsonb)), image, k8s_namespace,
                   k8s_kind, k8s_name, url, asset_kind, asset_key, evidence::jsonb, $16, $16
              FROM input
            ON CONFLICT (project_id, fingerprint) DO UPDATE SET
                   last_scan_id = EXCLUDED.last_scan_id,
                   last_seen_at = now(),
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
            RETURNING (xmax = 0) AS inserted
         )
         SELECT count(*) FILTER (WHERE inserted) FROM upserted"#,
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
    .fetch_one(&mut *tx)
    .await?;
    let unchanged = total - new;

    sqlx::query("UPDATE scans SET findings_new = $2, findings_unchanged = $3 WHERE id = $1")
        .bind(scan_id)
        .bind(new as i32)
        .bind(unchanged as i32)
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
        total,
    })
}
