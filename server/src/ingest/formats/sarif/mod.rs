//! SARIF 2.1.0, from any producer (CodeQL, Semgrep, Snyk Code, gitleaks, Grype, Dockle, …).
//!
//! - One finding per result *location* (a result flagged in three files is three problems
//!   to fix); a result with no location is one finding.
//! - Severity: a numeric `security-severity` property (result, then rule) is a CVSS-like
//!   score mapped with [`Severity::from_cvss`]; otherwise the SARIF level of the result, else
//!   of the rule's default configuration: error → high, warning → medium, note → low,
//!   none → info; no level at all means warning (SARIF §3.27.10) → medium.
//! - Layer: from the tool: secret scanners → secret, dependency and image scanners →
//!   dependency / image, IaC and Kubernetes linters → cluster-config, else code.
//! - Tool-aware: SARIF is a container, and a tool's findings are the same whichever output it
//!   wrote. For the tools Bosun also reads natively (Semgrep, Bandit, Hadolint, Checkov,
//!   gitleaks, KubeLinter, Grype) the identity, severity and layer are that tool's own,
//!   computed by its module's functions from what its SARIF carries (gitleaks: the secret is
//!   the snippet, hashed and never stored; KubeLinter: the object from logical locations;
//!   Grype 0.74.7+: package, type, image and severity from the result message, its
//!   `primaryLocationLineHash` holds the version and is not used), so one run pushed as JSON
//!   and as SARIF gives the same findings. Kubescape's SARIF names no resource (only file
//!   and control): its findings are told apart by the affected fields and report order, and
//!   cannot match its JSON's; its image scans are Grype's SARIF and read as Grype's. Trivy:
//!   vulnerabilities and secrets as its JSON (image from `run.properties.imageName`, package
//!   and label from the message, the language target from the package path), license
//!   results skipped; a failed check keeps Trivy's severity and layer, but its SARIF omits
//!   the resource its JSON identity holds. Not yet tool-aware: Snyk (one result per
//!   vulnerability where its JSON has one per package path), read generically.
//! - Fingerprint of any other tool (`sarif/v1`): tool, rule, path, then the most stable
//!   anchor the report offers: its `partialFingerprints` and `fingerprints` (the producer's
//!   own identity, designed to survive line shifts; placeholders such as Semgrep OSS's
//!   "requires login" are not identities and are ignored), else the region's snippet with
//!   whitespace collapsed, else the message; the last two numbered when they repeat in a
//!   file (two identical lines are two findings). Never the line number.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_sarif::sarif::{self as s, ResultLevel};

use super::support::{DESCRIPTION_MAX, TITLE_MAX, has_any_key, has_key};
use super::trivy::SarifMessage as TrivyMessage;
use crate::ingest::fingerprint::{Fingerprint, Occurrences};
use crate::ingest::normalize;
use crate::ingest::{FindingSink, NewFinding, ParseError, ParsedReport, ReportFormat};

mod result;
#[cfg(test)]
mod tests;

use result::findings_for_result;

pub struct Sarif;

const NAME: &str = "sarif";

impl ReportFormat for Sarif {
    fn sniff(&self, body: &[u8]) -> bool {
        // Keys may come in any order (serialisers often sort them, putting "version" and
        // "tool" after every result), so look at both ends of the document.
        let (head, tail) = normalize::ends(body, 4096);
        let marked = |s: &str| s.contains("sarif") || has_any_key(s, &["driver", "version"]);
        head.trim_start().starts_with('{')
            && has_key(&head, "runs")
            && (marked(&head) || marked(&tail))
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.has("runs") && top.has("version")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let mut sink = crate::ingest::CollectSink::default();
        self.parse_into(body, &mut sink)?;
        Ok(sink.report.expect("parse_into sends a header"))
    }

