//! Writing a report: scan rows and findings, in one transaction, in batches.
//!
//! The parser runs on a blocking thread and streams findings here in chunks, so a large
//! report is never held as a whole list of findings, and parsing overlaps with writing.
//! When a project's part of the scan opens, the findings its scope already holds are read
//! once (fingerprint, content hash, id): a re-import compares against them in memory, and
//! what is left unreported at the end is what the scan no longer contains. Each chunk then
//! costs a few statements whatever its size:
//! 1. one lookup of fingerprints the scope does not hold (the project may, in another
//!    scope, or fixed);
//! 2. `COPY` of the new findings straight into `findings`;
//! 3. `COPY` of known findings whose content changed (or that must reopen) into a staging
//!    table, applied by one `UPDATE` at the end.
//!
//! Findings reported unchanged cost nothing: no row rewrite, no statement.
//!
//! Ingests into one project are serialised by an advisory lock, so concurrent uploads
//! cannot both insert the same new finding.
//!
//! The steps, each in its module: `parse` runs the parser and hands over its chunks,
//! `scope` reads a project's scope and compares the scan with it, `chunk` writes each
//! chunk, `reconcile` applies and closes what the scan changed once it is written, and
//! `outcome` is the answer to the sender. One `ScanContext` carries what every project's
//! part of a scan shares.

mod chunk;
mod outcome;
mod parse;
mod reconcile;
mod scope;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use self::chunk::ProjectScan;
use self::parse::Chunk;
use super::copy_rows::{COLUMNS, EncodedFinding};
use super::routing::{Destination, Router};
use super::{NewFinding, ParseError, ReportFormat, detect, format_named};
use crate::tokens::TokenGrant;

pub use self::outcome::{IngestOutcome, ProjectOutcome, SkippedItems};

/// What the sender tells Bosun about a report besides its body.
#[derive(Debug, Clone, Default)]
pub struct ScanMeta {
    /// Format override; detected from the body when `None`.
    pub format: Option<String>,
    /// Project slug the sender names; a project token only accepts its own, a team or
    /// cluster token sends the whole report there instead of routing it.
    pub project: Option<String>,
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

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the report is empty: name its format (?format=) to record a clean scan")]
    Empty,
    #[error("unknown report format: the body is not {known}; name one with ?format=")]
    UnknownFormat { known: String },
    #[error("unknown format '{0}'; supported: {1}")]
    UnknownFormatName(String, String),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NoRoute(String),
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

/// Where a report's findings go.
enum Routing {
    One(Destination),
    Rules(Router),
}

impl Routing {
    fn destinations(&self) -> &[Destination] {
        match self {
            Routing::One(d) => std::slice::from_ref(d),
            Routing::Rules(r) => r.destinations(),
        }
    }

