//! Ingestion: a scanner report in, normalised findings stored.
//!
//! Each report format is one module of [`formats`] implementing [`ReportFormat`]; [`FORMATS`] lists them,
//! in the order format detection tries them. Parsing is pure (bytes in, [`ParsedReport`]
//! out) so parsers are tested without a database; [`store`] writes a parsed report in one
//! transaction with batched statements, never a query per finding.

pub mod copy_rows;
pub mod document;
pub mod fingerprint;
pub mod formats;
pub mod normalize;
pub mod routing;
pub mod store;
pub mod tools;

use app::domain::{Layer, Severity};

pub use store::{Guardrails, IngestOutcome, ScanMeta, ingest};

/// A report format Bosun reads.
pub trait ReportFormat: Sync {
    /// The name used in the `format` override and stored on each scan.
    fn name(&self) -> &'static str;
    /// The scanner of a report that names none (an empty, clean report): the id of the
    /// tool this format's reports come from, as its non-empty reports name it.
    fn scanner(&self) -> String {
        tools::scanner_id(&self.name().replace('_', "-"))
    }
    /// Whether this format's reports scan container images, whose targets are image
    /// references (kept without tag or digest: see [`normalize::scan_target`]).
    fn scans_images(&self) -> bool {
        false
    }
    /// Whether `body` looks like this format (cheap: looks at the first few KiB).
    fn sniff(&self, body: &[u8]) -> bool;
    /// Whether a JSON document whose top level is `top` is this format; asked only when no
    /// format's [`ReportFormat::sniff`] claimed the body (its tell-tale keys may be anywhere).
    fn sniff_top(&self, _top: &document::TopLevel) -> bool {
        false
    }
    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError>;

    /// Hands the report's findings to `sink` as they are read, after its header. The
    /// default parses the whole report first (merging repeats with [`distinct`]); formats
    /// whose reports get large stream instead, so a 100 MB report is never held as one
    /// list of findings. Repeats a streaming parser passes on are merged by the store.
    fn parse_into(&self, body: &[u8], sink: &mut dyn FindingSink) -> Result<(), ParseError> {
        let report = self.parse(body)?;
        sink.header(report.scanner, report.scanner_version);
        for finding in distinct(report.findings) {
            sink.finding(finding);
        }
        for reason in report.skipped {
            sink.skipped(reason);
        }
        Ok(())
    }
}

/// Where a parser delivers a report: first its header, then each finding, and a reason for
/// each item it could not make a finding of.
pub trait FindingSink {
    fn header(&mut self, scanner: String, scanner_version: Option<String>);
    fn finding(&mut self, finding: NewFinding);
    fn skipped(&mut self, reason: String);
}

/// A sink that collects a [`ParsedReport`], for [`ReportFormat::parse`] of streaming formats.
#[derive(Default)]
pub struct CollectSink {
    pub report: Option<ParsedReport>,
}

impl FindingSink for CollectSink {
    fn header(&mut self, scanner: String, scanner_version: Option<String>) {
        self.report = Some(ParsedReport {
            scanner,
            scanner_version,
            findings: Vec::new(),
            skipped: Vec::new(),
        });
    }

    fn finding(&mut self, finding: NewFinding) {
        if let Some(report) = &mut self.report {
            report.findings.push(finding);
        }
    }

    fn skipped(&mut self, reason: String) {
        if let Some(report) = &mut self.report {
            report.skipped.push(reason);
        }
    }
}

/// One finding per fingerprint: a report that repeats a problem (say, the same rule on the
/// same line twice) yields it once, at the highest severity it was given, counting the
/// repeats and spanning their observation times.
pub fn distinct(findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut index: std::collections::HashMap<[u8; 32], usize> =
        std::collections::HashMap::with_capacity(findings.len());
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

pub use formats::FORMATS;

pub fn format_named(name: &str) -> Option<&'static dyn ReportFormat> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
}

/// The format of a report: by the ends of its body first, then, for a JSON document no
/// format recognised that way, by every key of its top level.
pub fn detect(body: &[u8]) -> Option<&'static dyn ReportFormat> {
    if let Some(format) = FORMATS.iter().copied().find(|f| f.sniff(body)) {
        return Some(format);
    }
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{' | b'[' | 0xef)) {
        return None;
    }
    let top = document::top_level(body)?;
    FORMATS.iter().copied().find(|f| f.sniff_top(&top))
}

/// A report after parsing, before it touches the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    pub scanner: String,
    pub scanner_version: Option<String>,
    pub findings: Vec<NewFinding>,
    /// Items of the report that did not become findings for a reason the sender should
    /// hear (one entry per item): nothing is dropped silently.
    pub skipped: Vec<String>,
}

