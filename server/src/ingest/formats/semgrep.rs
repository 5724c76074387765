//! Semgrep JSON reports (`semgrep --json`): `results` (and `errors`, `paths`, `version`).
//!
//! - Variants: Semgrep OSS / CLI JSON of any 0.x or 1.x version; with or without the
//!   top-level `version`; rule metadata in any of the registry's shapes (`cwe` as a string or
//!   a list, `references` as a string or a list). `errors` are scan problems, not findings;
//!   but a run with no results and an error not tied to a file (a rule or configuration
//!   Semgrep could not load: it scanned nothing) is refused, not stored as a clean scan.
//! - Severity: from `extra.severity`: CRITICAL → critical, ERROR / HIGH → high,
//!   WARNING / MEDIUM → medium, INFO / LOW → low, INVENTORY / EXPERIMENT → info, anything
//!   else → medium. When the rule's metadata has an `impact` (Semgrep registry rules:
//!   HIGH / MEDIUM / LOW, CRITICAL) it replaces the level, being the rule author's judgement of
//!   the harm; `confidence: LOW` then lowers the result one step (never below low).
//! - Layer: code.
//! - One finding per result, as Semgrep counts them.
//! - Fingerprint (`semgrep/v2`, shared with Semgrep's SARIF, see [`identity`]): rule id
//!   (`check_id`), path, then `fp` + Semgrep's own fingerprint when it is a real one
//!   (logged-in scans; Semgrep OSS writes the placeholder "requires login", never used), else
//!   the message with whitespace collapsed, numbered when it repeats in the file. Not the
//!   line: lines inserted above a result leave it the same finding.

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{DESCRIPTION_MAX, FIELD_MAX, TITLE_MAX, each_result, has_keys, json_head};
use crate::ingest::fingerprint::{Fingerprint, Occurrences};
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Semgrep;

const NAME: &str = "semgrep";
impl ReportFormat for Semgrep {
    fn sniff(&self, body: &[u8]) -> bool {
        // a report with results; a clean one is recognised by its keys (`sniff_top`)
        json_head(body).is_some_and(|head| has_keys(&head, &["results", "check_id", "extra"]))
    }

