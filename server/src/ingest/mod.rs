//! Ingestion: a scanner report in, normalised findings stored.
//!
//! Each report format is one module implementing [`ReportFormat`]; [`FORMATS`] lists them,
//! in the order format detection tries them. Parsing is pure (bytes in, [`ParsedReport`]
//! out) so parsers are tested without a database; [`store`] writes a parsed report in one
//! transaction with batched statements, never a query per finding.

pub mod fingerprint;
pub mod normalize;
pub mod sarif;
pub mod store;

use app::domain::{Layer, Severity};

pub use store::{IngestOutcome, ScanMeta, ingest};

/// A report format Bosun reads.
pub trait ReportFormat: Sync {
    /// The name used in the `format` override and stored on each scan.
    fn name(&self) -> &'static str;
    /// Whether `body` looks like this format (cheap: looks at the first few KiB).
    fn sniff(&self, body: &[u8]) -> bool;
    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError>;
}

/// Every supported format, in detection order.
pub static FORMATS: &[&dyn ReportFormat] = &[&sarif::Sarif];

pub fn format_named(name: &str) -> Option<&'static dyn ReportFormat> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
}

pub fn detect(body: &[u8]) -> Option<&'static dyn ReportFormat> {
    FORMATS.iter().copied().find(|f| f.sniff(body))
}

/// A report after parsing, before it touches the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    pub scanner: String,
    pub scanner_version: Option<String>,
    pub findings: Vec<NewFinding>,
}

/// One normalised finding as a parser produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    pub fingerprint: [u8; 32],
    pub layer: Layer,
    pub severity: Severity,
    pub title: String,
    pub rule_id: String,
    pub description: String,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    /// Human-readable location (`path:line`, image, workload, URL).
    pub location: String,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub fixed_version: Option<String>,
}

/// A report that could not be read; says what and, where the parser knows, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} report is invalid: {message}{}", location_suffix(*line, *column))]
pub struct ParseError {
    pub format: &'static str,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

fn location_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

impl ParseError {
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
        }
    }
}
