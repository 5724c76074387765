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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use app::domain::{Layer, Severity};
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::copy_rows::{self, COLUMNS, EncodedFinding, RowContext};
use super::routing::{Destination, Router};
use super::{FindingSink, NewFinding, ParseError, ReportFormat, detect, format_named, normalize};
use crate::gate::{self, GateVerdict};
use crate::tokens::TokenGrant;

/// Findings per chunk handed from the parser to the writer.
const CHUNK: usize = 2_500;

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

/// The answer to a sender: counts per outcome, summed over every project the report
/// reached (one, unless a team or cluster token routed it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// The scan row (the first one, when the report was routed into several projects).
    pub scan_id: i64,
    /// The project (comma-separated when routed into several).
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
    /// Distinct findings in the report that were stored.
    pub total: i64,
    /// Why missing findings were not auto-closed, when they were not.
    pub auto_close_skipped: Option<String>,
    /// The CI gate, evaluated on this scan (every project's rules, when routed).
    pub gate: GateVerdict,
    /// Findings no routing rule matched (team and cluster tokens only): not stored.
    #[serde(skip_serializing_if = "is_zero")]
    pub unrouted: i64,
    /// Per project, when a team or cluster token routed the report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routed: Vec<ProjectOutcome>,
    /// Items of the report that did not become findings, counted by why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedItems>,
}

/// Items of a report skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedItems {
    pub reason: String,
    pub count: u32,
}

/// Distinct reasons kept per report; more are counted under one line.
const SKIPPED_REASONS_MAX: usize = 20;

fn tally_skipped(tally: &mut Vec<SkippedItems>, reason: String) {
    let reason = normalize::bounded(&reason, 300);
    if let Some(entry) = tally.iter_mut().find(|e| e.reason == reason) {
        entry.count = entry.count.saturating_add(1);
    } else if tally.len() < SKIPPED_REASONS_MAX {
        tally.push(SkippedItems { reason, count: 1 });
    } else {
        tally_skipped_other(tally);
    }
}