    fn route(&self, f: &NewFinding) -> Option<usize> {
        match self {
            Routing::One(_) => Some(0),
            Routing::Rules(r) => r.route(f),
        }
    }
}

/// Parses and stores a report. A report that cannot be read is recorded as a rejected
/// scan (so it shows in the scan history) and nothing else is stored.
pub async fn ingest(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    body: Bytes,
) -> Result<IngestOutcome, IngestError> {
    let routing = resolve_routing(pool, grant, meta).await?;
    let rejected_project = match &routing {
        Routing::One(d) => Some(d.project_id),
        Routing::Rules(_) => None,
    };
    let format = match pick_format(meta, &body) {
        Ok(f) => f,
        Err(err) => {
            let name = meta.format.as_deref().unwrap_or("unknown");
            record_rejection(pool, grant, rejected_project, meta, name, body.len(), &err).await?;
            return Err(err);
        }
    };
    let meta = &ScanMeta {
        target: super::normalize::scan_target(&meta.target, format.scans_images()),
        ..meta.clone()
    };
    match write(pool, grant, meta, guard, format, body.clone(), routing).await {
        Err(IngestError::Parse(err)) => {
            let err = IngestError::Parse(err);
            let (name, bytes) = (format.name(), body.len());
            record_rejection(pool, grant, rejected_project, meta, name, bytes, &err).await?;
            Err(err)
        }
        other => other,
    }
}

/// Stores a report read by a format of the caller's own, exactly as [`ingest`] stores a
/// report it detected: the seed (`bosun seed`, the demo) generates its findings this way,
/// so they take Bosun's whole storage path (scope, lookup, `COPY`, reconcile, gate) without
/// a round trip through a report file.
pub async fn ingest_with_format(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    format: &'static dyn ReportFormat,
    body: Bytes,
) -> Result<IngestOutcome, IngestError> {
    let routing = resolve_routing(pool, grant, meta).await?;
    write(pool, grant, meta, guard, format, body, routing).await
}

async fn resolve_routing(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
) -> Result<Routing, IngestError> {
    let named = meta.project.as_deref().filter(|p| !p.is_empty());
    if let (Some(id), Some(slug)) = (grant.project_id, &grant.project_slug) {
        if let Some(named) = named.filter(|n| n != slug) {
            return Err(IngestError::Forbidden(format!(
                "this token belongs to project '{slug}', not '{named}'"
            )));
        }
        return Ok(Routing::One(Destination {
            project_id: id,
            project_slug: slug.clone(),
        }));
    }
    let mut conn = pool.acquire().await?;
    if let Some(named) = named {
        // a team token may name its team's projects; a cluster-wide token any project
        let found = sqlx::query_as!(
            Destination,
            "SELECT id AS project_id, slug AS project_slug FROM projects
              WHERE slug = $1 AND ($2::int8 IS NULL OR team_id = $2)",
            named,
            grant.team_id,
        )
        .fetch_optional(&mut *conn)
        .await?;
        return found.map(Routing::One).ok_or_else(|| {
            IngestError::Forbidden(format!(
                "this token cannot send to project '{named}' (unknown, or not its team's)"
            ))
        });
    }
    let router = Router::new(super::routing::rules_for(&mut conn, grant.team_id).await?);
    if router.destinations().is_empty() {
        return Err(IngestError::NoRoute(
            "this team/cluster token routes findings by routing rules and there are none yet: \
             add one (`bosun route add`) or name a project with ?project="
                .into(),
        ));
    }
    Ok(Routing::Rules(router))
}

/// The report's format: named by the sender, else detected. An empty body is a clean scan
/// when its format is named (JSON-lines tools such as nuclei write nothing when they find
/// nothing), and refused otherwise: there is no telling which tool's scope it speaks for.
fn pick_format(meta: &ScanMeta, body: &[u8]) -> Result<&'static dyn ReportFormat, IngestError> {
    if meta.format.is_none() && body.iter().all(u8::is_ascii_whitespace) {
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
    project_id: Option<i64>,
    meta: &ScanMeta,
    format: &str,
    bytes: usize,
    err: &IngestError,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO scans (project_id, token_id, status, format, scanner, target, commit_sha, branch,
                            pipeline_url, error, report_bytes, environment, partial)
         VALUES ($1, $2, 'rejected', $3, '', $4, $5, $6, $7, $8, $9, $10, $11)",
        project_id,
        grant.token_id,
        format,
        &meta.target,
        meta.commit_sha.as_deref(),
        meta.branch.as_deref(),
        meta.pipeline_url.as_deref(),
        err.to_string(),
        bytes as i64,
        meta.environment.as_deref(),
        meta.partial,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The scanner a report names in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    scanner: String,
    scanner_version: Option<String>,
}

impl Header {
    /// The header of a report that names no scanner (an empty, clean one): its format's tool.
    fn of(format: &'static dyn ReportFormat) -> Header {
        Header {
            scanner: format.scanner(),
            scanner_version: None,
        }
    }
}

/// What every project's part of one scan shares: who sent the report and what they said
/// about it, the guardrails it is held to, its format and header, and its time.
struct ScanContext<'a> {
    grant: &'a TokenGrant,
    meta: &'a ScanMeta,
    guard: Guardrails,
    format: &'static dyn ReportFormat,
    header: Header,
    /// The transaction's time: every row the scan writes is stamped with it.
    now: DateTime<Utc>,
}

