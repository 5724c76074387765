//! Bandit JSON reports (`bandit -r . -f json`): `results`, `errors`, `metrics`, `generated_at`.
//!
//! - Variants: Bandit 1.x JSON, with or without `issue_cwe` (1.7.1+), `col_offset` and
//!   `end_col_offset`. `errors` (files Bandit could not parse) and `metrics` are not findings.
//! - Severity: `issue_severity` × `issue_confidence`; low confidence lowers one step:
//!
//!   | severity \ confidence | HIGH / MEDIUM / UNDEFINED | LOW |
//!   | --- | --- | --- |
//!   | HIGH | high | medium |
//!   | MEDIUM | medium | low |
//!   | LOW | low | info |
//!   | UNDEFINED / other | info | info |
//!
//! - Layer: code.
//! - No tally guard: `metrics._totals` counts issues before `-l`/`-i` level filters and
//!   baselines remove them from `results`, so totals above an empty `results` are a normal
//!   filtered run, not an unreadable one.
//! - One finding per result: Bandit reports each issue once (two calls on one line are two
//!   results, told apart by column), so nothing is merged.
//! - Fingerprint (`bandit/v1`): test id, file path, then the flagged line's source text with
//!   whitespace collapsed (from `code`, without Bandit's line-number prefix) so that a line
//!   shift keeps the finding; when the text is not in the report, the line number. Repeats of
//!   the same anchor in one file get an occurrence number (`#2`, …) in report order.

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{DESCRIPTION_MAX, FIELD_MAX, TITLE_MAX, each_result, json_head_with};
use crate::ingest::fingerprint::{Fingerprint, Occurrences};
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Bandit;

const NAME: &str = "bandit";