    /// Streams: the log is read with each result left as raw text, then results are
    /// read one at a time, so a large log is never held as a tree of typed results.
    fn parse_into(&self, body: &[u8], out: &mut dyn FindingSink) -> Result<(), ParseError> {
        let log: Log<'_> =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let first = log
            .runs
            .iter()
            .map(|run| &run.tool.driver)
            .find(|d| !d.name.trim().is_empty());
        let scanner = first
            .map(|d| d.name.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "sarif".to_string());
        let scanner_version =
            first.and_then(|d| d.semantic_version.clone().or_else(|| d.version.clone()));
        out.header(scanner, scanner_version);
        let mut seen = Occurrences::default();
        for run in &log.runs {
            let driver = &run.tool.driver;
            let rules = RuleIndex::new(driver.rules.as_deref().unwrap_or_default());
            let image = run
                .properties
                .as_ref()
                .and_then(|p| p.get("imageName"))
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|i| !i.is_empty());
            let tool = Tool {
                name: &driver.name,
                id: crate::ingest::tools::scanner_id(&driver.name),
                layer: layer_for_tool(&driver.name),
                image_repo: image.map(normalize::image_repository),
            };
            for (index, raw) in run
                .results
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let result: s::Result =
                    serde_json::from_str(raw.get()).map_err(|e| located(body, raw, &e))?;
                let index = i64::try_from(index).unwrap_or(i64::MAX);
                // Trivy says in the message what its JSON has in fields (read once here)
                let trivy = (tool.id == "trivy")
                    .then(|| TrivyMessage::read(message_of(&result)))
                    .flatten();
                if let Some(TrivyMessage::License) = trivy {
                    out.skipped(format!(
                        "{}: a license result; Bosun tracks security findings, not licenses",
                        normalize::bounded(rule_id(&result).unwrap_or("license"), 200)
                    ));
                    continue;
                }
                for finding in findings_for_result(&tool, &rules, &result, trivy, index, &mut seen)
                {
                    out.finding(finding);
                }
            }
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The parts of a SARIF log read up front; results stay raw (borrowed from the body).
#[derive(serde::Deserialize)]
struct Log<'a> {
    #[allow(dead_code)] // required by SARIF; a log without it is refused
    version: serde_json::Value,
    #[serde(borrow)]
    runs: Vec<Run<'a>>,
}

#[derive(serde::Deserialize)]
struct Run<'a> {
    tool: s::Tool,
    /// Trivy names the scanned image here (`imageName`, since 0.40).
    #[serde(default)]
    properties: Option<serde_json::Value>,
    #[serde(borrow, default)]
    results: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// A Trivy location as its JSON names it: Trivy percent-encodes the URIs it writes
/// (`library/test%201`).
fn trivy_location(path: Option<&str>) -> Option<String> {
    path.map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// A result's error, with its line and column in the whole report.
fn located(body: &[u8], raw: &serde_json::value::RawValue, err: &serde_json::Error) -> ParseError {
    let mut error = ParseError::from_json(NAME, err);
    let offset = (raw.get().as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    if let (Some(line), Some(column)) = (error.line, error.column)
        && offset <= body.len()
    {
        let before = &body[..offset];
        let newlines = before.iter().filter(|b| **b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        error.line = Some(line + newlines);
        error.column = Some(if line == 1 {
            column + offset - line_start
        } else {
            column
        });
    }
    error.message = format!("a result: {}", error.message);
    error
}

/// A run's rules, found by index or by id.
struct RuleIndex<'a> {
    rules: &'a [s::ReportingDescriptor],
    by_id: HashMap<&'a str, &'a s::ReportingDescriptor>,
}

impl<'a> RuleIndex<'a> {
    fn new(rules: &'a [s::ReportingDescriptor]) -> Self {
        RuleIndex {
            rules,
            by_id: rules.iter().map(|r| (r.id.as_str(), r)).collect(),
        }
    }

    fn find(&self, result: &s::Result) -> Option<&'a s::ReportingDescriptor> {
        let index = result
            .rule_index
            .or_else(|| result.rule.as_ref().and_then(|r| r.index));
        if let Some(rule) = index
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.rules.get(i))
        {
            return Some(rule);
        }
        rule_id(result).and_then(|id| self.by_id.get(id).copied())
    }
}

/// A result's message: its text, else its markdown.
fn message_of(result: &s::Result) -> &str {
    result
        .message
        .text
        .as_deref()
        .or(result.message.markdown.as_deref())
        .unwrap_or("")
}