/// Writes the report into the database as the parser reads it, in one transaction: each
/// chunk into the scans of the projects its findings are routed to, then each project's
/// scan finished.
async fn write(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    format: &'static dyn ReportFormat,
    body: Bytes,
    routing: Routing,
) -> Result<IngestOutcome, IngestError> {
    let routing = Arc::new(routing);
    let (parser, mut inbox) = parse::spawn(format, body, meta.target.clone(), Arc::clone(&routing));
    let mut conn = pool.begin().await?;
    let now = prepare(&mut conn, routing.destinations()).await?;

    let started = Instant::now();
    // the parser sends its header, if any, before any findings: it is known to every scan
    let scan = ScanContext {
        grant,
        meta,
        guard,
        format,
        header: inbox.header(format).await,
        now,
    };
    let mut scans = Scans::new(&routing);
    while let Some(chunk) = inbox.findings().await {
        scans.write(&mut conn, &scan, chunk).await?;
    }
    let (parsed, skipped) = parser.join(format).await?;
    let streamed = started.elapsed();
    let unrouted = scans.unrouted;
    let outcomes = scans.finish(&mut conn, &scan).await?;
    if !skipped.is_empty() {
        let scan_ids: Vec<i64> = outcomes.iter().map(|o| o.scan_id).collect();
        sqlx::query!(
            "UPDATE scans SET skipped = $2 WHERE id = ANY($1)",
            &scan_ids,
            sqlx::types::Json(&skipped) as _,
        )
        .execute(&mut *conn)
        .await?;
    }
    let finished = started.elapsed();
    conn.commit().await?;
    tracing::debug!(
        // the parser's thread, encoding included (it overlaps the writes)
        parsed_ms = parsed.as_millis() as u64,
        waited_ms = inbox.waited.as_millis() as u64,
        streamed_ms = streamed.as_millis() as u64,
        finished_ms = finished.as_millis() as u64,
        committed_ms = started.elapsed().as_millis() as u64,
        "ingest phases"
    );
    let routed = matches!(*routing, Routing::Rules(_));
    Ok(IngestOutcome::summed(
        format.name(),
        scan.header,
        outcomes,
        routed,
        unrouted,
        skipped,
    ))
}

/// Sets the transaction up for a write into `destinations`: their locks, its settings and
/// the staging table. Returns its time.
async fn prepare(
    conn: &mut PgConnection,
    destinations: &[Destination],
) -> Result<DateTime<Utc>, sqlx::Error> {
    let mut project_ids: Vec<i64> = destinations.iter().map(|d| d.project_id).collect();
    project_ids.sort_unstable();
    // One ingest per project at a time (in id order, so routed reports cannot deadlock).
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(1112493397, id::int4)
           FROM (SELECT id FROM unnest($1::int8[]) AS t(id) ORDER BY id) ids",
        &project_ids,
    )
    .execute(&mut *conn)
    .await?;
    // The ingest's statements are few and large, and their right plan depends on the
    // values (a project's size, how many fingerprints to look up): plan each one for its
    // values. No JIT: compiling a large statement's expressions cost ~50 ms, more than
    // running them (measured on the gate of a 100k first import). Runtime queries: a loop
    // over statements (and SET takes no parameters).
    for setting in [
        "SET LOCAL plan_cache_mode = force_custom_plan",
        "SET LOCAL jit = off",
    ] {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    // Keyed, so that joins against it stay index lookups whatever the planner believes
    // about `findings` (its statistics lag behind a large import). Runtime queries: built
    // from the column list, and the table does not exist until they run.
    for staging in [
        format!(
            "CREATE TEMP TABLE staged_findings ON COMMIT DROP AS SELECT {COLUMNS} FROM findings WITH NO DATA"
        ),
        "ALTER TABLE staged_findings ADD PRIMARY KEY (project_id, fingerprint)".into(),
    ] {
        sqlx::query(&staging).execute(&mut *conn).await?;
    }
    sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *conn)
        .await
}

/// Each destination's scan, opened by the first findings routed to it.
struct Scans<'r> {
    routing: &'r Routing,
    open: Vec<Option<ProjectScan>>,
    /// Findings no routing rule matched.
    unrouted: i64,
}

