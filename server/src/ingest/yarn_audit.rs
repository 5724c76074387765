//! yarn audit JSON Lines reports.
//!
//! - Variants: yarn 1 (`yarn audit --json`): lines `{"type": "auditAdvisory", "data":
//!   {"resolution": …, "advisory": <an npm 6 advisory>}}` among `info`, `warning`,
//!   `auditAction` and `auditSummary` lines, which are not findings. yarn 2+ / berry
//!   (`yarn npm audit --json`): lines `{"value": <package>, "children": {"ID", "Issue", "URL",
//!   "Severity", "Vulnerable Versions", "Tree Versions", "Dependents"}}`; its deprecation
//!   notices (`ID` like `pkg (deprecation)`) are findings too, as yarn reports them.
//! - Severity: the advisory's: critical → critical, high → high, moderate → medium,
//!   low → low, info → info; anything else → medium.
//! - Layer: dependency.
//! - One finding per advisory on one package. yarn 1 repeats an advisory once per dependency
//!   path that pulls it in (`resolution.path`); those lines are merged, and the paths listed in
//!   the description.
//! - Fingerprint (`yarn_audit/v1`): package name, then the advisory id: the GHSA id
//!   (`github_advisory_id`, else a GHSA in the advisory URL), else `npm:<id>` for a numeric
//!   id, else the berry `ID` text (deprecations). Installed versions, paths and texts stay out.

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};

use super::fingerprint::Fingerprint;
use super::normalize;
use super::npm_audit::{advisory_finding, dedup, ghsa_in, id_text, severity, text};
use super::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct YarnAudit;

const NAME: &str = "yarn_audit";
const SCHEME: &str = "yarn_audit/v1";
const TITLE_MAX: usize = 300;
const FIELD_MAX: usize = 2_000;
const DESCRIPTION_MAX: usize = 20_000;
const LIST_MAX: usize = 50;

impl ReportFormat for YarnAudit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn sniff(&self, body: &[u8]) -> bool {
        let head = String::from_utf8_lossy(&body[..body.len().min(8192)]);
        let first = head.trim_start().lines().next().unwrap_or("");
        if !first.starts_with('{') {
            return false;
        }
        let v1 = first.contains("\"type\"")
            && (head.contains("\"auditAdvisory\"") || head.contains("\"auditSummary\""));
        let berry = first.contains("\"value\"")
            && first.contains("\"children\"")
            && (first.contains("\"Vulnerable Versions\"") || first.contains("\"Tree Versions\""));
        v1 || berry
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let text_body = String::from_utf8_lossy(body);
        let mut findings = Vec::new();
        let mut paths: Vec<([u8; 32], String)> = Vec::new();
        for (i, line) in text_body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let item: Value = serde_json::from_str(line).map_err(|e| {
                let mut err = ParseError::from_json(NAME, &e);
                err.line = Some(i + 1);
                err
            })?;
            let Some(obj) = item.as_object() else {
                return Err(ParseError {
                    format: NAME,
                    message: "each line must be a JSON object".to_string(),
                    line: Some(i + 1),
                    column: None,
                    layout: false,
                });
            };
            if obj.get("type").and_then(Value::as_str) == Some("auditAdvisory") {
                let data = obj.get("data").and_then(Value::as_object);
                let Some(advisory) = data
                    .and_then(|d| d.get("advisory"))
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                let f = advisory_finding(SCHEME, advisory);
                if let Some(p) = data
                    .and_then(|d| d.get("resolution"))
                    .and_then(Value::as_object)
                    .and_then(|r| text(r, "path"))
                {
                    paths.push((f.fingerprint, p));
                }
                findings.push(f);
            } else if let Some(children) = obj.get("children").and_then(Value::as_object) {
                let package = text(obj, "value").unwrap_or_default();
                findings.push(berry_finding(&package, children, &item));
            }
        }
        let mut findings = dedup(findings);
        for f in &mut findings {
            let mine: Vec<&str> = paths
                .iter()
                .filter(|(fp, _)| *fp == f.fingerprint)
                .map(|(_, p)| p.as_str())
                .take(LIST_MAX)
                .collect();
            if mine.len() > 1 {
                f.description = normalize::bounded(
                    &format!(
                        "{}\n\nResolved through:\n- {}",
                        f.description,
                        mine.join("\n- ")
                    ),
                    DESCRIPTION_MAX,
                );
            }
        }
        Ok(ParsedReport {
            scanner: "yarn audit".to_string(),
            scanner_version: None,
            findings,
            skipped: Vec::new(),
        })
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(LIST_MAX)
        .map(|s| normalize::bounded(s, FIELD_MAX))
        .collect()
}