fn tally_skipped_other(tally: &mut [SkippedItems]) {
    const OTHER: &str = "other reasons";
    match tally.iter_mut().find(|e| e.reason == OTHER) {
        Some(entry) => entry.count = entry.count.saturating_add(1),
        None => {
            if let Some(last) = tally.last_mut() {
                last.reason = OTHER.to_string();
                last.count = last.count.saturating_add(1);
            }
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One project's share of a routed report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProjectOutcome {
    pub project: String,
    pub scan_id: i64,
    pub new: i64,
    pub unchanged: i64,
    pub reopened: i64,
    pub fixed: i64,
    pub total: i64,
    pub auto_close_skipped: Option<String>,
    pub gate: GateVerdict,
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
        let found: Option<Destination> = sqlx::query_as(
            "SELECT id AS project_id, slug AS project_slug FROM projects
              WHERE slug = $1 AND ($2::int8 IS NULL OR team_id = $2)",
        )
        .bind(named)
        .bind(grant.team_id)
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
    sqlx::query(
        "INSERT INTO scans (project_id, token_id, status, format, scanner, target, commit_sha, branch,
                            pipeline_url, error, report_bytes, environment, partial)
         VALUES ($1, $2, 'rejected', $3, '', $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(project_id)
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

/// What the parser thread sends the writer.
enum Message {
    Header {
        scanner: String,
        scanner_version: Option<String>,
    },
    /// Each with the index of its destination (`None`: no routing rule matched).
    Findings(Vec<(Option<usize>, EncodedFinding)>),
}

/// A [`FindingSink`] that hands chunks of findings to the async writer, each already
/// routed and encoded as COPY content (the costly part of writing a row), so that this
/// work happens on the parser's thread while the writer waits for the database. When the
/// writer has gone (it failed), findings are dropped and the parser runs out harmlessly.
struct ChannelSink {
    tx: tokio::sync::mpsc::Sender<Message>,
    chunk: Vec<(Option<usize>, EncodedFinding)>,
    routing: Arc<Routing>,
    /// The scanner named by the header, or the format's tool when findings came first.
    scanner: Option<String>,
    default_scanner: String,
    target: String,
    skipped: Vec<SkippedItems>,
}

impl ChannelSink {
    fn flush(&mut self) {
        if !self.chunk.is_empty() {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            let _ = self.tx.blocking_send(Message::Findings(chunk));
        }
    }
}

impl FindingSink for ChannelSink {
    /// Only a header before the first finding counts: the scanner is part of every row's
    /// content, so it cannot change within a report.
    fn header(&mut self, scanner: String, scanner_version: Option<String>) {
        if self.scanner.is_some() {
            return;
        }
        let scanner =
            super::tools::scanner_id(&normalize::header_text(&scanner, normalize::caps::SCANNER));
        let scanner_version = scanner_version
            .map(|v| normalize::header_text(&v, normalize::caps::SCANNER_VERSION))
            .filter(|v| !v.is_empty());
        self.scanner = Some(scanner.clone());
        let _ = self.tx.blocking_send(Message::Header {
            scanner,
            scanner_version,
        });
    }

    fn skipped(&mut self, reason: String) {
        tally_skipped(&mut self.skipped, reason);
    }

    fn finding(&mut self, mut finding: NewFinding) {
        normalize::cap_stored_text(&mut finding);
        let scanner = self
            .scanner
            .get_or_insert_with(|| self.default_scanner.clone());
        let encoded = EncodedFinding::of(scanner, &self.target, &finding);
        self.chunk.push((self.routing.route(&finding), encoded));
        if self.chunk.len() >= CHUNK {
            self.flush();
        }
    }
}

async fn write(
    pool: &PgPool,
    grant: &TokenGrant,
    meta: &ScanMeta,
    guard: Guardrails,
    format: &'static dyn ReportFormat,
    body: Bytes,
    routing: Routing,
) -> Result<IngestOutcome, IngestError> {
    // Parsing is CPU work on possibly large input: a blocking thread, overlapping the writes.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let target = meta.target.clone();
    let routing = Arc::new(routing);
    let sink_routing = Arc::clone(&routing);
    let parser = tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink {
            tx,
            chunk: Vec::with_capacity(CHUNK),
            routing: sink_routing,
            scanner: None,
            default_scanner: format.scanner(),
            target,
            skipped: Vec::new(),
        };
        let started = std::time::Instant::now();
        // an empty body of a named format is a clean scan: its tool found nothing
        let result = if body.iter().all(u8::is_ascii_whitespace) {
            let scanner = sink.default_scanner.clone();
            sink.header(scanner, None);
            Ok(())
        } else {
            format.parse_into(&body, &mut sink)
        };
        if result.is_ok() {
            sink.flush();
        }
        (result, started.elapsed(), sink.skipped)
    });

    let mut conn = pool.begin().await?;
    let mut project_ids: Vec<i64> = routing
        .destinations()
        .iter()
        .map(|d| d.project_id)
        .collect();
    project_ids.sort_unstable();
    // One ingest per project at a time (in id order, so routed reports cannot deadlock).
    sqlx::query(
        "SELECT pg_advisory_xact_lock(1112493397, id::int4)
           FROM (SELECT id FROM unnest($1::int8[]) AS t(id) ORDER BY id) ids",
    )
    .bind(&project_ids)
    .execute(&mut *conn)
    .await?;
    // The ingest's statements are few and large, and their right plan depends on the
    // values (a project's size, how many fingerprints to look up): plan each one for its
    // values. No JIT: compiling a large statement's expressions cost ~50 ms, more than
    // running them (measured on the gate of a 100k first import).
    for setting in [
        "SET LOCAL plan_cache_mode = force_custom_plan",
        "SET LOCAL jit = off",
    ] {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    // Keyed, so that joins against it stay index lookups whatever the planner believes
    // about `findings` (its statistics lag behind a large import).
    for staging in [
        format!(
            "CREATE TEMP TABLE staged_findings ON COMMIT DROP AS SELECT {COLUMNS} FROM findings WITH NO DATA"
        ),
        "ALTER TABLE staged_findings ADD PRIMARY KEY (project_id, fingerprint)".into(),
    ] {
        sqlx::query(&staging).execute(&mut *conn).await?;
    }
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *conn)
        .await?;

    let started = std::time::Instant::now();
    let mut header: Option<(String, Option<String>)> = None;
    let mut scans: Vec<Option<ProjectScan>> = routing.destinations().iter().map(|_| None).collect();
    let mut unrouted = 0i64;
    // time spent waiting for the parser (the database is idle meanwhile)
    let mut waited = std::time::Duration::ZERO;
    loop {
        let wait_started = std::time::Instant::now();
        let Some(message) = rx.recv().await else {
            break;
        };
        waited += wait_started.elapsed();
        match message {
            Message::Header {
                scanner,
                scanner_version,
            } => header = Some((scanner, scanner_version)),
            Message::Findings(findings) => {
                let (scanner, version) = header.get_or_insert_with(|| (format.scanner(), None));
                let mut groups: Vec<Vec<EncodedFinding>> =
                    scans.iter().map(|_| Vec::new()).collect();
                for (destination, f) in findings {
                    match destination {
                        Some(i) => groups[i].push(f),
                        None => unrouted += 1,
                    }
                }
                for (i, group) in groups.into_iter().enumerate() {
                    if group.is_empty() {
                        continue;
                    }
                    if scans[i].is_none() {
                        let dest = routing.destinations()[i].clone();
                        scans[i] = Some(
                            ProjectScan::open(
                                &mut conn, grant, meta, format, scanner, version, dest, now,
                            )
                            .await?,
                        );
                    }
                    let scan = scans[i].as_mut().expect("opened above");
                    scan.write_chunk(&mut conn, group).await?;
                }
            }
        }
    }
    let (parsed, skipped) = match parser.await {
        Ok((Ok(()), parsed, skipped)) => (parsed, skipped),
        Ok((Err(err), _, _)) => return Err(IngestError::Parse(err)),
        // a parser bug must not take the request down with it: refuse the report instead
        Err(join) => {
            return Err(IngestError::Parse(ParseError {
                format: format.name(),
                message: format!(
                    "the parser failed on this report ({join}); please report this as a Bosun bug"
                ),
                line: None,
                column: None,
                layout: false,
            }));
        }
    };
    let streamed = started.elapsed();
    let (scanner, scanner_version) = header.unwrap_or_else(|| (format.scanner(), None));
    // A complete scan speaks for every project it could have reached, even those it found
    // nothing in: each gets a scan row, and may have its missing findings closed.
    let mut outcomes = Vec::new();
    for (i, slot) in scans.into_iter().enumerate() {
        let mut scan = match slot {
            Some(scan) => scan,
            None => {
                let dest = routing.destinations()[i].clone();
                ProjectScan::open(
                    &mut conn,
                    grant,
                    meta,
                    format,
                    &scanner,
                    &scanner_version,
                    dest,
                    now,
                )
                .await?
            }
        };
        outcomes.push(scan.finish(&mut conn, grant, meta, &scanner, guard).await?);
    }
    if !skipped.is_empty() {
        sqlx::query("UPDATE scans SET skipped = $2 WHERE id = ANY($1)")
            .bind(outcomes.iter().map(|o| o.scan_id).collect::<Vec<_>>())
            .bind(sqlx::types::Json(&skipped))
            .execute(&mut *conn)
            .await?;
    }
    let finished = started.elapsed();
    conn.commit().await?;
    tracing::debug!(
        // the parser's thread, encoding included (it overlaps the writes)
        parsed_ms = parsed.as_millis() as u64,
        waited_ms = waited.as_millis() as u64,
        streamed_ms = streamed.as_millis() as u64,
        finished_ms = finished.as_millis() as u64,
        committed_ms = started.elapsed().as_millis() as u64,
        "ingest phases"
    );

    let routed = matches!(*routing, Routing::Rules(_));
    let sum = |f: fn(&ProjectOutcome) -> i64| outcomes.iter().map(f).sum::<i64>();
    Ok(IngestOutcome {
        scan_id: outcomes.first().map_or(0, |o| o.scan_id),
        project: outcomes
            .iter()
            .map(|o| o.project.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        format: format.name().to_string(),
        scanner,
        scanner_version,
        new: sum(|o| o.new),
        unchanged: sum(|o| o.unchanged),
        reopened: sum(|o| o.reopened),
        fixed: sum(|o| o.fixed),
        total: sum(|o| o.total),
        auto_close_skipped: outcomes.iter().find_map(|o| {
            o.auto_close_skipped.as_ref().map(|why| {
                if routed {
                    format!("{}: {why}", o.project)
                } else {
                    why.clone()
                }
            })
        }),
        gate: GateVerdict::merge(outcomes.iter().map(|o| &o.gate)),
        unrouted,
        routed: if routed { outcomes } else { Vec::new() },
        skipped,
    })
}

/// A repeat of a fingerprint already written by this scan, merged at the end.
struct Repeat {
    fingerprint: Vec<u8>,
    severity: Severity,
    occurrences: i32,
}

/// The first report of a fingerprint the scope did not hold.
struct FirstReport {
    occurrences: u32,
    /// The worst it was reported at: repeats raise it, as [`ProjectScan::merge_repeats`]
    /// raises the stored finding's.
    severity: Severity,
    secret: bool,
    /// [`gate::overdue_severities`] from when it was first seen.
    overdue: u8,
    /// Inserted by this scan, as its n-th new finding (the order of their ids); `None`
    /// while it waits for a lookup, and for a finding the project already had.
    inserted: Option<u32>,
}

/// A finding the scan's scope held when the scan began.
struct Known {
    fingerprint: [u8; 32],
    id: i64,
    /// The first half of its content hash, which is plenty to tell a change (a false
    /// match would take a second preimage of 128 bits); `None` for rows stored without one.
    content_hash: Option<[u8; 16]>,
    /// Not fixed: reported with the same content, it is unchanged (a fixed one reopens).
    live: bool,
    /// Breaks a gate rule whenever a scan reports it: a secret, or past its SLA.
    gate_candidate: bool,
    /// Reported by this scan, with the occurrences of its first report.
    reported: Option<u32>,
}

/// The scope's findings when the scan began, sorted by fingerprint. A sorted vector rather
/// than a hash map: a map's power-of-two tables held twice the memory for large scopes
/// (42 MB instead of 20 MB at 310k findings), and it is searched once per finding.
struct Scope(Vec<Known>);

impl Scope {
    fn position(&self, fingerprint: &[u8; 32]) -> Option<usize> {
        self.0
            .binary_search_by(|k| k.fingerprint.cmp(fingerprint))
            .ok()
    }

    fn find(&mut self, fingerprint: &[u8; 32]) -> Option<&mut Known> {
        let at = self.position(fingerprint)?;
        Some(&mut self.0[at])
    }

    /// The occurrences of the first report of a finding the scope holds.
    fn first_report(&self, fingerprint: &[u8; 32]) -> Option<u32> {
        self.0[self.position(fingerprint)?].reported
    }

    /// What the scan did not report: the findings it no longer contains.
    fn unreported(&self) -> Vec<i64> {
        self.0
            .iter()
            .filter(|k| k.reported.is_none())
            .map(|k| k.id)
            .collect()
    }
}

/// What a chunk does with one finding.
#[derive(Clone, Copy)]
enum Outcome {
    New,
    /// Known: changed, reopening, or a runtime alert with new events.
    Rewrite,
    Unchanged,
    /// Not in the scope: the project may know it (another scope, or fixed and verified).
    LookUp,
}

/// One project's scan while its findings are being written.
struct ProjectScan {
    dest: Destination,
    scan_id: i64,
    now: DateTime<Utc>,
    /// Fingerprints reported so far that the scope did not hold, with their first report
    /// (the scope's own are marked in `scope`).
    seen: HashMap<[u8; 32], FirstReport>,
    repeats: Vec<Repeat>,
    scope: Scope,
    /// Distinct findings reported.
    total: i64,
    /// Findings reported unchanged that the gate must look at (see [`Known::gate_candidate`]).
    unchanged_gate_candidates: Vec<i64>,
    /// The project's gate policy and SLA, read when the scan began.
    rules: gate::ProjectRules,
    new: i64,
    staged: i64,
    unchanged: i64,
    /// Who the project's new findings are assigned to (default assignee, owning team).
    assignee: (Option<i64>, Option<i64>),
    /// The scope had no findings when this scan began (checked under the project's lock):
    /// every finding is new (a finding's identity includes its scope), so its chunks skip
    /// the lookup of known fingerprints.
    empty_scope: bool,
    /// Time spent reading the scope, looking up fingerprints and copying rows (debug log).
    scope_time: std::time::Duration,
    lookup_time: std::time::Duration,
    copy_time: std::time::Duration,
}

impl ProjectScan {
    #[allow(clippy::too_many_arguments)]
    async fn open(
        conn: &mut PgConnection,
        grant: &TokenGrant,
        meta: &ScanMeta,
        format: &'static dyn ReportFormat,
        scanner: &str,
        scanner_version: &Option<String>,
        dest: Destination,
        now: DateTime<Utc>,
    ) -> Result<ProjectScan, sqlx::Error> {
        let scan_id: i64 = sqlx::query_scalar(
            "INSERT INTO scans (project_id, token_id, status, format, scanner, scanner_version,
                                target, commit_sha, branch, pipeline_url, partial, environment)
             VALUES ($1, $2, 'accepted', $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(dest.project_id)
        .bind(grant.token_id)
        .bind(format.name())
        .bind(scanner)
        .bind(scanner_version)
        .bind(&meta.target)
        .bind(&meta.commit_sha)
        .bind(&meta.branch)
        .bind(&meta.pipeline_url)
        .bind(meta.partial)
        .bind(&meta.environment)
        .fetch_one(&mut *conn)
        .await?;
        let (default_assignee, team, empty_scope): (Option<i64>, Option<i64>, bool) =
            sqlx::query_as(
                "SELECT default_assignee_id, team_id,
                        NOT EXISTS (SELECT 1 FROM findings
                                     WHERE scanner = $2 AND target = $3 AND project_id = $1)
                   FROM projects WHERE id = $1",
            )
            .bind(dest.project_id)
            .bind(scanner)
            .bind(&meta.target)
            .fetch_one(&mut *conn)
            .await?;
        let rules = gate::rules_for(conn, dest.project_id).await?;
        let started = std::time::Instant::now();
        let scope = if empty_scope {
            Scope(Vec::new())
        } else {
            scope_findings(conn, dest.project_id, scanner, &meta.target).await?
        };
        Ok(ProjectScan {
            assignee: (default_assignee, team),
            empty_scope,
            dest,
            scan_id,
            now,
            seen: HashMap::new(),
            repeats: Vec::new(),
            scope,
            total: 0,
            unchanged_gate_candidates: Vec::new(),
            rules,
            new: 0,
            staged: 0,
            unchanged: 0,
            scope_time: started.elapsed(),
            lookup_time: Default::default(),
            copy_time: Default::default(),
        })
    }

    async fn write_chunk(
        &mut self,
        conn: &mut PgConnection,
        findings: Vec<EncodedFinding>,
    ) -> Result<(), sqlx::Error> {
        let mut fresh = Vec::with_capacity(findings.len());
        let mut outcomes = Vec::with_capacity(findings.len());
        for f in findings {
            let outcome = if let Some(k) = self.scope.find(&f.fingerprint) {
                match k.reported {
                    Some(_) => None,
                    None => {
                        k.reported = Some(f.occurrences);
                        // runtime alerts always count their new events: never unchanged
                        if k.live
                            && f.layer != Layer::Runtime
                            && k.content_hash.is_some_and(|h| f.hash.starts_with(&h))
                        {
                            if k.gate_candidate {
                                self.unchanged_gate_candidates.push(k.id);
                            }
                            Some(Outcome::Unchanged)
                        } else {
                            Some(Outcome::Rewrite)
                        }
                    }
                }
            } else {
                match self.seen.entry(f.fingerprint) {
                    std::collections::hash_map::Entry::Occupied(mut first) => {
                        let first = first.get_mut();
                        first.severity = first.severity.min(f.severity);
                        None
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(FirstReport {
                            occurrences: f.occurrences,
                            severity: f.severity,
                            secret: f.layer == Layer::Secret,
                            overdue: gate::overdue_severities(
                                &self.rules.sla,
                                f.first_seen(self.now),
                                self.now,
                            ),
                            inserted: None,
                        });
                        Some(if self.empty_scope {
                            Outcome::New
                        } else {
                            Outcome::LookUp
                        })
                    }
                }
            };
            match outcome {
                Some(outcome) => {
                    self.total += 1;
                    outcomes.push(outcome);
                    fresh.push(f);
                }
                // the same problem reported twice (say, one rule on one line): one finding,
                // at the highest severity it was given, counting both
                None => self.repeats.push(Repeat {
                    fingerprint: f.fingerprint.to_vec(),
                    severity: f.severity,
                    occurrences: f.occurrences.min(i32::MAX as u32) as i32,
                }),
            }
        }
        let lookup_started = std::time::Instant::now();
        let to_look_up: Vec<&[u8]> = fresh
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Outcome::LookUp))
            .map(|(f, _)| &f.fingerprint[..])
            .collect();
        if !to_look_up.is_empty() {
            let known = self.lookup(conn, &to_look_up).await?;
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
        self.lookup_time += lookup_started.elapsed();

        let ctx = RowContext {
            project_id: self.dest.project_id,
            scan_id: self.scan_id,
            now: self.now,
            assignee_user_id: self.assignee.0,
            assignee_team_id: self.assignee.1,
        };
        let (mut new_rows, mut staged_rows) =
            (copy_rows::Rows::default(), copy_rows::Rows::default());
        for (f, outcome) in fresh.iter().zip(outcomes) {
            match outcome {
                Outcome::New => {
                    new_rows.push(&ctx, f);
                    if let Some(first) = self.seen.get_mut(&f.fingerprint) {
                        first.inserted = Some(self.new as u32);
                    }
                    self.new += 1;
                }
                Outcome::Rewrite => {
                    staged_rows.push(&ctx, f);
                    self.staged += 1;
                }
                Outcome::Unchanged => self.unchanged += 1,
                Outcome::LookUp => unreachable!("every lookup was answered above"),
            }
        }
        let copy_started = std::time::Instant::now();
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
        let known: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT k.fingerprint FROM unnest($2::bytea[]) AS i(fingerprint)
              CROSS JOIN LATERAL (SELECT f.fingerprint FROM findings f
                                   WHERE f.project_id = $1 AND f.fingerprint = i.fingerprint
                                   LIMIT 1) k",
        )
        .bind(self.dest.project_id)
        .bind(fingerprints)
        .fetch_all(&mut *conn)
        .await?;
        Ok(known.into_iter().collect())
    }

    async fn finish(
        &mut self,
        conn: &mut PgConnection,
        grant: &TokenGrant,
        meta: &ScanMeta,
        scanner: &str,
        guard: Guardrails,
    ) -> Result<ProjectOutcome, sqlx::Error> {
        let project_id = self.dest.project_id;
        let total = self.total;
        // a temp table has no statistics until analysed: without them a large rewrite
        // could be planned as a nested loop
        if self.staged > 0 {
            sqlx::query("ANALYZE staged_findings")
                .execute(&mut *conn)
                .await?;
        }
        let phase = std::time::Instant::now();
        let reopened = if self.staged > 0 {
            apply_staged(conn, grant, project_id, self.scan_id).await?
        } else {
            0
        };
        if !self.repeats.is_empty() {
            self.merge_repeats(conn).await?;
        }

        let staged_time = phase.elapsed();
        let auto_close_skipped =
            auto_close_guard(conn, project_id, meta, scanner, self.scan_id, total, guard).await?;
        // what the scope held and the scan did not report
        let missing = self.scope.unreported();
        let fixed = match auto_close_skipped {
            Some(_) => 0,
            None if missing.is_empty() => 0,
            None => {
                close_missing(
                    conn,
                    grant,
                    project_id,
                    meta,
                    scanner,
                    self.scan_id,
                    &missing,
                )
                .await?
            }
        };

        let close_time = phase.elapsed() - staged_time;
        let inserted = self.tally_inserted();
        let in_scan = gate::ScanFindings {
            scan_id: self.scan_id,
            inserted: &inserted,
            unchanged_candidates: &self.unchanged_gate_candidates,
        };
        let gate = gate::evaluate(conn, project_id, &in_scan).await?;
        let gate_time = phase.elapsed() - staged_time - close_time;
        tracing::debug!(
            project = %self.dest.project_slug,
            new = self.new, staged = self.staged, unchanged = self.unchanged,
            scope_ms = self.scope_time.as_millis() as u64,
            lookup_ms = self.lookup_time.as_millis() as u64,
            copy_ms = self.copy_time.as_millis() as u64,
            staged_ms = staged_time.as_millis() as u64,
            close_ms = close_time.as_millis() as u64,
            gate_ms = gate_time.as_millis() as u64,
            "ingest writes"
        );
        let unchanged = total - self.new - reopened;
        sqlx::query(
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
        )
        .bind(self.scan_id)
        .bind(total as i32)
        .bind(self.new as i32)
        .bind(unchanged as i32)
        .bind(reopened as i32)
        .bind(fixed as i32)
        .bind(&auto_close_skipped)
        .bind(gate.passed)
        .execute(&mut *conn)
        .await?;
        Ok(ProjectOutcome {
            project: self.dest.project_slug.clone(),
            scan_id: self.scan_id,
            new: self.new,
            unchanged,
            reopened,
            fixed,
            total,
            auto_close_skipped,
            gate,
        })
    }

    /// The gate's tally of the findings this scan inserted.
    fn tally_inserted(&self) -> gate::NewFindingsTally<'_> {
        let mut tally = gate::NewFindingsTally::new(&self.rules.policy);
        for (fingerprint, first) in &self.seen {
            if let Some(order) = first.inserted {
                tally.add(
                    *fingerprint,
                    order.into(),
                    first.severity,
                    first.secret,
                    first.overdue,
                );
            }
        }
        tally
    }

    /// Repeats of a fingerprint in one report: one finding at the highest severity given,
    /// with the occurrences of every repeat.
    async fn merge_repeats(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut occurrences: HashMap<&[u8], i64> = HashMap::new();
        for r in &self.repeats {
            *occurrences.entry(&r.fingerprint[..]).or_insert_with(|| {
                let fp: [u8; 32] = r.fingerprint[..].try_into().expect("32 bytes");
                let first = self.seen.get(&fp).map(|f| f.occurrences);
                let first = first.or_else(|| self.scope.first_report(&fp));
                i64::from(first.expect("a repeat follows its first report"))
            }) += i64::from(r.occurrences);
        }
        let fps: Vec<&[u8]> = self.repeats.iter().map(|r| &r.fingerprint[..]).collect();
        let severities: Vec<Severity> = self.repeats.iter().map(|r| r.severity).collect();
        let (total_fps, totals): (Vec<&[u8]>, Vec<i32>) = occurrences
            .into_iter()
            .map(|(fp, n)| (fp, n.min(i64::from(i32::MAX)) as i32))
            .unzip();
        sqlx::query(
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
        )
        .bind(self.dest.project_id)
        .bind(&fps)
        .bind(&severities)
        .bind(&total_fps)
        .bind(&totals)
        .execute(&mut *conn)
        .await?;
        Ok(())
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

/// Applies the staged rows of a project (known findings that changed, reopen, or are
/// runtime alerts with new events); returns how many were reopened.
async fn apply_staged(
    conn: &mut PgConnection,
    grant: &TokenGrant,
    project_id: i64,
    scan_id: i64,
) -> Result<i64, sqlx::Error> {
    // Both statements of the WITH see the rows as they were before it: `reopened` picks
    // the fixed ones, `updated` rewrites them.
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
    project_id: i64,
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
    .bind(project_id)
    .bind(scanner)
    .bind(&meta.target)
    .bind(scan_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(previous
        .filter(|&n| i64::from(n) >= guard.empty_scan_min_previous)
        .map(|n| {
            format!(
                "suspiciously empty: no findings where the last complete scan of this scope had {n}"
            )
        }))
}

/// Marks the scope's findings that the scan no longer contains (`missing`, read when it
/// began) as fixed (verified by scan), each with an audit event, and verifies the fixes
/// people reported among them. Runtime alerts are a stream, not a snapshot: never closed.
/// The scope is checked again here, in case a finding changed while the scan ran.
async fn close_missing(
    conn: &mut PgConnection,
    grant: &TokenGrant,
    project_id: i64,
    meta: &ScanMeta,
    scanner: &str,
    scan_id: i64,
    missing: &[i64],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
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
         SELECT count(*) FROM events"#,
    )
    .bind(project_id)
    .bind(scanner)
    .bind(&meta.target)
    .bind(scan_id)
    .bind(grant.token_id)
    .bind(missing)
    .fetch_one(&mut *conn)
    .await
}

/// The scope's findings as the scan begins, in one streamed query. Fixed findings whose
/// fix is verified are left out: nothing can close them again, and one that is reported
/// again is found by the lookup (and reopened).
async fn scope_findings(
    conn: &mut PgConnection,
    project_id: i64,
    scanner: &str,
    target: &str,
) -> Result<Scope, sqlx::Error> {
    // `gate_candidate` is the gate's own test for findings a scan did not write (they are
    // not new): a secret, or due by the project's SLA (app::sla::sql).
    let sql = format!(
        "WITH sla AS MATERIALIZED (SELECT * FROM project_sla WHERE project_id = $1 LIMIT 1)
         SELECT f.fingerprint, f.content_hash, f.id, f.state <> 'fixed',
                f.layer = 'secret' OR coalesce({due_at} <= now(), false)
           FROM findings f CROSS JOIN sla s
          WHERE f.project_id = $1 AND f.scanner = $2 AND f.target = $3
            AND (f.state <> 'fixed' OR NOT f.fix_verified)",
        due_at = app::sla::sql::DUE_AT,
    );
    // Sized from the scope's last scan, so that a large scope is not read into a vector
    // that doubles (and briefly holds two copies) as it grows.
    let expected: Option<i32> = sqlx::query_scalar(
        "SELECT s.findings_total FROM scopes c JOIN scans s ON s.id = c.last_scan_id
          WHERE c.project_id = $1 AND c.scanner = $2 AND c.target = $3",
    )
    .bind(project_id)
    .bind(scanner)
    .bind(target)
    .fetch_optional(&mut *conn)
    .await?;
    let expected = expected.unwrap_or(0).max(0) as usize;
    let mut known = Vec::with_capacity(expected + expected / 8);
    let mut rows = sqlx::query_as::<_, (Vec<u8>, Option<Vec<u8>>, i64, bool, bool)>(&sql)
        .bind(project_id)
        .bind(scanner)
        .bind(target)
        .fetch(&mut *conn);
    while let Some((fingerprint, hash, id, live, gate_candidate)) = rows.try_next().await? {
        // fingerprints are SHA-256 digests; any other value can match no report
        let Ok(fingerprint) = <[u8; 32]>::try_from(fingerprint) else {
            continue;
        };
        known.push(Known {
            fingerprint,
            id,
            content_hash: hash.and_then(|h| h.get(..16)?.try_into().ok()),
            live,
            gate_candidate,
            reported: None,
        });
    }
    drop(rows);
    known.sort_unstable_by_key(|k| k.fingerprint);
    Ok(Scope(known))
}