impl<'r> Scans<'r> {
    fn new(routing: &'r Routing) -> Scans<'r> {
        Scans {
            routing,
            open: routing.destinations().iter().map(|_| None).collect(),
            unrouted: 0,
        }
    }

    /// Writes a chunk: each destination's findings into its project's scan.
    async fn write(
        &mut self,
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
        chunk: Chunk,
    ) -> Result<(), sqlx::Error> {
        let mut groups: Vec<Vec<EncodedFinding>> = self.open.iter().map(|_| Vec::new()).collect();
        for (destination, f) in chunk {
            match destination {
                Some(i) => groups[i].push(f),
                None => self.unrouted += 1,
            }
        }
        for (i, group) in groups.into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            if self.open[i].is_none() {
                let dest = self.routing.destinations()[i].clone();
                self.open[i] = Some(ProjectScan::open(conn, scan, dest).await?);
            }
            let project = self.open[i].as_mut().expect("opened above");
            project.write_chunk(conn, scan, group).await?;
        }
        Ok(())
    }

    /// Finishes every destination's scan, in destination order. A complete scan speaks for
    /// every project it could have reached, even those it found nothing in: each gets a
    /// scan row, and may have its missing findings closed.
    async fn finish(
        self,
        conn: &mut PgConnection,
        scan: &ScanContext<'_>,
    ) -> Result<Vec<ProjectOutcome>, sqlx::Error> {
        let mut outcomes = Vec::with_capacity(self.open.len());
        for (slot, dest) in self.open.into_iter().zip(self.routing.destinations()) {
            let project = match slot {
                Some(project) => project,
                None => ProjectScan::open(conn, scan, dest.clone()).await?,
            };
            outcomes.push(project.finish(conn, scan).await?);
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(format: Option<&str>) -> ScanMeta {
        ScanMeta {
            format: format.map(Into::into),
            ..ScanMeta::default()
        }
    }

    #[test]
    fn guardrails_default_to_five_previous_findings() {
        assert_eq!(Guardrails::default().empty_scan_min_previous, 5);
    }

    #[test]
    fn an_empty_report_needs_its_format_named() {
        for body in [&b""[..], b"  \n\t "] {
            let err = pick_format(&meta(None), body).err().expect("refused");
            assert!(matches!(err, IngestError::Empty), "{err}");
        }
        // a named format's empty report is a clean scan
        let format = pick_format(&meta(Some("nuclei")), b"\n").expect("clean scan");
        assert_eq!(format.name(), "nuclei");
    }

    #[test]
    fn a_named_format_is_taken_whatever_the_body() {
        let format = pick_format(&meta(Some(" SARIF ")), b"not a report").expect("named");
        assert_eq!(format.name(), "sarif");
    }

    #[test]
    fn an_unknown_format_name_lists_the_known_ones() {
        let err = pick_format(&meta(Some("nessus")), b"{}")
            .err()
            .expect("refused");
        let IngestError::UnknownFormatName(name, known) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(name, "nessus");
        assert_eq!(known, &known_formats());
        assert!(
            err.to_string()
                .starts_with("unknown format 'nessus'; supported: ")
        );
        for listed in ["sarif", "trivy", "gitleaks"] {
            assert!(
                known.split(", ").any(|k| k == listed),
                "{listed} in {known}"
            );
        }
    }

    #[test]
    fn a_body_no_format_recognises_is_refused() {
        let err = pick_format(&meta(None), b"hello, world")
            .err()
            .expect("refused");
        assert!(matches!(err, IngestError::UnknownFormat { .. }), "{err}");
        assert!(err.to_string().contains(&known_formats()));
    }

    #[test]
    fn a_report_is_detected_when_its_format_is_not_named() {
        let body = br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]}"#;
        let format = pick_format(&meta(None), body).expect("detected");
        assert_eq!(format.name(), "sarif");
    }

    #[test]
    fn one_destination_takes_every_finding() {
        let dest = Destination {
            project_id: 7,
            project_slug: "web".into(),
        };
        let routing = Routing::One(dest.clone());
        assert_eq!(routing.destinations(), &[dest]);
        let finding = NewFinding::new(
            [1; 32],
            app::domain::Layer::Code,
            app::domain::Severity::Low,
            "t",
        );
        assert_eq!(routing.route(&finding), Some(0));
    }

    #[test]
    fn a_report_without_a_header_is_its_format_tools() {
        let format = format_named("nuclei").unwrap();
        let header = Header::of(format);
        assert_eq!(header.scanner, format.scanner());
        assert_eq!(header.scanner_version, None);
    }
}