fn rule_id(result: &s::Result) -> Option<&str> {
    result
        .rule_id
        .as_deref()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.as_deref()))
}

/// The tool of a run: as the report names it, its id, the layer its findings are on, and
/// the repository of the image it scanned when it says so.
struct Tool<'a> {
    name: &'a str,
    id: String,
    layer: Layer,
    image_repo: Option<String>,
}

/// A tool's own severity where its SARIF carries what its native reader uses: Bandit's
/// severity and confidence properties; Checkov marks every failed check `error`, which
/// says nothing, so its findings are what its JSON makes of an unstated severity.
fn tool_severity(
    tool: &Tool<'_>,
    result: &s::Result,
    rule: Option<&s::ReportingDescriptor>,
) -> Option<Severity> {
    let property = |name: &str| {
        result
            .properties
            .as_ref()?
            .additional_properties
            .get(name)?
            .as_str()
            .map(str::to_string)
    };
    match tool.id.as_str() {
        "bandit" => Some(super::bandit::severity(
            &property("issue_severity")?,
            &property("issue_confidence").unwrap_or_default(),
        )),
        "checkov" if !has_security_severity(result, rule) => Some(Severity::Medium),
        // gitleaks rules carry no severity; a leaked credential is high, as in its JSON
        "gitleaks" => Some(Severity::High),
        // KubeLinter has no severities: a failed check is medium, as in its JSON
        "kube-linter" => Some(Severity::Medium),
        _ => None,
    }
}

fn has_security_severity(result: &s::Result, rule: Option<&s::ReportingDescriptor>) -> bool {
    [
        result.properties.as_ref(),
        rule.and_then(|r| r.properties.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|bag| bag.additional_properties.contains_key("security-severity"))
}

/// The numeric `security-severity` property of the result, else of its rule.
fn security_severity(result: &s::Result, rule: Option<&s::ReportingDescriptor>) -> Option<f64> {
    let score = |bag: Option<&s::PropertyBag>| {
        let value = bag?.additional_properties.get("security-severity")?;
        match value {
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        }
    };
    score(result.properties.as_ref()).or_else(|| score(rule.and_then(|r| r.properties.as_ref())))
}

fn severity(result: &s::Result, rule: Option<&s::ReportingDescriptor>) -> Severity {
    if let Some(cvss) = security_severity(result, rule) {
        return Severity::from_cvss(cvss);
    }
    let level = result.level.as_ref().map(level_name).or_else(|| {
        rule.and_then(|r| r.default_configuration.as_ref())
            .and_then(|c| c.level.as_ref())
            .and_then(|v| v.as_str().map(str::to_string))
    });
    match level.as_deref() {
        Some("error") => Severity::High,
        Some("note") => Severity::Low,
        Some("none") => Severity::Info,
        _ => Severity::Medium,
    }
}

/// CWE ids from the rule's tags (`external/cwe/cwe-079`, `CWE-79: …`), as `CWE-79`.
fn cwe_tags<'a>(rule: Option<&'a s::ReportingDescriptor>) -> impl Iterator<Item = String> + 'a {
    rule.and_then(|r| r.properties.as_ref())
        .and_then(|p| p.tags.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|tag| normalize::cwe_tag(tag))
}

fn looks_like_vuln_id(id: &str) -> bool {
    let upper = id.to_ascii_uppercase();
    upper.starts_with("CVE-") || upper.starts_with("GHSA-")
}

fn level_name(level: &ResultLevel) -> String {
    level.to_string().to_ascii_lowercase()
}

/// The layer a tool reports on, from its name.
fn layer_for_tool(tool: &str) -> Layer {
    let t = tool.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["gitleaks", "trufflehog", "detect-secrets", "secret"]) {
        Layer::Secret
    } else if has(&["dockle", "hadolint"]) {
        Layer::Image
    } else if has(&[
        "grype",
        "trivy",
        "osv",
        "dependency",
        "snyk open source",
        "npm audit",
    ]) {
        Layer::Dependency
    } else if has(&[
        "checkov",
        "kube-linter",
        "kubelinter",
        "kubescape",
        "kics",
        "tfsec",
        "terrascan",
    ]) {
        Layer::ClusterConfig
    } else {
        Layer::Code
    }
}