fn berry_finding(package: &str, c: &Map<String, Value>, raw: &Value) -> NewFinding {
    let url = text(c, "URL");
    let ghsa = url.as_deref().and_then(ghsa_in);
    let id = match c.get("ID") {
        Some(Value::Number(n)) => Some(format!("npm:{n}")),
        other => id_text(other),
    };
    let vuln_id = ghsa.clone().or(id).unwrap_or_default();
    let issue = text(c, "Issue").unwrap_or_else(|| vuln_id.clone());
    let title = normalize::first_line(&format!("{package}: {issue}"), TITLE_MAX);
    let versions = strings(c.get("Tree Versions"));
    let dependents = strings(c.get("Dependents"));
    let mut description = issue.clone();
    if let Some(range) = text(c, "Vulnerable Versions") {
        description.push_str(&format!("\n\nVulnerable versions: {range}"));
    }
    if !versions.is_empty() {
        description.push_str(&format!("\nInstalled: {}", versions.join(", ")));
    }
    if !dependents.is_empty() {
        description.push_str(&format!("\nDependents:\n- {}", dependents.join("\n- ")));
    }
    let fingerprint = Fingerprint::new(SCHEME)
        .push(package)
        .push(&vuln_id)
        .finish();
    let severity: Severity = severity(c.get("Severity").and_then(Value::as_str));
    let mut f = NewFinding::new(fingerprint, Layer::Dependency, severity, title);
    f.rule_id = vuln_id;
    f.aliases = normalize::aliases(ghsa);
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.references = url.iter().cloned().collect();
    f.location = match versions.first() {
        Some(v) => format!("{package}@{v}"),
        None => package.to_string(),
    };
    f.package_name = Some(package.to_string()).filter(|p| !p.is_empty());
    f.package_version = (!versions.is_empty()).then(|| versions.join(", "));
    f.url = url;
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/yarn_audit/v1.jsonl"
    ));
    const BERRY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/yarn_audit/berry.jsonl"
    ));

    #[test]
    fn yarn1_merges_repeated_advisories() {
        let parsed = YarnAudit.parse(V1).unwrap();
        assert_eq!(parsed.scanner, "yarn audit");
        assert_eq!(parsed.findings.len(), 5, "6 advisory lines, one repeated");
        let m = &parsed.findings[0];
        assert_eq!(m.rule_id, "GHSA-xvch-5gv4-984h");
        assert_eq!(m.title, "minimist: Prototype Pollution in minimist");
        assert_eq!(m.layer, Layer::Dependency);
        assert_eq!(m.package_name.as_deref(), Some("minimist"));
        assert_eq!(m.package_version.as_deref(), Some("1.2.5"));
        assert_eq!(m.fixed_version.as_deref(), Some(">=9.9.9"));
        assert_eq!(
            m.aliases,
            vec!["CVE-2021-44906", "GHSA-xvch-5gv4-984h", "CWE-1321"]
        );
        assert!(m.description.contains("mocha>mkdirp>minimist"));
        assert_eq!(parsed.findings[1].rule_id, "npm:1324");
        let sev: Vec<Severity> = parsed.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            vec![
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Info
            ]
        );
    }

    #[test]
    fn berry_lines_and_deprecations() {
        let parsed = YarnAudit.parse(BERRY).unwrap();
        assert_eq!(parsed.findings.len(), 2);
        let axios = &parsed.findings[0];
        assert_eq!(axios.rule_id, "GHSA-wf5p-g6vw-rhxx");
        assert_eq!(axios.severity, Severity::Medium);
        assert_eq!(axios.location, "axios@0.27.2");
        assert_eq!(axios.aliases, vec!["GHSA-wf5p-g6vw-rhxx"]);
        assert!(axios.description.contains("web@workspace:packages/web"));
        let dep = &parsed.findings[1];
        assert_eq!(dep.rule_id, "request (deprecation)");
        assert!(
            dep.title
                .starts_with("request: request has been deprecated")
        );
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = YarnAudit.parse(V1).unwrap();
        let text = String::from_utf8_lossy(V1);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let b = YarnAudit
            .parse(lines.join("\n").replace("1.2.5", "1.2.6").as_bytes())
            .unwrap();
        let mut fa: Vec<_> = a.findings.iter().map(|f| f.fingerprint).collect();
        let mut fb: Vec<_> = b.findings.iter().map(|f| f.fingerprint).collect();
        fa.sort();
        fb.sort();
        assert_eq!(fa, fb);
        fa.dedup();
        assert_eq!(fa.len(), 5);
    }

    #[test]
    fn malformed_lines_are_errors() {
        let body = format!("{}\n{{\"type\": ", text_of(V1).trim_end());
        let err = YarnAudit.parse(body.as_bytes()).unwrap_err();
        assert_eq!(err.format, "yarn_audit");
        assert_eq!(err.line, Some(9));
        assert!(YarnAudit.parse(b"[1]").is_err());
        let odd = YarnAudit
            .parse(b"{\"type\":\"auditAdvisory\",\"data\":{\"advisory\":7}}\n{\"children\":{\"ID\":[1]}}")
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
    }

    fn text_of(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn sniffs_yarn_only() {
        assert!(YarnAudit.sniff(V1));
        assert!(YarnAudit.sniff(BERRY));
        assert!(YarnAudit.sniff(
            b"{\"type\":\"info\",\"data\":\"No lockfile found.\"}\n{\"type\":\"auditSummary\",\"data\":{}}\n"
        ));
        assert!(!YarnAudit.sniff(br#"{"version":"2.1.0","runs":[]}"#));
        assert!(!YarnAudit.sniff(br#"{"actions":[],"advisories":{},"muted":[]}"#));
        assert!(!YarnAudit.sniff(br#"{"type":"info","data":"hello"}"#));
    }
}