impl ReportFormat for Bandit {
    fn sniff(&self, body: &[u8]) -> bool {
        let any = ["_totals", "issue_severity", "test_id"];
        json_head_with(body, &["generated_at", "metrics"], &any)
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.has("generated_at") && top.has("metrics") && top.has("results")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let report: Report =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let mut occurrences = Occurrences::default();
        let (findings, skipped) = each_result(&report.results, "Bandit", |issue: &Issue, raw| {
            finding(issue, raw, &mut occurrences)
        });
        Ok(ParsedReport {
            scanner: NAME.to_string(),
            scanner_version: None,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

#[derive(Deserialize)]
struct Report {
    results: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Issue {
    code: String,
    filename: String,
    issue_confidence: String,
    issue_severity: String,
    issue_text: String,
    issue_cwe: Option<Cwe>,
    line_number: Option<i64>,
    col_offset: Option<i64>,
    more_info: String,
    test_id: String,
    test_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cwe {
    id: Option<i64>,
    link: Option<String>,
}

/// Bandit's identity for an issue, in its JSON and its SARIF alike (`bandit/v1`): test id,
/// file path, the flagged line's text with whitespace collapsed (else its line number),
/// numbered when it repeats in the file.
pub(super) fn identity(
    test_id: &str,
    path: &str,
    line_text: Option<&str>,
    line: Option<i32>,
    place: (i64, i64),
    seen: &mut Occurrences,
) -> [u8; 32] {
    let text = line_text.map(|t| normalize::bounded(&normalize::collapse_whitespace(t), FIELD_MAX));
    let anchor = match text.filter(|t| !t.is_empty()) {
        Some(text) => format!("code:{text}"),
        None => format!("line:{}", line.unwrap_or(0)),
    };
    Fingerprint::new("bandit/v1")
        .push(test_id)
        .push(path)
        .push(&anchor)
        .finish_numbered(seen, place)
}

fn finding(issue: &Issue, raw: &Value, occurrences: &mut Occurrences) -> NewFinding {
    let rule_id = normalize::bounded(issue.test_id.trim(), FIELD_MAX);
    let path = Some(normalize::path(&normalize::bounded(
        &issue.filename,
        FIELD_MAX,
    )))
    .filter(|p| !p.is_empty());
    let line = issue
        .line_number
        .filter(|l| *l > 0)
        .and_then(|l| i32::try_from(l).ok());
    let fingerprint = identity(
        &rule_id,
        path.as_deref().unwrap_or(""),
        flagged_line(&issue.code, issue.line_number).as_deref(),
        line,
        (
            issue.line_number.unwrap_or(0),
            issue.col_offset.unwrap_or(0),
        ),
        occurrences,
    );

    let text = issue.issue_text.trim();
    let title = Some(normalize::first_line(text, TITLE_MAX))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{rule_id} {}", issue.test_name.trim()));
    let mut description = text.to_string();
    if !issue.test_name.trim().is_empty() {
        description.push_str(&format!(
            "\n\nBandit test {rule_id} ({}), confidence {}.",
            issue.test_name.trim(),
            issue.issue_confidence.trim()
        ));
    }
    if !issue.code.trim().is_empty() {
        description.push_str(&format!("\n\n```\n{}\n```", issue.code.trim_end()));
    }
    let location = match (&path, line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => String::new(),
    };
    let severity = severity(&issue.issue_severity, &issue.issue_confidence);
    let mut f = NewFinding::new(fingerprint, Layer::Code, severity, title);
    f.rule_id = rule_id;
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    let cwe = issue.issue_cwe.as_ref();
    f.aliases = normalize::aliases(
        cwe.and_then(|c| c.id)
            .filter(|id| *id > 0)
            .map(|id| format!("CWE-{id}")),
    );
    f.references = [
        Some(issue.more_info.trim()),
        cwe.and_then(|c| c.link.as_deref()).map(str::trim),
    ]
    .into_iter()
    .flatten()
    .filter(|u| u.starts_with("http"))
    .map(|u| normalize::bounded(u, FIELD_MAX))
    .collect();
    f.file_path = path;
    f.line = line;
    f.location = location;
    f.evidence = Some(normalize::evidence(raw));
    f
}

/// `issue_severity` × `issue_confidence` (the module's table); Bandit's SARIF carries both
/// as result properties.
pub(super) fn severity(severity: &str, confidence: &str) -> Severity {
    let low_confidence = confidence.trim().eq_ignore_ascii_case("low");
    match (
        severity.trim().to_ascii_uppercase().as_str(),
        low_confidence,
    ) {
        ("HIGH", false) => Severity::High,
        ("HIGH", true) | ("MEDIUM", false) => Severity::Medium,
        ("MEDIUM", true) | ("LOW", false) => Severity::Low,
        _ => Severity::Info,
    }
}

/// The source text of the flagged line from Bandit's `code` excerpt (each line is prefixed
/// with its number), whitespace collapsed.
fn flagged_line(code: &str, line: Option<i64>) -> Option<String> {
    let prefix = line?.to_string();
    code.lines().find_map(|l| {
        let rest = l.strip_prefix(prefix.as_str())?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let text = normalize::collapse_whitespace(rest);
        (!text.is_empty()).then(|| normalize::bounded(&text, FIELD_MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{first, fixture, parse_error};

    const REPORT: &[u8] = fixture!("bandit", "report.json");

    #[test]
    fn reads_every_result() {
        let f = first(&Bandit, REPORT);
        assert_eq!(f.aliases, vec!["CWE-78"]);
        assert_eq!(f.references.len(), 2);
        assert!(f.description.contains("subprocess.call(cmd, shell=True)"));
        assert!(f.evidence.is_some());
    }

    #[test]
    fn severity_times_confidence() {
        let parsed = Bandit.parse(REPORT).unwrap();
        let sev: Vec<Severity> = parsed.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            vec![
                Severity::High,   // HIGH / HIGH
                Severity::Low,    // LOW / MEDIUM
                Severity::Medium, // MEDIUM / HIGH
                Severity::Low,    // MEDIUM / LOW
                Severity::Low,    // MEDIUM / LOW
                Severity::Info,   // LOW / LOW
                Severity::Medium, // HIGH / LOW
                Severity::Info,   // UNDEFINED
            ]
        );
    }

    #[test]
    fn fingerprints_survive_line_shifts_and_tell_repeats_apart() {
        let a = Bandit.parse(REPORT).unwrap();
        let unique: std::collections::HashSet<_> =
            a.findings.iter().map(|f| f.fingerprint).collect();
        assert_eq!(
            unique.len(),
            8,
            "two md5 calls on one line are two findings"
        );
        // three lines inserted above the shell call
        let shifted = String::from_utf8_lossy(REPORT)
            .replace(
                "11 def run(cmd):\\n12     return",
                "14 def run(cmd):\\n15     return",
            )
            .replace("\"line_number\": 12", "\"line_number\": 15");
        let b = Bandit.parse(shifted.as_bytes()).unwrap();
        assert_eq!(b.findings[0].line, Some(15));
        assert_eq!(a.findings[0].fingerprint, b.findings[0].fingerprint);
        // reordering keeps every fingerprint
        let mut doc: Value = serde_json::from_slice(REPORT).unwrap();
        doc["results"].as_array_mut().unwrap().reverse();
        doc["generated_at"] = Value::String("2030-01-01T00:00:00Z".into());
        let c = Bandit.parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let other: std::collections::HashSet<_> =
            c.findings.iter().map(|f| f.fingerprint).collect();
        assert_eq!(unique, other);
    }

    #[test]
    fn flagged_line_needs_the_exact_number() {
        assert_eq!(
            flagged_line("1 a\n11  b  c\n12 d", Some(11)).as_deref(),
            Some("b c")
        );
        assert_eq!(flagged_line("110 x", Some(11)), None);
        assert_eq!(flagged_line("", None), None);
    }

    #[test]
    fn malformed_reports_are_errors() {
        let err = parse_error(&Bandit, b"{\"results\": [");
        assert!(err.message.contains("truncated"), "{}", err.message);
        assert!(Bandit.parse(b"{\"errors\": []}").is_err());
        let odd = Bandit
            .parse(
                br#"{"results":[3,{"line_number":"x"},{"line_number":-1,"issue_cwe":{"id":-5}}]}"#,
            )
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
        assert_eq!(odd.findings[0].line, None);
        assert!(odd.findings[0].aliases.is_empty());
    }
}