    /// Any Semgrep report, including a clean one with keys this reader does not know
    /// (`profiling_results`, …): `results` and `errors`, and none of the keys of SARIF or
    /// Bandit, which share `results`.
    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array
            && top.has("results")
            && top.has("errors")
            && !top.has("runs")
            && !top.has("generated_at")
            && !top.has("metrics")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let report: Report =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        if report.results.is_empty()
            && let Some(fatal) = fatal_error(&report.errors)
        {
            // a run that failed on its rules or configuration scanned nothing: stored as a
            // clean scan it would close every open finding of the scope
            return Err(ParseError::invalid(
                NAME,
                format!(
                    "Semgrep reported a fatal error, so the scan did not run and this report \
                     says nothing about what is fixed: {}",
                    normalize::bounded(&fatal, FIELD_MAX)
                ),
            ));
        }
        // one odd result does not sink the report, but it is counted
        let mut seen = Occurrences::default();
        let (findings, skipped) =
            each_result(&report.results, "Semgrep", |result: &SemgrepResult, raw| {
                finding(result, raw, &mut seen)
            });
        Ok(ParsedReport {
            scanner: NAME.to_string(),
            scanner_version: report
                .version
                .as_deref()
                .map(|v| normalize::bounded(v.trim(), 100))
                .filter(|v| !v.is_empty()),
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
    #[serde(default)]
    version: Option<String>,
    results: Vec<Value>,
    /// A list of errors (0.10 and later) or `{"data": [...]}` (0.5 to 0.9).
    #[serde(default)]
    errors: Value,
}

/// The first error that stopped the whole run: level `error` and not about one file (a file
/// Semgrep could not parse is skipped, the rest of the scan stands).
fn fatal_error(errors: &Value) -> Option<String> {
    let list = match errors {
        Value::Array(list) => list,
        Value::Object(o) => o.get("data")?.as_array()?,
        _ => return None,
    };
    list.iter().find_map(|e| {
        let level = e.get("level").and_then(Value::as_str).unwrap_or("error");
        let has_path = e.get("path").is_some_and(|p| !p.is_null());
        (level.eq_ignore_ascii_case("error") && !has_path).then(|| {
            [e.get("type"), e.get("message")]
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().or_else(|| v.as_array()?.first()?.as_str()))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(": ")
        })
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SemgrepResult {
    check_id: String,
    path: String,
    start: Position,
    extra: Extra,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Position {
    line: Option<i64>,
    col: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Extra {
    message: String,
    severity: String,
    metadata: Value,
    fix: Option<String>,
    fingerprint: Option<String>,
}

/// Semgrep's identity for a result, in its JSON and its SARIF alike (`semgrep/v2`): rule,
/// path, then Semgrep's own fingerprint when it is a real one, else the message, numbered
/// when it repeats in the file (both outputs list results in the same order).
pub(super) fn identity(
    rule_id: &str,
    path: &str,
    semgrep_fingerprint: Option<&str>,
    message: &str,
    place: (i64, i64),
    seen: &mut Occurrences,
) -> [u8; 32] {
    let mut fp = Fingerprint::new("semgrep/v2");
    fp.push(rule_id).push(path);
    match semgrep_fingerprint
        .map(str::trim)
        .filter(|f| is_real_fingerprint(f))
    {
        Some(own) => fp.push("fp").push(own).finish(),
        None => fp
            .push("message")
            .push(&normalize::collapse_whitespace(message))
            .finish_numbered(seen, place),
    }
}

/// Whether a fingerprint a scanner wrote identifies anything: Semgrep OSS writes the same
/// placeholder, "requires login", for every result.
pub(super) fn is_real_fingerprint(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty() && !v.eq_ignore_ascii_case("requires login")
}

fn finding(r: &SemgrepResult, raw: &Value, seen: &mut Occurrences) -> NewFinding {
    let rule_id = normalize::bounded(r.check_id.trim(), FIELD_MAX);
    let path =
        Some(normalize::path(&normalize::bounded(&r.path, FIELD_MAX))).filter(|p| !p.is_empty());
    let line = r
        .start
        .line
        .filter(|l| *l > 0)
        .and_then(|l| i32::try_from(l).ok());
    let fingerprint = identity(
        &rule_id,
        path.as_deref().unwrap_or(""),
        r.extra.fingerprint.as_deref(),
        &r.extra.message,
        (r.start.line.unwrap_or(0), r.start.col.unwrap_or(0)),
        seen,
    );

    let meta = r.extra.metadata.as_object();
    let meta_str = |key: &str| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
    let severity = severity(
        &r.extra.severity,
        meta_str("impact"),
        meta_str("confidence"),
    );

    let message = r.extra.message.trim();
    let title = title(message).unwrap_or_else(|| short_rule_name(&rule_id));
    let location = match (&path, line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => String::new(),
    };

    let mut f = NewFinding::new(fingerprint, Layer::Code, severity, title);
    f.rule_id = rule_id;
    f.description = normalize::bounded(message, DESCRIPTION_MAX);
    f.aliases = normalize::aliases(
        meta.into_iter()
            .flat_map(|m| ["cwe", "cve", "ghsa"].into_iter().filter_map(|k| m.get(k)))
            .flat_map(strings)
            .filter_map(|s| vuln_id(&s)),
    );
    let mut references: Vec<String> = Vec::new();
    for key in ["references", "source-rule-url", "source", "shortlink"] {
        for s in meta
            .and_then(|m| m.get(key))
            .map(strings)
            .unwrap_or_default()
        {
            let s = normalize::bounded(s.trim(), FIELD_MAX);
            if s.starts_with("http") && !references.contains(&s) {
                references.push(s);
            }
        }
    }
    f.references = references;
    if let Some(fix) = r
        .extra
        .fix
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        f.remediation = normalize::bounded(&format!("Suggested fix: {fix}"), DESCRIPTION_MAX);
    }
    f.file_path = path;
    f.line = line;
    f.location = location;
    let mut evidence = raw.clone();
    if let Some(extra) = evidence.get_mut("extra").and_then(Value::as_object_mut) {
        extra.remove("metavars");
    }
    f.evidence = Some(normalize::evidence(&evidence));
    f
}

/// The result's level (`extra.severity` in JSON, the SARIF level) unless the rule's
/// metadata states an impact (the module's table).
pub(super) fn severity(level: &str, impact: Option<&str>, confidence: Option<&str>) -> Severity {
    let level_of = |s: &str| match s.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Some(Severity::Critical),
        "ERROR" | "HIGH" => Some(Severity::High),
        "WARNING" | "MEDIUM" => Some(Severity::Medium),
        "INFO" | "LOW" => Some(Severity::Low),
        "INVENTORY" | "EXPERIMENT" => Some(Severity::Info),
        _ => None,
    };
    let Some(from_impact) = impact.and_then(level_of) else {
        return level_of(level).unwrap_or(Severity::Medium);
    };
    let low_confidence = confidence.is_some_and(|c| c.trim().eq_ignore_ascii_case("low"));
    match (from_impact, low_confidence) {
        (Severity::Critical, true) => Severity::High,
        (Severity::High, true) => Severity::Medium,
        (Severity::Medium, true) => Severity::Low,
        (s, _) => s,
    }
}

/// The first sentence of the first line of the message.
fn title(message: &str) -> Option<String> {
    let line = normalize::first_line(message, TITLE_MAX);
    let line = match line.find(". ") {
        Some(i) => line[..i].to_string(),
        None => line.trim_end_matches('.').to_string(),
    };
    Some(line).filter(|l| !l.is_empty())
}

fn short_rule_name(rule_id: &str) -> String {
    let name = rule_id.rsplit('.').next().unwrap_or(rule_id);
    if name.is_empty() {
        "Semgrep finding".to_string()
    } else {
        normalize::bounded(name, TITLE_MAX)
    }
}

/// A string, or the strings of a list.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `CWE-89: SQL Injection` → `CWE-89`; `CVE-…` / `GHSA-…` as given.
fn vuln_id(text: &str) -> Option<String> {
    let text = text.trim();
    let upper = text.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("CWE-") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let n: u32 = digits.parse().ok()?;
        return Some(format!("CWE-{n}"));
    }
    if upper.starts_with("CVE-") || upper.starts_with("GHSA-") {
        let id: String = text
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        return Some(id);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{fixture, parse_error, sorted_fingerprints};

    const REPORT: &[u8] = fixture!("semgrep", "report.json");

    #[test]
    fn reads_every_result_as_semgrep_counts_them() {
        let parsed = Semgrep.parse(REPORT).unwrap();
        assert_ne!(
            parsed.findings[1].fingerprint,
            parsed.findings[2].fingerprint
        );
        let sql = &parsed.findings[0];
        assert!(sql.description.contains("parameterised queries"));
        assert_eq!(sql.aliases, vec!["CWE-89"]);
        assert_eq!(sql.references.len(), 2);
        assert!(
            sql.evidence.as_ref().unwrap()["extra"]
                .get("metavars")
                .is_none()
        );
        let md5 = &parsed.findings[1];
        assert_eq!(md5.aliases, vec!["CWE-327"]);
        assert_eq!(md5.remediation, "Suggested fix: hashlib.sha256(data)");
        assert_eq!(md5.references, vec!["https://example.org/md5"]);
    }

    #[test]
    fn severity_levels_and_impact() {
        let parsed = Semgrep.parse(REPORT).unwrap();
        let sev: Vec<Severity> = parsed.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            vec![
                Severity::High,     // ERROR, impact HIGH
                Severity::Medium,   // WARNING
                Severity::Medium,   // WARNING (its second match on the line)
                Severity::Low,      // INFO
                Severity::Low,      // ERROR but impact MEDIUM with LOW confidence
                Severity::Critical, // CRITICAL
            ]
        );
        assert_eq!(severity("warning", None, None), Severity::Medium);
        assert_eq!(severity("INVENTORY", None, None), Severity::Info);
        assert_eq!(severity("???", None, None), Severity::Medium);
        assert_eq!(severity("INFO", Some("HIGH"), Some("HIGH")), Severity::High);
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = Semgrep.parse(REPORT).unwrap();
        let mut doc: Value = serde_json::from_slice(REPORT).unwrap();
        doc["version"] = Value::String("1.99.0".into());
        // lines inserted above every result: the same findings
        let results = doc["results"].as_array_mut().unwrap();
        for r in results.iter_mut() {
            let line = r["start"]["line"].as_i64().unwrap_or(0);
            r["start"]["line"] = Value::from(line + 2);
        }
        let b = Semgrep.parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let fa = sorted_fingerprints(&a);
        assert_eq!(fa, sorted_fingerprints(&b));
        assert_eq!(fa.iter().collect::<std::collections::HashSet<_>>().len(), 6);
        // a result with Semgrep's own fingerprint survives a line shift
        let results = doc["results"].as_array_mut().unwrap();
        let xss = results
            .iter_mut()
            .find(|r| r["path"] == "web/server.js")
            .unwrap();
        xss["start"]["line"] = Value::from(120);
        let c = Semgrep.parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(fa, sorted_fingerprints(&c));
    }

    #[test]
    fn malformed_reports_are_errors() {
        let err = parse_error(&Semgrep, b"{\"results\": [ {");
        assert!(err.message.contains("truncated"), "{}", err.message);
        assert!(Semgrep.parse(b"[]").is_err());
        // Semgrep OSS's placeholder is no identity: two results, two findings
        let placeholder = br#"{"results":[
            {"check_id":"r","path":"a.py","start":{"line":1},"extra":{"message":"m","fingerprint":"requires login"}},
            {"check_id":"r","path":"a.py","start":{"line":9},"extra":{"message":"m","fingerprint":"requires login"}}]}"#;
        let parsed = Semgrep.parse(placeholder).unwrap();
        assert_eq!(parsed.findings.len(), 2);
        assert_ne!(
            parsed.findings[0].fingerprint,
            parsed.findings[1].fingerprint
        );
        let odd = Semgrep
            .parse(
                br#"{"results":[1,{"check_id":5},{"start":{"line":-3},"extra":{"metadata":"x"}}]}"#,
            )
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
        assert_eq!(odd.findings[0].line, None);
    }

    #[test]
    fn semgrep_reports_are_detected_clean_ones_with_unknown_keys_too() {
        let detect = |body: &[u8]| crate::ingest::detect(body).map(|f| f.name());
        assert!(Semgrep.sniff(REPORT));
        for clean in [
            &br#"{"results": [], "errors": []}"#[..],
            br#"{"errors":[],"results":[],"paths":{"scanned":[]},"version":"1.2.0"}"#,
            // semgrep 1.185 writes keys this reader has never heard of
            br#"{"version":"1.185.0","results":[],"errors":[],"paths":{"scanned":[]},"time":{},"engine_requested":"OSS","skipped_rules":[],"profiling_results":[]}"#,
        ] {
            assert_eq!(detect(clean), Some(NAME), "{}", String::from_utf8_lossy(clean));
        }
        assert_ne!(
            detect(br#"{"version":"2.1.0","runs":[{"results":[]}]}"#),
            Some(NAME)
        );
        assert_ne!(
            detect(
                br#"{"errors":[],"generated_at":"2024-01-01T00:00:00Z","metrics":{},"results":[]}"#
            ),
            Some(NAME)
        );
    }

    #[test]
    fn a_run_that_failed_on_its_rules_is_refused_and_file_errors_are_not() {
        let failed = br#"{"version":"1.85.0","results":[],"errors":[{"code":7,"level":"error","type":"InvalidRuleSchemaError","rule_id":"custom.no-eval","message":"Invalid rule schema\n  --> rules.yml:3"}],"paths":{"scanned":[]},"skipped_rules":[]}"#;
        let err = Semgrep.parse(failed).unwrap_err();
        assert!(err.message.contains("InvalidRuleSchemaError"), "{err}");
        let old = br#"{"results":[],"errors":{"data":[{"level":"error","type":"InvalidPatternError","message":"bad pattern"}],"message":"SgrepRuntimeErrors"}}"#;
        assert!(Semgrep.parse(old).is_err());
        let file_error = br#"{"version":"1.85.0","results":[],"errors":[{"code":3,"level":"warn","type":["PartialParsing",[]],"path":"app/x.py","message":"Syntax error"},{"code":3,"level":"error","type":"Syntax error","path":"app/y.py"}],"paths":{"scanned":["app/x.py"]}}"#;
        assert_eq!(Semgrep.parse(file_error).unwrap().findings.len(), 0);
    }
}
