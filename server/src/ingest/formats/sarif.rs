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

pub struct Sarif;

const NAME: &str = "sarif";

impl ReportFormat for Sarif {
    fn name(&self) -> &'static str {
        NAME
    }

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

fn findings_for_result(
    tool: &Tool<'_>,
    rules: &RuleIndex<'_>,
    result: &s::Result,
    trivy: Option<TrivyMessage<'_>>,
    result_index: i64,
    seen: &mut Occurrences,
) -> Vec<NewFinding> {
    let rule = rules.find(result);
    let rule_id = rule_id(result)
        .or(rule.map(|r| r.id.as_str()))
        .unwrap_or("")
        .to_string();
    let message = message_of(result);
    let rule_text = |pick: fn(&s::ReportingDescriptor) -> Option<&s::MultiformatMessageString>| {
        rule.and_then(pick)
            .map(|m| m.text.as_str())
            .filter(|t| !t.trim().is_empty())
    };
    let title = [
        Some(message),
        rule_text(|r| r.short_description.as_ref()),
        rule.and_then(|r| r.name.as_deref()),
    ]
    .into_iter()
    .flatten()
    .map(|t| normalize::first_line(t, TITLE_MAX))
    .find(|t| !t.is_empty())
    .unwrap_or_else(|| rule_id.clone());
    let description = rule_text(|r| r.full_description.as_ref())
        .or(rule_text(|r| r.help.as_ref()))
        .unwrap_or(message);
    let description = normalize::bounded(description, DESCRIPTION_MAX);
    // Grype (and Kubescape's image scans, which are Grype's SARIF renamed) say in the
    // message what the JSON says in fields.
    let grype = matches!(tool.id.as_str(), "grype" | "kubescape")
        .then(|| super::grype::SarifMessage::read(message))
        .flatten();
    let severity = match (&grype, &trivy) {
        (Some(m), _) => m.severity(security_severity(result, rule)),
        (_, Some(TrivyMessage::Vulnerability { severity, .. }))
        | (_, Some(TrivyMessage::Secret { severity, .. }))
        | (_, Some(TrivyMessage::Misconfiguration { severity })) => *severity,
        _ => tool_severity(tool, result, rule).unwrap_or_else(|| severity(result, rule)),
    };
    let layer = match (tool.id.as_str(), &trivy) {
        (_, Some(TrivyMessage::Vulnerability { .. })) if tool.image_repo.is_some() => Layer::Image,
        (_, Some(TrivyMessage::Vulnerability { .. })) => Layer::Dependency,
        (_, Some(TrivyMessage::Secret { .. })) => Layer::Secret,
        (_, Some(TrivyMessage::Misconfiguration { .. })) => Layer::ClusterConfig,
        ("checkov", _) => super::checkov::layer_of_check(&rule_id),
        _ if grype.as_ref().is_some_and(|m| m.image.is_some()) => Layer::Image,
        _ if grype.is_some() => Layer::Dependency,
        _ => tool.layer,
    };
    let aliases = normalize::aliases(
        cwe_tags(rule).chain(std::iter::once(rule_id.clone()).filter(|id| looks_like_vuln_id(id))),
    );
    let references: Vec<String> = rule.and_then(|r| r.help_uri.clone()).into_iter().collect();
    let remediation = rule_text(|r| r.help.as_ref())
        .map(|t| normalize::bounded(t, DESCRIPTION_MAX))
        .unwrap_or_default();

    // Both maps are the producer's own stable identity for the result (placeholders aside).
    let own: Vec<(&String, &String)> = [&result.partial_fingerprints, &result.fingerprints]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|(_, v)| super::semgrep::is_real_fingerprint(v))
        .collect();
    let mut anchors: Vec<String> = own.iter().map(|(k, v)| format!("{k}={v}")).collect();
    anchors.sort();
    let semgrep_own = own
        .iter()
        .find(|(k, _)| k.starts_with("matchBasedId"))
        .map(|(_, v)| v.as_str());

    let locations: Vec<Option<&s::Location>> = match result.locations.as_deref() {
        Some(locs) if !locs.is_empty() => locs.iter().map(Some).collect(),
        _ => vec![None],
    };
    locations
        .into_iter()
        .map(|location| {
            let physical = location.and_then(|l| l.physical_location.as_ref());
            let logical = location
                .and_then(|l| l.logical_locations.as_deref())
                .unwrap_or_default();
            let path = physical
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| a.uri.as_deref())
                .map(normalize::path)
                .filter(|p| !p.is_empty());
            let region = physical.and_then(|p| p.region.as_ref());
            let line = region
                .and_then(|r| r.start_line)
                .and_then(|l| i32::try_from(l).ok());
            let snippet_text = region
                .and_then(|r| r.snippet.as_ref())
                .and_then(|s| s.text.as_deref());
            let file = path.as_deref().unwrap_or("");
            let place = (
                region.and_then(|r| r.start_line).unwrap_or(0),
                region.and_then(|r| r.start_column).unwrap_or(0),
            );
            let fingerprint = match (tool.id.as_str(), &trivy, &grype) {
                ("semgrep", _, _) => {
                    super::semgrep::identity(&rule_id, file, semgrep_own, message, place, seen)
                }
                ("bandit", _, _) => {
                    super::bandit::identity(&rule_id, file, snippet_text, line, place, seen)
                }
                ("hadolint", _, _) => super::hadolint::identity(file, &rule_id, place, seen),
                ("gitleaks", _, _) => {
                    // the snippet is the secret: hashed here, never stored
                    super::gitleaks::identity(
                        &rule_id,
                        path.as_deref(),
                        line,
                        snippet_text.unwrap_or(""),
                    )
                }
                ("kube-linter", _, _) => {
                    let named = |kind: &str| {
                        logical
                            .iter()
                            .find(|l| l.kind.as_deref() == Some(kind))
                            .and_then(|l| l.name.as_deref())
                            .unwrap_or("")
                            .trim()
                    };
                    let diagnostic = message
                        .rsplit_once("\nobject: ")
                        .map_or(message, |(d, _)| d);
                    super::kube_linter::identity(
                        &rule_id,
                        file,
                        named("Object Namespace"),
                        named("GVK/Kind"),
                        named("Object Name"),
                        super::kube_linter::container(diagnostic).unwrap_or(""),
                    )
                }
                (_, Some(TrivyMessage::Vulnerability { pkg, .. }), _) => {
                    let os = rule.and_then(|r| r.name.as_deref()) == Some("OsPackageVulnerability");
                    let repo = tool.image_repo.as_deref().unwrap_or("");
                    let at = trivy_location(path.as_deref()).filter(|_| !os);
                    super::trivy::sarif_vulnerability_identity(repo, &rule_id, pkg, at.as_deref())
                }
                (_, Some(TrivyMessage::Secret { matched, .. }), _) => {
                    let repo = tool.image_repo.as_deref().unwrap_or("");
                    let at = trivy_location(path.as_deref()).unwrap_or_default();
                    super::trivy::sarif_secret_identity(repo, &rule_id, &at, matched)
                }
                (_, _, Some(m)) => {
                    let id = rule_id
                        .strip_suffix(m.pkg)
                        .and_then(|id| id.strip_suffix('-'))
                        .unwrap_or(&rule_id);
                    // Like the JSON: the first of the package's files in sorted order
                    // (every one is a logical location), none for OS packages.
                    let mut files: Vec<String> = logical
                        .iter()
                        .filter_map(|l| l.name.as_deref())
                        .chain(if logical.is_empty() { m.path } else { None })
                        .map(normalize::path)
                        .filter(|p| !p.is_empty())
                        .collect();
                    files.sort();
                    let file = (!super::grype::is_os_package(m.pkg_type))
                        .then(|| files.into_iter().next())
                        .flatten();
                    super::grype::identity(&m.image_repo(), id, m.pkg, m.pkg_type, file.as_deref())
                }
                ("kubescape", _, _) => {
                    // Kubescape's SARIF names no resource: the control's text without the
                    // values of the affected fields, numbered in report order within the file
                    // (two resources of one file failing a control at line 1 stay two).
                    let (text, fields) = message
                        .split_once("\n\nAffected fields:")
                        .unwrap_or((message, ""));
                    let mut fields: Vec<&str> = fields
                        .lines()
                        .map(|l| {
                            l.split_once(" (current: ")
                                .map_or(l, |(path, _)| path)
                                .trim()
                        })
                        .filter(|l| !l.is_empty())
                        .collect();
                    fields.sort_unstable();
                    let mut fp = Fingerprint::new("sarif/v1");
                    fp.push("kubescape")
                        .push(&rule_id)
                        .push(file)
                        .push("message")
                        .push(&normalize::collapse_whitespace(text));
                    for field in fields {
                        fp.push(field);
                    }
                    fp.finish_numbered(seen, (place.0, result_index))
                }
                ("checkov", _, _) => {
                    let single_line =
                        region.is_some_and(|r| r.end_line.is_none_or(|e| Some(e) == r.start_line));
                    let resource =
                        super::checkov::resource_key(file, snippet_text.unwrap_or(""), single_line);
                    super::checkov::identity(&rule_id, file, &resource, place.0, seen)
                }
                _ => {
                    let mut fp = Fingerprint::new("sarif/v1");
                    fp.push(&tool.name.to_ascii_lowercase())
                        .push(&rule_id)
                        .push(file);
                    let snippet = snippet_text
                        .map(normalize::collapse_whitespace)
                        .filter(|s| !s.is_empty());
                    if !anchors.is_empty() {
                        for a in &anchors {
                            fp.push(a);
                        }
                        fp.finish()
                    } else if let Some(snippet) = &snippet {
                        fp.push("snippet")
                            .push(snippet)
                            .finish_numbered(seen, place)
                    } else {
                        fp.push("message")
                            .push(&normalize::collapse_whitespace(message))
                            .finish_numbered(seen, place)
                    }
                }
            };

            let location = match (&path, line) {
                (Some(p), Some(l)) => format!("{p}:{l}"),
                (Some(p), None) => p.clone(),
                (None, _) => String::new(),
            };
            let mut finding = NewFinding::new(fingerprint, layer, severity, title.clone());
            if let ("gitleaks", Some(p)) = (tool.id.as_str(), &path) {
                // as gitleaks' JSON titles it: the message names the commit, which varies
                let what = rule_text(|r| r.short_description.as_ref()).unwrap_or("Secret");
                finding.title = normalize::first_line(&format!("{what} in {p}"), TITLE_MAX);
            }
            finding.rule_id = rule_id.clone();
            finding.description = description.clone();
            finding.aliases = aliases.clone();
            finding.references = references.clone();
            finding.remediation = remediation.clone();
            finding.file_path = path;
            finding.line = line;
            finding.location = location;
            finding
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ParsedReport, ParseError> {
        Sarif.parse(json.as_bytes())
    }

    fn report(results: &str, rules: &str) -> String {
        format!(
            r#"{{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json",
            "runs":[{{"tool":{{"driver":{{"name":"ExampleScan","version":"1.2.3","rules":[{rules}]}}}},
            "results":[{results}]}}]}}"#
        )
    }

    const RULE: &str = r#"{"id":"EX001","shortDescription":{"text":"Use of eval"},
        "fullDescription":{"text":"eval runs arbitrary code"},"defaultConfiguration":{"level":"error"}}"#;

    fn result(path: &str, line: u32, extra: &str) -> String {
        format!(
            r#"{{"ruleId":"EX001","ruleIndex":0,"message":{{"text":"eval() on user input"}},
            "locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"{path}"}},
            "region":{{"startLine":{line}}}}}}}]{extra}}}"#
        )
    }

    #[test]
    fn a_bad_result_is_refused_with_its_place_in_the_whole_log() {
        // line 4 of the log, where the result's `level` has the wrong type
        let log = "{\"version\":\"2.1.0\",\n\"runs\":[{\"tool\":{\"driver\":{\"name\":\"X\"}},\n\"results\":[\n  {\"message\":{\"text\":\"m\"}, \"level\": 7}]}]}";
        let err = parse(log).unwrap_err();
        assert!(err.message.starts_with("a result:"), "{err}");
        assert_eq!(err.line, Some(4), "{err}");
        assert!(
            err.column.unwrap() > 30,
            "column within the whole line: {err}"
        );
    }

    #[test]
    fn reads_tool_rule_and_location() {
        let parsed = parse(&report(&result("file:///src/app.js", 12, ""), RULE)).unwrap();
        assert_eq!(parsed.scanner, "ExampleScan");
        assert_eq!(parsed.scanner_version.as_deref(), Some("1.2.3"));
        let f = &parsed.findings[0];
        assert_eq!(f.title, "eval() on user input");
        assert_eq!(f.rule_id, "EX001");
        assert_eq!(f.description, "eval runs arbitrary code");
        assert_eq!(f.severity, Severity::High, "rule default level error");
        assert_eq!(f.location, "/src/app.js:12");
        assert_eq!(f.layer, Layer::Code);
    }

    #[test]
    fn cwe_tags_and_vulnerability_ids_become_aliases() {
        let rule = r#"{"id":"CVE-2024-0001","helpUri":"https://example.com/r","help":{"text":"upgrade"},
            "properties":{"tags":["security","external/cwe/cwe-079","CWE-89: SQL Injection"]}}"#;
        let r = r#"{"ruleId":"CVE-2024-0001","message":{"text":"m"}}"#;
        let f = &parse(&report(r, rule)).unwrap().findings[0];
        assert_eq!(f.aliases, vec!["CWE-79", "CWE-89", "CVE-2024-0001"]);
        assert_eq!(f.references, vec!["https://example.com/r"]);
        assert_eq!(f.remediation, "upgrade");
    }

    #[test]
    fn one_finding_per_location() {
        let r = r#"{"ruleId":"EX001","message":{"text":"m"},"locations":[
            {"physicalLocation":{"artifactLocation":{"uri":"a.js"},"region":{"startLine":1}}},
            {"physicalLocation":{"artifactLocation":{"uri":"b.js"},"region":{"startLine":2}}}]}"#;
        let parsed = parse(&report(r, RULE)).unwrap();
        assert_eq!(parsed.findings.len(), 2);
        assert_ne!(
            parsed.findings[0].fingerprint,
            parsed.findings[1].fingerprint
        );
    }

    #[test]
    fn partial_fingerprints_survive_a_line_shift() {
        let pf = r#","partialFingerprints":{"primaryLocationLineHash":"abc123:1"}"#;
        let before = parse(&report(&result("a.js", 10, pf), RULE)).unwrap();
        let after = parse(&report(&result("a.js", 42, pf), RULE)).unwrap();
        assert_eq!(
            before.findings[0].fingerprint,
            after.findings[0].fingerprint
        );
        // without an anchor the message is (never the line alone): a shift changes nothing
        let plain_a = parse(&report(&result("a.js", 10, ""), RULE)).unwrap();
        let plain_b = parse(&report(&result("a.js", 42, ""), RULE)).unwrap();
        assert_eq!(
            plain_a.findings[0].fingerprint,
            plain_b.findings[0].fingerprint
        );
        // and two results alike but for their line are two findings
        let two = format!("{},{}", result("a.js", 10, ""), result("a.js", 42, ""));
        let both = parse(&report(&two, RULE)).unwrap();
        assert_eq!(both.findings.len(), 2);
        assert_ne!(both.findings[0].fingerprint, both.findings[1].fingerprint);
        assert_eq!(
            both.findings[0].fingerprint,
            plain_a.findings[0].fingerprint
        );
        // a placeholder is no anchor
        let placeholder = r#","fingerprints":{"matchBasedId/v1":"requires login"}"#;
        let two = format!(
            "{},{}",
            result("a.js", 10, placeholder),
            result("a.js", 42, placeholder)
        );
        assert_eq!(parse(&report(&two, RULE)).unwrap().findings.len(), 2);
    }

    #[test]
    fn security_severity_beats_level_and_levels_map() {
        let cvss = r#","properties":{"security-severity":"9.8"}"#;
        let parsed = parse(&report(&result("a.js", 1, cvss), RULE)).unwrap();
        assert_eq!(parsed.findings[0].severity, Severity::Critical);
        for (level, expected) in [
            ("error", Severity::High),
            ("warning", Severity::Medium),
            ("note", Severity::Low),
            ("none", Severity::Info),
        ] {
            let extra = format!(r#","level":"{level}""#);
            let parsed = parse(&report(&result("a.js", 1, &extra), r#"{"id":"EX001"}"#)).unwrap();
            assert_eq!(parsed.findings[0].severity, expected, "{level}");
        }
        let parsed = parse(&report(&result("a.js", 1, ""), r#"{"id":"EX001"}"#)).unwrap();
        assert_eq!(
            parsed.findings[0].severity,
            Severity::Medium,
            "no level means warning"
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse("{\n  \"version\": \"2.1.0\",\n  \"runs\": [ oops ]\n}").unwrap_err();
        assert_eq!(err.format, "sarif");
        assert_eq!(err.line, Some(3));
        assert!(err.column.is_some());
        let truncated = parse(r#"{"version":"2.1.0","runs":[{"tool":"#).unwrap_err();
        assert!(
            truncated.message.contains("truncated"),
            "{}",
            truncated.message
        );
    }

    #[test]
    fn hostile_text_is_kept_verbatim_for_the_ui_to_escape() {
        let r = r#"{"ruleId":"X","message":{"text":"<script>alert(1)</script>"}}"#;
        let parsed = parse(&report(r, r#"{"id":"X"}"#)).unwrap();
        assert_eq!(parsed.findings[0].title, "<script>alert(1)</script>");
    }

    #[test]
    fn sniffs_sarif_whose_version_comes_last() {
        let results =
            vec![r#"{"ruleId":"X","message":{"text":"padding padding padding"}}"#; 200].join(",");
        let body = format!(
            r#"{{"runs":[{{"results":[{results}],"tool":{{"driver":{{"name":"t"}}}}}}],"version":"2.1.0"}}"#
        );
        assert!(body.len() > 8192);
        assert!(Sarif.sniff(body.as_bytes()));
    }

    #[test]
    fn sniffs_sarif_and_not_other_json() {
        assert!(Sarif.sniff(report("", RULE).as_bytes()));
        assert!(!Sarif.sniff(br#"{"SchemaVersion": 2, "Results": []}"#));
        assert!(!Sarif.sniff(b"<xml/>"));
    }

    /// Tools whose SARIF carries what their JSON reader keys on give the same findings
    /// from either (the twins are one run written both ways, in each tool's real shape).
    mod tool_aware {
        use super::*;
        use crate::ingest::ReportFormat;
        use crate::ingest::formats::{gitleaks, grype, kube_linter};

        fn fixture(path: &str) -> Vec<u8> {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
            std::fs::read(root.join(path)).unwrap()
        }

        /// (fingerprint, severity, layer) of each finding, sorted, merged like the store
        /// merges repeats of one fingerprint.
        fn identities(format: &dyn ReportFormat, path: &str) -> Vec<([u8; 32], Severity, Layer)> {
            let mut ids: Vec<_> = format
                .parse(&fixture(path))
                .unwrap()
                .findings
                .iter()
                .map(|f| (f.fingerprint, f.severity, f.layer))
                .collect();
            ids.sort_by_key(|(fp, _, _)| *fp);
            ids.dedup();
            ids
        }

        #[test]
        fn gitleaks_sarif_is_its_json_and_never_keeps_the_secret() {
            let json = identities(&gitleaks::Gitleaks, "gitleaks/v8.json");
            assert_eq!(identities(&Sarif, "sarif/gitleaks.sarif"), json);
            assert_eq!(json.len(), 3, "one secret in two commits is one finding");
            assert!(
                json.iter()
                    .all(|(_, s, l)| *s == Severity::High && *l == Layer::Secret)
            );
            let parsed = Sarif.parse(&fixture("sarif/gitleaks.sarif")).unwrap();
            for f in &parsed.findings {
                let stored = format!("{f:?}");
                assert!(!stored.contains("AKIAQ3EGBOSUNEXAMPL"), "{stored}");
                assert!(!f.title.contains("at commit"), "{}", f.title);
            }
        }

        #[test]
        fn trivy_sarif_vulnerabilities_and_secrets_are_its_json() {
            use crate::ingest::formats::trivy::Trivy;
            // an image: OS packages, a jar under Trivy's `Java` target, a license (skipped)
            let json = identities(&Trivy, "trivy/image.json");
            assert_eq!(json.len(), 5);
            assert_eq!(identities(&Sarif, "sarif/trivy-image.sarif"), json);
            let sarif = Sarif.parse(&fixture("sarif/trivy-image.sarif")).unwrap();
            assert_eq!(sarif.skipped.len(), 1, "{:?}", sarif.skipped);
            // a directory: lockfile packages and a secret are the same findings; a failed
            // check has the same severity and layer, but its SARIF omits the resource its
            // JSON identity holds
            let json = identities(&Trivy, "trivy/filesystem.json");
            let sarif = identities(&Sarif, "sarif/trivy-filesystem.sarif");
            assert_eq!(json.len(), 4);
            assert_eq!(sarif.len(), 4);
            let shared = sarif.iter().filter(|f| json.contains(f)).count();
            assert_eq!(shared, 3, "all but the misconfiguration");
            let layers_and_severities = |ids: &[([u8; 32], Severity, Layer)]| {
                let mut v: Vec<_> = ids.iter().map(|(_, s, l)| (*s, *l)).collect();
                v.sort_by_key(|(s, l)| (format!("{s:?}"), format!("{l:?}")));
                v
            };
            assert_eq!(layers_and_severities(&sarif), layers_and_severities(&json));
        }

        #[test]
        fn trivy_language_targets_follow_the_package_path() {
            use crate::ingest::formats::trivy::language_target;
            assert_eq!(
                language_target("app/lib/jackson-databind-2.13.3.jar"),
                Some("Java")
            );
            assert_eq!(
                language_target("usr/lib/node_modules/npm/node_modules/ip/package.json"),
                Some("Node.js")
            );
            assert_eq!(
                language_target(
                    "usr/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA"
                ),
                Some("Python")
            );
            assert_eq!(language_target("services/api/requirements.txt"), None);
        }

        #[test]
        fn kube_linter_sarif_is_its_json() {
            let json = identities(&kube_linter::KubeLinter, "kube_linter/lint.json");
            assert_eq!(
                json.len(),
                4,
                "two containers of one workload are two findings"
            );
            assert_eq!(identities(&Sarif, "sarif/kube-linter.sarif"), json);
        }

        #[test]
        fn grype_sarif_is_its_json_severity_from_grype_not_cvss() {
            let json = identities(&grype::Grype, "grype/sarif_twin.json");
            assert_eq!(identities(&Sarif, "sarif/grype-image.sarif"), json);
            let severities: Vec<Severity> = json.iter().map(|(_, s, _)| *s).collect();
            for s in [Severity::Medium, Severity::High, Severity::Info] {
                assert!(severities.contains(&s), "{severities:?}");
            }
            assert!(json.iter().all(|(_, _, l)| *l == Layer::Image));
        }

        #[test]
        fn grype_messages_are_read_or_left_alone() {
            let m = grype::SarifMessage::read(
                "A high vulnerability in npm package: lodash, version 4.17.15 was found at: /package-lock.json",
            )
            .unwrap();
            assert_eq!((m.pkg, m.pkg_type, m.image), ("lodash", "npm", None));
            assert_eq!(m.path, Some("/package-lock.json"));
            assert_eq!(m.severity(Some(0.0)), Severity::High);
            assert!(grype::SarifMessage::read("Found lodash in /package-lock.json").is_none());
        }

        #[test]
        fn kubescape_resources_alike_in_one_file_stay_apart() {
            let parsed = Sarif.parse(&fixture("sarif/kubescape.sarif")).unwrap();
            let mut fps: Vec<_> = parsed.findings.iter().map(|f| f.fingerprint).collect();
            fps.sort();
            fps.dedup();
            assert_eq!(
                fps.len(),
                3,
                "two resources failing C-0260 at line 1 are two findings"
            );
            assert!(
                parsed
                    .findings
                    .iter()
                    .all(|f| f.layer == Layer::ClusterConfig)
            );
        }
    }
}