/// One normalised finding as a parser produces it. Start from [`NewFinding::new`] and fill
/// in what the format knows; everything else stays empty.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    /// Stable identity; see each format module for its recipe.
    pub fingerprint: [u8; 32],
    pub layer: Layer,
    pub severity: Severity,
    pub title: String,
    /// The scanner's rule or vulnerability id (`CVE-2024-1234`, `KSV001`, `py/sql-injection`).
    pub rule_id: String,
    /// Other names of the same problem: CVE, GHSA, CWE ids.
    pub aliases: Vec<String>,
    pub description: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    /// Human-readable location (`path:line`, image, workload, URL).
    pub location: String,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub fixed_version: Option<String>,
    /// Container image, `repository:tag@digest` as far as known.
    pub image: Option<String>,
    pub k8s_namespace: Option<String>,
    pub k8s_kind: Option<String>,
    pub k8s_name: Option<String>,
    pub url: Option<String>,
    /// What the finding is about (docs/glossary.md "asset").
    pub asset: Option<Asset>,
    /// Bounded raw evidence from the report (see [`normalize::evidence`]).
    pub evidence: Option<serde_json::Value>,
    /// How many raw items of the report this finding stands for (repeated runtime events).
    pub occurrences: u32,
    /// When the problem was observed (first, last), for event streams; `None` means "now".
    pub seen: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
}

impl NewFinding {
    pub fn new(
        fingerprint: [u8; 32],
        layer: Layer,
        severity: Severity,
        title: impl Into<String>,
    ) -> NewFinding {
        NewFinding {
            fingerprint,
            layer,
            severity,
            title: title.into(),
            rule_id: String::new(),
            aliases: Vec::new(),
            description: String::new(),
            remediation: String::new(),
            references: Vec::new(),
            file_path: None,
            line: None,
            location: String::new(),
            package_name: None,
            package_version: None,
            fixed_version: None,
            image: None,
            k8s_namespace: None,
            k8s_kind: None,
            k8s_name: None,
            url: None,
            asset: None,
            evidence: None,
            occurrences: 1,
            seen: None,
        }
    }
}

/// What a finding is about: its kind and a key unique within a project
/// (`github.com/acme/api`, `registry/app@sha256:…`, `prod/payments/Deployment/api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub kind: AssetKind,
    pub key: String,
}

pub use app::domain::AssetKind;

/// A report that could not be read; says what and, where the parser knows, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} report is invalid: {message}{}", location_suffix(*line, *column))]
pub struct ParseError {
    pub format: &'static str,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The report is this format's tool, but laid out as this reader does not know: it is
    /// refused (422) rather than read as having nothing in it.
    pub layout: bool,
}

fn location_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

impl ParseError {
    /// A report that is not what it should be, for a reason `message` gives, at no known
    /// place.
    pub fn invalid(format: &'static str, message: impl Into<String>) -> ParseError {
        ParseError {
            format,
            message: message.into(),
            line: None,
            column: None,
            layout: false,
        }
    }

    /// A report of this format's tool in a layout the reader does not know: `expected`
    /// says which layouts it reads.
    pub fn layout(format: &'static str, expected: &str) -> ParseError {
        ParseError {
            format,
            message: format!(
                "this {format} report is laid out in a way Bosun does not read (nothing would be \
                 counted, so it is refused rather than stored as clean); expected {expected}"
            ),
            line: None,
            column: None,
            layout: true,
        }
    }

    /// From a serde_json error, keeping its line and column but not repeating them.
    pub fn from_json(format: &'static str, err: &serde_json::Error) -> ParseError {
        let text = err.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        let message = match err.classify() {
            serde_json::error::Category::Eof => {
                format!("the file ends early (truncated?): {message}")
            }
            _ => message,
        };
        ParseError {
            format,
            message,
            line: (err.line() > 0).then_some(err.line()),
            column: (err.line() > 0).then_some(err.column()),
            layout: false,
        }
    }
}

#[cfg(test)]
mod robustness {
    //! Reports are attacker-controlled: no parser may panic on any input, including other
    //! formats' files and truncated ones.
    use super::FORMATS;

    #[test]
    fn no_parser_panics_on_any_fixture_whole_or_truncated() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = 0;
        for dir in std::fs::read_dir(&root).unwrap().flatten() {
            for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
                let body = std::fs::read(file.path()).unwrap();
                files += 1;
                for cut in [body.len(), body.len() / 2, body.len() / 3, 1] {
                    let slice = &body[..cut.min(body.len())];
                    for format in FORMATS {
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                let _ = format.sniff(slice);
                                let _ = format.parse(slice);
                            }));
                        assert!(
                            outcome.is_ok(),
                            "{} panicked on {:?} cut at {cut}",
                            format.name(),
                            file.path()
                        );
                    }
                }
            }
        }
        assert!(files >= 28, "every format has fixtures ({files} files)");
    }

    #[test]
    fn every_format_detects_its_own_fixtures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for format in FORMATS.iter().filter(|f| f.name() != "sarif") {
            let dir = root.join(format.name());
            assert!(dir.is_dir(), "{} has a fixtures folder", format.name());
            for file in std::fs::read_dir(&dir).unwrap().flatten() {
                let body = std::fs::read(file.path()).unwrap();
                let detected = super::detect(&body).map(|f| f.name());
                assert_eq!(detected, Some(format.name()), "{:?}", file.path());
            }
        }
    }
}
