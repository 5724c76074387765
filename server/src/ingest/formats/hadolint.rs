//! Hadolint JSON (`hadolint -f json`): a list of rule violations in one or more Dockerfiles.
//!
//! - Variants: Hadolint 1.x and 2.x JSON (`code`, `file`, `level`, `line`, `column`,
//!   `message`; an empty list when clean). Hadolint's SARIF is read by [`super::sarif`] with
//!   this module's identity and severity.
//! - One finding per list entry: one rule (`DL…` or ShellCheck `SC…`) on one line of one
//!   Dockerfile. Identical entries (same rule, place and message) are merged, counting
//!   occurrences.
//! - Severity, equal to what Hadolint's own SARIF says (which writes `note` for both info and
//!   style): error → high, warning → medium, info and style → low; `ignore`/`none` → info,
//!   any other level → medium.
//! - Layer: image (the Dockerfile builds it). No asset: the report names only the file, the
//!   scan's target says which repository it is in.
//! - Fingerprint (`hadolint/v2`, shared with Hadolint's SARIF, see [`identity`]): file path
//!   (normalised: forward slashes, no `./`), rule code, numbered when the rule fires again in
//!   the file (report order). Not the line (Hadolint gives no snippet): lines added above an
//!   instruction leave its findings as they are. Not the message: Hadolint rewords its
//!   rules between versions.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{DESCRIPTION_MAX, SNIFF_BYTES, TITLE_MAX, has_keys, opening};
use crate::ingest::fingerprint::{Fingerprint, Occurrences};
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Hadolint;

const NAME: &str = "hadolint";

/// What makes two entries the same one repeated: rule, file, line, column, message.
type EntryKey = (String, String, Option<i64>, Option<i64>, String);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item {
    line: Option<i64>,
    column: Option<i64>,
    code: String,
    message: String,
    file: String,
    level: String,
}

impl ReportFormat for Hadolint {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['['])
            .is_some_and(|head| has_keys(&head, &["code", "level", "file", "line", "message"]))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let items: Vec<Value> =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let mut findings: Vec<NewFinding> = Vec::new();
        // identical entries (rule, place, message) are one finding seen twice
        let mut index: HashMap<EntryKey, usize> = HashMap::new();
        let mut seen = Occurrences::default();
        for raw in &items {
            let item: Item =
                serde_json::from_value(raw.clone()).map_err(|e| ParseError::from_json(NAME, &e))?;
            let key = (
                item.code.clone(),
                item.file.clone(),
                item.line,
                item.column,
                item.message.clone(),
            );
            match index.get(&key) {
                Some(&i) => {
                    if let Some(kept) = findings.get_mut(i) {
                        kept.occurrences = kept.occurrences.saturating_add(1);
                    }
                }
                None => {
                    index.insert(key, findings.len());
                    findings.push(finding(&item, raw, &mut seen));
                }
            }
        }
        Ok(ParsedReport {
            scanner: "Hadolint".to_string(),
            scanner_version: None,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// Hadolint's levels in its JSON, and the SARIF levels it writes for them.
pub(super) fn severity(level: &str) -> Severity {
    match level.trim().to_ascii_lowercase().as_str() {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "info" | "style" | "note" => Severity::Low,
        "ignore" | "none" => Severity::Info,
        _ => Severity::Medium,
    }
}

/// Hadolint's identity for a violation, in its JSON and its SARIF alike (`hadolint/v2`).
pub(super) fn identity(
    path: &str,
    code: &str,
    place: (i64, i64),
    seen: &mut Occurrences,
) -> [u8; 32] {
    Fingerprint::new("hadolint/v2")
        .push(path)
        .push(code)
        .finish_numbered(seen, place)
}

fn reference(code: &str) -> Option<String> {
    let upper = code.to_ascii_uppercase();
    if upper.starts_with("DL") {
        Some(format!("https://github.com/hadolint/hadolint/wiki/{upper}"))
    } else if upper.starts_with("SC") {
        Some(format!("https://www.shellcheck.net/wiki/{upper}"))
    } else {
        None
    }
}

fn finding(item: &Item, raw: &Value, seen: &mut Occurrences) -> NewFinding {
    let path = normalize::path(&item.file);
    let code = item.code.trim();
    let line = item
        .line
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);

    let place = (item.line.unwrap_or(0), item.column.unwrap_or(0));
    let fingerprint = identity(&path, code, place, seen);

    let title = match normalize::first_line(&item.message, TITLE_MAX) {
        t if t.is_empty() => code.to_string(),
        t => t,
    };
    let mut f = NewFinding::new(fingerprint, Layer::Image, severity(&item.level), title);
    f.rule_id = code.to_string();
    f.description = normalize::bounded(item.message.trim(), DESCRIPTION_MAX);
    f.references = reference(code).into_iter().collect();
    f.location = match line {
        Some(l) => format!("{path}:{l}"),
        None => path.clone(),
    };
    if let Some(c) = item.column.filter(|c| *c > 1) {
        f.location.push_str(&format!(":{c}"));
    }
    f.file_path = Some(path).filter(|p| !p.is_empty());
    f.line = line;
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, fixture, parse_error,
    };

    const REPORT: &[u8] = fixture!("hadolint", "two-dockerfiles.json");

    #[test]
    fn reads_every_violation_with_levels_mapped() {
        let parsed = Hadolint.parse(REPORT).unwrap();
        let references = |i: usize| parsed.findings[i].references.clone();
        assert_eq!(
            references(1),
            ["https://github.com/hadolint/hadolint/wiki/DL3008"]
        );
        assert_eq!(references(3), ["https://www.shellcheck.net/wiki/SC2086"]);
    }

    #[test]
    fn fingerprints_stable_distinct_and_repeats_merged() {
        let a = Hadolint.parse(REPORT).unwrap();
        let mut items: Vec<Value> = serde_json::from_slice(REPORT).unwrap();
        items.reverse();
        items[0]["message"] = "reworded".into();
        let b = Hadolint
            .parse(Value::Array(items.clone()).to_string().as_bytes())
            .unwrap();
        assert_kept(&a, &b);
        assert_distinct(&a);
        items.push(items[0].clone());
        let c = Hadolint
            .parse(Value::Array(items).to_string().as_bytes())
            .unwrap();
        assert_eq!(c.findings.len(), 7);
        assert_eq!(c.findings[0].occurrences, 2);
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Hadolint, b"[{\"line\": 1,");
        assert!(err.message.contains("truncated"));
        assert!(Hadolint.parse(b"{}").is_err());
        assert!(Hadolint.parse(br#"[{"line": "x"}]"#).is_err());
        assert!(Hadolint.parse(b"[]").unwrap().findings.is_empty());
    }
}
